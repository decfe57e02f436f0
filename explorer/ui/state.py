"""Page state that no widget owns: the pattern every page follows (README, "Conventions").

Streamlit deletes a widget's state in any run that does not draw it (an early ``st.stop()``, a hidden
branch, another page), and the widget then comes back at its default while the page may still compute
with something else. So each page keeps its model (choices, pipeline, the current network) in session
state under keys no widget uses, and draws every widget from it:

    count = st.slider("Samples", 1, 32, **bind("augment.count", 8))

``bind`` sets the widget's own key from the model before the widget is drawn and writes the widget's
new value back to the model in ``on_change``. A run that does not draw the widget loses nothing.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import streamlit as st

WIDGET_PREFIX = "widget:"
JUST_CHANGED = "state.just_changed"  # the widget keys a person changed to start this run (no widget owns it)


def widget_key(model_key: str) -> str:
    """Return the key of the widget that shows ``model_key`` (tests address widgets by it)."""
    return WIDGET_PREFIX + model_key


def get(model_key: str, default: Any) -> Any:
    """Return the model value at ``model_key``, storing ``default`` first if there is none."""
    return st.session_state.setdefault(model_key, default)


def put(model_key: str, value: Any) -> None:
    """Store ``value`` at ``model_key``."""
    st.session_state[model_key] = value


def bind_to(key: str, value: Any, write: Callable[[Any], None]) -> dict[str, Any]:
    """Return the widget kwargs (key, on_change) that show ``value`` and hand a change to ``write``.

    Call it right before drawing the widget, with ``key`` unique to that widget.
    """
    # Streamlit pushes a value written from the script to the browser. In the run a person's own change started,
    # the widget already shows that value, and writing it again let a run that finished after they had moved it
    # further push the older value back (eight key presses on a slider stopped at the third). So that run leaves
    # it alone; every other run writes it, because the widget may be new (another page, other bounds) and would
    # otherwise start at its default.
    changed = st.session_state.setdefault(JUST_CHANGED, set())
    if not (key in changed and st.session_state.get(key) == value):
        st.session_state[key] = value
    changed.discard(key)

    def on_change() -> None:
        st.session_state.setdefault(JUST_CHANGED, set()).add(key)
        write(st.session_state[key])

    return {"key": key, "on_change": on_change}


def bind(model_key: str, default: Any, valid: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """Return the widget kwargs that show the model value at ``model_key`` and write changes back.

    A stored value that ``valid`` rejects (an option that no longer exists, a number out of range) is
    replaced by ``default`` before the widget is drawn, so widget and model never disagree.
    """
    value = st.session_state.get(model_key, default)
    if valid is not None and not valid(value):
        value = default
    st.session_state[model_key] = value
    return bind_to(widget_key(model_key), value, lambda new: put(model_key, new))


def lazy_tabs(model_key: str, labels: Sequence[str]) -> Sequence[Any]:
    """Draw tabs with the one open in the model at ``model_key``; only the open tab's ``.open`` is True, so a page
    runs that tab's code alone (Streamlit's lazy tabs) and the browser draws one tab, not all of them."""
    current = get(model_key, labels[0])
    return st.tabs(list(labels), **bind_to(widget_key(model_key), current if current in labels else labels[0],
                                           lambda label: put(model_key, label)))
