"""A fine-tuning job on a person's images (explorer/transfer/job.py): priced on the meta device with the planner's own
counts, refused above the memory budget or the training-time limit in one sentence before anything is built, and
prepared as planned, pretrained weights from torch hub's cache included (frozen ones stay bit-identical through
training); the time limit also stops a run that outgrows it, keeping what it learned."""

from __future__ import annotations

import pytest
import torch

from explorer import budget
from explorer.errors import BudgetError, DatasetError
from explorer.transfer import job as jobs
from explorer.transfer.data import Dataset, dataset_from_uploads
from explorer.transfer.finetune import TrainConfig, fine_tune
from explorer.transfer.planner import FreezePolicy, plan
from explorer.weights import WeightSource, checkpoint_path, pretrained_weights
from explorer.zoo import build
from helpers import digit_images


def one_sentence(message: str) -> None:
    assert message.count(". ") == 0 and message.endswith("."), message
    assert "Traceback" not in message and "torch" not in message.lower().replace("torch hub", ""), message


@pytest.fixture(scope="module")
def digits() -> Dataset:
    """Real handwritten threes and sevens (12 of each) as the page would read them."""
    return dataset_from_uploads(digit_images((3, 7), 12))


@pytest.mark.parametrize("policy, stage", [("head", None), ("stage", 3), ("none", None)])
def test_the_estimate_counts_what_the_planner_counts(policy, stage):
    job = jobs.Job("resnet18", {}, WeightSource.RANDOM, FreezePolicy(policy), stage, TrainConfig(batch_size=8))
    cost = jobs.estimate(job, 3, 20, 4)
    expected = plan("resnet18", {}, 3, policy, stage)
    assert (cost.trainable_params, cost.frozen_params) == (expected.trainable_params, expected.frozen_params)
    assert (cost.forward_macs, cost.backward_macs) == (expected.forward_macs, expected.backward_macs)
    assert cost.head.name == "fc" and cost.input_shape == (3, 224, 224)
    assert cost.data_bytes == 24 * (3 * 224 * 224 * 4 + 8)
    assert cost.step.batch_size == 8 and cost.memory_bytes == cost.step.total_bytes + cost.data_bytes
    if policy == "head":  # every parameter but the new head's
        assert cost.frozen == {name for name, _ in build("resnet18").named_parameters() if not name.startswith("fc.")}
    throughput = budget.throughput("cpu")
    macs = 10 * (20 * (expected.forward_macs + expected.backward_macs) + 4 * expected.forward_macs)
    assert cost.seconds >= macs / throughput.macs_per_second  # at least the MACs at the measured pace


def test_a_run_beyond_the_training_time_limit_is_refused_before_anything_is_built(monkeypatch):
    monkeypatch.setenv(budget.TRAINING_TIME_ENV, "5")
    job = jobs.Job("resnet50", {}, WeightSource.RANDOM, FreezePolicy.NOTHING, None, TrainConfig(epochs=50, batch_size=4))
    cost = jobs.estimate(job, 10, 400, 70)
    with pytest.raises(BudgetError) as error:
        jobs.check(cost)
    message = str(error.value)
    one_sentence(message)
    assert message.startswith("Training ResNet-50 for 50 epochs on 400 images")
    assert "more than this server's limit of 5.0 s for one training run" in message


def test_a_run_beyond_the_memory_budget_is_refused_with_its_images_counted(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, "256")
    job = jobs.Job("resnet18", {}, WeightSource.RANDOM, FreezePolicy.HEAD_ONLY, None, TrainConfig(batch_size=4))
    cost = jobs.estimate(job, 2, 1_500, 250)  # 1,750 images of 3x224x224 floats: about 1 GiB
    with pytest.raises(BudgetError) as error:
        jobs.check(cost)
    message = str(error.value)
    one_sentence(message)
    assert "of preprocessed images" in message and "more than this server's budget of 256.00 MiB" in message


def test_reading_side_follows_the_weights_recipe():
    assert jobs.reading_side(jobs.Job("resnet18").recipe()) == 256  # generic 224 crop, resized from 256
    assert jobs.reading_side(jobs.Job("efficientnet_b7", source=WeightSource.PRETRAINED).recipe()) == 600
    assert jobs.reading_side(jobs.Job("lenet5", source=WeightSource.BUNDLED).recipe()) == 256


def test_a_split_with_nothing_to_hold_out_is_one_sentence():
    single = dataset_from_uploads({name: files[:1] for name, files in digit_images((3, 7), 1).items()})
    with pytest.raises(DatasetError, match="too few images to hold any out"):
        jobs.split(single, 0)


