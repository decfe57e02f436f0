"""analyze(): exact totals against the documented numbers, the seeds' walk-throughs, receptive fields, errors."""

from __future__ import annotations

import json
import re
import threading

import pytest
import torch
from torch import nn

from explorer.analysis import ModelReport, RowRole, analyze
from explorer.analysis.fields import adaptive_window
from explorer.errors import InputShapeError, InputTooSmallError, InvalidOptionError
from explorer.formats import to_frame
from explorer.zoo import build, list_architectures

from helpers import analyzed, reference_rows


def _conv_like(report: ModelReport) -> list:
    """Leaf rows that change the shape: convolutions, pooling, flatten, linear."""
    kinds = ("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "Flatten", "Linear")
    return [row for row in report.leaves() if row.type in kinds]


@pytest.mark.parametrize("name", list_architectures())
def test_every_architecture_analyses_on_meta_and_leaf_macs_add_up(name):
    report = analyzed(name)
    assert report.built_on == "meta"
    assert report.total_macs > 0 and report.total_params > 0
    assert sum(row.macs for row in report.leaves()) == report.total_macs
    assert report.layers[0].depth == 0 and report.layers[0].params == report.total_params
    assert report.layers[0].macs == report.total_macs
    assert report.total_flops == 2 * report.total_macs
    assert report.activation_bytes > 0 and report.param_bytes == 4 * report.total_params
    assert all(row.output_shape for row in report.layers if row.role is RowRole.MODULE)


def _unique_numel(module: nn.Module) -> tuple[int, int]:
    unique = {id(p): p for p in module.parameters()}.values()
    return sum(p.numel() for p in unique), sum(p.numel() for p in unique if p.requires_grad)


@pytest.mark.parametrize("name", list_architectures())
def test_every_row_shows_exactly_its_modules_parameters_and_leaf_rows_add_up(name):
    report = analyzed(name)
    with torch.device("meta"):
        model = build(name)
    assert sum(row.params for row in report.leaves()) == report.total_params
    assert sum(row.trainable_params for row in report.leaves()) == report.trainable_params
    assert sum(row.connections for row in report.leaves()) == report.layers[0].connections
    for row in report.layers:
        if row.role in (RowRole.OPS, RowRole.OWN_PARAMETERS):
            assert row.is_leaf and report.layers[row.parent].name == row.name.rpartition(".<")[0]
            continue
        if row.call == 0:  # a module called again shows its parameters at its first call
            assert (row.params, row.trainable_params) == _unique_numel(model.get_submodule(row.name)), row.name
        if row.role in (RowRole.USED_BY_PARENT, RowRole.NOT_RUN):
            assert row.macs == 0 and row.is_leaf and report.layers[row.parent].role is RowRole.MODULE


@pytest.mark.parametrize("name", list_architectures())
def test_not_run_only_where_no_code_or_weight_took_part(name):
    # The oracle is autograd (on the meta device, so it is cheap): a parameter took part iff it gets a gradient.
    report = analyzed(name)
    if report.built_on == "meta":
        with torch.device("meta"):
            model = build(name)
    else:
        model = build(name).to("meta")
    model.requires_grad_(True)  # frozen parameters too: the question is only whether they took part
    output = model(torch.empty(report.input_shape, device="meta"))
    output = output[0] if isinstance(output, tuple) else output
    output.sum().backward()
    marked = {row.name: row.role for row in report.layers if row.role in (RowRole.USED_BY_PARENT, RowRole.NOT_RUN)}
    for path, module in model.named_modules():
        took_part = any(p.grad is not None for p in module.parameters())
        if path in marked:
            assert took_part == (marked[path] is RowRole.USED_BY_PARENT), path
        elif not took_part and any(True for _ in module.parameters()):
            assert any(path.startswith(name + ".") for name in marked), f"{path} took no part but is not marked"


@pytest.mark.parametrize("row", reference_rows(), ids=lambda r: r.name)
def test_matches_torchvision_documented_counts(row):
    report = analyzed(row.name)
    assert report.input_shape == (1, 3, row.input_resolution, row.input_resolution)
    assert report.total_params == row.num_params
    gmacs = report.total_macs / 1e9
    assert abs(gmacs - row.gmacs) <= 0.0005 or abs(gmacs - row.gmacs) <= 0.01 * row.gmacs, gmacs


@pytest.mark.parametrize("name, config, shape, params, macs", [
    ("lenet5", {}, None, 61_706, 416_520),
    ("alexnet_2012", {}, None, 62_378_344, 1_135_256_096),
    ("alexnet_2012", {"groups": 2}, None, 60_965_224, 724_406_816),
    ("mobilenet_v1", {}, None, 4_231_976, 568_740_352),
    ("mobilenet_v1", {"width_mult": 0.75}, None, 2_585_560, 325_400_448),
    ("mobilenet_v1", {"width_mult": 0.5}, None, 1_331_592, 149_497_088),
    ("mobilenet_v1", {"width_mult": 0.25}, None, 470_072, 41_030_272),
    ("mobilenet_v1", {}, (3, 192, 192), 4_231_976, 418_121_728),
    ("mobilenet_v1", {}, (3, 160, 160), 4_231_976, 290_675_200),
    ("mobilenet_v1", {}, (3, 128, 128), 4_231_976, 186_400_768),
])
def test_hand_written_architectures_match_the_reference_exactly(name, config, shape, params, macs):
    report = analyze(name, shape, **config)
    assert (report.total_params, report.total_macs) == (params, macs)


def test_course_cost_examples_come_out_of_the_blocks():
    plain = analyze("plain_conv")
    assert (plain.total_macs, plain.total_params) == (120_422_400, 153_600)
    separable = analyze("depthwise_separable")
    convs = [row for row in separable.leaves() if row.type == "Conv2d"]
    assert [row.macs for row in convs] == [432, 240] and separable.total_macs == 672
    assert separable.output_shape == (1, 5, 4, 4)
    pointwise = analyze("pointwise_conv")
    assert pointwise.output_shape == (1, 32, 6, 6) and pointwise.total_macs == 6 * 6 * 32 * 32
    inverted = analyze("inverted_residual")
    shapes = [row.output_shape for row in inverted.leaves() if row.type == "Conv2d"]
    assert shapes == [(1, 18, 6, 6), (1, 18, 6, 6), (1, 3, 6, 6)]
    inception = analyze("inception_module")
    assert inception.output_shape == (1, 256, 28, 28)


def test_lenet5_follows_seed_000_layer_by_layer():
    shapes = [(row.type, row.output_shape[1:]) for row in _conv_like(analyze("lenet5"))]
    assert shapes == [
        ("Conv2d", (6, 28, 28)), ("AvgPool2d", (6, 14, 14)), ("Conv2d", (16, 10, 10)), ("AvgPool2d", (16, 5, 5)),
        ("Flatten", (400,)), ("Linear", (120,)), ("Linear", (84,)), ("Linear", (10,)),
    ]


def test_modern_lenet5_has_relu_max_pooling_and_a_c5_convolution():
    report = analyze("lenet5_modern")
    types = [row.type for row in report.leaves()]
    assert "ReLU" in types and "MaxPool2d" in types and "Tanh" not in types
    convs = [row for row in report.leaves() if row.type == "Conv2d"]
    assert convs[-1].output_shape == (1, 120, 1, 1) and convs[-1].kernel_size == (5, 5)


def test_alexnet_2012_follows_seed_000_layer_by_layer():
    shapes = [(row.type, row.output_shape[1:]) for row in _conv_like(analyze("alexnet_2012"))]
    assert shapes == [
        ("Conv2d", (96, 55, 55)), ("MaxPool2d", (96, 27, 27)), ("Conv2d", (256, 27, 27)),
        ("MaxPool2d", (256, 13, 13)), ("Conv2d", (384, 13, 13)), ("Conv2d", (384, 13, 13)),
        ("Conv2d", (256, 13, 13)), ("MaxPool2d", (256, 6, 6)), ("Flatten", (9216,)),
        ("Linear", (4096,)), ("Linear", (4096,)), ("Linear", (1000,)),
    ]
    assert any(row.type == "LocalResponseNorm" for row in analyze("alexnet_2012").leaves())


def test_vgg16_has_thirteen_convolutions_of_growing_width_as_seed_000_says():
    report = analyzed("vgg16")
    convs = [row for row in report.leaves() if row.type == "Conv2d"]
    assert [row.output_shape[1] for row in convs] == [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    assert all(row.kernel_size == (3, 3) for row in convs)
    assert convs[0].output_shape == (1, 64, 224, 224)
    pools = [row.output_shape[2] for row in report.leaves() if row.type == "MaxPool2d"]
    assert pools == [112, 56, 28, 14, 7]
    linears = [row.output_shape[1] for row in report.leaves() if row.type == "Linear"]
    assert linears == [4096, 4096, 1000]


@pytest.mark.parametrize("name, layer_type, index, expected", [
    ("lenet5", "Conv2d", 0, 5), ("lenet5", "AvgPool2d", 0, 6), ("lenet5", "Conv2d", 1, 14),
    ("lenet5", "AvgPool2d", 1, 16), ("lenet5", "Linear", 0, 32),
    ("vgg16", "Conv2d", 12, 196), ("vgg16", "MaxPool2d", 4, 212),
    ("alexnet_2012", "Conv2d", 4, 163), ("alexnet_2012", "MaxPool2d", 2, 195),
])
def test_receptive_fields_match_the_textbook_values(name, layer_type, index, expected):
    rows = [row for row in analyzed(name).leaves() if row.type == layer_type]
    assert rows[index].receptive_field == (expected, expected)


@pytest.mark.parametrize("name", ["resnet50", "googlenet", "inception_v3", "inception_module", "residual_block"])
def test_receptive_field_is_never_missing_in_branching_networks(name):
    report = analyzed(name)
    missing = [row.name for row in report.layers if row.executed and row.type != "functional ops"
               and row.receptive_field is None]
    assert not missing
    # a residual block's output sees at least as far as its main path
    if name == "resnet50":
        block = next(row for row in report.layers if row.name == "layer1.0")
        conv2 = next(row for row in report.layers if row.name == "layer1.0.conv2")
        assert block.receptive_field == conv2.receptive_field == (19, 19)


def test_inception_branches_take_the_largest_field():
    report = analyzed("inception_module")
    module = report.layers[0]
    branch_fields = [row.receptive_field for row in report.layers if row.depth == 1]
    assert module.receptive_field == max(branch_fields)
    assert module.receptive_field == (3, 3) or module.receptive_field == (5, 5)


@pytest.mark.parametrize("size_in, size_out", [(7, 7), (13, 6), (8, 1), (10, 3), (5, 4)])
def test_adaptive_pool_window_matches_pytorch(size_in, size_out):
    # PyTorch is the oracle: the widest set of inputs any one output depends on.
    x = torch.zeros(1, 1, size_in, requires_grad=True)
    widest = 0
    for index in range(size_out):
        (grad,) = torch.autograd.grad(nn.functional.adaptive_avg_pool1d(x, size_out)[0, 0, index], x)
        widest = max(widest, int((grad != 0).sum()))
    assert adaptive_window(size_in, size_out)[0] == widest


def test_inception_v3_counts_its_auxiliary_classifier_but_does_not_run_it():
    report = analyzed("inception_v3")
    not_run = [row for row in report.layers if not row.executed]
    assert [row.name for row in not_run] == ["AuxLogits"] and not_run[0].params == 3_326_696
    assert report.total_params - not_run[0].params == 23_834_568


def test_efficientnet_at_phi_zero_is_torchvisions_b0():
    mine, theirs = analyze("efficientnet", phi=0), analyzed("efficientnet_b0")
    assert (mine.total_params, mine.total_macs) == (theirs.total_params, theirs.total_macs)
    bigger = analyze("efficientnet", phi=1)
    assert bigger.input_shape == (1, 3, 258, 258) and bigger.total_macs > 1.8 * mine.total_macs


def test_options_change_the_counts():
    assert analyze("resnet18", num_classes=10).total_params == analyzed("resnet18").total_params - 512 * 990 - 990
    assert analyze("lenet5", in_channels=3).layers[1].input_shape == (1, 3, 32, 32)


class _Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Linear(8, 8)
        self.second = nn.Linear(8, 8)
        self.second.weight = self.first.weight

    def forward(self, x):
        return self.second(torch.relu(self.first(x.flatten(1))))


def test_shared_parameters_count_once():
    report = analyze(_Tied(), (8, 1, 1))
    assert report.total_params == 64 + 8 + 8
    assert sum(row.params for row in report.leaves()) == report.total_params
    assert report.total_macs == 2 * 64


def test_frozen_parameters_are_reported():
    with torch.device("meta"):
        model = build("resnet18")
    for parameter in model.layer1.parameters():
        parameter.requires_grad_(False)
    report = analyze(model, (3, 224, 224))
    frozen = sum(p.numel() for p in model.layer1.parameters())
    assert report.frozen_params == frozen and report.trainable_params == report.total_params - frozen
    assert next(row for row in report.layers if row.name == "layer1").frozen_params == frozen


def test_a_real_cpu_module_gives_the_same_numbers_and_is_left_without_hooks():
    model = build("lenet5")
    report = analyze(model, (1, 32, 32))
    meta = analyzed("lenet5")
    assert (report.total_params, report.total_macs) == (meta.total_params, meta.total_macs)
    assert [(r.name, r.output_shape) for r in report.layers] == [(r.name, r.output_shape) for r in meta.layers]
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())


def test_other_threads_using_the_same_module_do_not_disturb_the_analysis():
    model = build("lenet5")
    stop = threading.Event()

    def hammer():
        with torch.no_grad():
            while not stop.is_set():
                model(torch.randn(2, 1, 32, 32))

    workers = [threading.Thread(target=hammer) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        reports = [analyze(model, (1, 32, 32)) for _ in range(5)]
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    expected = [(r.name, r.output_shape, r.macs) for r in analyzed("lenet5").layers]
    assert all([(r.name, r.output_shape, r.macs) for r in rep.layers] == expected for rep in reports)


def test_report_converts_to_dataframe_and_json():
    report = analyzed("resnet18")
    frame = to_frame(report)
    assert len(frame) == len(report.layers)
    assert {"name", "type", "depth", "output_shape", "params", "macs", "flops", "receptive_field"} <= set(frame.columns)
    assert frame.loc[1, "output_shape"] == "64x112x112"
    assert (frame["flops"] == 2 * frame["macs"]).all()
    assert len(to_frame(report, depth=1)) == 1 + sum(1 for r in report.layers if r.depth == 1)
    data = json.loads(report.to_json())
    assert data["input_shape"] == [1, 3, 224, 224] and data["total_flops"] == 2 * data["total_macs"]
    assert data["layers"][1]["name"] == "conv1" and data["layers"][1]["receptive_field"] == [7, 7]


def test_input_too_small_names_the_layer():
    with pytest.raises(InputTooSmallError) as error:
        analyze("lenet5", (1, 8, 8))
    message = str(error.value)
    assert message.startswith("features.3 (Conv2d) would produce an empty output: its input is 2x2")
    assert "5x5" in message and "1x32x32" in message and "\n" not in message


@pytest.mark.parametrize("shape, message", [
    ((1, 28, 28), "classifier.0.1 (Linear) expects 400 input features but receives 256"),
    ((3, 32, 32), "features.0 (Conv2d) expects 1 input channels but receives 3"),
    ((0, 32, 32), "at least 1"),
    ((1, 32), "three numbers"),
    ((1, 100_000, 32), "too large"),
    ("abc", "three whole numbers"),
])
def test_bad_input_shapes_are_explained(shape, message):
    with pytest.raises(InputShapeError, match=re.escape(message)):
        analyze("lenet5", shape)


def test_options_are_refused_for_ready_built_modules():
    with pytest.raises(InvalidOptionError):
        analyze(build("lenet5"), (1, 32, 32), num_classes=3)



@pytest.mark.parametrize("name", ["resnet50", "inception_v3", "maxvit_t", "lenet5"])
def test_parent_links_form_the_module_tree(name):
    report = analyzed(name)
    assert report.layers[0].parent is None
    for index, row in enumerate(report.layers[1:], start=1):
        parent = report.layers[row.parent]
        assert row.parent < index or not row.executed
        assert parent.depth == row.depth - 1
        assert row.name.startswith(parent.name) or parent.depth == 0
    # inclusive counts: a parent holds at least the sum of its children
    for index, row in enumerate(report.layers):
        children = [r for r in report.layers if r.parent == index]
        if children:
            assert row.params >= sum(c.params for c in children) and row.macs == sum(c.macs for c in children)


def test_attention_children_are_weights_used_by_the_parent_not_leaves_counted_twice():
    report = analyzed("vit_b_16")
    rows = {row.name: row for row in report.layers}
    attention = rows["encoder.layers.encoder_layer_0.self_attention"]
    out_proj = rows["encoder.layers.encoder_layer_0.self_attention.out_proj"]
    assert out_proj.role is RowRole.USED_BY_PARENT and out_proj.executed and out_proj.macs == 0
    assert out_proj.params == 768 * 768 + 768
    assert attention.params == 4 * 768 * 768 + 4 * 768 and not attention.is_leaf
    # the attention's MACs stay on it: projections plus the QK^T and AV products
    assert attention.macs == 524_391_936 == rows["encoder.layers.encoder_layer_0.self_attention.<ops>"].macs
    assert rows["encoder.layers.encoder_layer_0.self_attention.<own parameters>"].note == "in_proj_weight, in_proj_bias"
    assert rows["<own parameters>"].params == 768 and rows["encoder.<own parameters>"].params == 197 * 768
    swin = {row.name: row for row in analyzed("swin_t").layers}
    assert swin["features.1.0.attn.qkv"].role is RowRole.USED_BY_PARENT


def test_modules_inside_an_uncalled_module_list_show_their_parameters():
    rows = {row.name: row for row in analyzed("maxvit_t").layers}
    assert "blocks" not in rows  # the ModuleList is iterated, never called: its layers stand under the model
    assert rows["blocks.0.layers.0.layers.MBconv.layers.conv_a.0"].params == 16_384
    assert rows["blocks.0"].params == 30_105_160 - sum(rows[f"blocks.{i}"].params for i in (1, 2, 3))


def test_container_parameters_get_a_row_of_their_own():
    rows = {row.name: row for row in analyzed("convnext_tiny").layers}
    own = rows["features.1.0.<own parameters>"]
    assert own.role is RowRole.OWN_PARAMETERS and own.note == "layer_scale" and own.params == 96
    assert sum(row.params for row in rows.values() if row.role is RowRole.OWN_PARAMETERS) == 6_624


class _CalledTwice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(torch.relu(self.conv(x)))


def test_a_module_called_twice_shows_its_parameters_at_the_first_call():
    report = analyze(_CalledTwice(), (3, 8, 8))
    first, second = [row for row in report.layers if row.name == "conv"]
    assert (first.call, first.params, second.call, second.params) == (0, 84, 1, 0)
    assert first.macs == second.macs == 3 * 3 * 9 * 64 and first.connections == first.macs + 3 * 64


@pytest.mark.parametrize("layer, trainable, connections", [
    ("c1", 156, 122_304), ("s2", 12, 5_880), ("c3", 1_516, 151_600), ("s4", 32, 2_000),
    ("c5", 48_120, 48_120), ("f6", 10_164, 10_164),
])
def test_lenet5_1998_layers_have_the_papers_parameters_and_connections(layer, trainable, connections):
    row = next(row for row in analyzed("lenet5_1998").layers if row.name == layer)
    assert (row.trainable_params, row.frozen_params, row.connections) == (trainable, 0, connections)


def test_lenet5_1998_totals_and_its_fixed_rbf_output():
    report = analyzed("lenet5_1998")
    assert (report.trainable_params, report.frozen_params) == (60_000, 840)
    assert report.layers[0].connections == 340_908  # the paper: "340,908 connections, but only 60,000 free parameters"
    rbf = next(row for row in report.layers if row.name == "output")
    assert (rbf.params, rbf.frozen_params, rbf.macs, rbf.output_shape) == (840, 840, 840, (1, 10))
    shapes = [row.output_shape for row in report.layers if row.depth == 1]
    assert shapes == [(1, 6, 28, 28), (1, 6, 14, 14), (1, 16, 10, 10), (1, 16, 5, 5), (1, 120), (1, 84), (1, 10)]
    # the course's version is unchanged: C3 fully connected, plain averaging, a linear output
    assert (analyzed("lenet5").total_params, analyzed("lenet5").total_macs) == (61_706, 416_520)
