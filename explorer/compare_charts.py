"""Plotly figures that put networks side by side: the Compare page's bubble, Pareto and timeline charts, the stage
diff, and the compound-scaling curve. Every figure labels MACs and FLOPs as such."""

from __future__ import annotations

import math
from typing import Sequence

import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.compare import NetworkSummary, pareto_front
from explorer.units import format_shape, human_bytes

_PALETTE = px.colors.qualitative.D3
_MAX_BUBBLE_PX = 60


def _log_axis(values: Sequence[float], title: str, pad: float = 0.25) -> dict:
    """Return plotly settings for a log axis over ``values``: ticks at powers of ten when they span two decades or
    more (minor digits crowd the labels), at 1, 2 and 5 otherwise, with room for the labels beside the points."""
    logs = [math.log10(v) for v in values if v and v > 0] or [0.0]
    low, high = min(logs) - pad, max(logs) + pad
    return dict(type="log", title_text=title, range=[low, high], dtick=1 if high - low >= 2 else "D2")


def _family_colours(summaries: Sequence[NetworkSummary]) -> dict[str, str]:
    families = sorted({s.family for s in summaries})
    return {family: _PALETTE[index % len(_PALETTE)] for index, family in enumerate(families)}


def column_labels(summaries: Sequence[NetworkSummary]) -> list[str]:
    """Return one label per network: its name and what differs from its defaults, numbered where two are the same."""
    names = [s.label for s in summaries]
    return [f"{name} #{names[:index + 1].count(name)}" if names.count(name) > 1 else name
            for index, name in enumerate(names)]


def _hover(summary: NetworkSummary, label: str) -> str:
    top1 = "—" if summary.top1 is None else f"{summary.top1:.2f} %"
    return (f"<b>{label}</b> ({summary.family}, {summary.year})<br>input {format_shape(summary.input_shape)}"
            f"<br>params {summary.total_params:,}<br>MACs {summary.total_macs:,}<br>FLOPs {summary.total_flops:,}"
            f"<br>activation memory {human_bytes(summary.activation_bytes)} (batch 1)"
            f"<br>parameter memory {human_bytes(summary.param_bytes)}<br>depth {summary.depth} weighted layers"
            f"<br>ImageNet top-1 {top1}")


def macs_against_params(summaries: Sequence[NetworkSummary]) -> go.Figure:
    """Return a bubble chart: MACs against params on log axes, bubble area = activation memory, colour = family."""
    labels = column_labels(summaries)
    colours = _family_colours(summaries)
    largest = max(s.activation_bytes for s in summaries) or 1
    figure = go.Figure()
    for family, colour in colours.items():
        members = [i for i, s in enumerate(summaries) if s.family == family]
        figure.add_trace(go.Scatter(
            x=[summaries[i].total_params for i in members], y=[summaries[i].total_macs for i in members],
            mode="markers+text", name=family, text=[labels[i] for i in members], textposition="top center",
            cliponaxis=False,
            marker=dict(color=colour, opacity=0.7, line=dict(width=1, color="#333"),
                        size=[max(8.0, _MAX_BUBBLE_PX * math.sqrt(summaries[i].activation_bytes / largest))
                              for i in members]),
            hovertext=[_hover(summaries[i], labels[i]) for i in members], hovertemplate="%{hovertext}<extra></extra>"))
    figure.update_xaxes(**_log_axis([s.total_params for s in summaries], "parameters (log scale)", pad=0.4))
    figure.update_yaxes(**_log_axis([s.total_macs for s in summaries], "MACs at batch 1 (log scale; FLOPs = 2 x MACs)"))
    figure.update_layout(title="MACs against parameters (bubble area = activation memory at batch 1)",
                         height=520, legend_title_text="family", margin=dict(t=50, b=10, l=10, r=10))
    return figure


