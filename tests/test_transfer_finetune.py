"""Fine-tuning for real (issue 14): frozen layers stay bit-identical, a stop keeps the model, the budget refuses
before allocating, the offline digits demo learns (numbers measured with seed 0), the download loads back."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest
import torch

from explorer.errors import BudgetError, TransferError
from explorer.transfer import demo
from explorer.transfer.finetune import (
    TrainConfig,
    evaluate,
    fine_tune,
    frozen_modules,
    loading_code,
    to_safetensors,
)
from explorer.analysis import analyze
from explorer.transfer.planner import FreezePolicy, Head, apply_policy, find_head, replace_head
from explorer.weights import ASSETS
from explorer.zoo import build

# Measured on 2 CPU threads with the defaults (seed 0, 5 images a digit, Adam 0.01, 40 epochs, batch 32).
FROZEN_ACCURACY = 0.9024    # convolutions frozen from the 0-4 network, fully connected layers and new head trained
SCRATCH_ACCURACY = 0.8863   # the same LeNet-5 from a random initialisation, every layer trained
HEAD_ONLY_ACCURACY = 0.6315  # only the new head trained on the frozen 84 features of the 0-4 network


def one_sentence(message: str) -> None:
    assert message.endswith(".") and "\n" not in message
    assert not re.search(r"\.\s+[A-Z]", message), f"more than one sentence: {message}"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ASSETS.parents[1] / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def result() -> demo.DemoResult:
    return demo.run_demo()


def resnet_with_new_head() -> torch.nn.Module:
    """resnet18 with a 3-way head; layer4 (stage 5) and the head train, everything before (BatchNorm included) is
    frozen, as the planner's "stage:4" freezes it."""
    torch.manual_seed(0)
    model = build("resnet18")
    replace_head(model, find_head(analyze(model, (3, 64, 64))), 3)
    apply_policy(model, analyze(model, (3, 64, 64)), FreezePolicy.UP_TO_STAGE, 4)
    return model


def random_images(n: int, shape=(3, 32, 32), seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, *shape, generator=generator), torch.randint(0, 3, (n,), generator=generator)


def test_frozen_parameters_and_batchnorm_statistics_stay_bit_identical():
    model = resnet_with_new_head()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    assert "bn1" in frozen_modules(model) and "layer1.0.bn1" in frozen_modules(model)
    assert "layer4.0.bn1" not in frozen_modules(model)
    train_x, train_y = random_images(17)  # batches of 8 and 9: a last batch of one would break BatchNorm
    held_x, held_y = random_images(12, seed=1)
    history = fine_tune(model, train_x, train_y, held_x, held_y, TrainConfig(lr=1e-2, epochs=2, batch_size=8))
    assert len(history.epochs) == 2 and not model.training
    after = model.state_dict()
    trainable = ("layer4.", "fc.")
    frozen = [name for name in before if not name.startswith(trainable)]
    assert any(name.endswith("running_mean") for name in frozen)
    for name in frozen:  # weights, biases, running means and variances, batch counters
        assert torch.equal(before[name], after[name]), f"{name} moved although frozen"
    for name in ("fc.weight", "layer4.1.conv2.weight", "layer4.1.bn2.running_mean"):
        assert not torch.equal(before[name], after[name]), f"{name} did not train"


def test_stopping_after_the_second_epoch_keeps_the_model_trained_so_far():
    images, labels = demo.digits_as_lenet_input()
    train_x, train_y, held_x, held_y = images[:200], labels[:200], images[200:400], labels[200:400]
    config = TrainConfig(lr=1e-2, epochs=6, batch_size=32, seed=3)
    seen = []
    torch.manual_seed(0)
    stopped = build("lenet5")
    history = fine_tune(stopped, train_x, train_y, held_x, held_y, config,
                        on_epoch=lambda r: seen.append(r.epoch) or r.epoch < 2)
    assert seen == [1, 2] and history.stopped and [r.epoch for r in history.epochs] == [1, 2]
    torch.manual_seed(0)
    two_epochs = build("lenet5")
    fine_tune(two_epochs, train_x, train_y, held_x, held_y, TrainConfig(lr=1e-2, epochs=2, batch_size=32, seed=3))
    for name, tensor in stopped.state_dict().items():
        assert torch.equal(tensor, two_epochs.state_dict()[name])
    assert history.held_out_accuracy > 0.5  # two epochs already learn something


def test_the_budget_refuses_a_training_step_far_too_large_before_allocating():
    model = resnet_with_new_head()
    before = model.fc.weight.clone()
    image = torch.zeros(1, 3, 224, 224)
    huge = image.expand(4096, 3, 224, 224)  # a view: no memory for 4,096 images
    labels = torch.zeros(4096, dtype=torch.long)
    with pytest.raises(BudgetError) as error:
        fine_tune(model, huge, labels, image, labels[:1], TrainConfig(batch_size=4096))
    message = str(error.value)
    one_sentence(message)
    assert message.startswith("Training ResNet") and "batches of 4096" in message
    assert message.endswith("; use a smaller batch or pick a smaller network.")  # only the head trains: no freezing
    assert torch.equal(model.fc.weight, before)


