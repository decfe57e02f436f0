"""Augmentation page: grid of seeded samples, pipeline editing, JSON in and out, agreement with a model."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from app_helpers import image_captions, png_bytes, shown_errors

PAGE = "app_pages/augmentation.py"


def test_default_pipeline_shows_the_original_and_a_seeded_grid(open_page):
    at = open_page(PAGE)
    assert not at.exception and not at.error
    captions = image_captions(at)
    assert sum(1 for c in captions if c.startswith("sample ")) == 8
    assert any(c.startswith("original") for c in captions)
    assert "Mirror (horizontal flip)" in captions and "v2.RandomHorizontalFlip(p=1.0)" in at.code[0].value


def test_an_uploaded_image_and_more_samples(open_page):
    at = open_page(PAGE)
    at.radio(key="widget:augment.image.mode").set_value("Upload").run()
    rng = np.random.default_rng(0)
    photo = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    at.file_uploader(key="widget:augment.image.upload").set_value(("photo.png", png_bytes(photo), "image/png")).run()
    at.slider(key="widget:augment.count").set_value(16).run()
    assert not at.exception and not at.error
    assert sum(1 for c in image_captions(at) if c.startswith("sample ")) == 16


def test_adding_a_colour_shift_changes_the_code_and_the_json(open_page, downloads):
    at = open_page(PAGE)
    at.selectbox(key="widget:augment.pipeline.new").set_value("color_shift").run()
    at.button[0].click().run()
    assert not at.exception
    assert "ColorShift((20, 0, -20))" in at.code[0].value
    saved = json.loads(downloads["pipeline.json"])
    assert [step["op"] for step in saved["pipeline"]] == ["hflip", "random_resized_crop", "color_shift"]


def test_a_json_pipeline_loads_and_a_bad_one_keeps_the_last_good(open_page):
    at = open_page(PAGE)
    good = json.dumps({"pipeline": [{"op": "vflip"}, {"op": "grayscale", "p": 0.5}]}).encode()
    at.file_uploader(key="widget:augment.pipeline.json").set_value(("p.json", good, "application/json")).run()
    assert not at.exception and "v2.RandomVerticalFlip(p=1.0)" in at.code[0].value
    bad = json.dumps({"pipeline": [{"op": "teleport"}]}).encode()
    at.file_uploader(key="widget:augment.pipeline.json").set_value(("bad.json", bad, "application/json")).run()
    assert not at.exception
    assert any("Unknown operation 'teleport'" in e and "not changed" in e for e in shown_errors(at))
    assert "v2.RandomVerticalFlip(p=1.0)" in at.code[0].value


def test_the_bundled_lenet5_says_whether_mirrored_digits_still_agree(open_page):
    at = open_page(PAGE)
    at.selectbox(key="widget:augment.image.sample").set_value("digit 3").run()
    assert not at.exception and not at.error
    assert not [m for m in at.metric if m.label.startswith("Samples that keep")]  # guesses only when asked
    assert image_captions(at)[0] == "original"
    at.toggle(key="widget:augment.classify").set_value(True).run()
    agreement = [m for m in at.metric if m.label.startswith("Samples that keep")]
    assert agreement and agreement[0].value.endswith("of 8") and "LeNet-5 (course notes)" in agreement[0].label
    assert image_captions(at)[0].startswith("original · LeNet-5 (course notes) guesses 3")


def test_an_unreadable_upload_is_one_sentence(open_page):
    at = open_page(PAGE)
    at.radio(key="widget:augment.image.mode").set_value("Upload").run()
    at.file_uploader(key="widget:augment.image.upload").set_value(("x.png", b"", "image/png")).run()
    assert not at.exception
    assert shown_errors(at) == ["The file is empty."]


def test_a_bad_link_is_reported_at_the_top_not_in_the_collapsed_section(open_page):
    at = open_page(PAGE, arch="nonexistent")
    assert not at.exception
    assert any("names no architecture here" in e for e in shown_errors(at))
    assert at.query_params["arch"] in ("lenet5", ["lenet5"])
