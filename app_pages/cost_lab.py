"""Cost lab: redo the course's cost arguments with your own sizes, then measure them on your device."""

import streamlit as st

from explorer import ui
from explorer.costs import COMPARISONS
from explorer.ui.cost_panel import comparison_panel

st.title("Cost lab")
st.caption("Multiplications (MACs) counted in closed form, FLOPs = 2 x MACs; the same numbers PyTorch's flop "
           "counter gives on the real layers. Then time them on the sidebar's device.")
titles = ["Inception 1x1 bottleneck", "Depthwise separable", "1x1 convolution", "MobileNet v2 bottleneck",
          "Residual shortcut"]
for tab, name in zip(st.tabs(titles), COMPARISONS):
    with tab:
        comparison_panel(name, ui.selected_device())
