"""Augmentation page: grid of seeded samples, pipeline editing, JSON in and out, agreement with a model."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
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


def test_a_rerun_that_changes_nothing_reuses_the_guesses_and_a_new_seed_asks_again(open_page, monkeypatch):
    """A download (or any widget elsewhere) reran the whole classification: 50 s for efficientnet_b7."""
    import explorer.activations

    calls = []
    real = explorer.activations.classify
    monkeypatch.setattr(explorer.activations, "classify", lambda *a, **k: calls.append(1) or real(*a, **k))
    at = open_page(PAGE)
    at.selectbox(key="widget:augment.image.sample").set_value("digit 3").run()
    at.toggle(key="widget:augment.classify").set_value(True).run()
    assert len(calls) == 1
    at.run()
    assert len(calls) == 1 and [m for m in at.metric if m.label.startswith("Samples that keep")]
    at.number_input(key="widget:augment.seed").set_value(5).run()
    assert len(calls) == 2 and not at.exception


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


def _upload_pipeline(at, name: str, data: bytes | None):
    at.file_uploader(key="widget:augment.pipeline.json").set_value(
        None if data is None else (name, data, "application/json")).run()
    return at


@pytest.mark.parametrize("name, data, message", [
    ("op-list.json", b'{"pipeline":[{"op":["hflip"]}]}', "must be a name, not a list"),  # was TypeError
    ("deep.json", b"[" * 30_000 + b"]" * 30_000, "nests lists or objects too deeply"),  # was RecursionError
    ("digits.json", b'{"pipeline":[{"op":"rotation","params":{"degrees":' + b"9" * 5000 + b"}}]}",
     "a number with 5000 digits"),  # was ValueError from Python's int-string limit
    ("nan.json", b'{"pipeline":[{"op":"rotation","params":{"degrees":NaN}}]}', "holds NaN"),
    ("many.json", json.dumps({"pipeline": [{"op": "hflip"}] * 100_000}).encode(), "larger than 64 KB"),  # ran forever
    ("long-name.json", json.dumps({"pipeline": [{"op": "*" * 5000}]}).encode(),
     "Unknown operation '" + "*" * 40 + "'…"),
], ids=["op-is-a-list", "deep-nesting", "5000-digits", "nan", "100000-steps", "long-op-name"])
def test_a_malformed_pipeline_file_keeps_the_last_good_pipeline_and_is_read_once(open_page, monkeypatch, name, data,
                                                                                   message):
    """Each of these once raised a Python error in the page, and again on every rerun until the file was removed."""
    from explorer.ui import pipeline_editor

    reads: list[int] = []
    real = pipeline_editor.from_json
    monkeypatch.setattr(pipeline_editor, "from_json", lambda text: reads.append(len(text)) or real(text))
    at = open_page(PAGE)
    _upload_pipeline(at, "p.json", json.dumps({"pipeline": [{"op": "vflip"}]}).encode())
    assert "v2.RandomVerticalFlip(p=1.0)" in at.code[0].value and len(reads) == 1
    started = time.perf_counter()
    _upload_pipeline(at, name, data)
    seconds = time.perf_counter() - started
    assert not at.exception
    errors = [e for e in shown_errors(at) if message in e]
    assert len(errors) == 1 and errors[0].endswith("The pipeline was not changed."), shown_errors(at)
    assert "Traceback" not in errors[0] and len(errors[0]) < 400
    assert "v2.RandomVerticalFlip(p=1.0)" in at.code[0].value
    assert sum(caption.startswith("sample ") for caption in image_captions(at)) == 8
    assert seconds < 60  # the whole page run; the 100,000-step file never finished
    at.slider(key="widget:augment.count").set_value(4).run()  # another run with the bad file still there
    assert len(reads) == 2 and not at.exception and any(message in e for e in shown_errors(at))
    assert "v2.RandomVerticalFlip(p=1.0)" in at.code[0].value
    _upload_pipeline(at, name, None)  # the file removed: its message goes with it
    assert not at.exception and not at.error and "v2.RandomVerticalFlip(p=1.0)" in at.code[0].value


def test_at_the_most_steps_adding_is_disabled_and_says_why(open_page):
    at = _upload_pipeline(open_page(PAGE), "31.json", json.dumps({"pipeline": [{"op": "hflip"}] * 31}).encode())
    add = at.button[0]
    assert add.label == "Add to the pipeline" and not add.disabled and not at.exception
    add.click().run()
    assert not at.exception and at.code[0].value.count("v2.RandomHorizontalFlip(p=1.0)") == 32
    add = at.button[0]
    assert add.label == "Add to the pipeline" and add.disabled
    assert any("at most 32 steps" in c.value for c in at.caption)
    _upload_pipeline(at, "33.json", json.dumps({"pipeline": [{"op": "hflip"}] * 33}).encode())
    assert not at.exception
    assert any("33 steps; at most 32" in e and "not changed" in e for e in shown_errors(at))
    assert at.code[0].value.count("v2.RandomHorizontalFlip(p=1.0)") == 32
    at.button(key=f"augment.pipeline:{at.session_state['augment.pipeline'][0]['id']}:remove").click().run()
    assert not at.exception and not at.button[0].disabled
    assert not any("at most 32 steps" in c.value for c in at.caption)


def test_the_steps_and_the_histograms_are_drawn_one_at_a_time(open_page):
    from app_helpers import open_tab

    at = open_page(PAGE)
    assert "Mirror (horizontal flip)" in image_captions(at) and not at.get("plotly_chart")
    open_tab(at, "augment.view", "Colour histograms: original against sample 1")
    assert "Mirror (horizontal flip)" not in image_captions(at)
    assert len(at.get("plotly_chart")) == 1 and "sample 1" in at.get("plotly_chart")[0].proto.spec
    assert sum(1 for c in image_captions(at) if c.startswith("sample ")) == 8  # the samples stay
