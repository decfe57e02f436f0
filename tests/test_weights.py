"""Weights: random, the bundled LeNet-5 (accuracy re-checked), torchvision's cache path, uploads."""

from __future__ import annotations

import io
import json
import os
import pickle
import re

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_safetensors

from explorer.weights import (
    ASSETS, MAX_STATE_DICT_BYTES, StateDictMismatchError, WeightSource, WeightsError,
    WeightsUnavailableError, available_sources, checkpoint_path, load_model, pretrained_weights, read_state_dict,
)
from explorer.zoo import build


def saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_sources_offered_per_architecture():
    assert available_sources("lenet5") == [WeightSource.RANDOM, WeightSource.BUNDLED, WeightSource.UPLOADED]
    assert available_sources("resnet18") == [WeightSource.RANDOM, WeightSource.PRETRAINED, WeightSource.UPLOADED]
    assert available_sources("mobilenet_v1") == [WeightSource.RANDOM, WeightSource.UPLOADED]


def test_random_weights_are_labelled_as_such():
    loaded = load_model("lenet5", {}, WeightSource.RANDOM)
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
    loaded = load_model("lenet5", {}, WeightSource.BUNDLED)
    with torch.no_grad():
        predictions = loaded.model((images[test_idx] - meta["mean"]) / meta["std"]).argmax(1)
    accuracy = (predictions == labels[test_idx]).float().mean().item()
    assert accuracy >= 0.97
    assert accuracy == pytest.approx(meta["held_out_accuracy"], abs=1e-4)
    assert loaded.categories == [str(d) for d in range(10)]


def test_bundled_lenet5_reads_the_sample_digit():
    from explorer.images import load_image, sample_images

    loaded = load_model("lenet5", {}, WeightSource.BUNDLED)
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
    loaded = load_model("resnet18", {}, WeightSource.PRETRAINED)
    assert torch.equal(loaded.model.fc.weight, reference.fc.weight)
    assert loaded.categories[0] == "tench" and len(loaded.categories) == 1000
    assert loaded.preprocessing.crop == (224, 224) and loaded.preprocessing.resize == 256


@pytest.mark.parametrize("content", [b"not a checkpoint", b""], ids=["foreign", "empty"])
def test_a_broken_cached_checkpoint_is_one_sentence(tmp_path, monkeypatch, content):
    """A truncated download or a foreign file in torch hub's cache: an error the page shows, not a traceback
    (an UnpicklingError or EOFError escaped before)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = checkpoint_path(pretrained_weights("resnet18"))
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="The cached pretrained weights for resnet18 could not be loaded"):
        load_model("resnet18", {}, WeightSource.PRETRAINED)


def test_pretrained_weights_offline_say_so(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    weights = pretrained_weights("resnet18")
    monkeypatch.setattr(type(weights), "url", property(lambda self: "http://127.0.0.1:9/resnet18-f37072fd.pth"))
    with pytest.raises(WeightsUnavailableError, match="could not be downloaded") as error:
        load_model("resnet18", {}, WeightSource.PRETRAINED)
    assert "Errno" not in str(error.value) and str(tmp_path) not in str(error.value)  # no internals, no paths


def test_pretrained_needs_default_options():
    with pytest.raises(WeightsError, match="default options"):
        load_model("resnet18", {"num_classes": 10}, WeightSource.PRETRAINED)


@pytest.mark.parametrize("fmt", ["pt", "safetensors"])
def test_an_uploaded_state_dict_is_applied(fmt):
    reference = build("lenet5")
    data = saved(reference.state_dict()) if fmt == "pt" else save_safetensors(reference.state_dict())
    loaded = load_model("lenet5", {}, WeightSource.UPLOADED, upload=(f"weights.{fmt}", data))
    assert torch.equal(loaded.model.features[0].weight, reference.features[0].weight)


def test_the_format_is_told_by_the_bytes_not_the_name():
    state = build("lenet5").state_dict()
    for data, name in ((save_safetensors(state), "weights.pt"), (saved(state), "weights.safetensors")):
        assert set(read_state_dict(data, name)) == set(state)


def test_wrapped_and_dataparallel_state_dicts_are_accepted():
    state = build("lenet5").state_dict()
    wrapped = {"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}
    assert set(read_state_dict(saved(wrapped))) == set(state)


def test_a_mismatched_state_dict_lists_the_keys():
    state = build("lenet5", num_classes=7).state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["features.0.bias"]
    with pytest.raises(StateDictMismatchError) as error:
        load_model("lenet5", {}, WeightSource.UPLOADED, upload=("w.pt", saved(state)))
    message = str(error.value)
    assert "1 missing: features.0.bias" in message and "1 unexpected: extra.weight" in message
    assert "classifier.4.weight (7x84 instead of 10x84)" in message


class NotAStateDict:
    def __init__(self):
        self.value = 1


class RunsAShellCommand:
    """Unpickling this runs a shell command that creates ``marker``: what a malicious weights file does."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


OBJECTS = ("This file is a pickle of Python objects (for example a whole model saved with torch.save(model)), "
           "not a plain state_dict; it was not loaded because unpickling it could run code, so save "
           "model.state_dict() instead.")
PLAIN_PICKLE = ("This file is a plain Python pickle (for example written with pickle.dump) that holds no tensors; "
                "save the weights with torch.save(model.state_dict()) instead.")
NOT_WEIGHTS = ("This file is not a weights file; upload a .pt or .pth file saved with torch.save(model.state_dict()), "
               "or a .safetensors file.")
