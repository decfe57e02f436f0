"""Plotly figures built from a ModelReport. Every figure labels MACs and FLOPs as such."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.analysis import LayerRow, ModelReport
from explorer.augment import rgb_histograms
from explorer.units import format_shape, human_bytes
from explorer.montage import plotly_colorscale


def plotly_text(text: str) -> str:
    """Return ``text`` (a class name a person chose, say) as plotly shows it literally: plotly reads a subset of HTML
    (``<b>``, ``<br>``, entities) in labels and hover text, and LaTeX between dollar signs."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "\u200b" + escaped if escaped.startswith("$") else escaped


class BreakdownChart(StrEnum):
    """How :func:`breakdown` draws the blocks: nested rectangles or rings."""

    TREEMAP = "treemap"
    SUNBURST = "sunburst"


_PARAMS_COLOUR = "#4C78A8"
_MACS_COLOUR = "#F58518"
_MEMORY_COLOUR = "#54A24B"


def _leaf_rows(report: ModelReport) -> list[LayerRow]:
    return [row for row in report.leaves() if row.executed]


def _label(row: LayerRow) -> str:
    return f"{row.name or '(model)'}" + (f" (call {row.call + 1})" if row.call else "")


def params_and_macs_by_layer(report: ModelReport, log_scale: bool = False, only_nonzero: bool = True) -> go.Figure:
    """Return two stacked bar charts: parameters and MACs of every leaf layer in execution order."""
    rows = [r for r in _leaf_rows(report) if not only_nonzero or r.params or r.macs]
    labels = [_label(r) for r in rows]
    hover = [f"{_label(r)} ({r.type})<br>output {format_shape(r.output_shape)}" for r in rows]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                           subplot_titles=("Parameters per layer", "MACs per layer (FLOPs = 2 x MACs)"))
    figure.add_trace(go.Bar(x=labels, y=[r.params for r in rows], name="params", marker_color=_PARAMS_COLOUR,
                            hovertext=hover, hovertemplate="%{hovertext}<br>params %{y:,}<extra></extra>"),
                     row=1, col=1)
    figure.add_trace(go.Bar(x=labels, y=[r.macs for r in rows], name="MACs", marker_color=_MACS_COLOUR,
                            customdata=[2 * r.macs for r in rows], hovertext=hover,
                            hovertemplate="%{hovertext}<br>MACs %{y:,}<br>FLOPs %{customdata:,}<extra></extra>"),
                     row=2, col=1)
    axis_type = "log" if log_scale else "linear"
    figure.update_yaxes(type=axis_type, title_text="params", row=1, col=1)
    figure.update_yaxes(type=axis_type, title_text="MACs", row=2, col=1)
    figure.update_xaxes(nticks=min(len(rows), 40), tickangle=-60, row=2, col=1)  # plotly thins long name lists
    figure.update_layout(height=560, showlegend=False, margin=dict(t=40, b=10, l=10, r=10), bargap=0.1)
    return figure


def _block_label(row: LayerRow) -> str:
    """Return a short name for a block: its last path segment, with its parent's where that is a number."""
    parts = row.name.split(".")
    if parts[-1].isdigit() and len(parts) > 1:
        return f"{parts[-2]}.{parts[-1]} ({row.type})"
    return parts[-1]


def breakdown(report: ModelReport, value: str = "params", chart: BreakdownChart | str = BreakdownChart.TREEMAP,
              max_depth: int = 4) -> go.Figure:
    """Return a treemap (or sunburst) of ``value`` ("params" or "macs") by block, down to ``max_depth``.

    Raises:
        ValueError: ``value`` is not "params" or "macs", or ``chart`` is not a BreakdownChart.
    """
    if value not in ("params", "macs"):
        raise ValueError("value must be 'params' or 'macs'")
    if chart not in tuple(BreakdownChart):
        raise ValueError("chart must be 'treemap' or 'sunburst'")
    ids, labels, parents, values, hover = [], [], [], [], []
    for index, row in enumerate(report.layers):
        amount = row.params if value == "params" else row.macs
        if row.depth > max_depth or (index and not amount):
            continue
        ids.append(str(index))
        labels.append(_block_label(row) if row.name else report.architecture)
        parents.append("" if row.parent is None else str(row.parent))
        values.append(amount)
        extra = f"<br>FLOPs {2 * row.macs:,}" if value == "macs" else ""
        hover.append(f"{row.name or report.architecture} ({row.type})<br>{value} {amount:,}{extra}")
    title = "Parameters by block" if value == "params" else "MACs by block (FLOPs = 2 x MACs)"
    trace_cls = go.Treemap if chart == BreakdownChart.TREEMAP else go.Sunburst
    figure = go.Figure(trace_cls(ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
                                 hovertext=hover, hoverinfo="text", maxdepth=3))
    figure.update_layout(title=title, height=520, margin=dict(t=40, b=10, l=10, r=10))
    return figure


