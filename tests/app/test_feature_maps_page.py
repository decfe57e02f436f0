"""Feature maps page: samples and uploads, the bundled LeNet-5 reads a digit, errors are sentences."""

from __future__ import annotations

import io

import pytest

import numpy as np
from PIL import Image

from app_helpers import image_captions, png_bytes, shown_errors

PAGE = "app_pages/feature_maps.py"


def test_lenet5_with_bundled_weights_reads_the_sample_digit(open_page):
    at = open_page(PAGE, arch="lenet5")
    assert not at.exception and not at.error
    charts = at.get("plotly_chart")
    assert charts, "expected the predictions chart"
    top = charts[0].proto.spec
    assert '"3"' in top or "'3'" in top
    assert any("held-out accuracy 98.9%" in s.value for s in at.success)
    captions = image_captions(at)
    assert captions[:3] == ["digit 3: 140x140", "What the network sees", "Channels 0-5 of 6"]


def test_random_weights_are_labelled_and_a_montage_is_shown_for_any_layer(open_page):
    at = open_page(PAGE, arch="resnet18")
    assert not at.exception
    assert any("Random weights" in w.value for w in at.warning)
    at.selectbox(key="widget:feature_maps.point.resnet18").set_value("layer1.0:sum").run()
    assert not at.exception and not at.error
    assert any("Output of layer1.0" in c.value and "64x56x56" in c.value for c in at.caption)


def test_an_uploaded_photo_is_used(open_page):
    at = open_page(PAGE, arch="resnet18")
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8))
    at.file_uploader(key="widget:feature_maps.image.upload").set_value(("photo.png", png_bytes(photo), "image/png")).run()
    assert not at.exception and not at.error
    assert "photo.png: 120x90" in image_captions(at)


def test_a_non_image_upload_is_one_sentence(open_page):
    at = open_page(PAGE, arch="resnet18")
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    at.file_uploader(key="widget:feature_maps.image.upload").set_value(("notes.png", b"these are notes, not pixels", "image/png")).run()
    assert not at.exception
    assert shown_errors(at) == ["This file is not an image we can read; use PNG, JPEG, WebP, BMP, GIF or TIFF."]


@pytest.mark.parametrize("query", [{"arch": "regnet_y_128gf", "num_classes": "100000"}, {"arch": "vit_h_14"}])
def test_a_link_to_a_network_too_large_for_the_server_is_one_sentence(open_page, query):
    """Issue 11: this link held 6 GB for 20 s, and an allocation failure broke the page."""
    import time

    start = time.perf_counter()
    at = open_page(PAGE, **query)
    assert not at.exception and time.perf_counter() - start < 30
    errors = shown_errors(at)
    assert len(errors) == 1 and "more than this server's budget of 2.00 GiB" in errors[0], errors
    assert at.radio(key="widget:feature_maps.weights.source." + query["arch"])  # the pickers stay usable


def test_the_page_says_what_the_pass_needs_of_the_servers_budget(open_page, monkeypatch):
    from explorer import budget
    from explorer.ui.cache import MODELS

    at = open_page(PAGE, arch="vgg16")
    assert any("of weights and about" in c.value and "within this server's budget of 2.00 GiB" in c.value
               for c in at.caption)
    monkeypatch.setenv(budget.MEMORY_ENV, "256")  # vgg16's 528 MB of weights no longer fit
    MODELS.clear()  # as on a server started with this setting
    at = open_page(PAGE, arch="vgg16")
    assert not at.exception
    assert any("VGG-16" in e and "budget of 256.00 MiB" in e for e in shown_errors(at)), shown_errors(at)


def test_a_mismatched_state_dict_upload_lists_keys(open_page):
    import torch

    from explorer.zoo import build

    buffer = io.BytesIO()
    torch.save(build("lenet5", num_classes=7).state_dict(), buffer)
    at = open_page(PAGE, arch="lenet5")
    at.radio(key="widget:feature_maps.weights.source.lenet5").set_value("uploaded").run()
    at.file_uploader(key="widget:feature_maps.weights.upload.lenet5").set_value(("w.pt", buffer.getvalue(), "application/octet-stream")).run()
    assert not at.exception
    assert any("classifier.4.weight (7x84 instead of 10x84)" in e for e in shown_errors(at))


def test_the_sample_follows_the_network_until_one_is_picked(open_page):
    at = open_page(PAGE, arch="lenet5")
    assert at.selectbox(key="widget:feature_maps.image.sample").value == "digit 3"
    at.selectbox(key="widget:network.arch").set_value("resnet18").run()
    assert not at.exception and at.selectbox(key="widget:feature_maps.image.sample").value == "cat"
    at.selectbox(key="widget:feature_maps.image.sample").set_value("rocket").run()
    at.selectbox(key="widget:network.arch").set_value("lenet5").run()
    assert at.selectbox(key="widget:feature_maps.image.sample").value == "rocket"


def test_a_one_click_reset_brings_back_the_options_the_bundled_weights_need(open_page):
    at = open_page(PAGE, arch="lenet5", num_classes="5")
    assert any("default options" in e for e in shown_errors(at))
    at.button(key="widget:network.reset").click().run()
    assert not at.exception and not at.error
    assert at.number_input(key="widget:network.option.lenet5.num_classes").value == 10
    assert "num_classes" not in at.query_params


def test_one_channel_and_every_channels_statistics_are_drawn_one_at_a_time(open_page):
    from app_helpers import open_tab

    at = open_page(PAGE, arch="resnet18")
    at.selectbox(key="widget:feature_maps.point.resnet18").set_value("layer1.0:sum").run()
    channel = at.number_input(key="widget:feature_maps.channel.resnet18.layer1.0:sum")
    channel.set_value(5).run()
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]  # random weights: no predictions chart
    assert len(specs) == 1 and "Channel 5" in specs[0] and "heatmap" in specs[0]
    assert "Channel 5 over the image the network sees" in image_captions(at)
    open_tab(at, "feature_maps.view", "Every channel's statistics")
    specs = [chart.proto.spec for chart in at.get("plotly_chart")]
    assert len(specs) == 1 and "Per-channel statistics of layer1.0:sum" in specs[0]
    assert "Channel to inspect" not in [box.label for box in at.number_input]  # not drawn; its value is kept
    open_tab(at, "feature_maps.view", "One channel up close")
    assert at.number_input(key="widget:feature_maps.channel.resnet18.layer1.0:sum").value == 5
    assert "Channel 5" in at.get("plotly_chart")[0].proto.spec
