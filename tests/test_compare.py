"""The Compare table: every number is analyze()'s, depth is the papers' figure, top-1 is torchvision's documented."""

from __future__ import annotations

import csv
import dataclasses
import re

import pytest

from explorer.analysis import analyze
from explorer.compare import (
    MAX_NETWORKS,
    ROWS,
    Entry,
    compare_networks,
    documented_top1,
    entries_from,
    pareto_front,
    parse_settings,
    summarize,
    table_rows,
)
from explorer.errors import CompareError, ExplorerError, InputShapeError, InvalidOptionError, UnknownArchitectureError
from explorer.zoo import classics
from helpers import REFERENCE_DIR, analyzed

TOTALS = ("total_params", "trainable_params", "total_macs", "total_flops", "frozen_params", "activation_bytes",
          "param_bytes")


@pytest.mark.parametrize("name", classics())
def test_numbers_are_analyze_s_exactly(name):
    summary = compare_networks([Entry(name, {}), Entry("lenet5", {})])[0]
    report = analyzed(name)
    assert {key: getattr(summary, key) for key in TOTALS} == {key: getattr(report, key) for key in TOTALS}
    assert summary.input_shape == report.input_shape and summary.config == report.config


@pytest.mark.parametrize("name, depth", [
    ("vgg16", 16), ("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("alexnet_2012", 8), ("googlenet", 22),
    ("mobilenet_v1", 28), ("lenet5", 5),
    ("lenet5_1998", 7),  # the paper's "LeNet-5 comprises seven layers": its subsampling layers have weights
    ("densenet121", 121),
])
def test_depth_is_the_papers_count_of_weighted_layers(name, depth):
    assert summarize(analyzed(name)).depth == depth


@pytest.mark.parametrize("name, conv, linear", [("vgg16", 13, 3), ("resnet50", 53, 1)])
def test_conv_and_linear_layers_are_counted(name, conv, linear):
    summary = summarize(analyzed(name))
    assert (summary.conv_layers, summary.linear_layers) == (conv, linear)


def _documented_acc1(name: str) -> float:
    with (REFERENCE_DIR / "torchvision_classification.csv").open() as handle:
        return next(float(row["acc1_imagenet"]) for row in csv.DictReader(handle) if row["architecture"] == name)


def test_top1_is_torchvisions_documented_accuracy_of_the_default_weights():
    assert summarize(analyzed("resnet50")).top1 == pytest.approx(_documented_acc1("resnet50"), abs=1e-9)
    assert summarize(analyzed("vgg16")).top1 == pytest.approx(_documented_acc1("vgg16"), abs=1e-9)


@pytest.mark.parametrize("name, config, shape", [
    ("lenet5", {}, None),  # no pretrained weights
    ("resnet50", {"num_classes": 10}, None),  # not the network the weights were trained as
    ("resnet50", {}, (3, 160, 160)),  # not the input they were evaluated at
    ("mobilenet_v2", {"width_mult": 0.5}, None),
])
def test_top1_is_none_where_the_weights_do_not_apply(name, config, shape):
    assert summarize(analyze(name, shape, **config)).top1 is None


def test_documented_top1_takes_either_shape_form():
    assert documented_top1("resnet50", {}, (3, 224, 224)) == documented_top1("resnet50", {}, (1, 3, 224, 224)) \
        == pytest.approx(_documented_acc1("resnet50"))


def test_receptive_field_is_that_of_the_last_spatial_layer():
    report = analyzed("resnet18")
    summary = summarize(report)
    assert summary.receptive_field_layer.startswith("layer4.")
    name, _, call = summary.receptive_field_layer.partition("@")
    row = next(r for r in report.layers if r.name == name and r.call == int(call or 0))
    assert row.output_shape[2:] == (7, 7) and summary.receptive_field == row.receptive_field
    assert summary.receptive_field[0] > 224  # deeper than the input is wide


def test_custom_input_and_options_reach_analyze():
    entries = entries_from(["mobilenet_v2", "resnet18"], ["1:width_mult=0.5", "resnet18:input=160x160"])
    assert entries == [Entry("mobilenet_v2", {"num_classes": 1000, "width_mult": 0.5}),
                       Entry("resnet18", {"num_classes": 1000}, (160, 160))]
    mobile, resnet = compare_networks(entries)
    assert mobile.total_macs == analyze("mobilenet_v2", width_mult=0.5).total_macs
    assert resnet.total_macs == analyze("resnet18", (3, 160, 160)).total_macs
    assert resnet.input_shape == (1, 3, 160, 160)
    assert (mobile.label, resnet.label) == ("mobilenet_v2 (width_mult=0.5)", "resnet18 (160x160)")


def _summary(macs: int, top1: float | None):
    return dataclasses.replace(summarize(analyzed("lenet5")), total_macs=macs, top1=top1)


def test_pareto_front_keeps_what_nothing_beats_sorted_by_macs():
    summaries = [_summary(300, 74.0),  # beaten by 200 MACs at 75
                 _summary(200, 75.0),
                 _summary(100, 70.0),
                 _summary(100, 70.0),  # a tie beats neither
                 _summary(50, None),  # no accuracy: left out
                 _summary(100, 69.0)]  # beaten at the same MACs
    assert pareto_front(summaries) == [2, 3, 1]
    assert pareto_front([_summary(1, None), _summary(2, None)]) == []


def test_table_rows_are_the_issues_rows_with_exact_counts():
    summaries = compare_networks([Entry("resnet18", {}), Entry("lenet5", {})])
    rows = table_rows(summaries)
    assert rows[0] == ["", "resnet18", "lenet5"]
    assert [row[0] for row in rows[1:]] == [
        "Year", "Family", "Input", "Params", "Trainable params", "Frozen params", "MACs", "FLOPs (2 x MACs)",
        "Conv layers", "Linear layers", "Depth (weighted layers)", "Activation memory (batch 1)",
        "Parameter memory", "ImageNet top-1 (DEFAULT weights)", "Receptive field (last spatial layer)"]
    by_label = {row[0]: row[1:] for row in rows}
    assert by_label["Params"] == ["11,689,512", "61,706"] and by_label["MACs"][1] == "416,520"
    assert by_label["ImageNet top-1 (DEFAULT weights)"] == ["69.76 %", "—"]
    exact = {row[0]: row[1:] for row in table_rows(summaries, exact=True)}
    assert exact["Params"] == ["11689512", "61706"]
    assert exact["Parameter memory"] == [str(summaries[0].param_bytes), str(summaries[1].param_bytes)]
    assert len(ROWS) == len(rows) - 1


def test_to_dict_starts_with_the_issues_keys():
    data = summarize(analyzed("resnet18")).to_dict()
    assert list(data)[:9] == ["architecture", "config", "input_shape", "total_params", "total_macs", "total_flops",
                              "activation_bytes", "param_bytes", "top1"]
    assert data["input_shape"] == [1, 3, 224, 224] and data["depth"] == 18


def test_parse_settings_by_name_and_position():
    assert parse_settings(["resnet18:num_classes=10", "2:input=160x160", "2:num_classes = 5"],
                          ["resnet18", "vgg16"]) == [{"num_classes": "10"}, {"input": "160x160", "num_classes": "5"}]
    assert parse_settings(["2:num_classes=3"], ["vgg16", "vgg16"]) == [{}, {"num_classes": "3"}]


def _one_sentence(message: str) -> bool:
    return "\n" not in message and message.endswith(".") and not re.search(r"[.?] [A-Z]", message)


def _one_line(message: str) -> bool:  # the registry's unknown name adds its suggestion: "Did you mean ...?"
    return "\n" not in message and message.endswith((".", "?"))


@pytest.mark.parametrize("item, fragment", [
    ("num_classes=10", "NETWORK:KEY=VALUE"),
    (":num_classes=10", "NETWORK:KEY=VALUE"),
    ("1:num_classes", "NETWORK:KEY=VALUE"),
    ("1:=3", "NETWORK:KEY=VALUE"),
    ("3:num_classes=10", "names network 3, but there are only 2 networks"),
    ("0:num_classes=10", "names network 0"),
    ("alexnet:num_classes=10", "not among the networks compared (resnet18, resnet18)"),
    ("resnet18:num_classes=10", "must name it by position, e.g. 2:num_classes=10"),
])
def test_parse_settings_errors_are_one_sentence(item, fragment):
    with pytest.raises(CompareError) as raised:
        parse_settings([item], ["resnet18", "resnet18"])
    assert fragment in str(raised.value) and _one_sentence(str(raised.value))


@pytest.mark.parametrize("names, settings, error", [
    (["resnet18"], [], CompareError),
    (["resnet18"] * (MAX_NETWORKS + 1), [], CompareError),
    (["resnet18", "resnet5"], [], UnknownArchitectureError),
    (["resnet18", "vgg16"], ["2:width=3"], InvalidOptionError),
    (["resnet18", "vgg16"], ["2:num_classes=zero"], InvalidOptionError),
    (["resnet18", "vgg16"], ["1:input=3x160x160"], InputShapeError),
    (["resnet18", "vgg16"], ["1:input=big"], InputShapeError),
])
def test_entries_from_errors_are_one_sentence(names, settings, error):
    with pytest.raises(error) as raised:
        entries_from(names, settings)
    assert isinstance(raised.value, ExplorerError) and _one_line(str(raised.value))


def test_compare_networks_refuses_one_network():
    with pytest.raises(CompareError, match="Compare 2 to 8 networks at a time, not 1."):
        compare_networks([Entry("resnet18", {})])
