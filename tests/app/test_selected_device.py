"""The device a page passes to torch is one this machine has: an unknown id in state falls back to the CPU."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page(device: str) -> None:
    import streamlit as st

    from explorer import ui

    st.session_state["device"] = device
    st.text(ui.selected_device())


def test_an_unknown_device_in_state_gives_the_cpu_with_a_note():
    at = AppTest.from_function(_page, args=("tpu:0",)).run()
    assert not at.exception and at.text[0].value == "cpu"
    note = at.warning[0].value
    assert note.startswith("There is no device 'tpu") and note.endswith("Using the CPU.")


def test_a_device_this_machine_has_is_passed_on_without_a_note():
    at = AppTest.from_function(_page, args=("cpu",)).run()
    assert not at.exception and at.text[0].value == "cpu" and not at.warning
