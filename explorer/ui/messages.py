"""Messages built from user input, shown as plain text (never rendered as Markdown, HTML or LaTeX)."""

from __future__ import annotations

import re

import streamlit as st

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~:])")


def plain(text: str) -> str:
    """Return ``text`` with every character that Markdown, KaTeX or HTML would interpret escaped."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def show_error(text: str) -> None:
    """Show ``text`` in an error box, literally."""
    st.error(plain(text))