@pytest.fixture()
def cached_resnet18(tmp_path, monkeypatch) -> dict[str, torch.Tensor]:
    """resnet18's pretrained checkpoint in a temporary torch hub cache (a seeded network saved as torchvision names
    it: no download here); returns its state_dict."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(1)
    state = build("resnet18").state_dict()
    path = checkpoint_path(pretrained_weights("resnet18"))
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return state


def test_pretrained_weights_are_prepared_as_planned_and_frozen_ones_stay_bit_identical(cached_resnet18, digits):
    job = jobs.Job("resnet18", {}, WeightSource.PRETRAINED, FreezePolicy.UP_TO_STAGE, 3,
                   TrainConfig(epochs=1, batch_size=8))
    train, held = jobs.split(digits, job.train.seed)
    cost = jobs.estimate(job, len(digits.classes), len(train), len(held))
    jobs.check(cost)
    prepared = jobs.prepare(cost, train, held)
    model = prepared.model
    assert prepared.recipe.resize == 256 and prepared.recipe.crop == (224, 224)  # the weights' own transforms
    assert "IMAGENET1K_V1" in prepared.description
    assert model.fc.out_features == 2 and prepared.classes == ["seven", "three"]
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen == cost.frozen and 0 < prepared.frozen_params and prepared.trainable_params == cost.trainable_params
    for name, parameter in model.named_parameters():
        if not name.startswith("fc."):
            assert torch.equal(parameter, cached_resnet18[name]), name  # the checkpoint's weights
    assert prepared.train_x.shape == (len(train), 3, 224, 224) and prepared.held_y.tolist() == held.labels
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    running = {name: b.clone() for name, b in model.named_buffers()}
    fine_tune(model, prepared.train_x, prepared.train_y, prepared.held_x, prepared.held_y, job.train)
    for name, parameter in model.named_parameters():
        assert torch.equal(parameter, before[name]) == (name in frozen), name
    for name, buffer in model.named_buffers():  # BatchNorm statistics of frozen layers do not move either
        module = name.rpartition(".")[0]
        if f"{module}.weight" in frozen:
            assert torch.equal(buffer, running[name]), name


def test_the_time_limit_stops_a_run_that_outgrows_it_and_keeps_what_it_learned(digits):
    job = jobs.Job("lenet5", {}, WeightSource.BUNDLED, FreezePolicy.HEAD_ONLY, None, TrainConfig(epochs=5))
    train, held = jobs.split(digits, 0)
    prepared = jobs.prepare(jobs.estimate(job, 2, len(train), len(held)), train, held)
    head = prepared.model.classifier[4].weight.detach().clone()
    history = fine_tune(prepared.model, prepared.train_x, prepared.train_y, prepared.held_x, prepared.held_y,
                        job.train, time_limit=1e-9)
    assert history.stopped and len(history.epochs) == 1
    assert history.limited.startswith("Stopped after epoch 1 of 5: an epoch takes about")
    assert "The model keeps what it learned" in history.limited
    assert not torch.equal(prepared.model.classifier[4].weight, head)  # the first epoch's learning is kept


def test_inception_v3_trains_although_it_returns_its_auxiliary_scores_in_training_mode():
    model = build("inception_v3")
    images = torch.randn(2, 3, 299, 299)
    labels = torch.tensor([0, 1])
    history = fine_tune(model, images, labels, images[:1], labels[:1], TrainConfig(epochs=1, batch_size=2))
    assert len(history.epochs) == 1 and history.epochs[0].train_loss > 0


def test_a_refusal_advises_only_what_would_help(monkeypatch):
    monkeypatch.setenv(budget.MEMORY_ENV, "64")
    head_only = jobs.Job("resnet18", {}, WeightSource.RANDOM, FreezePolicy.HEAD_ONLY, None, TrainConfig(batch_size=1))
    with pytest.raises(BudgetError) as error:
        jobs.check(jobs.estimate(head_only, 2, 10, 2))
    assert str(error.value).endswith("more than this server's budget of 64.00 MiB; pick a smaller network.")
    assert "for the 6.70 MiB of activations kept for the backward pass, doubled, with workspace" in str(error.value)
    everything = jobs.Job("resnet18", {}, WeightSource.RANDOM, FreezePolicy.NOTHING, None, TrainConfig(batch_size=8))
    with pytest.raises(BudgetError) as error:
        jobs.check(jobs.estimate(everything, 2, 10, 2))
    assert str(error.value).endswith("; use a smaller batch, freeze more layers or pick a smaller network.")


def test_the_step_keeps_the_activations_the_plan_counts():
    job = jobs.Job("resnet18", {}, WeightSource.RANDOM, FreezePolicy.HEAD_ONLY, None, TrainConfig(batch_size=16))
    cost = jobs.estimate(job, 2, 40, 8)
    assert cost.step.kept_bytes == plan("resnet18", {}, 2, "head", batch=16).activation_bytes
    assert cost.step.activation_bytes == budget.LIVE_TENSOR_FACTOR * cost.step.kept_bytes + budget.WORKSPACE_BYTES
