"""The bundled transfer-learning demo that works offline (issue 14): features learned on digits 0-4 read 5-9.

The bundled LeNet-5 ``lenet5_digits_0to4`` saw only the digits 0-4 of scikit-learn's load_digits
(scripts/train_lenet5_digits_0to4.py). The demo takes a few images of each of 5-9 to train on and holds out
all the others, then trains twice with the same images, epochs, optimizer and seed:

- frozen: the 0-4 network with its convolutional features frozen (``features``) and a new 5-way head, its
  fully connected layers learning (the planner's "stage:K" with K the last stage before the head; ``HEAD_ONLY`` trains the new head alone);
- scratch: the same architecture from a random initialisation, every layer learning.

Both held-out accuracy curves and the gap between them make the seed's point measurable, and what the
measurement says (tests/test_transfer_finetune.py, seed 0, 5 images a digit, Adam 0.01, 40 epochs): the
frozen convolutions with the classifier retrained reach 90.2 % held out, from scratch 88.6 %, a tie within
the spread of seeds (other seeds and 1-10 images a digit: each wins about half the time); the new head alone
on the frozen 84 features reaches 63 %, far below scratch: the last layers of a network that only had to tell
0-4 apart keep little of what tells 5-9 apart, while LeNet-5 from scratch learns these clean 8x8 digits from
very few images.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from explorer.analysis import analyze
from explorer.preprocess import digits_as_lenet_input
from explorer.stages import find_stages
from explorer.transfer.finetune import EpochResult, History, TrainConfig, fine_tune, require_training, training_cost
from explorer.transfer.planner import FreezePolicy, apply_policy, find_head, replace_head
from explorer.weights import ASSETS, apply_state_dict, read_state_dict
from explorer.zoo import build

WEIGHTS_NAME = "lenet5_digits_0to4"
OLD_DIGITS = (0, 1, 2, 3, 4)
NEW_DIGITS = (5, 6, 7, 8, 9)
INPUT_SHAPE = (1, 32, 32)
DEFAULT_SAMPLES_PER_CLASS = 5
DEFAULT_CONFIG = TrainConfig(optimizer="adam", lr=1e-2, epochs=40, batch_size=32, seed=0)


def metadata() -> dict[str, Any]:
    """Return the recorded metadata of the 0-4 network (mean, std, held-out accuracy, ...)."""
    return json.loads((ASSETS / f"{WEIGHTS_NAME}.json").read_text())


def pretrained_0to4() -> nn.Module:
    """Return the bundled LeNet-5 trained on digits 0-4 (5 outputs), in eval mode."""
    model = build("lenet5", num_classes=len(OLD_DIGITS))
    apply_state_dict(model, read_state_dict((ASSETS / f"{WEIGHTS_NAME}.pt").read_bytes()))
    return model.eval()


def split_new_digits(labels: torch.Tensor, samples_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (training indices, held-out indices) into ``labels``: ``samples_per_class`` of each of 5-9, seeded.

    Every other image of 5-9 is held out; the digits 0-4 are in neither.
    """
    generator = torch.Generator().manual_seed(seed)
    train, held = [], []
    for digit in NEW_DIGITS:
        indices = torch.nonzero(labels == digit).flatten()
        order = indices[torch.randperm(len(indices), generator=generator)]
        train.append(order[:samples_per_class])
        held.append(order[samples_per_class:])
    return torch.cat(train).sort().values, torch.cat(held).sort().values


@dataclass
class DemoResult:
    """Both runs of the demo, on the same images: frozen 0-4 features with a new head, and from scratch."""

    frozen: History
    scratch: History
    samples_per_class: int
    held_out_images: int
    config: TrainConfig
    classes: list[str] = field(default_factory=lambda: [str(d) for d in NEW_DIGITS])
    frozen_model: nn.Module | None = None
    scratch_model: nn.Module | None = None
    held_x: torch.Tensor | None = None
    held_y: torch.Tensor | None = None
    seconds: float = 0.0

    @property
    def gap(self) -> float:
        """Return frozen minus scratch held-out accuracy after their last epochs (positive: transfer helped)."""
        return self.frozen.held_out_accuracy - self.scratch.held_out_accuracy


