"""A fine-tuning job on a person's images (issue 14): what the Transfer learning page and ``finetune`` both run.

A :class:`Job` names the network, its options, where its weights come from, the freeze policy and how to train.

- :func:`estimate` prices it before anything real exists: the plan on the meta device
  (:func:`explorer.transfer.planner.planned_model`: the head replaced, the policy applied), a training step's
  memory as the budget predicts it (:func:`explorer.transfer.finetune.training_cost`), the preprocessed images'
  bytes, and the least time the run can take on the device (forward and backward MACs of every image of every
  epoch at the device's measured throughput). :func:`check` refuses, in one sentence, a job above the memory
  budget or the training time limit.
- :func:`prepare` then loads the network with its weights (explorer.weights.load_model, within the budget),
  gives it the planned head (seeded) and freezing, and turns the images into tensors with the weights' own
  preprocessing.
- explorer.transfer.finetune.fine_tune trains the prepared model, within the time limit; ``evaluate`` measures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from explorer import budget
from explorer.errors import BudgetError, DatasetError
from explorer.preprocess import Preprocessing
from explorer.transfer.data import KEEP_SIDE, MAX_KEEP_SIDE, Dataset, split_per_class
from explorer.transfer.finetune import TrainConfig, TrainingCost, require_training, training_cost
from explorer.transfer.planner import FreezePolicy, Head, apply_plan, planned_model, training_step_macs
from explorer.units import human_seconds
from explorer.weights import WeightSource, load_model, preprocessing_for
from explorer.zoo import get_spec

BYTES_PER_LABEL = 8  # int64 class indices


@dataclass(frozen=True)
class Job:
    """What to fine-tune and how: a registry network with options, its weights' source, a freeze policy (``stage``
    only for UP_TO_STAGE), and the training settings."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)
    source: WeightSource = WeightSource.RANDOM
    policy: FreezePolicy = FreezePolicy.HEAD_ONLY
    stage: int | None = None
    train: TrainConfig = TrainConfig()

    @property
    def freeze(self) -> str:
        """Return the policy as the CLI writes it: "head", "none" or "stage:K"."""
        return f"stage:{self.stage}" if self.policy is FreezePolicy.UP_TO_STAGE else str(self.policy)

    def recipe(self) -> Preprocessing:
        """Return the preprocessing the job's weights expect (known before loading them)."""
        spec = get_spec(self.name)
        return preprocessing_for(self.name, self.source, spec.default_input_shape(spec.resolve_config(self.config)))


def reading_side(recipe: Preprocessing) -> int:
    """Return the shorter side to read a dataset's images at for ``recipe``: what its resize and crop need, and at
    least data.KEEP_SIDE, so that most networks share one decoding of the same files."""
    return min(MAX_KEEP_SIDE, max(KEEP_SIDE, recipe.resize or 0, *recipe.crop))


def split(dataset: Dataset, seed: int) -> tuple[Dataset, Dataset]:
    """Return (training, held-out) parts of ``dataset``, 15 % of each class held out (data.split_per_class).

    Raises:
        DatasetError: no image could be held out (every class has a single image).
    """
    train, held = split_per_class(dataset, seed=seed)
    if len(held) == 0:
        raise DatasetError("There are too few images to hold any out; give at least one class two or more images.")
    return train, held


@dataclass(frozen=True)
class Estimate:
    """What a job will cost, predicted on the meta device before anything is built.

    ``seconds`` is the least the run can take: every epoch's forward and backward MACs over the training images
    and forward MACs over the held-out ones, at the device's measured throughput.
    """

    job: Job
    classes: int
    train_images: int
    held_images: int
    input_shape: tuple[int, int, int]
    head: Head
    frozen: frozenset[str]
    trainable_params: int
    frozen_params: int
    forward_macs: int  # per image, every layer
    backward_macs: int  # per image, only through what trains
    step: TrainingCost  # one training step at the job's batch
    data_bytes: int  # the preprocessed images and their labels
    seconds: float
    device: str

    @property
    def memory_bytes(self) -> int:
        """Return everything the run holds at once: the training step and the images."""
        return self.step.total_bytes + self.data_bytes


