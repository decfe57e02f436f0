"""The augmentation pipeline editor: add, tune, reorder and remove steps; load and keep JSON pipelines."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

import streamlit as st

from explorer.augment import MAX_JSON_BYTES, MAX_STEPS, OPERATIONS, AugmentError, from_json, new_step
from explorer.ui import state
from explorer.ui.messages import show_error
from explorer.ui.network import option_widget

DEFAULT_PIPELINE = ("hflip", "random_resized_crop")
_ids = itertools.count()


def _state(key: str) -> list[dict[str, Any]]:
    if key not in st.session_state:
        st.session_state[key] = [{**new_step(op), "id": next(_ids)} for op in DEFAULT_PIPELINE]
    return st.session_state[key]


def _replace(key: str, steps: list[dict[str, Any]]) -> None:
    st.session_state[key] = [{**step, "id": next(_ids)} for step in steps]


def _move(key: str, index: int, offset: int) -> None:
    steps = st.session_state[key]
    target = index + offset
    if 0 <= target < len(steps):
        steps[index], steps[target] = steps[target], steps[index]


def _remove(key: str, index: int) -> None:
    del st.session_state[key][index]


def _add(key: str) -> None:
    if len(st.session_state[key]) < MAX_STEPS:  # the button is disabled then; a click sent before may still come
        st.session_state[key].append({**new_step(st.session_state[f"{key}.new"]), "id": next(_ids)})


def _load(key: str, data: bytes) -> None:
    """Replace the steps by those of a pipeline file, once per file; a bad file keeps the last good pipeline.

    The outcome is kept by the file's digest, good or bad, so a file is parsed once and not again on every
    rerun, and a bad file's message stays on the page for as long as the file stays in the uploader.
    """
    digest = hashlib.sha256(data).hexdigest()
    seen = st.session_state.get(f"{key}.json_seen")
    if seen is None or seen[0] != digest:
        try:
            _replace(key, from_json(data))
            seen = (digest, None)
        except AugmentError as error:
            seen = (digest, f"{error} The pipeline was not changed.")
        st.session_state[f"{key}.json_seen"] = seen
    if seen[1] is not None:
        show_error(seen[1])


def _set_param(step: dict[str, Any], name: str, value: Any) -> None:
    step["params"][name] = value


def pipeline_editor(key: str = "pipeline") -> list[dict[str, Any]]:
    """Show the editor; return the current steps ({"op", "params", "p"}), in order.

    The steps are the page's model (``st.session_state[key]``); every widget is drawn from them and writes
    back on change, so a run that does not draw the editor (the page stopped early) loses nothing. A pipeline
    has at most :data:`explorer.augment.MAX_STEPS` steps: at that many, "Add to the pipeline" is disabled and
    the editor says why.
    """
    _state(key)
    left, right = st.columns([2, 1])
    left.selectbox("Operation", list(OPERATIONS),
                   format_func=lambda name: OPERATIONS[name].label + (" (course)" if OPERATIONS[name].course else ""),
                   **state.bind(f"{key}.new", next(iter(OPERATIONS)), lambda op: op in OPERATIONS))
    add_slot = right.empty()  # filled after a file is loaded, so that the button counts the loaded steps
    # the browser refuses larger files before sending them (1 MB is the smallest limit it takes); the core
    # then reads at most MAX_JSON_BYTES
    upload = st.file_uploader(f"Load a pipeline saved as JSON (up to {MAX_JSON_BYTES // 1024} KB)", type=["json"],
                              key=state.widget_key(f"{key}.json"), max_upload_size=1)
    if upload is not None:
        _load(key, upload.getvalue())
    else:  # the file was removed: loading it again loads it again
        st.session_state.pop(f"{key}.json_seen", None)
    steps = st.session_state[key]
    full = len(steps) >= MAX_STEPS
    with add_slot.container():
        st.button("Add to the pipeline", on_click=_add, args=(key,), icon=":material/add:", width="stretch",
                  disabled=full)
        if full:
            st.caption(f"A pipeline has at most {MAX_STEPS} steps: remove one to add another.")
    current = []
    for index, step in enumerate(steps):
        operation = OPERATIONS[step["op"]]
        with st.expander(f"{index + 1}. {operation.label}", expanded=True):
            columns = st.columns(4)
            for position, (name, option) in enumerate(operation.params.items()):
                binding = state.bind_to(state.widget_key(f"{key}.{step['id']}.{name}"),
                                        step["params"].get(name, option.default),
                                        lambda value, step=step, name=name: _set_param(step, name, value))
                with columns[position % 4]:
                    step["params"][name] = option_widget(name, option, binding)
            st.slider("probability", 0.0, 1.0, step=0.05,
                      **state.bind_to(state.widget_key(f"{key}.{step['id']}.p"), float(step["p"]),
                                      lambda value, step=step: step.update(p=value)))
            buttons = st.columns(3)
            buttons[0].button("Up", key=f"{key}:{step['id']}:up", on_click=_move, args=(key, index, -1),
                              disabled=index == 0, icon=":material/arrow_upward:")
            buttons[1].button("Down", key=f"{key}:{step['id']}:down", on_click=_move, args=(key, index, 1),
                              disabled=index == len(steps) - 1, icon=":material/arrow_downward:")
            buttons[2].button("Remove", key=f"{key}:{step['id']}:remove", on_click=_remove, args=(key, index),
                              icon=":material/delete:")
        current.append({"op": step["op"], "params": dict(step["params"]), "p": float(step["p"])})
    return current
