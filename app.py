"""ConvNet Explorer: the Streamlit entry point (page config, navigation)."""

import streamlit as st

st.set_page_config(page_title="ConvNet Explorer", page_icon=":material/grid_on:", layout="wide")

pages = {
    "Explore": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
}
st.navigation(pages).run()