def activation_memory_by_layer(report: ModelReport) -> go.Figure:
    """Return a bar chart of each leaf layer's output size in bytes (batch 1)."""
    rows = [r for r in _leaf_rows(report) if r.output_bytes]
    figure = go.Figure(go.Bar(
        x=[_label(r) for r in rows], y=[r.output_bytes for r in rows], marker_color=_MEMORY_COLOUR,
        hovertext=[f"{_label(r)} ({r.type})<br>{format_shape(r.output_shape)}<br>{human_bytes(r.output_bytes)}"
                   for r in rows],
        hovertemplate="%{hovertext}<extra></extra>"))
    figure.update_layout(title=f"Activation memory by layer (batch 1, total {human_bytes(report.activation_bytes)})",
                         yaxis_title="bytes", height=380, margin=dict(t=40, b=10, l=10, r=10))
    figure.update_xaxes(nticks=min(len(rows), 40), tickangle=-60)
    return figure


def shape_by_depth(report: ModelReport) -> go.Figure:
    """Return how the spatial size and the channel count change along the network's leaf layers."""
    rows = [r for r in _leaf_rows(report) if r.output_shape and len(r.output_shape) == 4]
    steps = list(range(1, len(rows) + 1))
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    names = [f"{_label(r)} ({r.type})" for r in rows]
    figure.add_trace(go.Scatter(x=steps, y=[r.output_shape[2] for r in rows], name="height (pixels)",
                                mode="lines", line_shape="hv", hovertext=names,
                                hovertemplate="%{hovertext}<br>height %{y}<extra></extra>"), secondary_y=False)
    figure.add_trace(go.Scatter(x=steps, y=[r.output_shape[1] for r in rows], name="channels",
                                mode="lines", line_shape="hv", hovertext=names,
                                hovertemplate="%{hovertext}<br>channels %{y}<extra></extra>"), secondary_y=True)
    figure.update_yaxes(title_text="height (pixels)", secondary_y=False)
    figure.update_yaxes(title_text="channels", secondary_y=True)
    figure.update_xaxes(tickformat="d")  # layer numbers are whole
    figure.update_layout(title="As the image shrinks, the channels grow", xaxis_title="layer (execution order)",
                         height=380, margin=dict(t=40, b=10, l=10, r=10), legend=dict(orientation="h"))
    return figure


def channel_heatmap(channel, title: str, colormap: str = "viridis") -> go.Figure:
    """Return one feature-map channel (H x W tensor) as a heatmap with the value under the mouse."""
    values = channel.float().numpy()
    figure = go.Figure(go.Heatmap(z=values, colorscale=plotly_colorscale(colormap), hovertemplate="row %{y}, col %{x}: %{z:.4f}"
                                  "<extra></extra>"))
    figure.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    figure.update_layout(title=title, height=420, margin=dict(t=40, b=10, l=10, r=10))
    return figure


def channel_statistics_chart(stats: dict[str, list[float]], title: str) -> go.Figure:
    """Return per-channel mean and max (bars) and the fraction of zeros (line, right axis)."""
    channels = list(range(len(stats["mean"])))
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Bar(x=channels, y=stats["max"], name="max", marker_color="#BBBBBB"), secondary_y=False)
    figure.add_trace(go.Bar(x=channels, y=stats["mean"], name="mean", marker_color=_PARAMS_COLOUR), secondary_y=False)
    figure.add_trace(go.Scatter(x=channels, y=stats["zeros"], name="fraction of zeros", mode="lines+markers",
                                marker_color=_MACS_COLOUR), secondary_y=True)
    figure.update_yaxes(title_text="activation", secondary_y=False)
    figure.update_yaxes(title_text="fraction of zeros", range=[0, 1], secondary_y=True)
    figure.update_xaxes(tickformat="d", dtick=max(1, len(channels) // 16))  # channels are whole numbers
    figure.update_layout(title=title, barmode="overlay", height=360, xaxis_title="channel",
                         margin=dict(t=40, b=10, l=10, r=10), legend=dict(orientation="h"))
    return figure


def predictions_chart(ranked: list[tuple[str, float]]) -> go.Figure:
    """Return the top predictions as horizontal bars of probability."""
    names = [plotly_text(name) for name, _ in ranked][::-1]
    values = [p for _, p in ranked][::-1]
    figure = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=_PARAMS_COLOUR,
                              text=[f"{p:.1%}" for p in values], textposition="auto"))
    figure.update_layout(title="Top predictions", xaxis=dict(range=[0, 1], tickformat=".0%"), height=300,
                         margin=dict(t=40, b=10, l=10, r=10))
    figure.update_yaxes(type="category")  # class names such as "3" are labels, not numbers
    return figure


