"""The Compare page's model: the networks compared (2 to 8), the two networks of the stage diff, and the URL.

Each network is a dict ``{"arch", "config", "input"}`` as the current network is (explorer.ui.network), kept in
session state under keys no widget owns, and drawn with the same editor as the Architecture page's picker. The
URL holds the choice the way the CLI writes it: ``?arch=resnet18&arch=mobilenet_v1&set=mobilenet_v1:width_mult=0.5``
(``set`` is ``NAME:KEY=VALUE`` or ``POSITION:KEY=VALUE``; ``input`` is a key too), and ``diff``/``dset`` likewise
for the stage diff; ``batch`` is the latency batch. A URL the app did not write replaces the choice; values it
cannot use are named in one line each and ignored.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pandas as pd
import streamlit as st

from explorer import compare, compare_charts, latency, stages
from explorer.errors import ExplorerError, InvalidOptionError
from explorer.ui import state
from explorer.ui.messages import cut, show_error
from explorer.ui.network import (
    MAX_LOOKUP,
    MAX_NOTES,
    ArchitectureChoice,
    echo,
    current_network,
    fresh_network,
    network_editor,
    parse_size,
    unknown_architecture_note,
    url_of,
)
from explorer.units import change, format_shape, human_seconds
from explorer.ui.cache import cached_model
from explorer.ui.widgets import WeightsChoice
from explorer.weights import WeightSource
from explorer.zoo import get_spec

NETWORKS = "compare.networks"
DIFF = "compare.diff"
BATCH = "compare.batch"
LATENCY_ERRORS = "compare.latency_errors"  # what the last measurement refused, by network, shown until the next
URL_WRITTEN = "compare.url_written"
DEFAULT_DIFF = ("resnet18", "resnet34")
MAX_BATCH = 64
DEFAULT_BATCH = 8
LIST_KEYS = ("arch", "set", "diff", "dset")
ROW_HEIGHT = 35  # st.dataframe's default row height in pixels


def networks() -> list[dict[str, Any]]:
    """Return the compared networks' models (the course's classics before anything was chosen)."""
    value = st.session_state.get(NETWORKS)
    if not isinstance(value, list) or not compare.MIN_NETWORKS <= len(value) <= compare.MAX_NETWORKS:
        value = st.session_state[NETWORKS] = [fresh_network(name) for name in compare.default_names()]
    return value


def diff_pair() -> list[dict[str, Any]]:
    """Return the two networks of the stage diff (resnet18 and resnet34 before anything was chosen)."""
    value = st.session_state.get(DIFF)
    if not isinstance(value, list) or len(value) != 2:
        value = st.session_state[DIFF] = [fresh_network(name) for name in DEFAULT_DIFF]
    return value


def _query() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _settings_of(models: Sequence[dict[str, Any]]) -> list[str]:
    """Return the ``set`` items that reproduce each model's options off their default and its input size."""
    names = [model["arch"] for model in models]
    items = []
    for position, model in enumerate(models, start=1):
        target = model["arch"] if names.count(model["arch"]) == 1 else str(position)
        for key, value in url_of(model).items():
            if key != "arch":
                items.append(f"{target}:{key}={value}")
    return items


def url_of_page() -> dict[str, list[str]]:
    """Return the query parameters that reproduce the page: the networks, their options, the diff pair, the batch."""
    wanted = {"arch": [m["arch"] for m in networks()], "set": _settings_of(networks()),
              "diff": [m["arch"] for m in diff_pair()], "dset": _settings_of(diff_pair())}
    wanted = {key: values for key, values in wanted.items() if values}
    batch = state.get(BATCH, DEFAULT_BATCH)
    if batch != DEFAULT_BATCH:
        wanted["batch"] = [str(batch)]
    return wanted


def _models_from(names: list[str], items: list[str], notes: list[str], what: str) -> list[dict[str, Any]]:
    """Return the models of ``names`` with the ``set`` items applied; each unusable value adds a note."""
    models = []
    for name in names:
        try:
            models.append(fresh_network(get_spec(name[:MAX_LOOKUP]).name))
        except ExplorerError:
            notes.append(unknown_architecture_note(what, name))
    for item in items:
        try:
            parsed = compare.parse_settings([item], [m["arch"] for m in models])
        except ExplorerError as error:
            notes.append(f"{error} The link's setting {echo(item)} was ignored.")
            continue
        for model, values in zip(models, parsed):
            spec = get_spec(model["arch"])
            for key, value in values.items():
                try:
                    if key == "input":
                        model["input"] = parse_size(value)
                    elif key in spec.options:
                        model["config"][key] = spec.options[key].parse(key, value)
                    else:
                        raise InvalidOptionError(f"{spec.name} has no option {echo(key)}; its options are: "
                                                 f"{', '.join(sorted(spec.options)) or 'none'}.")
                except ExplorerError as error:
                    notes.append(f"{error} The link's {cut(key)} was ignored.")
    return models


