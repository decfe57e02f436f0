"""`python -m explorer finetune`: the digits demo and a folder or zip of images, progress on stderr, the issue's
JSON keys, --out's safetensors bytes loading into the network; bad input: one sentence, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest
import torch
from PIL import Image

from explorer.analysis import analyze
from explorer.cli import main
from explorer.transfer.planner import find_head, replace_head
from explorer.zoo import build
from helpers import ROOT

KEYS = ["architecture", "classes", "freeze", "trainable_params", "frozen_params", "epochs", "heldout_accuracy",
        "per_class_accuracy"]


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exited:  # argparse's own usage errors
        code = exited.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def no_hub_cache(tmp_path, monkeypatch):
    """An empty torch hub cache: no pretrained weights, so random ones (and a warning), and never a download."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))


@pytest.fixture()
def folder(tmp_path):
    """Two classes of six small coloured 64x64 images each (reddish and bluish), in ImageFolder's layout."""
    root = tmp_path / "images"
    generator = torch.Generator().manual_seed(0)
    for name, colour in (("blue", (30, 30, 200)), ("red", (200, 30, 30))):
        (root / name).mkdir(parents=True)
        for index in range(6):
            jitter = torch.randint(-40, 41, (3,), generator=generator).tolist()
            shade = tuple(max(0, min(255, c + j)) for c, j in zip(colour, jitter))
            Image.new("RGB", (64, 64), shade).save(root / name / f"{index}.png")
    return root


def test_demo_json_has_the_issues_keys_and_a_scratch_run(capsys):
    code, out, err = run(capsys, "finetune", "lenet5", "--demo", "--epochs", "3", "--format", "json")
    data = json.loads(out)
    assert code == 0 and list(data) == [*KEYS, "scratch_heldout_accuracy"]
    assert data["architecture"] == "lenet5" and data["classes"] == ["5", "6", "7", "8", "9"]
    assert data["freeze"] == "stage:4"  # the demo's default: every stage before the head (the convolutions)
    assert data["frozen_params"] == 2_572 and data["trainable_params"] == 58_709
    assert [e["epoch"] for e in data["epochs"]] == [1, 2, 3]
    assert all(list(e) == ["epoch", "train_loss", "train_accuracy", "heldout_accuracy"] for e in data["epochs"])
    assert data["heldout_accuracy"] == pytest.approx(data["epochs"][-1]["heldout_accuracy"])
    assert list(data["per_class_accuracy"]) == ["5", "6", "7", "8", "9"]
    assert all(0 <= value <= 1 for value in data["per_class_accuracy"].values())
    assert 0 < data["scratch_heldout_accuracy"] <= 1
    lines = err.splitlines()
    assert [line.split(":")[0] for line in lines[:6]] == [
        *(f"frozen epoch {n}/3" for n in (1, 2, 3)), *(f"scratch epoch {n}/3" for n in (1, 2, 3))]
    assert lines[2].startswith("frozen epoch 3/3: loss ") and lines[2].endswith(" %") and ", held-out " in lines[2]


def test_demo_table_with_the_head_alone_writes_the_frozen_run(capsys, tmp_path):
    out_file = tmp_path / "digits.safetensors"
    code, out, err = run(capsys, "finetune", "lenet5", "--demo", "--freeze", "head", "--epochs", "2", "--lr", "0.01",
                         "--out", str(out_file))
    assert code == 0
    assert out.splitlines()[0].startswith("lenet5, freeze head: 425 trainable")  # 84 x 5 + 5: the new head alone
    assert "Held-out accuracy: " in out and "From scratch, same images and budget: " in out
    assert f"wrote the fine-tuned weights to {out_file}" in err

    from safetensors.torch import load

    build("lenet5", num_classes=5).load_state_dict(load(out_file.read_bytes()))  # strict: the 5-9 network