def test_nothing_to_train_and_bad_settings_are_one_sentence():
    model = build("lenet5")
    model.requires_grad_(False)
    x, y = demo.digits_as_lenet_input()
    with pytest.raises(TransferError) as error:
        fine_tune(model, x[:8], y[:8], x[8:16], y[8:16], TrainConfig())
    assert str(error.value) == "Every layer is frozen, so there is nothing to train; unfreeze at least the new head."
    for bad in ({"optimizer": "rmsprop"}, {"lr": 0}, {"epochs": 0}, {"batch_size": 0}):
        with pytest.raises(TransferError) as error:
            TrainConfig(**bad)
        one_sentence(str(error.value))


def test_the_demo_learns_and_the_frozen_features_match_scratch_at_five_images_a_digit(result):
    assert result.samples_per_class == 5 and result.held_out_images == 871  # 25 train, every other 5-9 held out
    assert len(result.frozen.epochs) == len(result.scratch.epochs) == 40
    assert result.frozen.held_out_accuracy > 0.2 + 0.5  # chance is 20 %
    assert result.frozen.held_out_accuracy == pytest.approx(FROZEN_ACCURACY, abs=0.02)
    assert result.scratch.held_out_accuracy == pytest.approx(SCRATCH_ACCURACY, abs=0.02)
    assert result.gap > 0  # measured +1.6 points with seed 0; other seeds tie or lose (demo.py's docstring)
    assert result.frozen.curve()[4] > 0.85  # the frozen features are at their level within 5 epochs
    assert result.seconds < 30


def test_the_new_head_alone_on_the_frozen_features_falls_far_behind_scratch():
    head_only = demo.run_demo(policy=FreezePolicy.HEAD_ONLY)
    assert head_only.frozen.held_out_accuracy == pytest.approx(HEAD_ONLY_ACCURACY, abs=0.03)
    assert head_only.scratch.held_out_accuracy == pytest.approx(SCRATCH_ACCURACY, abs=0.02)
    assert head_only.gap < -0.15


def test_the_demo_stops_when_asked_and_skips_the_scratch_run():
    calls = []
    stopped = demo.run_demo(on_epoch=lambda run, r: calls.append((run, r.epoch)) or r.epoch < 3)
    assert calls == [("frozen", 1), ("frozen", 2), ("frozen", 3)]
    assert len(stopped.frozen.epochs) == 3 and stopped.frozen.stopped and stopped.scratch.epochs == []


def test_evaluation_counts_every_held_out_image(result):
    evaluation = evaluate(result.frozen_model, result.held_x, result.held_y, result.classes)
    assert evaluation.accuracy == pytest.approx(result.frozen.held_out_accuracy, abs=1e-6)
    confusion = torch.tensor(evaluation.confusion)
    assert confusion.sum().item() == result.held_out_images
    assert confusion.sum(dim=1).tolist() == torch.bincount(result.held_y, minlength=5).tolist()
    assert len(evaluation.wrong) == result.held_out_images - confusion.trace().item()
    for index in evaluation.wrong:
        assert evaluation.predicted[index] != result.held_y[index].item()
    for i, digit in enumerate(result.classes):
        assert evaluation.per_class_accuracy[digit] == pytest.approx(confusion[i, i].item() / confusion[i].sum().item())


@pytest.mark.parametrize("name, head, classes", [("lenet5", "classifier.4", 5), ("resnet18", "fc", 3)])
def test_safetensors_bytes_load_back_through_the_generated_code(result, tmp_path, monkeypatch, name, head, classes):
    model = result.frozen_model if name == "lenet5" else resnet_with_new_head()
    data = to_safetensors(model)
    (tmp_path / "model.safetensors").write_bytes(data)
    code = loading_code(name, {}, classes, Head(head, "Linear", 0, classes))
    assert ("get_model(" in code) == (name == "resnet18")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "loading_code", "exec"), namespace)
    loaded = namespace["model"]
    assert not loaded.training
    for key, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    x = result.held_x[:4] if name == "lenet5" else random_images(2)[0]
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))


def test_the_0to4_network_reaches_its_recorded_accuracy_on_held_out_digits():
    script = load_script("train_lenet5_digits_0to4")
    meta = demo.metadata()
    images, labels = script.digits_0to4()
    assert set(labels.tolist()) == {0, 1, 2, 3, 4}
    _, test_idx = script.split(labels)
    model = demo.pretrained_0to4()
    with torch.no_grad():
        predictions = model((images[test_idx] - meta["mean"]) / meta["std"]).argmax(1)
    accuracy = (predictions == labels[test_idx]).float().mean().item()
    assert accuracy >= 0.97
    assert accuracy == pytest.approx(meta["held_out_accuracy"], abs=1e-4)
    assert meta["categories"] == ["0", "1", "2", "3", "4"] and meta["test_samples"] == len(test_idx)
    assert (ASSETS / "lenet5_digits_0to4.pt").stat().st_size < 300_000


def test_the_demo_frames_digits_as_the_bundled_lenet5_was_trained():
    images, labels = demo.digits_as_lenet_input()
    bundled_images, bundled_labels = load_script("train_lenet5_digits").digits_as_lenet_input()
    assert torch.equal(images, bundled_images) and torch.equal(labels, bundled_labels)
    assert json.loads((ASSETS / "lenet5_digits_0to4.json").read_text())["input"] == \
        json.loads((ASSETS / "lenet5_digits.json").read_text())["input"]
