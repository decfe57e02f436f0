"""The only part of explorer/ that imports streamlit: shared widgets and cached wrappers for the pages."""

from explorer.ui.cache import cached_analysis, cached_dot, cached_sources, config_items
from explorer.ui.tables import layer_table
from explorer.ui.widgets import (
    ArchitectureChoice,
    architecture_picker,
    device_picker,
    selected_device,
    show_totals,
)

__all__ = [
    "ArchitectureChoice", "architecture_picker", "cached_analysis", "cached_dot", "cached_sources",
    "config_items", "device_picker", "layer_table", "selected_device", "show_totals",
]
