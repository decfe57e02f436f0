"""Weights: random, the bundled LeNet-5 (accuracy re-checked), torchvision's cache path, uploads."""

from __future__ import annotations

import io
import json

import pytest
import torch
from safetensors.torch import save as save_safetensors

from explorer.weights import (
    ASSETS, BUNDLED, PRETRAINED, RANDOM, UPLOADED, StateDictMismatchError, WeightsError, WeightsUnavailableError,
    available_sources, checkpoint_path, load_model, pretrained_weights, read_state_dict,
)
from explorer.zoo import build


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_sources_offered_per_architecture():
    assert available_sources("lenet5") == [RANDOM, BUNDLED, UPLOADED]
    assert available_sources("resnet18") == [RANDOM, PRETRAINED, UPLOADED]
    assert available_sources("mobilenet_v1") == [RANDOM, UPLOADED]


def test_random_weights_are_labelled_as_such():
    loaded = load_model("lenet5", {}, RANDOM)
    assert "Random initialisation" in loaded.description and loaded.categories is None
    assert not loaded.model.training


def test_bundled_lenet5_reaches_its_recorded_accuracy_on_held_out_digits():
    from sklearn.model_selection import train_test_split

    import importlib.util
    spec = importlib.util.spec_from_file_location("train", ASSETS.parents[1] / "scripts" / "train_lenet5_digits.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    meta = json.loads((ASSETS / "lenet5_digits.json").read_text())
    images, labels = train.digits_as_lenet_input()
    _, test_idx = train_test_split(range(len(labels)), test_size=0.2, random_state=meta["seed"], stratify=labels)
    loaded = load_model("lenet5", {}, BUNDLED)
    with torch.no_grad():
        predictions = loaded.model((images[test_idx] - meta["mean"]) / meta["std"]).argmax(1)
    accuracy = (predictions == labels[test_idx]).float().mean().item()
    assert accuracy >= 0.97
    assert accuracy == pytest.approx(meta["held_out_accuracy"], abs=1e-4)
    assert loaded.categories == [str(d) for d in range(10)]


def test_bundled_lenet5_reads_the_sample_digit():
    from explorer.images import load_image, sample_images

    loaded = load_model("lenet5", {}, BUNDLED)
    image = load_image(sample_images()["digit 3"].read_bytes())
    with torch.no_grad():
        assert loaded.model(loaded.preprocessing.tensor(image)).argmax().item() == 3


def test_pretrained_weights_load_from_torch_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = pretrained_weights("resnet18")
    path = checkpoint_path(weights)
    assert path == tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    reference = build("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    loaded = load_model("resnet18", {}, PRETRAINED)
    assert torch.equal(loaded.model.fc.weight, reference.fc.weight)
    assert loaded.categories[0] == "tench" and len(loaded.categories) == 1000
    assert loaded.preprocessing.crop == (224, 224) and loaded.preprocessing.resize == 256


def test_pretrained_weights_offline_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = pretrained_weights("resnet18")
    monkeypatch.setattr(type(weights), "url", property(lambda self: "http://127.0.0.1:9/resnet18-f37072fd.pth"))
    with pytest.raises(WeightsUnavailableError, match="could not be downloaded") as error:
        load_model("resnet18", {}, PRETRAINED)
    assert "Errno" not in str(error.value) and str(tmp_path) not in str(error.value)  # no internals, no paths


def test_pretrained_needs_default_options():
    with pytest.raises(WeightsError, match="default options"):
        load_model("resnet18", {"num_classes": 10}, PRETRAINED)


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_an_uploaded_state_dict_is_applied(fmt):
    reference = build("lenet5")
    data = saved(reference.state_dict()) if fmt == "pt" else save_safetensors(reference.state_dict())
    loaded = load_model("lenet5", {}, UPLOADED, upload=(f"weights.{fmt}", data))
    assert torch.equal(loaded.model.features[0].weight, reference.features[0].weight)


def test_wrapped_and_dataparallel_state_dicts_are_accepted():
    state = build("lenet5").state_dict()
    wrapped = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}
    assert set(read_state_dict(saved(wrapped))) == set(state)


def test_a_mismatched_state_dict_lists_the_keys():
    state = build("lenet5", num_classes=7).state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["features.0.bias"]
    with pytest.raises(StateDictMismatchError) as error:
        load_model("lenet5", {}, UPLOADED, upload=("w.pt", saved(state)))
    message = str(error.value)
    assert "1 missing: features.0.bias" in message and "1 unexpected: extra.weight" in message
    assert "classifier.4.weight (7x84 instead of 10x84)" in message


class NotAStateDict:
    def __init__(self):
        self.value = 1


@pytest.mark.parametrize("data, message", [
    (saved(NotAStateDict()), "pickle of Python objects, not a plain state_dict"),
    (saved(build("lenet5")), "pickle of Python objects, not a plain state_dict"),
    (saved([1, 2, 3]), "does not hold a state_dict"),
    (saved({"a": 1}), "entry 'a' is not a named tensor"),
    (b"not a torch file", "not a PyTorch weights file"),
    (b"", "empty"),
])
def test_bad_uploads_are_one_sentence(data, message):
    with pytest.raises(WeightsError, match=message):
        read_state_dict(data, "upload.pt")


def test_bad_safetensors_is_one_sentence():
    with pytest.raises(WeightsError, match="not a readable safetensors file"):
        read_state_dict(b"garbage", "x.safetensors")


def test_digits_drawn_on_paper_are_read_through_the_upload_preprocessing():
    """Every 5th digit, rendered as dark ink on white paper at 140x140 like a scan or photo."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    loaded = load_model("lenet5", {}, BUNDLED)
    correct, indices = 0, range(0, len(digits.target), 5)
    for index in indices:
        ink = Image.fromarray((255 - digits.images[index] / 16 * 255).astype(np.uint8), "L")
        paper = Image.new("L", (140, 140), 255)
        paper.paste(ink.resize((112, 112), Image.BICUBIC), (14, 14))
        with torch.no_grad():
            correct += int(loaded.model(loaded.preprocessing.tensor(paper.convert("RGB"))).argmax() == digits.target[index])
    assert correct / len(indices) >= 0.95
