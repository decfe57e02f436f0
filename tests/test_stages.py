"""Stages (runs at one downsampling scale) and the stage-by-stage diff: every parameter and MAC in exactly one stage,
the known stage structure of ResNet, VGG and EfficientNet, and a note wherever two networks do not line up."""

from __future__ import annotations

import math

import pytest

from explorer.analysis import RowRole, analyze
from explorer.stages import diff_stages, find_stages
from explorer.zoo import list_architectures
from helpers import analyzed


def _key(row) -> str:
    return f"{row.name}@{row.call}" if row.call else row.name


def _row(report, key: str):
    name, _, call = key.partition("@")
    return next(r for r in report.layers if r.name == name and r.call == int(call or 0))


@pytest.mark.parametrize("name", list_architectures())
def test_every_parameter_and_mac_is_in_exactly_one_stage(name):
    report = analyzed(name)
    stages = find_stages(report)
    assert sum(s.params for s in stages) == report.total_params
    assert sum(s.macs for s in stages) == report.total_macs
    units = [unit for stage in stages for unit in stage.units]
    assert len(units) == len(set(units))
    # every leaf row lies in exactly one unit (itself or one enclosing row)
    keys = set(units)
    for row in report.leaves():
        enclosing, index = [], report.layers.index(row)
        while index is not None:
            enclosing.append(_key(report.layers[index]))
            index = report.layers[index].parent
        assert sum(key in keys for key in enclosing) == 1, row.name
    assert [s.index for s in stages] == list(range(1, len(stages) + 1))  # numbered from 1, as people count
    assert sum(s.is_head for s in stages) <= 1 and all(not s.is_head for s in stages[:-1])


def _summary(stages):
    return [(s.label, s.blocks) for s in stages]


def test_resnet18_against_resnet34():
    diff = diff_stages(analyzed("resnet18"), analyzed("resnet34"))
    assert diff.corresponds and diff.notes == []
    assert [(p.a.label, p.b.label) for p in diff.pairs] == [
        ("112x112", "112x112"), ("56x56", "56x56"), ("28x28", "28x28"), ("14x14", "14x14"), ("7x7", "7x7"),
        ("head", "head")]
    assert [(p.a.blocks, p.b.blocks) for p in diff.pairs] == [(1, 1), (2, 3), (2, 4), (2, 6), (2, 3), (1, 1)]
    assert [p.a.scale for p in diff.pairs] == [2, 4, 8, 16, 32, None]
    assert diff.pairs[1].a.units == ("maxpool", "layer1.0", "layer1.1")


@pytest.mark.parametrize("name", ["resnet18", "resnet34"])
def test_resnet_stages_are_its_layers(name):
    report = analyzed(name)
    stages = find_stages(report)
    rows = {row.name: row for row in report.layers if row.role is RowRole.MODULE and row.call == 0}
    for stage, layer in zip(stages[1:5], ("layer1", "layer2", "layer3", "layer4")):
        assert (stage.params, stage.macs) == (rows[layer].params, rows[layer].macs)  # maxpool adds nothing
        assert stage.output_shape == rows[layer].output_shape
    stem = ("conv1", "bn1", "relu")
    assert stages[0].params == sum(rows[n].params for n in stem) and stages[0].macs == rows["conv1"].macs
    assert stages[-1].is_head and stages[-1].params == rows["fc"].params


def test_vgg16_against_vgg19_counts_convolutions_per_stage():
    diff = diff_stages(analyzed("vgg16"), analyzed("vgg19"))
    assert diff.corresponds
    assert [(p.a.label, p.a.blocks, p.b.blocks) for p in diff.pairs] == [
        ("224x224", 2, 2), ("112x112", 2, 2), ("56x56", 3, 4), ("28x28", 3, 4), ("14x14", 3, 4),
        ("7x7", 0, 0),  # the last max pool and the average pool: no weights
        ("head", 3, 3)]
    assert diff.pairs[0].a.scale == 1


# torchvision's EfficientNet table: MBConv repeats and strides of its seven stages (B0); B3 multiplies the
# repeats by 1.4, rounded up. Stages 4 and 5, and 6 and 7, share a resolution.
B0_REPEATS = (1, 2, 2, 3, 3, 4, 1)
B3_REPEATS = tuple(math.ceil(1.4 * n) for n in B0_REPEATS)


