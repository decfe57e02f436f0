"""Messages built from user input, shown as plain text (never rendered as Markdown, HTML or LaTeX).

Streamlit renders the body of st.error/st.warning/st.info/st.success, st.caption and image captions as
Markdown with KaTeX (``$...$``) and its own directives (``:red[...]``, ``:material/icon:``). Every message
that repeats something a person typed, linked or uploaded (a URL value, a file name, a key of an uploaded
file) goes through :func:`plain`, and the ``show_*`` helpers here do that for a whole message. They also
bound what a message repeats (see :func:`bounded`), so a 50,000-character link value is never echoed whole.

One convention for a widget that cannot give what was asked (explorer/ui/ follows it; new widgets too):

- Nothing usable, and the page cannot go on without it (no image yet, an unreadable file, a weights file
  still to upload): one message here (show_error for something wrong, st.info for something still missing,
  saying what to do) and the widget returns None; the page stops on None (``if picture is None: st.stop()``).
- A usable fallback exists (pretrained weights that cannot be fetched, a device this machine lacks, a link's
  value that cannot be used): one message that names the fallback ("random weights stay in use", "Using the
  CPU", "was ignored"), and the widget returns the fallback.
- Stored state that no longer fits (an option of another network, a number out of range): the default, without
  a message, since nobody asked for it in this run (explorer.ui.state.bind).

An ExplorerError raised by the core is caught by the page or panel around the call, shown with show_error, and
that page or section stops; anything else is a bug and is not caught.
"""

from __future__ import annotations

import re

import streamlit as st

# Characters that mean something to CommonMark, GitHub's extensions, remark-math or Streamlit anywhere in a
# line. "-", "+", "#" and "." after digits mean something only at the start of a line (a list, a heading, a
# rule), and plain() makes one line of its text, so they are escaped only there: elsewhere they stay as they
# are, and messages read the same where they are read raw (AppTest, logs).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()!|$<>~:&])")
_LINE_START = ((re.compile(r"^([-+#])"), r"\\\1"), (re.compile(r"^(\d+)\."), r"\1\\."))
_WHITESPACE = re.compile(r"\s+")
_ZERO_WIDTH_SPACE = "\u200b"
ELLIPSIS = "…"

MAX_VALUE = 60  # characters of one value (a link's arch, an option, a key) that a message quotes back
MAX_WORD = 120  # characters of one unbroken run (a file name, a key of an uploaded file) that any message keeps
MAX_MESSAGE = 1200  # characters of a whole message


def cut(value: object, limit: int = MAX_VALUE) -> str:
    """Return ``str(value)``, cut to ``limit`` characters followed by "…" when it is longer."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + ELLIPSIS


def bounded(text: str) -> str:
    """Return ``text`` with every unbroken run longer than MAX_WORD cut, and at most MAX_MESSAGE characters.

    The core builds some messages from what a person uploaded (a file name, the keys of a state_dict) without
    knowing how long they are: this is the UI's bound on them, whatever the message.
    """
    text = re.sub(r"\S{%d,}" % (MAX_WORD + 1), lambda match: match.group()[:MAX_WORD] + ELLIPSIS, str(text))
    return cut(text, MAX_MESSAGE)


def plain(text: str) -> str:
    """Return ``text`` with every character that Markdown, KaTeX, HTML or Streamlit would interpret escaped.

    Whitespace runs (newlines included) become one space, so the text cannot start a new block (a heading, a
    list, an indented code block). Backslash escapes do not stop GitHub-flavoured Markdown from turning bare
    addresses into links, so a zero-width space also breaks "://", "www." and "@" (the text reads the same).
    """
    escaped = _MARKDOWN.sub(r"\\\1", _WHITESPACE.sub(" ", str(text)).lstrip())
    for pattern, replacement in _LINE_START:
        escaped = pattern.sub(replacement, escaped)
    # only where an address could start, so copied text elsewhere ("Note: ...") carries no invisible characters
    for pattern, replacement in ((r"\\:(?=//)", r"\\:" + _ZERO_WIDTH_SPACE), (r"(?i)(w)(ww)", r"\1" + _ZERO_WIDTH_SPACE + r"\2"),
                                 ("@", "@" + _ZERO_WIDTH_SPACE)):
        escaped = re.sub(pattern, replacement, escaped)
    return escaped


def literal(text: str) -> str:
    """Return ``text`` bounded and escaped: what a caption or label that repeats user input shows."""
    return plain(bounded(text))


def show_error(text: str) -> None:
    """Show ``text`` in an error box, literally."""
    st.error(literal(text))


def show_warning(text: str, icon: str | None = None) -> None:
    """Show ``text`` in a warning box, literally."""
    st.warning(literal(text), icon=icon)


def show_info(text: str, icon: str | None = None) -> None:
    """Show ``text`` in an info box, literally."""
    st.info(literal(text), icon=icon)


def show_success(text: str, icon: str | None = None) -> None:
    """Show ``text`` in a success box, literally."""
    st.success(literal(text), icon=icon)