def values_chart(tensor, title: str) -> go.Figure:
    """Return a non-spatial activation (a vector, or tokens x features) as a line or a heatmap."""
    values = tensor.float()
    if values.dim() >= 2 and values.shape[0] > 1:
        return channel_heatmap(values.reshape(values.shape[0], -1), title)
    flat = values.flatten().numpy()
    figure = go.Figure(go.Scatter(y=flat, mode="lines", line_color=_PARAMS_COLOUR))
    figure.update_layout(title=title, xaxis_title="unit", yaxis_title="activation", height=320,
                         margin=dict(t=40, b=10, l=10, r=10))
    return figure


def cost_by_stage(comparison) -> go.Figure:
    """Return each variant's MACs as a bar stacked by stage (explorer.costs.Comparison)."""
    figure = go.Figure()
    names = list(comparison.variants)
    stage_names: list[str] = []
    for variant in comparison.variants.values():
        for stage in variant.all_stages:
            if stage.name not in stage_names:
                stage_names.append(stage.name)
    for stage_name in stage_names:
        values = [sum(s.macs for s in comparison.variants[n].all_stages if s.name == stage_name) for n in names]
        figure.add_trace(go.Bar(x=names, y=values, name=stage_name, customdata=[2 * v for v in values],
                                hovertemplate=f"{stage_name}<br>MACs %{{y:,}}<br>FLOPs %{{customdata:,}}<extra></extra>"))
    figure.update_layout(barmode="stack", title="MACs by stage (FLOPs = 2 x MACs)", yaxis_title="MACs",
                         height=380, margin=dict(t=40, b=10, l=10, r=10), legend=dict(orientation="h"))
    return figure


def cost_sweep(values: list[int], comparisons: list, setting: str, ratio_theory=None) -> go.Figure:
    """Return MACs of every variant against one setting; with ``ratio_theory``, the ratio and its formula too."""
    figure = make_subplots(specs=[[{"secondary_y": ratio_theory is not None}]])
    for name in comparisons[0].variants:
        figure.add_trace(go.Scatter(x=values, y=[c.variants[name].macs for c in comparisons], name=f"{name} MACs",
                                    mode="lines+markers"), secondary_y=False)
    if ratio_theory is not None:
        figure.add_trace(go.Scatter(x=values, y=[c.ratio for c in comparisons], name="ratio (counted)",
                                    mode="markers"), secondary_y=True)
        figure.add_trace(go.Scatter(x=values, y=[ratio_theory(v) for v in values], name="ratio (formula)",
                                    mode="lines", line=dict(dash="dot")), secondary_y=True)
        figure.update_yaxes(title_text="ratio", secondary_y=True)
    figure.update_yaxes(title_text="MACs", type="log", secondary_y=False)
    figure.update_layout(title=f"Cost as {setting.replace('_', ' ')} changes", xaxis_title=setting.replace("_", " "),
                         height=380, margin=dict(t=40, b=10, l=10, r=10), legend=dict(orientation="h"))
    return figure


def rgb_histograms_chart(original, sample, sample_label: str = "sample 1") -> go.Figure:
    """Return the R, G and B histograms of two PIL images as lines: the original solid, the sample dotted."""
    figure = go.Figure()
    for label, image, dash in (("original", original, "solid"), (sample_label, sample, "dot")):
        for colour, counts in rgb_histograms(image).items():
            figure.add_trace(go.Scatter(x=np.arange(256), y=counts, name=f"{label} {colour}", mode="lines",
                                        line=dict(color=colour, dash=dash)))
    figure.update_layout(height=320, xaxis_title="value", yaxis_title="pixels", margin=dict(t=20, b=10, l=10, r=10))
    return figure


def freeze_plan_chart(plan) -> go.Figure:
    """Return two panels per stage of a transfer-learning plan (explorer.transfer.planner.Plan): trainable and frozen
    parameters stacked, and forward and backward MACs of one training step side by side."""
    labels = [f"{s.index}: {s.label}" for s in plan.stages]
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Parameters per stage", "MACs of one training step "
                                                                                   "(FLOPs = 2 x MACs)"))
    figure.add_trace(go.Bar(x=labels, y=[s.frozen_params for s in plan.stages], name="frozen", marker_color="#9AA5B1",
                            hovertemplate="%{x}<br>frozen %{y:,}<extra></extra>"), row=1, col=1)
    figure.add_trace(go.Bar(x=labels, y=[s.trainable_params for s in plan.stages], name="trainable",
                            marker_color=_PARAMS_COLOUR, hovertemplate="%{x}<br>trainable %{y:,}<extra></extra>"),
                     row=1, col=1)
    figure.add_trace(go.Bar(x=labels, y=[s.forward_macs for s in plan.stages], name="forward MACs",
                            marker_color=_MACS_COLOUR, hovertemplate="%{x}<br>forward %{y:,} MACs<extra></extra>"),
                     row=1, col=2)
    figure.add_trace(go.Bar(x=labels, y=[s.backward_macs for s in plan.stages], name="backward MACs",
                            marker_color="#E45756", hovertemplate="%{x}<br>backward %{y:,} MACs<extra></extra>"),
                     row=1, col=2)
    figure.update_layout(barmode="relative", height=380, margin=dict(t=40, b=10, l=10, r=10),
                         legend=dict(orientation="h", yanchor="bottom", y=-0.35))
    figure.update_traces(selector=dict(name="forward MACs"), offsetgroup="forward")
    figure.update_traces(selector=dict(name="backward MACs"), offsetgroup="backward")
    return figure


