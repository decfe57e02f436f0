"""The current network: one choice in session state that follows a person across pages and lives in the URL.

The model is ``st.session_state["network"]``: ``{"arch": name, "config": {option: value}, "input": (H, W)
or None}``. Every page that takes a network draws the picker from it (see explorer.ui.state). A URL
that the app did not write itself (a link, a bookmark, the browser's back button) replaces it: ``arch``
starts from that network's defaults, then each option and ``input`` in the URL is applied; every value
that cannot be used is named in one line and ignored.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from explorer.analysis import MAX_INPUT_SIDE
from explorer.errors import ExplorerError, InvalidOptionError
from explorer.ui import state
from explorer.ui.messages import MAX_VALUE, cut, show_error
from explorer.options import Option
from explorer.units import format_shape, parse_shape
from explorer.zoo import ArchitectureSpec, get_spec, list_architectures

DEFAULT_ARCHITECTURE = "lenet5"
NETWORK = "network"
URL_WRITTEN = "network.url_written"  # the query parameters the app itself wrote last
MAX_NOTES = 8  # notes shown for one link; the values past them are counted in one more
MAX_LOOKUP = 4 * MAX_VALUE  # characters of a link's arch looked up (no registered name is longer)


@dataclass
class ArchitectureChoice:
    """What the picker returns: the spec, its validated options, and the input shape (None = default)."""

    spec: ArchitectureSpec
    config: dict[str, Any]
    input_shape: tuple[int, int, int] | None

    @property
    def name(self) -> str:
        """Return the registry name."""
        return self.spec.name

    @classmethod
    def with_defaults(cls, spec: ArchitectureSpec) -> ArchitectureChoice:
        """Return ``spec`` with its default options and input."""
        return cls(spec, spec.resolve_config(), None)


def fresh_network(name: str) -> dict[str, Any]:
    """Return the model of ``name`` with its default options and input."""
    return {"arch": name, "config": get_spec(name).resolve_config(), "input": None}


def current_network() -> dict[str, Any]:
    """Return the current network's model (LeNet-5 with its defaults before anything was chosen)."""
    network = st.session_state.get(NETWORK)
    if not isinstance(network, dict) or network.get("arch") not in list_architectures():
        network = st.session_state[NETWORK] = fresh_network(DEFAULT_ARCHITECTURE)
    return network


def parse_size(text: str) -> tuple[int, int]:
    """Return (H, W) from a link's ``HxW`` (or ``CxHxW``).

    Raises:
        InvalidOptionError: the text is not two sides from 1 to MAX_INPUT_SIDE.
    """
    try:
        dims = parse_shape(text)
    except ValueError:
        dims = ()
    if len(dims) == 3:
        dims = dims[1:]
    if len(dims) != 2 or not all(1 <= d <= MAX_INPUT_SIDE for d in dims):
        raise InvalidOptionError(f"The input size must be written HxW with sides from 1 to {MAX_INPUT_SIDE}, "
                                 f"not {echo(text)}.")
    return dims[0], dims[1]


def echo(value: Any) -> str:
    """Return a link's value as a note quotes it: in quotes, cut to MAX_VALUE characters with "…" after a cut."""
    text = str(value)
    return repr(text[:MAX_VALUE]) + ("…" if len(text) > MAX_VALUE else "")