def test_data_folder_trains_writes_weights_that_load_and_warns_about_random_weights(capsys, tmp_path, folder,
                                                                                      no_hub_cache):
    out_file = tmp_path / "model.safetensors"
    code, out, err = run(capsys, "finetune", "resnet18", "--data", str(folder), "--epochs", "1", "--batch", "4",
                         "--freeze", "stage:3", "--out", str(out_file), "--format", "json")
    data = json.loads(out)
    assert code == 0 and list(data) == KEYS
    assert data["classes"] == ["blue", "red"] and data["freeze"] == "stage:3" and len(data["epochs"]) == 1
    assert set(data["per_class_accuracy"]) == {"blue", "red"}
    assert data["trainable_params"] + data["frozen_params"] == 11_177_538  # 11,689,512 with a 2-class head
    assert 0 < data["frozen_params"] < 11_000_000  # stages 1-3 frozen, the later ones learn
    assert "12 images in 2 classes: 10 to train on, 2 held out" in err
    assert "warning: torchvision's pretrained weights for resnet18 are not in torch hub's cache" in err
    assert "epoch 1/1: loss " in err

    from safetensors.torch import load

    model = build("resnet18")
    replace_head(model, find_head(analyze("resnet18")), 2)
    model.load_state_dict(load(out_file.read_bytes()))  # strict: every key and shape matches
    assert model.fc.out_features == 2


def test_data_zip_with_nothing_frozen(capsys, tmp_path, folder, no_hub_cache):
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*.png")):
            handle.write(path, path.relative_to(folder.parent).as_posix())  # under one common top folder
    code, out, _ = run(capsys, "finetune", "mobilenet_v3_small", "--data", str(archive), "--epochs", "1",
                       "--freeze", "none", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["freeze"] == "none" and data["frozen_params"] == 0
    assert data["classes"] == ["blue", "red"]


@pytest.fixture()
def bad_inputs(tmp_path):
    (tmp_path / "not.zip").write_text("hello")
    for name in ("a", "b"):
        (tmp_path / "few" / name).mkdir(parents=True)
        Image.new("RGB", (16, 16), (9, 9, 9)).save(tmp_path / "few" / name / "1.png")
    return tmp_path


@pytest.mark.parametrize("argv, fragment", [
    (["lenet5", "--demo", "--freeze", "some"], "The freeze policy must be head, none or stage:K"),
    (["lenet5", "--demo", "--freeze", "stage:99"], "has 5 stages, so the stage to freeze up to must be a number from 1 to 5"),
    (["resnet18", "--demo"], "run it as `finetune lenet5 --demo`"),
    (["lenet5", "--demo", "--lr", "0"], "The learning rate must be above 0"),
    (["lenet5", "--demo", "--out", "{tmp}/missing/model.safetensors"], "There is no folder"),
    (["resnet18", "--data", "{tmp}/nowhere"], "There is no folder or zip file at"),
    (["resnet18", "--data", "{tmp}/not.zip"], "This file is not a zip archive"),
    (["resnet18", "--data", "{tmp}/few"], "There are too few images to hold any out"),
    (["resnet5", "--demo"], "There is no architecture called 'resnet5'"),
    (["resnet18"], "one of the arguments --data --demo is required"),
    (["resnet18", "--data", "x", "--demo"], "not allowed with argument"),
])
def test_errors_are_one_line_on_stderr_with_exit_code_2(capsys, bad_inputs, no_hub_cache, argv, fragment):
    code, out, err = run(capsys, "finetune", *(arg.replace("{tmp}", str(bad_inputs)) for arg in argv))
    assert code == 2 and out == ""
    assert err.startswith("error: ") and fragment in err and len(err.strip().splitlines()) == 1


def test_the_real_command_prints_no_traceback():
    result = subprocess.run([sys.executable, "-m", "explorer", "finetune", "lenet5", "--demo", "--freeze", "stage:x"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: The freeze policy must be") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_run_beyond_the_training_time_limit_is_refused_before_it_loads(capsys, folder, no_hub_cache, monkeypatch):
    from explorer import budget

    monkeypatch.setenv(budget.TRAINING_TIME_ENV, "1")
    code, out, err = run(capsys, "finetune", "resnet50", "--data", str(folder), "--epochs", "200", "--batch", "4")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("error: Training ResNet-50 for 200 epochs on 10 images")
    assert "more than this server's limit of 1.0 s for one training run" in lines[-1]
    assert not any(line.startswith("epoch ") for line in lines)  # nothing trained
