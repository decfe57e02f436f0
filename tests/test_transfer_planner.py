"""The transfer-learning planner: the head it finds on every registry network, what each freeze policy freezes
(equal to analyze() with requires_grad set by hand), backward MACs counted by hand on a tiny network, optimizer
state as torch.optim really keeps it, and activation memory that a frozen prefix saves."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from explorer.analysis import analyze
from explorer.errors import TransferError
from explorer.stages import find_stages
from explorer.transfer.planner import (
    FreezePolicy,
    Head,
    apply_policy,
    find_head,
    parse_freeze,
    plan,
    replace_head,
    training_step_macs,
)
from explorer.zoo import EntryType, build, get_spec, list_architectures
from helpers import analyzed

# Written from each network's layout, not from the planner: the head, and what "up to stage K" freezes.
BY_HAND = {
    "resnet18": ("fc", 2, ("conv1", "bn1", "layer1")),
    "mobilenet_v2": ("classifier.1", 2, ("features.0", "features.1", "features.2", "features.3")),
    "vgg16": ("classifier.6", 2, ("features.0", "features.2", "features.5", "features.7")),
    "lenet5": ("classifier.4", 3, ("features.0", "features.3")),
}
ISSUE_HEADS = {"resnet50": "fc", "vgg16": "classifier.6", "alexnet": "classifier.6", "efficientnet_b0": "classifier.1",
               "mobilenet_v2": "classifier.1", "mobilenet_v3_large": "classifier.3", "lenet5": "classifier.4",
               "googlenet": "fc", "inception_v3": "fc", "vit_b_16": "heads.head", "swin_t": "head",
               "convnext_tiny": "classifier.2", "densenet121": "classifier", "squeezenet1_0": "classifier.1"}


def _one_sentence(error: Exception) -> bool:
    text = str(error)
    return text.endswith(".") and ". " not in text[:-1] and "\n" not in text


def _by_hand(name: str, policy: str, num_classes: int = 10) -> nn.Module:
    """Return ``name`` on meta with a new head and requires_grad set from BY_HAND, not by the planner."""
    head, _, prefixes = BY_HAND[name]
    with torch.device("meta"):
        model = build(name)
        parent, _, child = head.rpartition(".")
        old = model.get_submodule(head)
        setattr(model.get_submodule(parent), child, nn.Linear(old.in_features, num_classes))
    for parameter_name, parameter in model.named_parameters():
        in_head = parameter_name.startswith(head + ".")
        in_prefix = any(parameter_name.startswith(prefix + ".") for prefix in prefixes)
        parameter.requires_grad_({"head": in_head, "stage": not in_prefix, "none": True}[policy])
    return model


@pytest.mark.parametrize("policy", ["head", "stage", "none"])
@pytest.mark.parametrize("name", list(BY_HAND))
def test_counts_equal_analyze_with_requires_grad_set_by_hand(name, policy):
    stage = BY_HAND[name][1] if policy == "stage" else None
    result = plan(name, {}, 10, policy, stage)
    model = _by_hand(name, policy)
    expected = analyze(model, get_spec(name).default_input_shape())
    assert (result.total_params, result.trainable_params, result.frozen_params) == \
        (expected.total_params, expected.trainable_params, expected.frozen_params)
    assert result.trainable_params + result.frozen_params == result.total_params
    assert result.forward_macs == expected.total_macs
    assert sum(s.params for s in result.stages) == result.total_params
    assert sum(s.trainable_params for s in result.stages) == result.trainable_params
    assert sum(s.frozen_params for s in result.stages) == result.frozen_params
    assert sum(s.forward_macs for s in result.stages) == result.forward_macs
    assert sum(s.backward_macs for s in result.stages) == result.backward_macs
    trainable_bytes = 4 * expected.trainable_params
    assert result.gradient_bytes == trainable_bytes
    tensors = sum(p.requires_grad for p in model.parameters())
    assert result.optimizer_state_bytes == 2 * trainable_bytes + 4 * tensors  # Adam: two moments and a step count
    if policy == "stage":  # stages 1..K frozen, the rest trainable, stage by stage
        assert all(s.trainable_params == 0 for s in result.stages[:stage])
        assert all(s.frozen_params == 0 for s in result.stages[stage:])


def test_plan_reads_the_head_and_its_new_shape():
    result = plan("resnet18", {}, 10, FreezePolicy.HEAD_ONLY)
    assert result.head == Head("fc", "Linear", 512, 1000)
    assert result.new_head == Head("fc", "Linear", 512, 10) and result.new_head.shape == "512 -> 10"
    assert result.trainable_params == 512 * 10 + 10
    assert result.backward_macs == 512 * 10  # only the new head's weight gradient
    json.dumps(result.to_dict())
    assert result.rows()[-1]["trainable"] == result.trainable_params


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])  # mobilenet_v2: depthwise (grouped) convolutions
def test_nothing_frozen_costs_twice_the_forward_but_the_first_layers_input_gradient(name):
    result = plan(name, {}, 10, "none")
    first = next(row for row in analyzed(name).leaves() if row.macs)
    assert result.backward_macs == 2 * result.forward_macs - first.macs  # the image needs no gradient


def _tiny() -> nn.Sequential:
    # 1x8x8 -> conv 2@3x3 (6x6) -> ReLU -> grouped conv 4@3x3, 2 groups (4x4) -> flatten (64) -> linear 3
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 4, 3, groups=2), nn.Flatten(), nn.Linear(64, 3))


@pytest.mark.parametrize("policy, stage, expected", [
    # forward MACs: conv1 2*1*9*36 = 648, conv2 4*(2/2)*9*16 = 576, linear 64*3 = 192
    ("none", None, {1: 648, 2: 576 + 576, 3: 192 + 192}),  # conv1 weights only: the image needs no gradient
    ("stage", 1, {1: 0, 2: 576, 3: 192 + 192}),  # conv2 weights only: nothing before it trains
    ("head", None, {1: 0, 2: 0, 3: 192}),  # the head's weights only
])
def test_backward_macs_of_a_tiny_network_counted_by_hand(policy, stage, expected):
    with torch.device("meta"):
        model = _tiny()
    report = analyze(model, (1, 8, 8))
    assert [s.macs for s in find_stages(report)] == [648, 576, 192]
    apply_policy(model, report, policy, stage)
    forward, backward = training_step_macs(model, analyze(model, (1, 8, 8)))
    assert forward == 648 + 576 + 192
    assert backward == expected
    _, doubled = training_step_macs(model, report, batch=2)
    assert doubled == {index: 2 * macs for index, macs in expected.items()}


@pytest.mark.parametrize("name", list_architectures(EntryType.NETWORK))
def test_head_is_found_for_every_network(name):
    report = analyzed(name)
    if name == "lenet5_1998":  # its scores are RBF distances to fixed codes, not a Linear layer's
        with pytest.raises(TransferError, match="EuclideanRBF") as caught:
            find_head(report)
        assert _one_sentence(caught.value)
        return
    head = find_head(report)
    assert head.out_features == report.config.get("num_classes", 1000)
    assert head.name == ISSUE_HEADS.get(name, head.name)
    with torch.device("meta"):
        layer = build(name).get_submodule(head.name)
    assert isinstance(layer, (nn.Linear, nn.Conv2d))


@pytest.mark.parametrize("name", list_architectures(EntryType.BLOCK))
def test_a_block_has_no_head_in_one_sentence(name):
    with pytest.raises(TransferError) as caught:
        find_head(analyzed(name))
    assert _one_sentence(caught.value) and name in str(caught.value)


@pytest.mark.parametrize("stage", [0, 7, None, True])
def test_a_stage_out_of_range_is_one_sentence(stage):
    with pytest.raises(TransferError, match="resnet18 has 6 stages") as caught:
        plan("resnet18", {}, 10, "stage", stage)
    assert _one_sentence(caught.value)


@pytest.mark.parametrize("kwargs", [{"num_classes": 0}, {"optimizer": "rmsprop"}, {"batch": 0}])
def test_bad_requests_are_one_sentence(kwargs):
    arguments = {"num_classes": 10, **kwargs}
    with pytest.raises(TransferError) as caught:
        plan("lenet5", {}, policy="head", **arguments)
    assert _one_sentence(caught.value)


def test_last_stage_freezes_what_head_only_does():
    last = plan("lenet5", {}, 5, "stage", 5)
    head_only = plan("lenet5", {}, 5, "head")
    assert (last.trainable_params, last.backward_macs) == (head_only.trainable_params, head_only.backward_macs) \
        == (84 * 5 + 5, 84 * 5)


def test_freezing_the_prefix_lowers_activation_memory_on_resnet18():
    nothing, stage3, head = (plan("resnet18", {}, 10, policy, stage)
                             for policy, stage in (("none", None), ("stage", 3), ("head", None)))
    assert nothing.activation_bytes == nothing.activation_bytes_unfrozen
    assert head.activation_bytes <= stage3.activation_bytes < nothing.activation_bytes
    assert stage3.activation_bytes_saved > 0
    # batch scales MACs exactly
    assert plan("resnet18", {}, 10, "stage", 3, batch=2).backward_macs == 2 * stage3.backward_macs


@pytest.mark.parametrize("optimizer, make", [
    ("adam", lambda params: torch.optim.Adam(params)),
    ("sgd", lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9)),
    ("plain_sgd", lambda params: torch.optim.SGD(params, lr=0.1)),
])
def test_optimizer_state_is_what_torch_optim_keeps(optimizer, make):
    result = plan("lenet5", {}, 5, "stage", 3, optimizer=optimizer)
    torch.manual_seed(0)
    model = build("lenet5")
    report = analyze(model, (1, 32, 32))
    replace_head(model, find_head(report), 5)
    apply_policy(model, analyze(model, (1, 32, 32)), "stage", 3)
    trainable = [p for p in model.parameters() if p.requires_grad]
    step = make(trainable)
    model(torch.zeros(2, 1, 32, 32)).sum().backward()
    step.step()
    kept = sum(value.numel() * value.element_size() for state in step.state.values()
               for value in state.values() if isinstance(value, torch.Tensor))
    assert result.optimizer_state_bytes == kept
    assert result.trainable_params == sum(p.numel() for p in trainable)


def test_replace_head_on_a_real_model_gives_the_new_classes():
    model = build("squeezenet1_1")  # a 1x1 convolution is its head
    head = find_head(analyzed("squeezenet1_1"))
    new = replace_head(model, head, 3)
    assert isinstance(new, nn.Conv2d) and new.out_channels == 3 and model.classifier[1] is new
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 3)


@pytest.mark.parametrize("text, expected", [("head", (FreezePolicy.HEAD_ONLY, None)),
                                            ("none", (FreezePolicy.NOTHING, None)),
                                            ("stage:3", (FreezePolicy.UP_TO_STAGE, 3))])
def test_parse_freeze(text, expected):
    assert parse_freeze(text) == expected


@pytest.mark.parametrize("text", ["stage", "stage:x", "all", "head:2"])
def test_parse_freeze_refuses_in_one_sentence(text):
    with pytest.raises(TransferError) as caught:
        parse_freeze(text)
    assert _one_sentence(caught.value)
