"""ConvNet Explorer: the Streamlit entry point (page config, sidebar, navigation)."""

from pathlib import Path

import streamlit as st

from explorer.ui import warmup  # imports no torch: Home draws before PyTorch is loaded

st.set_page_config(page_title="ConvNet Explorer", page_icon=":material/grid_on:", layout="wide")
st.html(f"<style>{(Path(__file__).parent / 'assets' / 'app.css').read_text()}</style>")

pages = {
    "Explore": [
        home := st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("app_pages/architecture.py", title="Architecture", icon=":material/account_tree:"),
    ],
    "Look inside": [
        st.Page("app_pages/feature_maps.py", title="Feature maps", icon=":material/grid_view:"),
        st.Page("app_pages/augmentation.py", title="Augmentation", icon=":material/auto_fix_high:"),
    ],
    "Compare and scale": [
        st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
        st.Page("app_pages/scaling.py", title="Compound scaling", icon=":material/open_in_full:"),
        st.Page("app_pages/transfer.py", title="Transfer learning", icon=":material/school:"),
    ],
    "Costs": [
        st.Page("app_pages/cost_lab.py", title="Cost lab", icon=":material/calculate:"),
    ],
}
navigation = st.navigation(pages)
st.sidebar.title("ConvNet Explorer")  # the pages that run real passes add the device picker under it
st.sidebar.caption("MACs = multiply-accumulates; FLOPs = 2 x MACs. Analysis runs on PyTorch's meta device: "
                   "exact shapes and counts with no memory and no compute.")
try:
    if navigation.url_path != home.url_path:  # Home imports no torch; every other page waits for the imports
        warmup.import_page_modules()
    navigation.run()
finally:  # after the page has been drawn (or stopped early), so the first visitor's page comes first
    warmup.start_in_background()