def run_demo(samples_per_class: int = DEFAULT_SAMPLES_PER_CLASS, config: TrainConfig = DEFAULT_CONFIG,
             policy: FreezePolicy | str = FreezePolicy.UP_TO_STAGE, stage: int | None = None,
             on_epoch: Callable[[str, EpochResult], bool | None] | None = None) -> DemoResult:
    """Train a new head for digits 5-9 on the frozen 0-4 features, then the same network from scratch.

    The frozen run freezes as the planner does (explorer.transfer.planner): by default every stage before the
    head (the convolutions; the fully connected layers and the new head learn); ``FreezePolicy.HEAD_ONLY``
    trains the new head alone.

    ``on_epoch(run, result)`` is called after each epoch of each run ("frozen", then "scratch"); returning
    False stops the demo there (a stop during the frozen run leaves the scratch run with no epochs).

    Returns:
        The :class:`DemoResult`: both histories (held-out accuracy per epoch), the trained models, the
        held-out images and labels (0-4 standing for the digits 5-9).

    Raises:
        TransferError: ``samples_per_class`` is not between 1 and 100.
        BudgetError: training would not fit the memory budget (refused before anything is built).
    """
    from explorer.errors import TransferError

    if not 1 <= samples_per_class <= 100:
        raise TransferError(f"Take between 1 and 100 images of each digit to train on, not {samples_per_class}.")
    began = time.perf_counter()
    with torch.device("meta"):  # the larger of the two runs (every layer learning), priced before building
        priced = build("lenet5", num_classes=len(NEW_DIGITS))
    require_training(training_cost(priced, (1, 32, 32), min(config.batch_size, samples_per_class * len(NEW_DIGITS)),
                                   config.optimizer, "LeNet-5"), config.optimizer)
    meta = metadata()
    images, labels = digits_as_lenet_input()
    images = (images - meta["mean"]) / meta["std"]  # the 0-4 network's preprocessing, for both runs
    train_idx, held_idx = split_new_digits(labels, samples_per_class, config.seed)
    train_x, train_y = images[train_idx], labels[train_idx] - NEW_DIGITS[0]
    held_x, held_y = images[held_idx], labels[held_idx] - NEW_DIGITS[0]
    stopped = False

    def report(run: str) -> Callable[[EpochResult], bool | None]:
        def call(result: EpochResult) -> bool | None:
            nonlocal stopped
            if on_epoch is not None and on_epoch(run, result) is False:
                stopped = True
                return False
            return None
        return call

    frozen_model = pretrained_0to4()
    torch.manual_seed(config.seed)
    replace_head(frozen_model, find_head(analyze(frozen_model, INPUT_SHAPE)), len(NEW_DIGITS))
    analysed = analyze(frozen_model, INPUT_SHAPE)
    if FreezePolicy(policy) is FreezePolicy.UP_TO_STAGE and stage is None:
        stage = len(find_stages(analysed)) - 1  # every stage before the head: the convolutions
    apply_policy(frozen_model, analysed, policy, stage)
    frozen = fine_tune(frozen_model, train_x, train_y, held_x, held_y, config, report("frozen"), "LeNet-5")

    torch.manual_seed(config.seed)
    scratch_model = build("lenet5", num_classes=len(NEW_DIGITS))
    scratch = History(stopped=True) if stopped else fine_tune(scratch_model, train_x, train_y, held_x, held_y,
                                                               config, report("scratch"), "LeNet-5")
    return DemoResult(frozen, scratch, samples_per_class, len(held_idx), config, frozen_model=frozen_model,
                      scratch_model=scratch_model, held_x=held_x, held_y=held_y,
                      seconds=time.perf_counter() - began)
