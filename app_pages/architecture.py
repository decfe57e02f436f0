"""Architecture page: pick any network, see its totals, layer table, charts, diagram, explanation and source code."""

import streamlit as st

from explorer import charts, formats, ui
from explorer.diagram import blocks_with_merges, default_depth
from explorer.errors import ExplorerError
from explorer.ui import state
from explorer.ui.messages import show_error
from explorer.zoo import Origin
from explorer.zoo.families import family

st.title("Architecture")
choice = ui.architecture_picker()
spec = choice.spec
try:
    with st.spinner(f"Analysing {spec.display_name} on the meta device..."):
        report = ui.cached_analysis(choice)
except ExplorerError as error:
    show_error(str(error))
    st.stop()

st.subheader(spec.display_name)
st.caption(f"{spec.family} · {spec.year} · [{spec.paper_title}]({spec.paper_url}) · "
           f"{'torchvision' if spec.origin == Origin.TORCHVISION else 'written for ConvNet Explorer'}")
st.write(f"**Purpose.** {spec.purpose} **Key idea.** {spec.key_idea}")
ui.show_totals(report)


def show_layers() -> None:
    depth = st.slider("Depth (collapse or expand containers)", 0, report.max_depth, **state.bind(
        f"architecture.depth.{choice.name}", min(2, report.max_depth), lambda d: 0 <= d <= report.max_depth))
    ui.layer_table(report, depth)
    st.caption(f"{len(report.layers)} rows in all (one per module call, containers included). A row's "
               "params are its module's, everything inside it included; leaf rows' params and MACs add up "
               "exactly to the totals.")
    for line in formats.role_legend(report):
        st.caption(line)
    shown_only = st.radio("Download", ["every row", f"the rows shown (depth {depth} or less)"], horizontal=True,
                          **state.bind("architecture.download_rows", "every row")) != "every row"
    limit = depth if shown_only else None
    base = f"{choice.name}-layers" + (f"-depth{depth}" if shown_only else "")
    downloads = st.container(horizontal=True, wrap=True)  # each file is written when its button is clicked
    downloads.download_button("CSV", lambda: formats.to_csv(report, limit), f"{base}.csv", "text/csv",
                              icon=":material/download:", on_click="ignore")
    downloads.download_button("JSON", lambda: formats.render(report, "json", limit), f"{base}.json", "application/json",
                               icon=":material/download:", on_click="ignore")
    downloads.download_button("Markdown", lambda: formats.to_markdown(report, limit), f"{base}.md", "text/markdown",
                               icon=":material/download:", on_click="ignore")
    downloads.download_button("LaTeX", lambda: formats.to_latex(report, limit), f"{base}.tex", "application/x-tex",
                               icon=":material/download:", on_click="ignore")


def show_charts() -> None:
    # One chart at a time (lazy tabs again): plotly.js takes about 0.3 s a figure in a browser without a GPU.
    per_layer, by_block, memory, shapes = state.lazy_tabs(
        "architecture.chart", ["Params and MACs per layer", "By block", "Activation memory", "Shape by depth"])
    if per_layer.open:
        with per_layer:
            log_scale = st.toggle("Logarithmic scale", **state.bind("architecture.log_scale", True))
            st.plotly_chart(charts.params_and_macs_by_layer(report, log_scale))
    if by_block.open:
        with by_block:
            chart = st.radio("Breakdown by block as", list(charts.BreakdownChart), horizontal=True,
                             **state.bind("architecture.breakdown", charts.BreakdownChart.TREEMAP))
            left, right = st.columns(2)
            left.plotly_chart(charts.breakdown(report, "params", chart))
            right.plotly_chart(charts.breakdown(report, "macs", chart))
    if memory.open:
        with memory:
            st.plotly_chart(charts.activation_memory_by_layer(report))
    if shapes.open:
        with shapes:
            st.plotly_chart(charts.shape_by_depth(report))


def show_diagram() -> None:
    suggested = default_depth(report)
    left, middle, right = st.columns([1, 1, 2])
    deepest = max(1, report.max_depth)
    diagram_depth = left.number_input("Group at module depth", 1, deepest, **state.bind(
        f"architecture.diagram_depth.{choice.name}", suggested, lambda d: 1 <= d <= deepest))
    collapse = middle.checkbox("Collapse identical repeated blocks (xN)",
                               **state.bind(f"architecture.collapse.{choice.name}", True))
    candidates = blocks_with_merges(report, int(diagram_depth))
    expand = right.multiselect("Expand blocks (shows their skips and branches)", candidates, **state.bind(
        f"architecture.expand.{choice.name}.{diagram_depth}", candidates[:1],
        lambda chosen: set(chosen) <= set(candidates)))
    dot, boxes = ui.cached_dot(choice, int(diagram_depth), collapse, expand)
    if boxes > 400:
        st.warning(f"This view has {boxes} boxes; group at a smaller depth to read it.")
    st.graphviz_chart(dot)
    st.download_button("Diagram as DOT", dot, f"{choice.name}.dot", "text/vnd.graphviz", icon=":material/download:", on_click="ignore")


def show_explanation() -> None:
    info = family(spec.family)
    st.markdown(f"### {info.name}\n**Purpose.** {spec.purpose}\n\n**Key idea.** {spec.key_idea}\n\n"
                f"**Why it works.** {spec.explanation}")
    if info.errata:
        st.warning(f"**Where the course notes go wrong.** {info.errata}", icon=":material/edit_note:")
    st.markdown(f"Paper: [{spec.paper_title}]({spec.paper_url}) ({spec.year}).")


def show_source() -> None:
    classes = ui.cached_source_code(choice)
    st.caption("The PyTorch classes this network is built from (torch.nn's own layers left out).")
    for index, (qualname, code) in enumerate(classes):
        with st.expander(qualname, expanded=index == 0):
            st.code(code, language="python")


# Lazy tabs: a run draws only the open tab. Drawing every tab on every run made the browser lay out five plotly
# figures, a graphviz diagram and the source code each time the network or an option changed.
for tab, show in zip(state.lazy_tabs("architecture.tab", ["Layers", "Charts", "Diagram", "Explanation", "Source"]),
                     [show_layers, show_charts, show_diagram, show_explanation, show_source]):
    if tab.open:
        with tab:
            show()