def unknown_architecture_note(key: str, value: str) -> str:
    """Return the note for a link whose ``key`` (arch, diff...) names no registered architecture, with close names."""
    close = difflib.get_close_matches(value[:MAX_VALUE], list_architectures(), n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"The link's {key} {echo(value)} names no architecture here{hint}, so it was ignored."


def apply_url(params: dict[str, str]) -> list[str]:
    """Apply query parameters to the current network; return one note per value that was ignored."""
    notes: list[str] = []
    network = current_network()
    if "arch" in params:
        try:
            network = fresh_network(get_spec(params["arch"][:MAX_LOOKUP]).name)
        except ExplorerError:
            notes.append(unknown_architecture_note("arch", params["arch"]))
    spec = get_spec(network["arch"])
    for key, value in params.items():
        if key == "arch":
            continue
        try:
            if key == "input":
                network["input"] = parse_size(value)
            elif key in spec.options:
                network["config"][key] = spec.options[key].parse(key, value)
            else:
                known = ", ".join(sorted(spec.options)) or "none"
                raise InvalidOptionError(f"{spec.name} has no option {echo(key)}; its options are: {known}.")
        except InvalidOptionError as error:
            notes.append(f"{error} The link's {cut(key)} was ignored.")
    st.session_state[NETWORK] = network
    return notes


def url_of(network: dict[str, Any]) -> dict[str, str]:
    """Return the query parameters that reproduce ``network``: arch, options off their default, input."""
    spec = get_spec(network["arch"])
    wanted = {"arch": spec.name, **{k: str(v) for k, v in network["config"].items() if v != spec.options[k].default}}
    if network["input"] is not None:
        wanted["input"] = format_shape(network["input"], drop_batch=False)
    return wanted


def architecture_label(name: str) -> str:
    """Return how pickers and lists name an architecture: registry name first, then display name, family, year."""
    # The registry name comes first: the picker's type-to-search ranks labels that start with the typed
    # text above labels that merely contain it, so typing "resnet50" offers resnet50 before wide_resnet50_2.
    spec = get_spec(name)
    return f"{name} · " + ("" if spec.display_name == name else f"{spec.display_name} · ") + f"{spec.family} {spec.year}"


def option_widget(name: str, option: Option, binding: dict[str, Any]) -> Any:
    """Draw the widget for one typed option with ``binding`` (from explorer.ui.state); return its value."""
    label = name.replace("_", " ")
    help_text = option.help or None
    if option.choices is not None:
        return st.selectbox(label, list(option.choices), help=help_text, **binding)
    if option.value_type is bool:
        return st.checkbox(label, help=help_text, **binding)
    if option.value_type is int:
        return int(st.number_input(label, min_value=None if option.low is None else int(option.low),
                                   max_value=None if option.high is None else int(option.high),
                                   step=1, help=help_text, **binding))
    return float(st.number_input(label, min_value=option.low, max_value=option.high, step=0.05, format="%.3f",
                                 help=help_text, **binding))


def apply_link() -> None:
    """Apply a URL the app did not write to the current network, and show a note per ignored value here.

    The picker calls it; a page whose picker sits in a collapsed section calls it at the top, so the
    notes are seen. A note quotes a value cut to MAX_VALUE characters and shows it literally (see
    explorer.ui.messages); past MAX_NOTES notes, one more counts the rest.
    """
    params = st.query_params.to_dict()
    if params and params != st.session_state.get(URL_WRITTEN):
        notes = apply_url(params)
        for note in notes[:MAX_NOTES]:
            show_error(note)
        if len(notes) > MAX_NOTES:
            show_error(f"{len(notes) - MAX_NOTES} more values of the link were ignored too.")
        st.session_state[URL_WRITTEN] = params


def network_editor(model: Callable[[], dict[str, Any]], replace: Callable[[dict[str, Any]], None], prefix: str,
                   custom_input: bool = True, label: str = "Architecture") -> ArchitectureChoice:
    """Draw the picker of one network from its model (``{"arch", "config", "input"}``, see this module's docstring).

    ``model()`` returns the dict to draw from and write to; ``replace(new)`` stores a new dict when another
    architecture is picked. Widget keys start with ``widget:<prefix>.``, so several editors can share a page.
    Returns the choice the widgets show (the input size only with ``custom_input``).
    """
    network = model()
    names = list_architectures()
    name = st.selectbox(label, names, format_func=architecture_label,
                        help="Every torchvision classifier, the course's classics and its building blocks. "
                             "Type a name to search.",
                        **state.bind_to(state.widget_key(f"{prefix}.arch"), network["arch"],
                                        lambda new: replace(fresh_network(new))))
    spec = get_spec(name)
    config = dict(network["config"])

    def set_option(option_name: str, value: Any) -> None:
        model()["config"][option_name] = value

    def set_size(index: int, value: int) -> None:
        size = list(model()["input"] or (1, 1))
        size[index] = int(value)
        model()["input"] = tuple(size)

    if spec.options:
        columns = st.columns(min(4, len(spec.options) + 1))
        for index, (option_name, option) in enumerate(spec.options.items()):
            binding = state.bind_to(state.widget_key(f"{prefix}.option.{name}.{option_name}"), config[option_name],
                                    lambda new, key=option_name: set_option(key, new))
            with columns[index % len(columns)]:
                config[option_name] = option_widget(option_name, option, binding)
        if config != spec.resolve_config():
            st.button("Reset options to the defaults", icon=":material/restart_alt:",
                      on_click=lambda: model().update(config=spec.resolve_config()),
                      key=state.widget_key(f"{prefix}.reset"))

    default_shape = spec.default_input_shape(config)
    input_shape = None
    if custom_input:
        custom = st.toggle(f"Custom input size (default {format_shape((1, *default_shape))})",
                           **state.bind_to(state.widget_key(f"{prefix}.custom.{name}"), network["input"] is not None,
                                           lambda on: model().update(input=tuple(default_shape[1:]) if on else None)))
        if custom and network["input"] is not None:
            left, right = st.columns(2)
            height = left.number_input("input height", min_value=1, max_value=MAX_INPUT_SIDE, step=1,
                                       **state.bind_to(state.widget_key(f"{prefix}.height.{name}"),
                                                       int(network["input"][0]), lambda v: set_size(0, v)))
            width = right.number_input("input width", min_value=1, max_value=MAX_INPUT_SIDE, step=1,
                                       **state.bind_to(state.widget_key(f"{prefix}.width.{name}"),
                                                       int(network["input"][1]), lambda v: set_size(1, v)))
            input_shape = (default_shape[0], int(height), int(width))
    return ArchitectureChoice(spec, config, input_shape)


def architecture_picker(custom_input: bool = True) -> ArchitectureChoice:
    """Draw the picker from the current network (its options and, with ``custom_input``, the input size).

    A link such as ``?arch=resnet50&width_mult=0.5&input=160x160`` reproduces the view; the URL always
    shows the current network. Values of a link that cannot be used are reported in one line each.
    """
    apply_link()
    params = st.query_params.to_dict()
    choice = network_editor(current_network, lambda new: st.session_state.update({NETWORK: new}), NETWORK,
                            custom_input)
    network = current_network()
    if not custom_input and network["input"] is not None:
        st.caption(f"The input size {format_shape(network['input'], drop_batch=False)} chosen on the Architecture page "
                   f"is not used here: this page feeds the network the size its preprocessing makes (listed below). "
                   f"It stays chosen for the Architecture page.")

    wanted = url_of(network)
    if params != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[URL_WRITTEN] = wanted
    return choice
