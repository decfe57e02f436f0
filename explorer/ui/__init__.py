"""The only part of explorer/ that imports streamlit: shared widgets and cached wrappers for the pages."""

from explorer.ui.cache import (
    cached_analysis,
    cached_capture,
    cached_dot,
    cached_model,
    cached_source_code,
    classified_once,
)
from explorer.ui.tables import layer_table
from explorer.ui.network import (
    ArchitectureChoice,
    apply_link,
    architecture_label,
    architecture_picker,
    current_network,
)
from explorer.ui.widgets import (
    ChosenImage,
    device_picker,
    image_input,
    selected_device,
    show_totals,
    weights_picker,
)

__all__ = [
    "ArchitectureChoice", "ChosenImage", "apply_link", "architecture_label", "architecture_picker", "cached_analysis",
    "cached_capture", "cached_dot", "cached_model", "cached_source_code", "classified_once", "current_network",
    "device_picker", "image_input", "layer_table", "selected_device", "show_totals", "weights_picker",
]
