"""The registry: every entry is complete, options are validated, unknown names are explained."""

from __future__ import annotations

import threading

import pytest
import torch
import torchvision

from explorer.errors import InvalidOptionError, UnknownArchitectureError
from explorer.zoo import EntryType, build, get_spec, list_architectures
from explorer.zoo.efficientnet_scaled import compound_scaling
from explorer.zoo.families import FAMILIES

CLASSICS = ["lenet5", "lenet5_1998", "alexnet_2012", "vgg16", "resnet50", "googlenet", "mobilenet_v1", "mobilenet_v2",
            "efficientnet_b0"]
BLOCKS = ["plain_conv", "pointwise_conv", "residual_block", "inception_module", "depthwise_separable",
          "inverted_residual", "mbconv_se"]


def test_every_torchvision_classifier_is_registered_under_its_own_name():
    # counted from torchvision's weight classes (ResNet50_Weights is resnet50's), not from list_models,
    # which is what the registry itself reads
    classifiers = {name.removesuffix("_Weights").lower() for name in dir(torchvision.models)
                   if name.endswith("_Weights")}
    assert len(classifiers) >= 80 and "resnet50" in classifiers and "regnet_y_128gf" in classifiers
    assert classifiers <= set(list_architectures())


def test_torchvision_entries_use_the_resolution_of_their_default_weights():
    for name, size in [("inception_v3", 299), ("efficientnet_b7", 600), ("vit_h_14", 518), ("resnet50", 224),
                       ("regnet_y_128gf", 384), ("swin_v2_t", 256)]:
        assert get_spec(name).default_input_shape() == (3, size, size)


def test_hand_written_and_block_entries_exist():
    names = set(list_architectures())
    assert {"lenet5", "lenet5_modern", "alexnet_2012", "mobilenet_v1", "efficientnet", *BLOCKS} <= names
    assert set(list_architectures(EntryType.BLOCK)) == set(BLOCKS)


def test_classics_come_first_in_time_order():
    names = list_architectures()
    assert names[: len(CLASSICS)] == sorted(CLASSICS, key=lambda n: (get_spec(n).year, n))
    assert names[0] == "lenet5" and names[len(CLASSICS) - 1] == "efficientnet_b0"


@pytest.mark.parametrize("name", list_architectures())
def test_every_spec_is_complete(name):
    spec = get_spec(name)
    assert spec.display_name and spec.family in FAMILIES
    assert 1990 < spec.year <= 2026
    assert spec.paper_title and spec.paper_url.startswith("http")
    assert spec.purpose.endswith(".") and spec.key_idea and len(spec.explanation) > 80
    assert len(spec.default_input_shape()) == 3
    for key, option in spec.options.items():
        assert option.parse(key, option.default) == option.default


def test_seed_examples_are_the_block_defaults():
    assert get_spec("pointwise_conv").default_input_shape() == (32, 6, 6)
    assert get_spec("inception_module").default_input_shape() == (192, 28, 28)
    assert get_spec("depthwise_separable").default_input_shape() == (3, 6, 6)
    assert get_spec("inverted_residual").default_input_shape() == (3, 6, 6)
    assert get_spec("lenet5").default_input_shape() == (1, 32, 32)
    assert get_spec("alexnet_2012").default_input_shape() == (3, 227, 227)


def test_unknown_architecture_suggests_close_names():
    with pytest.raises(UnknownArchitectureError, match="resnet50"):
        get_spec("resnet5")
    assert "There is no architecture called 'resnet5'" in str(pytest.raises(UnknownArchitectureError, get_spec, "resnet5").value)


@pytest.mark.parametrize("config, message", [
    ({"width": 2}, "has no option 'width'; its options are: in_channels, num_classes, width_mult"),
    ({"width_mult": 3}, r"must be float in \[0.1, 2.0\]"),
    ({"width_mult": "abc"}, "must be float"),
    ({"num_classes": 0}, "must be int >= 1|must be int in"),
    ({"num_classes": 2.5}, "must be int"),
    ({"num_classes": True}, "must be int"),
    ({"width_mult": float("nan")}, "must be float"),
])
def test_bad_options_are_refused_with_a_sentence(config, message):
    with pytest.raises(InvalidOptionError, match=message):
        get_spec("mobilenet_v1").resolve_config(config)


def test_option_strings_are_converted_like_the_cli_sends_them():
    spec = get_spec("lenet5")
    assert spec.resolve_config({"num_classes": "7", "activation": "relu"})["num_classes"] == 7
    assert get_spec("inception_v3").resolve_config({"aux_logits": "false"})["aux_logits"] is False
    with pytest.raises(InvalidOptionError, match="one of tanh | relu"):
        spec.resolve_config({"activation": "sigmoid"})