def apply_link() -> None:
    """Apply a URL the app did not write to the page's model, showing one note per value it ignored."""
    params = _query()
    if not params or params == st.session_state.get(URL_WRITTEN):
        return
    notes: list[str] = []
    if "arch" in params:
        models = _models_from(params["arch"][:4 * compare.MAX_NETWORKS], params.get("set", []), notes, "arch")
        if compare.MIN_NETWORKS <= len(models) <= compare.MAX_NETWORKS:
            st.session_state[NETWORKS] = models
        else:
            notes.append(f"The link names {_networks(len(models))} that can be used; Compare takes "
                         f"{compare.MIN_NETWORKS} to {compare.MAX_NETWORKS}, so the networks stay as they were.")
    if "diff" in params:
        models = _models_from(params["diff"][:4], params.get("dset", []), notes, "diff")
        if len(models) == 2:
            st.session_state[DIFF] = models
        else:
            notes.append(f"The stage diff takes two networks and the link names {_networks(len(models))} that can "
                         f"be used, so the diff stays as it was.")
    if "batch" in params:
        text = params["batch"][-1]
        if text.isdigit() and 1 <= int(text) <= MAX_BATCH:
            state.put(BATCH, int(text))
        else:
            notes.append(f"The batch must be a whole number from 1 to {MAX_BATCH}, not {echo(text)}; it was ignored.")
    for key in params:
        if key not in (*LIST_KEYS, "batch"):
            notes.append(f"Compare has no setting {echo(key)} (its link takes arch, set, diff, dset and batch; an input "
                         f"size is set per network, e.g. set=resnet18:input=160x160), so it was ignored.")
    for note in notes[:MAX_NOTES]:
        show_error(note)
    if len(notes) > MAX_NOTES:
        show_error(f"{len(notes) - MAX_NOTES} more values of the link were ignored too.")
    st.session_state[URL_WRITTEN] = params


def write_url() -> None:
    """Make the URL show the page's model (call at the end of the page's widgets)."""
    wanted = url_of_page()
    if _query() != wanted:
        st.query_params.from_dict(wanted)
    st.session_state[URL_WRITTEN] = wanted


def _networks(count: int) -> str:
    return {0: "no network", 1: "one network"}.get(count, f"{count} networks")


def _model_at(key: str, index: int) -> Callable[[], dict[str, Any]]:
    return lambda: st.session_state[key][index]


def _replace_at(key: str, index: int) -> Callable[[dict[str, Any]], None]:
    def replace(new: dict[str, Any]) -> None:
        st.session_state[key][index] = new
    return replace


def _summary_label(model: dict[str, Any]) -> str:
    spec = get_spec(model["arch"])
    changed = [f"{k}={v}" for k, v in model["config"].items() if v != spec.options[k].default]
    if model["input"] is not None:
        changed.append(f"input {model['input'][0]}x{model['input'][1]}")
    return model["arch"] + (f" ({', '.join(changed)})" if changed else "")


def _remove(index: int) -> None:
    del networks()[index]


def _add(model: dict[str, Any]) -> None:
    networks().append(model)


