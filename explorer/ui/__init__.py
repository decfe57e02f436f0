"""The only part of explorer/ that imports streamlit: shared widgets and cached wrappers for the pages.

The names below are imported on first use (PEP 562), so ``from explorer.ui import warmup`` and Home, which need
none of them, do not import PyTorch with this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "explorer.ui.cache": ("cached_analysis", "cached_capture", "cached_dot", "cached_model", "cached_source_code",
                          "classified_once"),
    "explorer.ui.tables": ("layer_table",),
    "explorer.ui.network": ("ArchitectureChoice", "apply_link", "architecture_label", "architecture_picker",
                            "current_network"),
    "explorer.ui.widgets": ("ChosenImage", "device_picker", "image_input", "selected_device", "show_totals",
                            "weights_picker"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    """Import the module that defines ``name`` the first time a page asks for it."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
