"""Cost lab: redo the course's cost arguments with your own sizes, then measure them on your device."""

import streamlit as st

from explorer import ui
from explorer.costs import SPECS
from explorer.ui import state
from explorer.ui.cost_panel import comparison_panel

st.title("Cost lab")
st.caption("Multiplications (MACs) counted in closed form, FLOPs = 2 x MACs; the same numbers PyTorch's flop "
           "counter gives on the real layers. Then time them on the sidebar's device.")
device = ui.device_picker()
# Lazy tabs: only the open comparison is computed and drawn (each has its formulas, charts and a timing estimate).
for tab, name in zip(state.lazy_tabs("cost.tab", [spec.label for spec in SPECS.values()]), SPECS):
    if tab.open:
        with tab:
            comparison_panel(name, device)