DAMAGED = ("This file starts like a PyTorch weights file but is cut short or damaged; upload it again, or save it "
           "again with torch.save(model.state_dict()).")
BAD_SAFETENSORS = ("This file is named .safetensors but is cut short, damaged or not in the safetensors format; save "
                   "the weights again with safetensors.torch.save_file(model.state_dict(), path).")


def assert_one_plain_sentence(message: str) -> None:
    """One sentence of ours: none of PyTorch's or safetensors' own text, no markup, no internals in brackets."""
    assert message.endswith(".") and "\n" not in message and "`" not in message
    assert not re.search(r"\.\s+[A-Z]", message), f"more than one sentence: {message}"
    for internal in ("Weights only", "weights_only", "torch.load", "torch.serialization", "GLOBAL", "posix",
                     "global", "zip archive", "central directory", "miniz", "header", "Error", "invalid load key"):
        assert internal not in message, f"{internal!r} leaked into: {message}"


def _random_bytes() -> bytes:
    return bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8))


def _truncated_torch_file() -> bytes:
    data = saved(build("lenet5").state_dict())
    return data[: len(data) // 2]


def _truncated_legacy_torch_file() -> bytes:
    buffer = io.BytesIO()
    torch.save(build("lenet5").state_dict(), buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


@pytest.mark.parametrize("make, message", [
    (lambda: saved(NotAStateDict()), OBJECTS),
    (lambda: saved(build("lenet5")), OBJECTS),                        # a whole model: torch.save(model)
    (lambda: saved(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3))), OBJECTS),
    (lambda: pickle.dumps({"conv": [1.0, 2.0], "fc": [3.0]}), PLAIN_PICKLE),
    (lambda: pickle.dumps({"conv": [1.0, 2.0]}, protocol=2), PLAIN_PICKLE),
    (lambda: pickle.dumps([NotAStateDict()]), OBJECTS),
    (_random_bytes, NOT_WEIGHTS),
    (lambda: b"not a torch file", NOT_WEIGHTS),
    (_truncated_torch_file, DAMAGED),
    (_truncated_legacy_torch_file, DAMAGED),
    (lambda: saved([1, 2, 3]), "The file does not hold a state_dict (a dictionary of parameter names to tensors)."),
    (lambda: saved({"a": 1}), "The file is not a plain state_dict: entry 'a' is not a named tensor."),
    (lambda: b"", "The weights file is empty."),
], ids=["object", "whole-lenet5", "whole-sequential", "plain-pickle", "plain-pickle-protocol-2",
        "pickled-object", "random-bytes", "text", "truncated-zip", "truncated-legacy", "list", "dict-of-ints", "empty"])
def test_bad_uploads_are_one_sentence(make, message):
    with pytest.raises(WeightsError) as error:
        read_state_dict(make(), "upload.pt")
    assert str(error.value) == message
    assert_one_plain_sentence(str(error.value))


@pytest.mark.parametrize("write", [pickle.dumps, saved, lambda obj: pickle.dumps(obj, protocol=2)],
                         ids=["pickle", "torch.save", "pickle-protocol-2"])
def test_a_malicious_pickle_is_named_and_never_run(tmp_path, write):
    marker = tmp_path / "the-command-ran"
    data = write(RunsAShellCommand(marker))
    assert b"system" in data  # it really names os.system
    with pytest.raises(WeightsError) as error:
        read_state_dict(data, "resnet18.pth")
    assert str(error.value) == OBJECTS
    assert_one_plain_sentence(str(error.value))
    assert not marker.exists(), "unpickling ran the file's command"


@pytest.mark.parametrize("data", [
    b"garbage",
    b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}",
    b"\xff\xff\xff\xff\xff\xff\xff\x7f{",                         # a header length far beyond the file
    save_safetensors(build("lenet5").state_dict())[:3000],             # cut short
], ids=["text", "bad-header", "huge-header", "truncated"])
def test_bad_safetensors_is_one_sentence(data):
    with pytest.raises(WeightsError) as error:
        read_state_dict(data, "x.safetensors")
    assert str(error.value) == BAD_SAFETENSORS
    assert_one_plain_sentence(str(error.value))


def test_weights_up_to_a_gigabyte_are_accepted_and_larger_ones_refused_in_one_sentence():
    assert MAX_STATE_DICT_BYTES == 2**30  # vgg16's state_dict is 528 MB
    with pytest.raises(WeightsError) as error:
        read_state_dict(bytes(MAX_STATE_DICT_BYTES + 1), "huge.pt")  # zero pages: calloc'd, never touched
    assert str(error.value) == "The weights file is 1,024.0 MB; files up to 1 GB (1,024 MB) are read."


def test_digits_drawn_on_paper_are_read_through_the_upload_preprocessing():
    """Every 5th digit, rendered as dark ink on white paper at 140x140 like a scan or photo."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    loaded = load_model("lenet5", {}, WeightSource.BUNDLED)
    correct, indices = 0, range(0, len(digits.target), 5)
    for index in indices:
        ink = Image.fromarray((255 - digits.images[index] / 16 * 255).astype(np.uint8), "L")
        paper = Image.new("L", (140, 140), 255)
        paper.paste(ink.resize((112, 112), Image.BICUBIC), (14, 14))
        with torch.no_grad():
            correct += int(loaded.model(loaded.preprocessing.tensor(paper.convert("RGB"))).argmax() == digits.target[index])
    assert correct / len(indices) >= 0.95
