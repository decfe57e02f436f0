"""A small, seeded training loop with a progress callback (used to make the bundled LeNet-5)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def random_shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Return ``images`` (N x C x H x W) each shifted by up to ``max_shift`` pixels, zeros filling in."""
    shifted = torch.zeros_like(images)
    height, width = images.shape[-2:]
    offsets = torch.randint(-max_shift, max_shift + 1, (images.shape[0], 2), generator=generator)
    for index, (dy, dx) in enumerate(offsets.tolist()):
        kept = images[index, :, max(0, -dy): height - max(0, dy), max(0, -dx): width - max(0, dx)]
        shifted[index, :, max(0, dy): max(0, dy) + kept.shape[1], max(0, dx): max(0, dx) + kept.shape[2]] = kept
    return shifted


def main_logits(output: torch.Tensor | tuple) -> torch.Tensor:
    """Return the class scores of a forward pass: the output itself, or its first field where a network returns its
    auxiliary classifiers' scores beside the main ones in training mode (torchvision's Inception v3)."""
    return output if isinstance(output, torch.Tensor) else output[0]


def train_epoch(model: nn.Module, optimiser: torch.optim.Optimizer, inputs: torch.Tensor, targets: torch.Tensor,
                batch_size: int, generator: torch.Generator, max_shift: int = 0,
                on_batch: Callable[[int, int], None] | None = None) -> tuple[float, float]:
    """Run one epoch of shuffled mini-batches through ``optimiser`` with cross-entropy, in the model's current mode.

    Batches are moved to the device of the model's first parameter. The caller sets train or eval modes
    (fine-tuning keeps frozen BatchNorm layers in eval mode). ``on_batch(done, total)`` is called after each
    batch with the images trained on so far in this epoch.

    Returns:
        The mean loss and the accuracy over the epoch's samples, as the batches were when they were trained.
    """
    device = next(model.parameters()).device
    loss_fn = nn.CrossEntropyLoss()
    order = torch.randperm(len(inputs), generator=generator)
    total, correct = 0.0, 0
    start = 0
    while start < len(inputs):
        end = min(len(inputs), start + batch_size)
        if len(inputs) - end == 1:  # a last batch of one image breaks BatchNorm in training mode: it joins this one
            end = len(inputs)
        batch = order[start: end]
        start = end
        images = inputs[batch]
        if max_shift:
            images = random_shift(images, max_shift, generator)
        labels = targets[batch].to(device)
        optimiser.zero_grad()
        logits = main_logits(model(images.to(device)))
        loss = loss_fn(logits, labels)
        loss.backward()
        optimiser.step()
        total += loss.item() * len(batch)
        correct += int((logits.detach().argmax(dim=1) == labels).sum())
        if on_batch is not None:
            on_batch(end, len(inputs))
    return total / len(inputs), correct / len(inputs)


def train_classifier(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *, epochs: int = 30,
                     batch_size: int = 64, lr: float = 1e-3, seed: int = 0, max_shift: int = 0,
                     progress: Callable[[int, float], None] | None = None) -> list[float]:
    """Train ``model`` with Adam and cross-entropy; return the mean loss of every epoch.

    ``progress(epoch, loss)`` is called after each epoch. Deterministic for a given seed on the CPU.
    explorer.transfer.finetune runs the same epochs (:func:`train_epoch`) with frozen layers and a stop.
    """
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    history: list[float] = []
    model.train()
    for epoch in range(epochs):
        loss, _ = train_epoch(model, optimiser, inputs, targets, batch_size, generator, max_shift)
        history.append(loss)
        if progress is not None:
            progress(epoch + 1, history[-1])
    model.eval()
    return history


@torch.no_grad()
def accuracy(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Return the fraction of ``inputs`` that ``model`` classifies as ``targets``."""
    model.eval()
    return (model(inputs).argmax(dim=1) == targets).float().mean().item()
