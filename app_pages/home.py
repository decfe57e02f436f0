"""Home: the course's classics in time order, and a search over every architecture."""

import streamlit as st

from explorer import ui
from explorer.formats import human
from explorer.zoo import get_spec, list_architectures

st.title("ConvNet Explorer")
st.write("Pick a network and see exactly what it computes: every layer's shape, parameters, MACs and "
         "receptive field. The classics of the course, from LeNet-5 to EfficientNet:")

classics = [get_spec(name) for name in list_architectures() if get_spec(name).classic]
with st.spinner("Counting parameters and MACs on the meta device..."):
    for index, spec in enumerate(classics):
        if index % 4 == 0:
            columns = st.columns(4)
        report = ui.cached_analysis(spec.name, ui.config_items(spec.resolve_config()), None)
        with columns[index % 4].container(border=True):
            st.markdown(f"**{spec.year} · {spec.display_name}**")
            st.caption(spec.purpose)
            st.markdown(f"Input {'x'.join(map(str, spec.input_shape))} · {human(report.total_params)} params · "
                        f"{human(report.total_macs)} MACs")
            st.markdown(f"*{spec.key_idea}*")
            st.page_link("app_pages/architecture.py", label="Open on the Architecture page", icon=":material/arrow_forward:",
                         query_params={"arch": spec.name})

st.divider()
query = st.text_input("Search every architecture", placeholder="e.g. resnet, mobile, inception, 2019, attention")
if query.strip():
    words = query.lower().split()
    matches = [get_spec(name) for name in list_architectures()
               if all(word in " ".join([name, get_spec(name).display_name, get_spec(name).family,
                                        str(get_spec(name).year), get_spec(name).purpose,
                                        get_spec(name).key_idea]).lower() for word in words)]
    st.caption(f"{len(matches)} match{'es' if len(matches) != 1 else ''}")
    for spec in matches[:40]:
        st.page_link("app_pages/architecture.py", label=f"{spec.display_name} ({spec.name}) · {spec.family} {spec.year}",
                     query_params={"arch": spec.name})