def test_build_returns_an_eval_mode_module_and_explains_builder_errors():
    with torch.device("meta"):
        model = build("lenet5", num_classes=3)
        assert not model.training and model.classifier[-1].out_features == 3
        with pytest.raises(InvalidOptionError, match="identity shortcut"):
            build("residual_block", shortcut="identity", stride=2)
        with pytest.raises(InvalidOptionError, match="cannot be built"):
            build("vit_b_16", image_size=100)  # not a multiple of the 16-pixel patches


def test_regnets_build_on_meta_from_many_threads_and_leave_torchvision_as_it_was():
    # torchvision's own RegNet builder fails on meta: BlockParams.from_init_params calls .tolist() on meta
    # tensors. The day this stops failing, the workaround in explorer/zoo/torchvision_models.py can go.
    from torchvision.models import regnet

    original = regnet.BlockParams.__dict__["from_init_params"]
    with torch.device("meta"), pytest.raises(NotImplementedError, match="meta tensor"):
        regnet.regnet_x_400mf()
    names = ["regnet_x_400mf", "regnet_y_400mf"] * 4
    barrier = threading.Barrier(len(names))
    devices: dict[int, set[str]] = {}

    def worker(index: int) -> None:
        barrier.wait()
        with torch.device("meta"):  # a default device holds for the thread that sets it
            devices[index] = {p.device.type for p in build(names[index]).parameters()}

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert devices == {index: {"meta"} for index in range(len(names))}
    assert regnet.BlockParams.__dict__["from_init_params"] is original
    with torch.device("meta"), pytest.raises(NotImplementedError, match="meta tensor"):
        regnet.regnet_x_400mf()  # still torchvision's own function outside a registry build


def test_efficientnet_compound_scaling_follows_the_paper():
    depth, width, resolution = compound_scaling(1.0)
    assert (depth, width, resolution) == (1.2, 1.1, 258)
    assert compound_scaling(0.0) == (1.0, 1.0, 224)
    assert get_spec("efficientnet").default_input_shape({"phi": 2}) == (3, round(224 * 1.15 ** 2), round(224 * 1.15 ** 2))


def test_in_channels_option_sets_the_default_input():
    assert get_spec("lenet5").default_input_shape({"in_channels": 3}) == (3, 32, 32)
    assert get_spec("plain_conv").default_input_shape({"in_channels": 16}) == (16, 28, 28)


def test_lenet5_1998_follows_table_i_and_computes_squared_distances():
    from explorer.zoo.lenet_1998 import PartialConv2d, TABLE_I, c3_inputs, digit_codes

    inputs = c3_inputs()
    assert [len(chosen) for chosen in inputs] == [3] * 6 + [4] * 9 + [6]
    assert inputs[0] == (0, 1, 2) and inputs[4] == (0, 4, 5) and inputs[14] == (0, 2, 3, 5)
    assert all(line.count("x") == 10 for line in TABLE_I)
    codes = digit_codes()
    assert codes.shape == (10, 84) and set(codes.unique().tolist()) == {-1.0, 1.0}
    assert len({tuple(row.tolist()) for row in codes}) == 10
    model = build("lenet5_1998")
    # C3 map j really reads only its inputs: a change in any other S2 map leaves it unchanged
    c3 = model.c3.conv
    assert isinstance(c3, PartialConv2d)
    x = torch.randn(1, 6, 14, 14)
    changed = x.clone()
    changed[:, 3] += 1.0
    moved = (c3(changed) - c3(x)).abs().amax(dim=(0, 2, 3)) > 0
    assert moved.tolist() == [3 in chosen for chosen in inputs]
    # the output is the squared distance to each code, and the code itself is at distance 0
    f6 = torch.randn(2, 84)
    assert torch.allclose(model.output(f6), torch.cdist(f6, codes) ** 2, atol=1e-3)
    assert model.output(codes[3:4]).argmin().item() == 3
    assert not model.output.weight.requires_grad


@pytest.mark.parametrize("query, first, absent", [
    ("ResNet 50", "resnet50", "resnet101"), ("resnet50", "resnet50", "resnet18"), ("vgg16", "vgg16", "vgg19"),
    ("attention", "vit_b_16", "resnet50"), ("LeNet-5", "lenet5", "alexnet"), ("lenet", "lenet5", "resnet50"),
])
def test_search_ranks_exact_names_first_and_does_not_match_by_accident(query, first, absent):
    from explorer.zoo import search

    found = search(query)
    assert found[0] == first or first in found and query == "attention"
    assert absent not in found
    if query == "lenet":  # the LeNets before names that merely contain the text (googlenet, mobilenet)
        assert found[:3] == ["lenet5", "lenet5_1998", "lenet5_modern"]
    assert search("") == [] and search("no such network at all") == []
