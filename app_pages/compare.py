"""Compare: 2 to 8 networks side by side (table, charts, measured latency), and a stage-by-stage diff of two."""

import streamlit as st

from explorer import compare, compare_charts, stages, ui
from explorer.errors import ExplorerError
from explorer.latency import RANDOM_WEIGHTS_NOTE
from explorer.ui import compare as page
from explorer.ui.messages import show_error

st.title("Compare")
st.write("Put networks side by side: what each costs, how deep it is, how much it remembers, and, where torchvision "
         "documents it, how accurate its trained weights are. Numbers are exact (analysis on the meta device).")
page.apply_link()

ui.device_picker()  # latency is measured there
st.subheader("Networks")
choices = page.networks_editor()
summaries, compared = [], []
with st.spinner("Analysing the networks on the meta device..."):
    for choice in choices:
        try:
            summaries.append(compare.summarize(ui.cached_analysis(choice)))
            compared.append(choice)
        except ExplorerError as error:
            show_error(f"{choice.name}: {error} It is left out of the comparison.")
labels = compare_charts.column_labels(summaries)

# only the open tab runs (lazy tabs): the charts, the timing predictions and the diff wait until opened
table_tab, charts_tab, latency_tab, diff_tab = page.tabs()

with table_tab:
    if table_tab.open and summaries:
        page.comparison_table(summaries, labels)
        st.caption("Params, MACs and FLOPs are exact at batch 1 (FLOPs = 2 x MACs). Depth counts the layers with "
                   "weights on the longest path from input to output. The receptive field is that of the last layer "
                   "whose output is still a map larger than 1x1. Top-1 is ImageNet-1K accuracy of torchvision's DEFAULT "
                   "weights as torchvision documents them (read from the weights' metadata, nothing downloaded); "
                   "networks without such weights, or with other options, show —.")
        links = st.container(horizontal=True, wrap=True)
        for choice, label in zip(compared, labels):
            links.page_link("app_pages/architecture.py", label=label, icon=":material/arrow_forward:",
                            query_params=page.url_of_choice(choice),
                            help=f"{label} on the Architecture page")

with charts_tab:
    if charts_tab.open and summaries:
        st.plotly_chart(compare_charts.macs_against_params(summaries))
        if any(s.top1 is not None for s in summaries):
            st.plotly_chart(compare_charts.accuracy_against_macs(summaries))
        missing = [label for label, s in zip(labels, summaries) if s.top1 is None]
        if missing:
            st.caption(f"No documented ImageNet top-1 for {', '.join(missing)} (no torchvision weights, or options "
                       f"other than those the weights were trained with), so they are not on the accuracy chart.")
        st.plotly_chart(compare_charts.timeline(summaries))

with latency_tab:
    if latency_tab.open:
        device = ui.selected_device()
        st.write(f"Time one forward pass of each network on **{device}** (the sidebar's device) at batch 1 and at a "
                 f"batch you choose. {RANDOM_WEIGHTS_NOTE}")
        batch = page.batch_input()
        page.latency_section(compared, labels, device, batch)

with diff_tab:
    if diff_tab.open:
        st.write("Two networks stage by stage: a stage is a run of layers at one spatial size, so stage boundaries are "
                 "where the feature maps shrink. Blocks are the units doing weighted work (a residual block, an MBConv, "
                 "an Inception module, a single convolution).")
        a, b = page.diff_editors()
        try:
            diff = stages.diff_stages(ui.cached_analysis(a), ui.cached_analysis(b))
        except ExplorerError as error:
            show_error(str(error))
        else:
            if not diff.corresponds:
                st.warning(f"The stages of {diff.a} and {diff.b} do not correspond one to one: rows pair only stages "
                           f"at the same scale, and each side keeps its own stage numbers.", icon=":material/warning:")
            for note in diff.notes:
                st.info(note, icon=":material/info:")
            st.dataframe(page.stage_diff_table(diff), hide_index=True, width="stretch")
            st.caption(f"Green: {diff.b} has more than {diff.a}; orange: fewer. Output shapes are at batch 1.")
            left, right = st.columns(2)
            left.plotly_chart(compare_charts.stage_bars(diff, "params"))
            right.plotly_chart(compare_charts.stage_bars(diff, "macs"))

page.write_url()
