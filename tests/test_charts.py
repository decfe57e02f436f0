"""Plotly figures: readable labels and axes (whole-number channel ticks, named layers and blocks)."""

from __future__ import annotations

from explorer import charts
from explorer.montage import channel_statistics

import torch

from helpers import analyzed


def test_block_breakdown_names_numbered_blocks_with_their_parent_and_type():
    figure = charts.breakdown(analyzed("vgg16"), "params", "sunburst")
    labels = list(figure.data[0].labels)
    assert not any(label.isdigit() for label in labels)
    assert "features.0 (Conv2d)" in labels


def test_channel_axes_tick_whole_numbers_and_long_layer_lists_keep_their_names():
    stats = channel_statistics(torch.rand(10, 4, 4))
    figure = charts.channel_statistics_chart(stats, "stats")
    assert figure.layout.xaxis.tickformat == "d" and figure.layout.xaxis.dtick >= 1
    report = analyzed("resnet50")  # far more than 60 layers: names are thinned, not hidden
    bars = charts.params_and_macs_by_layer(report)
    assert bars.layout.xaxis2.showticklabels is not False and bars.layout.xaxis2.nticks == 40
    assert charts.shape_by_depth(report).layout.xaxis.tickformat == "d"


def test_heatmap_follows_the_chosen_colormap():
    assert charts.channel_heatmap(torch.rand(4, 4), "c", "magma").data[0].colorscale[0][1] != \
        charts.channel_heatmap(torch.rand(4, 4), "c", "viridis").data[0].colorscale[0][1]