def estimate(job: Job, classes: int, train_images: int, held_images: int, device: str = "cpu") -> Estimate:
    """Return the :class:`Estimate` of fine-tuning ``job`` for ``classes`` classes on that many images.

    Raises:
        ExplorerError: an unknown network or bad options (InvalidOptionError), a network without a head to
            replace or a stage out of range (TransferError).
    """
    spec = get_spec(job.name)
    recipe = job.recipe()
    shape = (recipe.channels, *recipe.crop)
    model, report, head = planned_model(job.name, job.config, classes, job.policy, job.stage, shape)
    forward, backward = training_step_macs(model, report, 1)
    step = training_cost(model, shape, max(1, min(job.train.batch_size, train_images)), job.train.optimizer,
                         spec.display_name)
    per_image = shape[0] * shape[1] * shape[2] * 4 + BYTES_PER_LABEL
    macs = job.train.epochs * (train_images * (forward + sum(backward.values())) + held_images * forward)
    moved = job.train.epochs * (2 * train_images + held_images) * report.activation_bytes
    frozen = frozenset(name for name, parameter in model.named_parameters() if not parameter.requires_grad)
    return Estimate(job, classes, train_images, held_images, shape, head, frozen, report.trainable_params,
                    report.frozen_params, forward, sum(backward.values()), step,
                    (train_images + held_images) * per_image, budget.throughput(device).seconds(macs, moved), device)


def check(cost: Estimate) -> None:
    """Refuse a job above the server's memory budget or its time limit for one training run.

    Raises:
        BudgetError: one sentence saying what the run would need and what to change.
    """
    require_training(cost.step, cost.job.train.optimizer, cost.data_bytes)
    limit = budget.limits().training_seconds
    if cost.seconds > limit:
        raise BudgetError(
            f"Training {get_spec(cost.job.name).display_name} for {cost.job.train.epochs} epochs on "
            f"{cost.train_images:,} images (and measuring {cost.held_images:,} held out after each) would take at "
            f"least {human_seconds(cost.seconds)} on {cost.device}, more than this server's limit of "
            f"{human_seconds(limit)} for one training run; use fewer epochs or images, freeze more layers or pick "
            f"a smaller network.")


@dataclass
class Prepared:
    """A job ready to train: the real model (new head, frozen parameters set), the weights' preprocessing and
    description, and the images as tensors; ``held`` keeps the held-out images to show the ones it got wrong."""

    job: Job
    classes: list[str]
    model: nn.Module
    head: Head
    recipe: Preprocessing
    description: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    held_x: torch.Tensor
    held_y: torch.Tensor
    held: Dataset

    @property
    def trainable_params(self) -> int:
        """Return the number of parameters that train."""
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    @property
    def frozen_params(self) -> int:
        """Return the number of parameters that stay as they were."""
        return sum(p.numel() for p in self.model.parameters() if not p.requires_grad)

    @property
    def nbytes(self) -> int:
        """Return the bytes it holds: weights, buffers and the image tensors (a cache's size of it)."""
        tensors = [*self.model.parameters(), *self.model.buffers(), self.train_x, self.train_y, self.held_x,
                   self.held_y]
        return sum(t.numel() * t.element_size() for t in tensors)


def _tensors(part: Dataset, recipe: Preprocessing) -> tuple[torch.Tensor, torch.Tensor]:
    return (torch.cat([recipe.tensor(image) for image in part.images]),
            torch.tensor(part.labels, dtype=torch.long))


def prepare(cost: Estimate, train: Dataset, held: Dataset, upload: tuple[str, bytes] | None = None,
            progress: Any = None) -> Prepared:
    """Load the job's network with its weights on the estimate's device and make it follow the plan: the new head
    (initialised from the job's seed) and the frozen parameters; preprocess the images with the weights' recipe.

    ``cost`` is :func:`estimate` of the job for these images; :func:`check` it first. ``upload`` is (file name,
    bytes) for uploaded weights; ``progress(fraction, text)`` follows a download of pretrained weights.

    Raises:
        ExplorerError: as explorer.weights.load_model raises (WeightsError, WeightsUnavailableError,
            BudgetError), and TransferError if the loaded network does not match the plan.
    """
    job = cost.job
    loaded = load_model(job.name, job.config, job.source, cost.device, upload=upload, progress=progress)
    model = loaded.model
    torch.manual_seed(job.train.seed)
    apply_plan(model, cost.head, cost.classes, cost.frozen)  # the new head is made on the old one's device
    train_x, train_y = _tensors(train, loaded.preprocessing)
    held_x, held_y = _tensors(held, loaded.preprocessing)
    return Prepared(job, list(train.classes), model, cost.head, loaded.preprocessing, loaded.description,
                    train_x, train_y, held_x, held_y, held)
