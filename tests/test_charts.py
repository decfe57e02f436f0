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


def test_rgb_histograms_draw_the_original_solid_and_the_sample_dotted():
    from PIL import Image

    red, blue = Image.new("RGB", (4, 4), (255, 0, 0)), Image.new("RGB", (2, 2), (0, 0, 255))
    figure = charts.rgb_histograms_chart(red, blue)
    traces = {trace.name: trace for trace in figure.data}
    assert list(traces) == ["original red", "original green", "original blue",
                            "sample 1 red", "sample 1 green", "sample 1 blue"]
    assert traces["original red"].y[255] == 16 and traces["sample 1 blue"].y[255] == 4
    assert {trace.line.dash for trace in figure.data} == {"solid", "dot"}


def test_names_people_chose_are_plain_text_in_plotly():
    from explorer.charts import confusion_matrix, plotly_text, predictions_chart

    assert plotly_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert plotly_text("$x$") == "\u200b$x$"  # plotly typesets text between dollar signs
    figure = confusion_matrix(["<i>cat</i>", "dog"], [[2, 1], [0, 3]])
    assert list(figure.data[0].x) == ["&lt;i&gt;cat&lt;/i&gt;", "dog"]
    assert figure.data[0].customdata.tolist() == [[2, 1], [0, 3]] and figure.data[0].z[0][1] == 1 / 3
    assert list(predictions_chart([("<br>", 0.9), ("dog", 0.1)]).data[0].y) == ["dog", "&lt;br&gt;"]


def test_training_curves_show_loss_and_accuracy_of_both_sets():
    from explorer.charts import training_curves
    from explorer.transfer.finetune import EpochResult

    figure = training_curves([EpochResult(1, 0.9, 0.5, 1.0, 0.25), EpochResult(2, 0.4, 0.75, 0.6, 0.5)])
    by_name = {trace.name: list(trace.y) for trace in figure.data}
    assert by_name == {"training loss": [0.9, 0.4], "training accuracy": [50, 75], "held out loss": [1.0, 0.6],
                       "held out accuracy": [25, 50]}
