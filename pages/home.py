"""Home page (placeholder until the gallery lands)."""

import streamlit as st

st.title("ConvNet Explorer")
st.write("Build any convolutional network, see its shapes, parameters and MACs layer by layer. "
         "The pages arrive next; meanwhile `python -m explorer summary resnet50` works from the shell.")