def networks_editor() -> list[ArchitectureChoice]:
    """Draw one picker per compared network (in an expander each), with add, remove and reset buttons."""
    models = networks()
    choices = []
    for index in range(len(models)):
        # keyed: the label changes with the options, and an unkeyed expander would close after every edit
        with st.expander(f"{index + 1}. {_summary_label(models[index])}", key=f"compare.expander.{index}"):
            choices.append(network_editor(_model_at(NETWORKS, index), _replace_at(NETWORKS, index),
                                          f"compare.network.{index}"))
            st.button("Remove from the comparison", key=state.widget_key(f"compare.remove.{index}"),
                      icon=":material/close:", on_click=_remove, args=(index,),
                      disabled=len(models) <= compare.MIN_NETWORKS,
                      help=f"Compare keeps at least {compare.MIN_NETWORKS} networks.")
    full = len(models) >= compare.MAX_NETWORKS
    buttons = st.container(horizontal=True, wrap=True)
    current = current_network()
    reason = f"Compare takes at most {compare.MAX_NETWORKS} networks: remove one first." if full else None
    buttons.button(f"Add the current network ({_summary_label(current)})", icon=":material/add:",
                   key=state.widget_key("compare.add_current"), disabled=full, help=reason,
                   on_click=lambda: _add({**current, "config": dict(current["config"])}))
    buttons.button("Add a network", icon=":material/add:", key=state.widget_key("compare.add"), disabled=full,
                   help=reason, on_click=lambda: _add(fresh_network("resnet18")))
    buttons.button("Reset to the course's classics", icon=":material/restart_alt:", key=state.widget_key("compare.reset"),
                   on_click=lambda: st.session_state.pop(NETWORKS, None))
    return choices


def diff_editors() -> tuple[ArchitectureChoice, ArchitectureChoice]:
    """Draw the pickers of the stage diff's two networks side by side; return their choices."""
    diff_pair()
    left, right = st.columns(2)
    with left:
        a = network_editor(_model_at(DIFF, 0), _replace_at(DIFF, 0), "compare.diff.0", label="Network A")
    with right:
        b = network_editor(_model_at(DIFF, 1), _replace_at(DIFF, 1), "compare.diff.1", label="Network B")
    return a, b


def batch_input() -> int:
    """Draw the latency batch size (1 to MAX_BATCH) from the page's model; return it."""
    return int(st.number_input("Batch size (besides batch 1)", 1, MAX_BATCH, step=1, **state.bind(
        BATCH, DEFAULT_BATCH, lambda value: isinstance(value, int) and 1 <= value <= MAX_BATCH)))


def url_of_choice(choice: ArchitectureChoice) -> dict[str, str]:
    """Return the Architecture page's query parameters for ``choice`` (its link opens that network there)."""
    size = None if choice.input_shape is None else tuple(choice.input_shape[1:])
    return url_of({"arch": choice.name, "config": dict(choice.config), "input": size})


_GREW, _SHRANK = "background-color: #d4edda", "background-color: #fde2c8"


def _count(value: int | None, signed: bool = False) -> str:
    return "—" if value is None else change(value) if signed else f"{value:,}"


def stage_diff_table(diff: stages.StageDiff) -> Any:
    """Return the stage diff as a styled table, one row per pair of stages at one scale: each side's own stage
    (number and size), output shape, blocks, params and MACs, and the change from A to B (green more, orange
    fewer); "—" where a side has no stage at that scale."""
    rows, changes = [], []
    for pair in diff.pairs:
        a, b = pair.a, pair.b
        row = {f"stage {diff.a}": f"{a.index}: {a.label}" if a else "—",
               f"stage {diff.b}": f"{b.index}: {b.label}" if b else "—",
               f"output {diff.a}": format_shape(a.output_shape) if a and a.output_shape else "—",
               f"output {diff.b}": format_shape(b.output_shape) if b and b.output_shape else "—"}
        signs = {}
        for field, title in (("blocks", "blocks"), ("params", "params"), ("macs", "MACs")):
            change = pair.delta(field)
            row[f"{title} {diff.a}"] = _count(getattr(a, field) if a else None)
            row[f"{title} {diff.b}"] = _count(getattr(b, field) if b else None)
            row[f"{title} change"] = _count(change, signed=True)
            signs[f"{title} change"] = 0 if change is None else (change > 0) - (change < 0)
        rows.append(row)
        changes.append(signs)
    frame = pd.DataFrame(rows)
    signs = pd.DataFrame(changes)

    def colour(column: pd.Series) -> list[str]:
        return [_GREW if sign > 0 else _SHRANK if sign < 0 else "" for sign in signs[column.name]]

    return frame.style.apply(colour, subset=list(signs.columns))