def demo_curves(frozen, scratch) -> go.Figure:
    """Return held-out accuracy per epoch of the digits demo's two runs (explorer.transfer.finetune.EpochResult
    lists): frozen 0-4 features with a new head, and the same network from scratch."""
    figure = go.Figure()
    for name, results, colour in (("frozen 0-4 features + new head", frozen, _PARAMS_COLOUR),
                                  ("from scratch", scratch, _MACS_COLOUR)):
        figure.add_trace(go.Scatter(x=[r.epoch for r in results], y=[100 * r.held_out_accuracy for r in results],
                                    mode="lines+markers", name=name, line=dict(color=colour),
                                    hovertemplate=f"{name}<br>epoch %{{x}}: %{{y:.1f}} % held out<extra></extra>"))
    figure.update_yaxes(title_text="held-out accuracy (%)", range=[0, 100])
    figure.update_xaxes(title_text="epoch")
    figure.update_layout(height=360, margin=dict(t=30, b=10, l=10, r=10),
                         legend=dict(orientation="h", yanchor="bottom", y=1.02))
    return figure


def training_curves(epochs) -> go.Figure:
    """Return loss and accuracy per epoch of a fine-tuning run (explorer.transfer.finetune.EpochResult list), on the
    training images (as the batches were trained) and on the held-out ones, in two panels."""
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Loss (cross-entropy)", "Accuracy (%)"))
    x = [r.epoch for r in epochs]
    for name, colour, dash, loss, accuracy in (
            ("training", _PARAMS_COLOUR, "solid", [r.train_loss for r in epochs],
             [100 * r.train_accuracy for r in epochs]),
            ("held out", _MACS_COLOUR, "solid", [r.held_out_loss for r in epochs],
             [100 * r.held_out_accuracy for r in epochs])):
        figure.add_trace(go.Scatter(x=x, y=loss, mode="lines+markers", name=f"{name} loss", legendgroup=name,
                                    line=dict(color=colour, dash=dash),
                                    hovertemplate=f"{name}<br>epoch %{{x}}: loss %{{y:.4f}}<extra></extra>"),
                         row=1, col=1)
        figure.add_trace(go.Scatter(x=x, y=accuracy, mode="lines+markers", name=f"{name} accuracy",
                                    legendgroup=name, line=dict(color=colour, dash="dot"),
                                    hovertemplate=f"{name}<br>epoch %{{x}}: %{{y:.1f}} %<extra></extra>"),
                         row=1, col=2)
    figure.update_yaxes(range=[0, 100], row=1, col=2)
    figure.update_xaxes(title_text="epoch", dtick=1 if len(x) <= 20 else None)
    figure.update_layout(height=360, margin=dict(t=60, b=10, l=10, r=10),
                         legend=dict(orientation="h", yanchor="bottom", y=1.12, x=0))
    return figure


def confusion_matrix(classes, confusion) -> go.Figure:
    """Return a confusion matrix (``confusion[i][j]``: images of class i predicted as j) as a heatmap with counts,
    true classes down and predictions across, the diagonal being what it got right."""
    names = [plotly_text(name) for name in classes]
    counts = np.asarray(confusion)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    figure = go.Figure(go.Heatmap(
        z=shares, x=names, y=names, colorscale="Blues", zmin=0, zmax=1, customdata=counts,
        text=counts if len(names) <= 20 else None, texttemplate="%{text}" if len(names) <= 20 else None,
        colorbar=dict(title="share of<br>the class", tickformat=".0%"),
        hovertemplate="true %{y}, predicted %{x}: %{customdata} images (%{z:.0%} of the class)<extra></extra>"))
    figure.update_xaxes(title_text="predicted", type="category", side="bottom")
    figure.update_yaxes(title_text="true class", type="category", autorange="reversed")
    side = min(720, 160 + 36 * len(names))
    figure.update_layout(height=side, margin=dict(t=20, b=10, l=10, r=10))
    return figure
