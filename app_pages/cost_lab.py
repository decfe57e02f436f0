"""Cost lab: redo the course's cost arguments with your own sizes, then measure them on your device."""

import streamlit as st

from explorer import ui
from explorer.costs import SPECS
from explorer.ui.cost_panel import comparison_panel

st.title("Cost lab")
st.caption("Multiplications (MACs) counted in closed form, FLOPs = 2 x MACs; the same numbers PyTorch's flop "
           "counter gives on the real layers. Then time them on the sidebar's device.")
device = ui.selected_device()
for tab, name in zip(st.tabs([spec.label for spec in SPECS.values()]), SPECS):
    with tab:
        comparison_panel(name, device)
