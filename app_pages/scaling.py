"""Compound scaling: EfficientNet-B0 scaled in depth, width and resolution by one coefficient phi, built and counted."""

import pandas as pd
import streamlit as st

from explorer import compare_charts, scaling, ui
from explorer.errors import ExplorerError
from explorer.ui import scaling as page
from explorer.ui.messages import show_error
from explorer.ui.network import url_of
from explorer.units import human, human_bytes

st.title("Compound scaling")
st.write("EfficientNet is \"a way to automatically scale networks based on available computational resources\" "
         "(course notes). Tan and Le scale EfficientNet-B0's **depth** by alpha^phi, its **width** (channels) by "
         "beta^phi and its input **resolution** by gamma^phi, with alpha x beta^2 x gamma^2 close to 2: FLOPs grow "
         "with depth, with the square of width and with the square of resolution, so each step of phi should about "
         "double the cost. Every network below is built from the registry's `efficientnet` entry and counted exactly.")
page.apply_link()
phi, alpha, beta, gamma = page.sliders()
scaled = scaling.multipliers(phi, alpha, beta, gamma)
product = scaling.constraint(alpha, beta, gamma)
with ui.widgets.metric_row():
    ui.widgets.labelled_metric("alpha x beta² x gamma²", f"{product:.3f}",
                               f"the paper's target is {scaling.PAPER_TARGET:g}; each step of phi multiplies "
                               f"FLOPs by about this")
    ui.widgets.labelled_metric("Depth multiplier", f"x{scaled.depth:.3f}", f"alpha^phi = {alpha:g}^{phi:g}")
    ui.widgets.labelled_metric("Width multiplier", f"x{scaled.width:.3f}", f"beta^phi = {beta:g}^{phi:g}")
    ui.widgets.labelled_metric("Resolution", f"{scaled.resolution} px",
                               f"224 x gamma^phi = {224 * gamma ** phi:.1f}, rounded")

network = {"arch": scaling.ARCH, "config": {}, "input": None}
try:
    config = scaling.config_for(phi, alpha, beta, gamma)
    network["config"] = config
    report = ui.cached_analysis(ui.ArchitectureChoice(ui.network.get_spec(scaling.ARCH), config, None))
except ExplorerError as error:
    show_error(str(error))
    report = None

if report is not None:
    base = ui.cached_analysis(ui.ArchitectureChoice.with_defaults(ui.network.get_spec("efficientnet_b0")))
    st.subheader(f"The network at phi = {phi:g}")
    with ui.widgets.metric_row():
        ui.widgets.labelled_metric("Parameters", human(report.total_params), f"{report.total_params:,}")
        ui.widgets.labelled_metric("MACs", human(report.total_macs), f"{report.total_macs:,} MACs")
        ui.widgets.labelled_metric("FLOPs", human(report.total_flops), f"{report.total_flops:,} FLOPs (2 x MACs)")
        ui.widgets.labelled_metric("Activation memory", human_bytes(report.activation_bytes), "batch 1")
        ui.widgets.labelled_metric("MACs against B0", f"x{report.total_macs / base.total_macs:.2f}",
                                   f"the paper's law predicts x{scaled.flops_factor:.2f}")
    st.page_link("app_pages/architecture.py", label="Open this network on the Architecture page",
                 icon=":material/arrow_forward:", query_params=url_of(network))
    layers, channels = scaling.stage_layers(scaled.depth), scaling.stage_channels(scaled.width)
    sides = scaling.stage_resolutions(scaled.resolution)
    st.dataframe(pd.DataFrame({
        "stage": range(1, 10), "operator": [row[0] for row in scaling.TABLE_1],
        "B0 resolution": [row[1] for row in scaling.TABLE_1], "resolution": sides,
        "B0 channels": [row[2] for row in scaling.TABLE_1], "channels": channels,
        "B0 layers": [row[3] for row in scaling.TABLE_1], "layers": layers}), hide_index=True)
    st.caption("The paper's Table 1 (B0) beside the network at this phi, rounded as torchvision builds it: layers "
               "per stage rounded up, channels to a multiple of 8, each stride-2 stage halving the side.")

st.subheader("The curve, and why phi = k is not Bk")
points = page.curve(alpha, beta, gamma)
steps = scaling.depth_steps(alpha, page.SLIDERS[0].low, points[-1].phi if points else page.SLIDERS[0].low)
variants = scaling.torchvision_variants()
st.plotly_chart(compare_charts.scaling_curve(points, steps, variants, phi))
if points and points[-1].phi < page.SLIDERS[0].high:
    st.caption(f"The curve stops at phi = {points[-1].phi:g}: beyond it the network would be more than "
               f"16 times deeper or wider than B0, or larger than the input limit.")
