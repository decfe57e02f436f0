"""Uploads on the Feature maps page (issue 11, items 6, 7 and 10): each uploader states and checks its own
limit, a refused weights file is one sentence of ours, an upload is hashed once and decoded once."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
import torch
from PIL import Image

from app_helpers import image_captions, shown_errors
from explorer.images import MAX_BYTES
from explorer.weights import MAX_STATE_DICT_BYTES, PICKLED_OBJECTS
from explorer.zoo import build

PAGE = "app_pages/feature_maps.py"
IMAGE_UPLOAD = "widget:feature_maps.image.upload"
WEIGHTS_UPLOAD = "widget:feature_maps.weights.upload.lenet5"


def sixteen_bit_png(width: int, height: int) -> bytes:
    """A 16-bit grayscale PNG like a scientific camera's: a gradient with a little sensor noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    values = ((x * 7 + y * 3) % 60000 + rng.integers(0, 4, (height, width))).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture
def decodes(monkeypatch):
    """Count the real decodes the page asks for: a wrapper around explorer.images.load_image, which still runs."""
    import explorer.ui.widgets as widgets

    calls: list[int] = []
    real = widgets.load_image

    def counting(data: bytes) -> Image.Image:
        calls.append(len(data))
        return real(data)

    monkeypatch.setattr(widgets, "load_image", counting)
    return calls


def test_both_uploaders_state_and_tell_the_browser_their_own_limit(open_page):
    at = open_page(PAGE, arch="lenet5")
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    images = at.file_uploader(key=IMAGE_UPLOAD)
    at.radio(key="widget:feature_maps.weights.source.lenet5").set_value("uploaded").run()
    assert not at.exception
    weights = at.file_uploader(key=WEIGHTS_UPLOAD)
    assert images.label.endswith(", up to 20 MB") and images.proto.max_upload_size_mb == MAX_BYTES // 2**20 == 20
    assert weights.label.endswith(", up to 1 GB") and weights.proto.max_upload_size_mb == MAX_STATE_DICT_BYTES // 2**20
    from streamlit import config

    assert config.get_option("server.maxUploadSize") == 1024  # the server takes what the largest uploader allows


def test_an_image_over_its_own_limit_is_one_sentence_and_the_page_stays_usable(open_page):
    at = open_page(PAGE, arch="lenet5")
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    oversized = b"\x89PNG\r\n\x1a\n" + bytes(MAX_BYTES + 2**20)  # what a client that skips the browser's check sends
    at.file_uploader(key=IMAGE_UPLOAD).set_value(("scan.png", oversized, "image/png")).run()
    assert not at.exception
    assert shown_errors(at) == ["scan.png is 21.0 MB, and images up to 20 MB are read here, so it was not used."]
    assert [info.value for info in at.info] == ["Choose an image file of up to 20 MB, or switch to a sample."]
    assert at.session_state["feature_maps.image.upload"] is None  # not kept
    at.radio(key="widget:feature_maps.image.mode").set_value("Sample").run()
    assert not at.exception and not at.error and "digit 3: 140x140" in image_captions(at)


def test_a_large_image_is_decoded_once_per_upload_not_on_every_rerun(open_page, decodes):
    data = sixteen_bit_png(3000, 3300)
    at = open_page(PAGE, arch="lenet5")
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    before = len(decodes)
    at.file_uploader(key=IMAGE_UPLOAD).set_value(("camera.png", data, "image/png")).run()
    assert not at.exception and not at.error and "camera.png: 3000x3300" in image_captions(at)
    assert decodes[before:] == [len(data)]
    at.radio(key="widget:feature_maps.normalise").set_value("shared").run()  # reruns that change something else
    colormap = at.selectbox(key="widget:feature_maps.colormap")
    colormap.set_value(colormap.options[1]).run()
    assert not at.exception and "camera.png: 3000x3300" in image_captions(at)
    assert decodes[before:] == [len(data)], "a rerun decoded the same upload again"
    at.radio(key="widget:feature_maps.image.mode").set_value("Sample").run()
    at.radio(key="widget:feature_maps.image.mode").set_value("Upload").run()
    assert "camera.png: 3000x3300" in image_captions(at)
    assert decodes[before:].count(len(data)) == 1, "going to the sample and back decoded the upload again"
    other = sixteen_bit_png(300, 200)
    at.file_uploader(key=IMAGE_UPLOAD).set_value(("other.png", other, "image/png")).run()
    assert "other.png: 300x200" in image_captions(at) and decodes[-1] == len(other)  # a new upload is decoded


def test_a_weights_upload_is_hashed_once_and_kept_with_its_digest(open_page):
    data = saved(build("lenet5").state_dict())
    at = open_page(PAGE, arch="lenet5")
    at.radio(key="widget:feature_maps.weights.source.lenet5").set_value("uploaded").run()
    at.file_uploader(key=WEIGHTS_UPLOAD).set_value(("lenet5.pt", data, "application/octet-stream")).run()
    assert not at.exception and not at.error
    assert any(s.value == "Uploaded weights from lenet5.pt." for s in at.success)
    kept = at.session_state["feature_maps.weights.upload.lenet5"]
    assert kept.digest == hashlib.sha256(data).hexdigest() and kept.data == data
    at.radio(key="widget:feature_maps.normalise").set_value("shared").run()
    assert at.session_state["feature_maps.weights.upload.lenet5"] is kept  # the same value: not hashed again
    assert any(s.value == "Uploaded weights from lenet5.pt." for s in at.success)


def test_a_pickled_whole_model_is_refused_in_one_sentence_of_ours(open_page):
    at = open_page(PAGE, arch="lenet5")
    at.radio(key="widget:feature_maps.weights.source.lenet5").set_value("uploaded").run()
    whole_model = saved(build("lenet5"))  # torch.save(model), not model.state_dict()
    at.file_uploader(key=WEIGHTS_UPLOAD).set_value(("model.pt", whole_model, "application/octet-stream")).run()
    assert not at.exception
    assert shown_errors(at) == [PICKLED_OBJECTS]


def test_the_pipeline_uploader_states_its_limit_and_the_browser_sends_no_more_than_1_mb(open_page):
    """Review of issue 11: it said "1GB per file", so a 1.7 MB file reached the server before being refused."""
    at = open_page("app_pages/augmentation.py")
    pipeline = at.file_uploader(key="widget:augment.pipeline.json")
    assert pipeline.label.endswith("(up to 64 KB)") and pipeline.proto.max_upload_size_mb == 1


def test_a_page_keeps_one_weights_upload_per_person_however_many_networks_they_try(open_page):
    """Review of issue 11: a session kept one state_dict per network tried, each up to 1 GB."""
    from explorer.zoo import build

    at = open_page(PAGE, arch="lenet5")
    for name in ("lenet5", "lenet5_modern"):
        at.query_params["arch"] = name
        at.run()
        buffer = io.BytesIO()
        torch.save(build(name).state_dict(), buffer)
        at.radio(key=f"widget:feature_maps.weights.source.{name}").set_value("uploaded").run()
        at.file_uploader(key=f"widget:feature_maps.weights.upload.{name}").set_value(
            (f"{name}.pt", buffer.getvalue(), "application/octet-stream")).run()
        assert not at.exception
        assert any(f"Uploaded weights from {name}.pt" in s.value.replace("\\", "") for s in at.success)
    assert "feature_maps.weights.upload.lenet5_modern" in at.session_state
    assert "feature_maps.weights.upload.lenet5" not in at.session_state
