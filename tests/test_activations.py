"""Capture: module outputs and branch points, early stopping, thread safety, memory guard; montage speed-free checks."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from explorer.activations import (
    CaptureError, agreement, capture, capture_points, classify, default_point, first_conv_name, first_conv_weight,
    top_k,
)
from explorer.montage import channel_statistics, colormap_lut, filter_tiles, montage, overlay
from explorer.zoo import build, get_spec, list_architectures


@pytest.fixture(scope="module")
def resnet():
    torch.manual_seed(0)
    return build("resnet18")


@pytest.fixture(scope="module")
def images():
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(1, 3, 64, 64, generator=generator) for _ in range(8)]


def test_module_outputs_match_the_plain_forward(resnet, images):
    result = capture(resnet, images[0], ["conv1", "layer4"], stop_early=False)
    with torch.no_grad():
        x = resnet.conv1(images[0])
        expected_output = resnet(images[0])
    assert torch.equal(result.activations["conv1"], x)
    assert torch.allclose(result.output, expected_output)
    assert result.activations["layer4"].shape == (1, 512, 2, 2)


def test_captured_tensors_are_not_changed_by_later_inplace_relu(resnet, images):
    result = capture(resnet, images[0], ["bn1"])
    assert (result.activations["bn1"] < 0).any()  # before ReLU(inplace=True) ran on the same tensor


def test_residual_points_add_up(resnet, images):
    points = ["layer1.0:shortcut", "layer1.0.bn2", "layer1.0:sum", "layer2.0.downsample", "layer2.0.bn2",
              "layer2.0:sum", "layer2.0"]
    acts = capture(resnet, images[0], points).activations
    assert torch.allclose(acts["layer1.0:sum"], acts["layer1.0.bn2"] + acts["layer1.0:shortcut"], atol=1e-6)
    assert torch.allclose(acts["layer2.0:sum"], acts["layer2.0.bn2"] + acts["layer2.0.downsample"], atol=1e-6)
    assert torch.equal(acts["layer2.0"], torch.relu(acts["layer2.0:sum"]))


def test_inception_branches_concatenate_to_the_module_output():
    model = build("googlenet")
    x = torch.randn(1, 3, 96, 96)
    names = [f"inception3a.branch{i}" for i in range(1, 5)] + ["inception3a"]
    acts = capture(model, x, names).activations
    assert torch.equal(torch.cat([acts[n] for n in names[:4]], dim=1), acts["inception3a"])
    labels = {p.name: p.label for p in capture_points(model)}
    assert "concatenation of the branches" in labels["inception3a"] and labels["inception3a.branch2"].endswith("branch")


def test_inverted_residual_stages_are_labelled():
    labels = {p.name: p.label for p in capture_points(build("mobilenet_v2"))}
    assert labels["features.2.conv.0"].endswith("expansion 1x1")
    assert labels["features.2.conv.1"].endswith("depthwise 3x3")
    assert labels["features.2.conv.3"].endswith("projection BN")
    assert "residual sum" in labels["features.3"]


def test_the_forward_stops_at_the_deepest_requested_point(resnet, images):
    calls = []
    handle = resnet.layer3.register_forward_hook(lambda *a: calls.append(1))
    try:
        result = capture(resnet, images[0], ["layer1", "conv1"])
    finally:
        handle.remove()
    assert result.stopped_early and result.output is None and not calls


def test_capture_leaves_no_hooks(resnet, images):
    capture(resnet, images[0], ["layer1.0:sum", "layer1.0:shortcut", "conv1"])
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in resnet.modules())


def test_unknown_points_are_a_sentence(resnet, images):
    with pytest.raises(CaptureError, match="no capture point 'nope'"):
        capture(resnet, images[0], ["nope"])
    with pytest.raises(CaptureError, match="no capture point 'conv1:sum'"):
        capture(resnet, images[0], ["conv1:sum"])


def test_eight_threads_each_get_exactly_their_own_activations(resnet, images):
    points = ["conv1", "layer1.0:sum", "layer2", "layer3.1.bn2"]
    expected = [capture(resnet, image, points).activations for image in images]
    results: dict[int, dict] = {}
    barrier = threading.Barrier(len(images))

    def worker(index: int) -> None:
        barrier.wait()
        for _ in range(3):
            results[index] = capture(resnet, images[index], points).activations

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(len(images)):
        for point in points:
            assert torch.equal(results[index][point], expected[index][point]), (index, point)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in resnet.modules())


def test_top_k_names_the_categories():
    output = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    ranked = top_k(output, ["a", "b", "c", "d"], k=2)
    assert [name for name, _ in ranked] == ["b", "d"] and ranked[0][1] == pytest.approx(torch.softmax(output, 1)[0, 1].item())


def test_montage_tiles_every_channel_with_its_own_scale():
    maps = torch.arange(4 * 3 * 3, dtype=torch.float32).reshape(4, 3, 3)
    result = montage(maps, "channel", "gray", min_tile=3)
    assert result.columns == 2 and result.channels == [0, 1, 2, 3]
    pixels = np.asarray(result.image)
    assert pixels.shape == (3 * 2 + 2, 3 * 2 + 2, 3)
    assert pixels[0, 0, 0] == 0 and pixels[2, 2, 0] == 255  # each tile stretched to 0..255
    shared = np.asarray(montage(maps, "shared", "gray", min_tile=3).image)
    assert shared[0, 0, 0] == 0 and shared[2, 2, 0] < 255  # first channel is dark on the shared scale


def test_montage_sorting_and_paging():
    maps = torch.stack([torch.full((2, 2), float(v)) for v in (1, 5, 3)])
    assert montage(maps, sort_by_mean=True).channels == [1, 2, 0]
    assert montage(maps, per_page=2, page=1).channels == [2]


def test_filter_tiles_show_each_filter_as_a_square_stretched_to_its_own_range():
    # 5 RGB filters of 2x2: 3 by 2 squares of 40 pixels (each weight 40 // 2 = 20 pixels), 2-pixel white gaps
    weight = torch.zeros(5, 3, 2, 2)
    weight[0, 0] = 1.0
    weight[0, 1:] = -1.0  # filter 0 is pure red
    weight[1, 0] = torch.tensor([[0.0, 1.0], [2.0, 3.0]])  # filter 1's red runs from its minimum to its maximum
    pixels = np.asarray(filter_tiles(weight))
    assert pixels.shape == (2 * 42 - 2, 3 * 42 - 2, 3)
    assert (pixels[:40, :40] == (255, 0, 0)).all()
    assert (pixels[:, 40:42] == 255).all() and (pixels[42:, 84:] == 255).all()  # a gap, and the sixth place
    assert [tuple(pixels[row, column]) for row, column in [(0, 42), (0, 62), (20, 42), (39, 81)]] == [
        (0, 0, 0), (85, 0, 0), (170, 0, 0), (255, 0, 0)]  # filter 1's four weights, 0..3 stretched to 0..255
    gray = torch.zeros(2, 2, 3, 3)  # other channel counts: the mean over the input channels, in gray
    gray[0, 1, 1, 1] = 2.0
    pixels = np.asarray(filter_tiles(gray))
    assert pixels.shape == (39, 2 * 41 - 2, 3)  # 13-pixel weights (40 // 3), two squares side by side
    assert (pixels[13:26, 13:26] == 255).all() and (pixels[:13, :13] == 0).all()
    assert np.asarray(filter_tiles(torch.randn(100, 1, 1, 1))).shape == (8 * 42 - 2, 8 * 42 - 2, 3)  # 64 shown
    weight = first_conv_weight(build("resnet18"))[1]  # 64 filters of 7x7: 8 by 8 squares of 35 pixels
    assert filter_tiles(weight).size == (8 * 37 - 2, 8 * 37 - 2)


def test_overlay_statistics_and_colormaps():
    from PIL import Image
    picture = Image.new("RGB", (20, 10), "white")
    assert overlay(picture, torch.rand(5, 5)).size == (20, 10)
    stats = channel_statistics(torch.relu(torch.tensor([[[-1.0, 2.0]], [[3.0, 4.0]]])))
    assert stats["zeros"] == [0.5, 0.0] and stats["max"] == [2.0, 4.0]
    assert colormap_lut("viridis").shape == (256, 3) and tuple(colormap_lut("gray")[255]) == (255, 255, 255)


def test_classify_batches_images_and_names_the_classes():
    from explorer.images import load_image, sample_images
    from explorer.weights import WeightSource, load_model

    loaded = load_model("lenet5", {}, WeightSource.BUNDLED)
    digit = load_image(sample_images()["digit 3"].read_bytes())
    ranked = classify(loaded, [digit, digit.transpose(0)])
    assert ranked[0][0] == "3" and 0 < ranked[0][1] <= 1 and len(ranked) == 2


def test_classify_runs_in_batches_that_fit_the_budget_and_agrees_with_one_batch(monkeypatch):
    from explorer import budget
    from explorer.images import load_image, sample_images
    from explorer.weights import WeightSource, load_model

    loaded = load_model("lenet5", {}, WeightSource.BUNDLED)
    images = [load_image(path.read_bytes()) for path in sample_images().values()] * 3
    whole = classify(loaded, images)
    cost = loaded.cost
    # a budget with room for exactly 4 images at a time
    room = cost.parameter_bytes + cost.activation_bytes(4)
    monkeypatch.setenv(budget.MEMORY_ENV, str(-(-room // 2**20)))
    fits = cost.largest_batch(budget.limits().memory_bytes)
    assert 4 <= fits < len(images)
    batches = []
    assert classify(loaded, images, progress=lambda done, total: batches.append((done, total))) == whole
    assert batches[-1] == (len(images), len(images)) and len(batches) == -(-len(images) // fits)


def test_distance_outputs_rank_the_smallest_first():
    from explorer.activations import class_scores

    model = build("lenet5_1998")
    distances = torch.tensor([[5.0, 1.0, 9.0]])
    assert top_k(class_scores(model, distances), None, 1)[0][0] == "class 1"
    assert top_k(class_scores(build("lenet5"), distances), None, 1)[0][0] == "class 2"


def test_each_call_of_a_module_called_three_times_is_its_own_capture_point():
    from helpers import analyzed

    model = build("resnet50")
    points = {p.name: p.label for p in capture_points(model, analyzed("resnet50").calls())}
    assert points["layer1.0.relu"].endswith("call 1 of 3") and points["layer1.0.relu@2"].endswith("call 3 of 3")
    result = capture(model, torch.randn(1, 3, 224, 224), ["layer1.0.relu", "layer1.0.relu@1", "layer1.0.relu@2"])
    shapes = [tuple(result.activations[p].shape) for p in ("layer1.0.relu", "layer1.0.relu@1", "layer1.0.relu@2")]
    assert shapes == [(1, 64, 56, 56), (1, 64, 56, 56), (1, 256, 56, 56)]
    with pytest.raises(CaptureError):
        capture(model, torch.randn(1, 3, 224, 224), ["layer1.0.relu@x"])


def test_a_montage_is_sent_as_a_compact_jpeg_of_the_same_picture():
    import io

    import numpy as np
    from PIL import Image

    from explorer.images import for_display
    from explorer.montage import montage

    maps = torch.linspace(0, 1, 64 * 56 * 56).reshape(64, 56, 56).sin()
    image = montage(maps, min_tile=110).image
    data = for_display(image, side=None)
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == "JPEG" and decoded.size == image.size
    full = io.BytesIO()
    image.save(full, format="JPEG", quality=100)  # what Streamlit would send for the PIL image
    assert len(data) < len(full.getvalue()) / 2
    difference = np.abs(np.asarray(decoded, dtype=float) - np.asarray(image, dtype=float)).mean()
    assert difference < 4  # out of 255: the same picture to the eye


@pytest.mark.parametrize("name", list_architectures())
def test_the_first_convolution_in_module_order_is_the_first_a_forward_pass_reaches(name):
    """Feature maps starts on it and shows its filters: one function finds it for both."""
    from explorer.analysis import analyze

    report = analyze(name, None)
    with torch.device("meta"):
        model = build(name, **get_spec(name).resolve_config())
    reached = next((row.name for row in report.leaves() if row.type == "Conv2d"), None)
    points = capture_points(model, report.calls())
    assert first_conv_name(model) == reached
    assert default_point(model, points) == (reached or points[0].name)


def test_first_conv_weight_is_the_named_convolutions_weight():
    model = build("lenet5")
    path, weight = first_conv_weight(model)
    assert path == first_conv_name(model) and torch.equal(weight, model.get_submodule(path).weight)
    assert first_conv_name(torch.nn.Sequential(torch.nn.Linear(2, 2))) is None


def test_agreement_counts_the_samples_that_keep_the_originals_class():
    assert agreement([("cat", 0.9), ("cat", 0.5), ("dog", 0.6), ("cat", 0.4)]) == (2, 3)
    assert agreement([("cat", 0.9)]) == (0, 0)