at_zero = {p.phi: p for p in points}
jump = None
if 0.0 in at_zero and alpha > 1:
    first = scaling.scaling_curve(alpha, beta, gamma, [0.01])
    if first:
        jump = first[0].macs / at_zero[0.0].macs - 1
st.markdown(
    "torchvision's B1-B7 (diamonds, their documented params, GMACs and top-1) sit near the curve but not on it, "
    "for two reasons:\n\n"
    "- **They were tuned by hand.** The paper fixes alpha, beta, gamma at phi = 1 and then scales B0 \"with "
    "different phi\"; the released multipliers are rounded: B2 is width 1.1, depth 1.2 and 288 px in torchvision, "
    "where phi = 2 gives width 1.21, depth 1.44 and 296 px.\n"
    "- **Depth is rounded up per stage.** A stage of L layers gets ceil(L x alpha^phi) layers, so the cost jumps "
    "wherever alpha^phi passes k/L (the dotted lines)"
    + (f": just above phi = 0 every stage gains a layer, and phi = 0.01 already costs {jump:+.1%} MACs against B0 "
       f"(measured)." if jump is not None else "."))
rows = []
for v in variants:
    point = at_zero.get(float(v.phi))
    rows.append({"variant": v.name, "width": f"{v.width_mult:g}", "depth": f"{v.depth_mult:g}",
                 "resolution": f"{v.resolution} px", "documented params": f"{v.params:,}",
                 "documented GMACs": f"{v.gmacs:.3f}", "top-1 (torchvision)": f"{v.top1:.2f} %",
                 "phi = k: params": f"{point.params:,}" if point else "—",
                 "phi = k: GMACs": f"{point.macs / 1e9:.3f}" if point else "—",
                 "phi = k: resolution": f"{point.resolution} px" if point else "—",
                 "phi the paper's law gives": f"{v.nearest_phi:.2f}"})
st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption("Documented figures come from torchvision's weights metadata (no download); top-1 is torchvision's own "
           "evaluation of its DEFAULT weights. \"phi = k\" columns use the bases chosen above. The last column is the "
           "phi at which B0's MACs x 1.92^phi (the paper's bases) would equal the variant's documented MACs.")

st.subheader("One dimension against all three")
if report is None:
    st.info("Pick a phi whose network can be built to compare the ways of scaling it.")
else:
    try:
        networks = page.cached_single_dimension(phi, alpha, beta, gamma)
    except ExplorerError as error:
        show_error(str(error))
        networks = []
    if networks:
        st.write(f"Starting from B0, scale only the depth, only the width or only the resolution until the MACs "
                 f"match the compound network at phi = {phi:g} as closely as the rounding allows:")
        st.dataframe(pd.DataFrame([{
            "scaling": n.label, "depth": f"x{n.depth_mult:.3f}", "width": f"x{n.width_mult:.3f}",
            "resolution": f"{n.resolution} px", "params": f"{n.params:,}", "MACs": f"{n.macs:,}",
            "MACs against compound": "—" if n.label == "compound" or n.gap is None
            else f"{round(100 * n.gap, 1) + 0.0:+.1f} %",
            "activation memory": human_bytes(n.activation_bytes),
            "paper's top-1": n.paper_accuracy or "not reported"} for n in networks]), hide_index=True)
        for n in networks:
            if n.note:
                st.caption(n.note)
        st.plotly_chart(compare_charts.single_dimension_chart(networks))
        links = st.container(horizontal=True, wrap=True)
        for n in networks:
            links.page_link("app_pages/architecture.py", label=f"{n.label} on the Architecture page",
                            query_params=url_of({"arch": scaling.ARCH, "config": n.config, "input": None}))
    claim, source = scaling.PAPER_CLAIM
    st.markdown(f"What the paper measured (accuracy is never computed here): \"{claim}\" ({source}). The only "
                f"single-dimension scalings of B0 it gives as numbers are in its Table 7, built and counted here:")
    table7 = scaling.paper_points()
    figures = [f for f in scaling.PAPER_FIGURES if f.source == "Table 7"]
    st.dataframe(pd.DataFrame([{
        "network (Table 7)": f.scaled_as(), "paper's FLOPS (multiply-adds)": f.flops,
        "paper's top-1": f"{f.top1:.1f} %", "MACs counted here": f"{n.macs:,}", "params counted here": f"{n.params:,}",
        "resolution": f"{n.resolution} px"}
        for f, n in zip(figures, table7)]), hide_index=True)
    st.caption("The paper's FLOPS for its single-dimension networks are higher than what torchvision's rounding "
               "builds; the compound network matches. Top-1 figures are the paper's (Tan and Le 2019, "
               "arXiv 1905.11946v5, Table 7), for networks trained there, not here.")

page.write_url()