def _mbconvs_per_resolution(repeats):
    return [repeats[0], repeats[1], repeats[2], repeats[3] + repeats[4], repeats[5] + repeats[6]]


def test_efficientnet_b0_against_b3_at_their_own_resolutions():
    b0, b3 = analyzed("efficientnet_b0"), analyzed("efficientnet_b3")
    diff = diff_stages(b0, b3)
    assert diff.corresponds
    assert [(p.a.label, p.b.label) for p in diff.pairs] == [
        ("112x112", "150x150"), ("56x56", "75x75"), ("28x28", "38x38"), ("14x14", "19x19"), ("7x7", "10x10"),
        ("head", "head")]
    for report, stages, repeats in ((b0, [p.a for p in diff.pairs], B0_REPEATS),
                                    (b3, [p.b for p in diff.pairs], B3_REPEATS)):
        counts = [sum(_row(report, unit).type == "MBConv" for unit in stage.units) for stage in stages[:-1]]
        assert counts == _mbconvs_per_resolution(repeats)


def test_a_network_against_itself_differs_in_nothing():
    diff = diff_stages(analyzed("googlenet"), analyze("googlenet"))
    assert diff.corresponds and diff.notes == []
    assert all(p.delta(field) == 0 for p in diff.pairs for field in ("params", "macs", "blocks"))


def test_resnet18_against_vgg16_names_vgg16s_full_resolution_stage():
    diff = diff_stages(analyzed("resnet18"), analyzed("vgg16"))
    assert not diff.corresponds
    assert diff.pairs[0].a is None and diff.pairs[0].b.label == "224x224" and diff.pairs[0].delta("params") is None
    assert diff.notes == ["vgg16's stage 1 (224x224, full resolution) has no counterpart in resnet18."]
    assert all(p.a is not None and p.b is not None for p in diff.pairs[1:])


def test_valid_convolutions_do_not_start_a_stage():
    stages = find_stages(analyzed("inception_v3"))  # 149x149 then 147x147, 73x73 then 71x71: the same scale
    assert [s.label for s in stages] == ["147x147", "71x71", "35x35", "17x17", "8x8", "head"]
    assert stages[0].units == ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3")
    assert "Mixed_6a" in stages[3].units  # a block that merges branches stays whole
    assert diff_stages(analyzed("googlenet"), analyzed("inception_v3")).corresponds


def test_tokens_are_said_to_be_no_spatial_stages():
    diff = diff_stages(analyzed("resnet50"), analyzed("vit_b_16"))
    assert not diff.corresponds
    assert any(note.startswith("vit_b_16 works on tokens") and "not one-to-one" in note for note in diff.notes)
    vit = find_stages(analyzed("vit_b_16"))
    assert [s.label for s in vit] == ["14x14", "197 tokens", "head"] and vit[1].blocks == 12


def test_channels_last_maps_are_read_as_such_and_said():
    swin = find_stages(analyzed("swin_t"))
    assert [s.label for s in swin] == ["56x56", "28x28", "14x14", "7x7", "head"]  # not 56x96 from (N, H, W, C)
    diff = diff_stages(analyzed("swin_t"), analyzed("swin_t"))
    assert not diff.corresponds and len(diff.notes) == 2 and "channels-last" in diff.notes[0]


def test_same_network_with_other_options_is_told_apart():
    diff = diff_stages(analyze("resnet18"), analyze("resnet18", (3, 448, 448)))
    assert (diff.a, diff.b) == ("resnet18 (A)", "resnet18 (B)") and diff.corresponds
    assert diff.pairs[0].b.label == "224x224" and diff.pairs[0].delta("params") == 0


def test_to_dict_has_the_issues_keys_and_none_for_a_missing_side():
    data = diff_stages(analyzed("resnet18"), analyzed("vgg16")).to_dict()
    assert {"a", "b", "stages", "corresponds", "notes"} <= set(data) and data["corresponds"] is False
    first = data["stages"][0]
    assert {"index", "output_shape_a", "output_shape_b", "params_a", "params_b", "macs_a", "macs_b", "blocks_a",
            "blocks_b"} <= set(first)
    assert first["params_a"] is None and first["output_shape_b"] == [1, 64, 224, 224]


def test_a_block_is_one_stage():
    stages = find_stages(analyzed("residual_block"))
    assert len(stages) == 1 and stages[0].scale == 1 and not stages[0].is_head
