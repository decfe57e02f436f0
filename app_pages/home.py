"""Home: the course's classics in time order, and a search over every architecture.

Home imports no PyTorch: the classics' cards are shipped precomputed (explorer/classic_cards.py), so a fresh
server's first page does not wait for torch; the search imports the registry when someone searches.
"""

import streamlit as st

from explorer import classic_cards
from explorer.units import format_shape, human

st.title("ConvNet Explorer")
st.write("Pick a network and see exactly what it computes: every layer's shape, parameters, MACs and "
         "receptive field. The classics of the course, from LeNet-5 to EfficientNet:")

CARD_WIDTH = 225  # cards sit side by side while they fit and wrap onto new rows when they do not
with st.container(horizontal=True, wrap=True):
    for card in classic_cards.load():
        with st.container(border=True, width=CARD_WIDTH):
            st.markdown(f"**{card.year} · {card.display_name}**")
            st.caption(card.purpose)
            st.markdown(f"Input {format_shape(card.input_shape)} · "
                        f"{human(card.total_params)} params · {human(card.total_macs)} MACs")
            st.markdown(f"*{card.key_idea}*")
            st.page_link("app_pages/architecture.py", label="Open", icon=":material/arrow_forward:",
                         query_params={"arch": card.name}, help=f"{card.display_name} on the Architecture page")

st.divider()
st.subheader("Then look inside and weigh the costs")
tour = st.container(horizontal=True, wrap=True)
for page, title, what in [
        ("app_pages/architecture.py", "Architecture", "Any network layer by layer: shapes, parameters, MACs, "
                                                       "receptive fields, charts and a diagram."),
        ("app_pages/feature_maps.py", "Feature maps", "Run a network on your own image and see what every "
                                                       "layer computes."),
        ("app_pages/augmentation.py", "Augmentation", "Mirror, crop and colour-shift your image, and see whether "
                                                       "the network still agrees."),
        ("app_pages/compare.py", "Compare", "Up to 8 networks side by side: cost, depth, memory, accuracy, "
                                             "latency, and two of them stage by stage."),
        ("app_pages/scaling.py", "Compound scaling", "EfficientNet's depth, width and resolution scaled together: "
                                                     "what phi does, and why B3 is not phi=3."),
        ("app_pages/transfer.py", "Transfer learning", "Plan what to freeze in any network: what trains, and what "
                                                        "a training step costs."),
        ("app_pages/cost_lab.py", "Cost lab", "What a 5x5 convolution costs against a 1x1 bottleneck, "
                                               "depthwise separable convolutions, and their timing.")]:
    with tour.container(border=True, width=CARD_WIDTH):
        st.page_link(page, label=title, icon=":material/arrow_forward:")
        st.caption(what)

st.divider()
query = st.text_input("Search every architecture", placeholder="e.g. resnet, mobile, inception, 2019, attention")
if query.strip():
    from explorer.ui import warmup

    with st.spinner("Searching every architecture..."):
        warmup.import_page_modules()  # the registry (and torch) only once someone searches
        from explorer.ui.network import architecture_label
        from explorer.zoo import search

        matches = search(query)
    st.caption(f"{len(matches)} match{'es' if len(matches) != 1 else ''}")
    for name in matches[:40]:
        st.page_link("app_pages/architecture.py", label=architecture_label(name), query_params={"arch": name})