def comparison_table(summaries: Sequence[compare.NetworkSummary], labels: Sequence[str]) -> None:
    """Show the comparison: one row per quantity (labels pinned on the left), one column per network, every row
    visible without an inner scroll."""
    rows = compare.table_rows(summaries)
    frame = pd.DataFrame({label: [row[i + 1] for row in rows[1:]] for i, label in enumerate(labels)},
                         index=pd.Index([row[0] for row in rows[1:]], name="quantity"))
    st.dataframe(frame, height=ROW_HEIGHT * (len(frame) + 1) + 3, width="stretch",
                 column_config={"_index": st.column_config.TextColumn(width="medium", pinned=True)})



def _random_model(choice: ArchitectureChoice, device: str) -> Callable[[], Any]:
    return lambda: cached_model(choice, WeightsChoice(WeightSource.RANDOM), device).model


def latency_section(choices: Sequence[ArchitectureChoice], labels: Sequence[str], device: str, batch: int) -> None:
    """Show each network's measured forward time at batch 1 and ``batch`` on ``device``: what is kept is shown at
    once; a button measures the rest, one network after another, with a progress bar, within the budget."""
    batches = sorted({1, batch})
    predicted: dict[str, float] = {}
    refused: dict[str, str] = {}
    kept: dict[str, dict[int, Any]] = {}
    for choice, label in zip(choices, labels):
        kept[label] = latency.kept_latency(choice.name, choice.config, choice.input_shape, batches, device)
        if len(kept[label]) == len(batches):
            continue
        try:
            predicted[label] = latency.check_latency(choice.name, choice.config, choice.input_shape, batches, device)
        except ExplorerError as error:
            refused[label] = str(error)
    if predicted:
        st.caption(f"Timing {len(predicted)} network{'s' if len(predicted) > 1 else ''} not measured yet should take "
                   f"about {human_seconds(sum(predicted.values()))} (predicted from their MACs and memory traffic at "
                   f"this device's measured speed).")
    clicked = st.button(f"Measure latency on {device}", icon=":material/timer:", disabled=not predicted,
                        key=state.widget_key("compare.measure"),
                        help=None if predicted else "Every network here is measured already, or refused below.")
    for label, sentence in refused.items():
        show_error(f"{label}: {sentence}")
    if clicked:
        state.put(LATENCY_ERRORS, {})
        bar = st.progress(0.0, text="Timing...")
        todo = [(c, label) for c, label in zip(choices, labels) if label in predicted]
        for index, (choice, label) in enumerate(todo):
            def progress(fraction: float, text: str, index: int = index, label: str = label) -> None:
                bar.progress(min(1.0, (index + fraction) / len(todo)), text=f"{label}: {text}")
            try:
                latency.cached_latency(choice.name, choice.config, choice.input_shape, batches, device,
                                       _random_model(choice, device), progress)
            except ExplorerError as error:
                state.put(LATENCY_ERRORS, {**state.get(LATENCY_ERRORS, {}), label: str(error)})
        bar.empty()
        st.rerun()  # draw the results and what is left to measure from what is kept now
    for label, sentence in state.get(LATENCY_ERRORS, {}).items():
        if label in labels:
            show_error(f"{label}: {sentence}")
    measured = [label for label in labels if len(kept.get(label, {})) == len(batches)]
    if not measured:
        st.info("Nothing measured yet on this device at these batch sizes.")
        return
    rows = []
    for label in measured:
        timings = kept[label]
        row = {"network": label, "batch 1 (ms)": round(timings[1].median * 1e3, 3),
               "batch 1 spread (ms)": round(timings[1].iqr * 1e3, 3)}
        if batch != 1:
            row[f"batch {batch} (ms)"] = round(timings[batch].median * 1e3, 3)
            row[f"per image at batch {batch} (ms)"] = round(timings[batch].median * 1e3 / batch, 3)
            row[f"images/s at batch {batch}"] = round(batch / timings[batch].median, 1)
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption("Median over timed blocks after warm-up passes; the spread is the interquartile range between blocks "
               "(a large spread means the device was busy with other work: time again). Kept per network, options, "
               "input, device and batch for everyone on this server.")
    st.plotly_chart(compare_charts.latency_chart(
        measured, [kept[label][1].median * 1e3 for label in measured],
        [kept[label][batch].median * 1e3 for label in measured], batch, device))


TABS = ("Table", "Charts", "Latency", "Stage by stage")
TAB = "compare.tab"


def tabs() -> Sequence[Any]:
    """Draw the page's tabs lazily (explorer.ui.state.lazy_tabs): the charts and the timing predictions wait until
    their tab is opened."""
    return state.lazy_tabs(TAB, TABS)
