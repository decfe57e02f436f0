"""Warm the server's shared caches once per process, in the background, so that the first person to open each
page does not pay for what every session shares: the pages' imports (plotly, the augmentation and scaling code,
torch and torchvision first), the course's classics analysed at their defaults (Architecture, Compare), and
Compound scaling's default curve and single-dimension table.

Streamlit has no hook at server start, so app.py starts this after its first run has drawn the page. Home imports
no torch (its numbers are shipped precomputed), so a fresh server's first visitor sees Home without waiting for
PyTorch, and a page opened after the warm-up has finished pays for none of it. This module imports nothing heavy
at its top for the same reason. Set CONVNET_EXPLORER_WARM_UP=0 to turn it off.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

import streamlit as st

from explorer import classic_cards

PAGES = Path(__file__).resolve().parents[2] / "app_pages"
EXTRA_NETWORKS = ("efficientnet_b7",)  # the largest classic-family network people open by URL
LOG = logging.getLogger(__name__)
START_DELAY_S = 1.5  # let the browser draw the first page before the warm-up takes a core (2-core servers)


def page_modules(pages: Path = PAGES) -> list[str]:
    """Return the modules the app's pages import (read from their source), sorted."""
    names: set[str] = set()
    for path in pages.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names  # submodules by name
                             if _is_module(f"{node.module}.{alias.name}"))
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
    return sorted(names)


def _is_module(name: str) -> bool:
    """Whether ``name`` is an importable module (not a function or class imported from a package)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _scaling_defaults() -> None:
    from explorer.ui import scaling as page

    alpha, beta, gamma = (slider.default for slider in page.SLIDERS[1:])
    page.curve(alpha, beta, gamma)
    page.cached_single_dimension(page.SLIDERS[0].default, alpha, beta, gamma)


_IMPORT_LOCK = threading.Lock()
_IMPORTED = threading.Event()


def import_page_modules() -> None:
    """Import every module the pages import, once per process and one thread at a time.

    app.py calls it before any page but Home, and the warm-up as its first step: two threads importing torchvision at
    once can stop one of them with Python's import-deadlock error (a page then failed with an AttributeError from a
    half-imported module). A module that fails to import is logged and left to the page that needs it.
    """
    if _IMPORTED.is_set():
        return
    with _IMPORT_LOCK:
        if _IMPORTED.is_set():
            return
        for name in page_modules():
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the page importing it reports the error itself
                LOG.warning("warm-up: importing %s failed", name, exc_info=True)
        _IMPORTED.set()


def _analyse(name: str) -> None:
    from explorer.ui.cache import cached_analysis
    from explorer.ui.network import ArchitectureChoice
    from explorer.zoo import get_spec

    cached_analysis(ArchitectureChoice.with_defaults(get_spec(name)))


def steps() -> list[tuple[str, Callable[[], object]]]:
    """The warm-up's steps in order, as (what, function); each is what some page computes on its first load. Listing
    them imports nothing heavy (app.py imports this module before torch)."""
    networks = [*(card.name for card in classic_cards.load()), *EXTRA_NETWORKS]
    return [("import the pages' modules", import_page_modules),
            *((f"analyse {name}", lambda name=name: _analyse(name)) for name in networks),
            ("Compound scaling's defaults", _scaling_defaults)]


def warm_up(delay_s: float = 0.0) -> dict[str, float]:
    """Wait ``delay_s``, then run every step; return the seconds each took. A step that fails is logged and skipped:
    warming is an optimisation, and the page that needs the value computes it (and reports any error) itself."""
    time.sleep(delay_s)
    seconds: dict[str, float] = {}
    for what, step in steps():
        started = time.perf_counter()
        try:
            step()
        except Exception:  # noqa: BLE001 - never let a warm-up take the server down
            LOG.warning("warm-up step %r failed", what, exc_info=True)
            continue
        seconds[what] = time.perf_counter() - started
    LOG.info("warm-up: %d steps in %.1f s", len(seconds), sum(seconds.values()))
    return seconds


@st.cache_resource(show_spinner=False)
def start_in_background() -> threading.Thread | None:
    """Start warm_up() in a daemon thread, once per process (None when CONVNET_EXPLORER_WARM_UP=0)."""
    if os.environ.get("CONVNET_EXPLORER_WARM_UP", "1") == "0":
        return None
    thread = threading.Thread(target=warm_up, kwargs={"delay_s": START_DELAY_S}, name="convnet-explorer-warm-up",
                              daemon=True)
    thread.start()
    return thread