def accuracy_against_macs(summaries: Sequence[NetworkSummary]) -> go.Figure:
    """Return ImageNet top-1 (torchvision's DEFAULT weights) against MACs, with the Pareto front drawn as a line.

    Networks without a documented top-1 are left out (the page names them).
    """
    labels = column_labels(summaries)
    colours = _family_colours(summaries)
    known = [i for i, s in enumerate(summaries) if s.top1 is not None]
    figure = go.Figure()
    front = pareto_front(summaries)
    if front:
        figure.add_trace(go.Scatter(
            x=[summaries[i].total_macs for i in front], y=[summaries[i].top1 for i in front], mode="lines",
            line=dict(color="#888", dash="dash", shape="hv"), name="Pareto front", hoverinfo="skip"))
    shown: set[str] = set()
    for i in known:
        s = summaries[i]
        figure.add_trace(go.Scatter(
            x=[s.total_macs], y=[s.top1], mode="markers+text", text=[labels[i]], textposition="top center",
            cliponaxis=False, marker=dict(size=13, color=colours[s.family], symbol="star" if i in front else "circle",
                                          line=dict(width=1, color="#333")),
            name=s.family, legendgroup=s.family, showlegend=s.family not in shown, hovertext=[_hover(s, labels[i])],
            hovertemplate="%{hovertext}<extra></extra>"))
        shown.add(s.family)
    figure.update_xaxes(**_log_axis([summaries[i].total_macs for i in known], "MACs at batch 1 (log scale; FLOPs = 2 x "
                                    "MACs)", pad=0.3))
    figure.update_yaxes(title_text="ImageNet-1K top-1 (%), torchvision DEFAULT weights")
    figure.update_layout(title="Accuracy against cost: stars are on the Pareto front (no network is both cheaper "
                               "and more accurate)", height=480, legend_title_text="family",
                         margin=dict(t=50, b=10, l=10, r=10))
    return figure


def timeline(summaries: Sequence[NetworkSummary]) -> go.Figure:
    """Return params and MACs of each network against its year, on log scales (two panels sharing the years)."""
    labels = column_labels(summaries)
    order = sorted(range(len(summaries)), key=lambda i: (summaries[i].year, summaries[i].total_macs))
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=("Parameters by year", "MACs by year (FLOPs = 2 x MACs)"))
    for row, (field, colour) in enumerate([("total_params", "#4C78A8"), ("total_macs", "#F58518")], start=1):
        figure.add_trace(go.Scatter(
            x=[summaries[i].year for i in order], y=[getattr(summaries[i], field) for i in order],
            mode="lines+markers+text", text=[labels[i] for i in order], cliponaxis=False,
            textposition=["top left" if k % 2 else "bottom right" for k in range(len(order))],
            line=dict(color=colour, width=1, dash="dot"), marker=dict(size=10, color=colour),
            hovertext=[_hover(summaries[i], labels[i]) for i in order], hovertemplate="%{hovertext}<extra></extra>",
            showlegend=False), row=row, col=1)
        figure.update_yaxes(**_log_axis([getattr(s, field) for s in summaries], "params" if row == 1 else "MACs"),
                            row=row, col=1)
    years = [s.year for s in summaries]
    figure.update_xaxes(title_text="year of the paper", dtick=2, range=[min(years) - 1.5, max(years) + 1.5],
                        row=2, col=1)
    figure.update_layout(height=600, margin=dict(t=40, b=10, l=10, r=10))
    return figure


def latency_chart(labels: Sequence[str], batch_one_ms: Sequence[float | None], batch_ms: Sequence[float | None],
                  batch: int, device: str) -> go.Figure:
    """Return grouped bars of the measured median forward time per network at batch 1 and at ``batch``."""
    figure = go.Figure()
    figure.add_trace(go.Bar(x=list(labels), y=list(batch_one_ms), name="batch 1", marker_color="#4C78A8",
                            hovertemplate="%{x}<br>batch 1: %{y:.3g} ms<extra></extra>"))
    if batch != 1:
        figure.add_trace(go.Bar(x=list(labels), y=list(batch_ms), name=f"batch {batch}", marker_color="#F58518",
                                hovertemplate=f"%{{x}}<br>batch {batch}: %{{y:.3g}} ms<extra></extra>"))
    figure.update_yaxes(type="log", title_text="median time per forward pass (ms, log scale)")
    figure.update_layout(title=f"Measured on {device}", barmode="group", height=420,
                         margin=dict(t=50, b=10, l=10, r=10))
    return figure


def stage_bars(diff, value: str = "macs") -> go.Figure:
    """Return grouped bars of ``value`` ("macs" or "params") per stage for the two networks of a stage diff."""
    stage_names = [f"{pair.index}: " + " / ".join(dict.fromkeys(s.label for s in (pair.a, pair.b) if s is not None))
                   for pair in diff.pairs]
    figure = go.Figure()
    for side, network, colour in (("a", diff.a, "#4C78A8"), ("b", diff.b, "#F58518")):
        stages = [getattr(pair, side) for pair in diff.pairs]
        figure.add_trace(go.Bar(
            x=stage_names, y=[getattr(stage, value) if stage else None for stage in stages], name=network,
            marker_color=colour, customdata=[stage.label if stage else "—" for stage in stages],
            hovertemplate=f"{network}<br>stage %{{x}} (%{{customdata}})<br>{value} %{{y:,}}<extra></extra>"))
    title = "MACs per stage (FLOPs = 2 x MACs)" if value == "macs" else "Parameters per stage"
    figure.update_layout(title=title, barmode="group", height=380, margin=dict(t=50, b=10, l=10, r=10))
    figure.update_yaxes(title_text="MACs" if value == "macs" else "params")
    return figure


