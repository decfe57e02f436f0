"""Messages built from user input, shown as plain text (never rendered as Markdown, HTML or LaTeX)."""

from __future__ import annotations

import re

import streamlit as st

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|$<>~:])")
_ZERO_WIDTH_SPACE = "\u200b"


def plain(text: str) -> str:
    """Return ``text`` with every character that Markdown, KaTeX or HTML would interpret escaped.

    Backslash escapes do not stop GitHub-flavoured Markdown from turning bare addresses into links, so a
    zero-width space also breaks "://", "www." and "@" (the text reads the same).
    """
    escaped = _MARKDOWN.sub(r"\\\1", str(text))
    for pattern, replacement in ((r"\\:", r"\\:" + _ZERO_WIDTH_SPACE), (r"(?i)(w)(ww)", r"\1" + _ZERO_WIDTH_SPACE + r"\2"),
                                 ("@", "@" + _ZERO_WIDTH_SPACE)):
        escaped = re.sub(pattern, replacement, escaped)
    return escaped


def show_error(text: str) -> None:
    """Show ``text`` in an error box, literally."""
    st.error(plain(text))