def scaling_curve(points, steps, variants, phi: float) -> go.Figure:
    """Return MACs and params of compound-scaled B0 against phi (two log panels), torchvision's B0-B7 at phi=k,
    the phis where torchvision's depth rounding adds layers (dotted lines) and the chosen phi (a red line).

    ``points``, ``steps`` and ``variants`` are explorer.scaling's ScalingPoint, DepthStep and Variant lists. The
    points are dense (every 0.01 of phi): drawn as lines only, as steps (each value holds until the next point, as
    the rounded network does), so the jumps show where they are instead of being smoothed over.
    """
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=("MACs at batch 1 (FLOPs = 2 x MACs)", "Parameters"))
    phis = [p.phi for p in points]
    hover = [f"phi {p.phi:g}<br>{p.resolution} px · layers per stage {', '.join(map(str, p.layers[1:-1]))}"
             f"<br>params {p.params:,}<br>MACs {p.macs:,}" for p in points]
    for row, (field, colour, name) in enumerate([("macs", "#F58518", "MACs"), ("params", "#4C78A8", "params")], 1):
        figure.add_trace(go.Scatter(x=phis, y=[getattr(p, field) for p in points], mode="lines",
                                    name=f"phi curve ({name})", line=dict(color=colour, shape="hv", width=2),
                                    hovertext=hover, hovertemplate="%{hovertext}<extra></extra>"), row=row, col=1)
        values = [v.gmacs * 1e9 if field == "macs" else v.params for v in variants]
        figure.add_trace(go.Scatter(
            x=[v.phi for v in variants], y=values, mode="markers+text", text=[v.name for v in variants],
            textposition="top left", cliponaxis=False, name=f"torchvision B0-B7 ({name}, documented)",
            marker=dict(symbol="diamond", size=11, color="#333"),
            hovertext=[f"EfficientNet-{v.name} (torchvision): width {v.width_mult:g}, depth {v.depth_mult:g}, "
                       f"{v.resolution} px<br>documented params {v.params:,} · {v.gmacs:g} GMACs · top-1 {v.top1:.2f} %"
                       for v in variants], hovertemplate="%{hovertext}<extra></extra>"), row=row, col=1)
        figure.update_yaxes(**_log_axis([getattr(p, field) for p in points] + values, name, pad=0.1), row=row, col=1)
    # shapes set at once: add_vline per step takes seconds when there are hundreds of steps (alpha near 2)
    lines = [dict(type="line", xref="x", yref="paper", x0=step.phi, x1=step.phi, y0=0, y1=1,
                  line=dict(color="#bbb", width=1, dash="dot")) for step in steps]
    lines.append(dict(type="line", xref="x", yref="paper", x0=phi, x1=phi, y0=0, y1=1,
                      line=dict(color="#d62728", width=2)))
    figure.update_layout(shapes=lines)
    figure.update_xaxes(title_text="phi (dotted lines: a stage gains a layer; red: the phi chosen above)", row=2, col=1)
    figure.update_layout(height=640, margin=dict(t=40, b=10, l=10, r=10),
                         legend=dict(orientation="h", yanchor="bottom", y=-0.25))
    return figure


def single_dimension_chart(networks) -> go.Figure:
    """Return params, MACs and activation memory of the compound network and the single-dimension ones side by side
    (``networks``: explorer.scaling's ScaledNetwork list)."""
    labels = [n.label for n in networks]
    figure = make_subplots(rows=1, cols=3, subplot_titles=("Parameters (millions)", "MACs (millions; FLOPs = 2 x MACs)",
                                                           "Activation memory, batch 1 (MiB)"))
    for col, (field, colour, unit) in enumerate([("params", "#4C78A8", 1e6), ("macs", "#F58518", 1e6),
                                                 ("activation_bytes", "#54A24B", 2**20)], start=1):
        values = [getattr(n, field) for n in networks]
        text = [human_bytes(v) if field == "activation_bytes" else f"{v / unit:,.1f} M" for v in values]
        figure.add_trace(go.Bar(x=labels, y=[v / unit for v in values], marker_color=colour, text=text,
                                textposition="auto", customdata=values, showlegend=False,
                                hovertemplate="%{x}: %{customdata:,}<extra></extra>"), row=1, col=col)
    figure.update_layout(height=360, margin=dict(t=40, b=10, l=10, r=10))
    return figure
