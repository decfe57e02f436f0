"""Pipelines of steps: built as one v2.Compose, sampled with a seed (same seed, same grid), shown step by step,
and printed as the equivalent torchvision code."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from explorer.augment.operations import CUSTOM_TRANSFORMS, OPERATIONS, validate_steps

_RNG_LOCK = threading.Lock()  # v2 draws from torch's global RNG: one seeded sampling at a time


def build_step(step: dict[str, Any]) -> v2.Transform:
    """Return the v2 transform of one (validated) step, wrapped in RandomApply when p < 1."""
    transform = OPERATIONS[step["op"]].build(step["params"])
    return transform if step["p"] >= 1.0 else v2.RandomApply([transform], p=step["p"])


def build_pipeline(steps: list[dict[str, Any]]) -> v2.Compose:
    """Return the v2.Compose of ``steps`` (validated first).

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    return v2.Compose([build_step(step) for step in validate_steps(steps)])


def _to_tensor(image: Image.Image) -> tv_tensors.Image:
    return tv_tensors.Image(F.pil_to_tensor(image.convert("RGB")))


def _to_pil(tensor: torch.Tensor) -> Image.Image:
    return F.to_pil_image(torch.as_tensor(tensor).to(torch.uint8))


def augment(image: Image.Image, steps: list[dict[str, Any]], seed: int) -> Image.Image:
    """Return one augmented sample of ``image``; the same seed gives the same sample.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    return step_by_step(image, steps, seed)[-1][1]


def step_by_step(image: Image.Image, steps: list[dict[str, Any]], seed: int) -> list[tuple[str, Image.Image]]:
    """Return (label, image) after each step of one sample, starting with the original.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps (each keeps an image), or a step is invalid.
    """
    steps = validate_steps(steps)
    transforms = [build_step(step) for step in steps]
    results = [("original", image.convert("RGB"))]
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        current = _to_tensor(image)
        for step, transform in zip(steps, transforms):
            current = transform(current)
            results.append((OPERATIONS[step["op"]].label, _to_pil(current)))
    return results


def sample_grid(image: Image.Image, steps: list[dict[str, Any]], count: int, seed: int) -> list[Image.Image]:
    """Return ``count`` augmented samples; sample i uses seed ``seed * 1000 + i`` (same seed, same grid).

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    pipeline = build_pipeline(steps)
    original = _to_tensor(image)
    samples = []
    with _RNG_LOCK, torch.random.fork_rng(devices=[]):
        for index in range(count):
            torch.manual_seed(seed * 1000 + index)
            samples.append(_to_pil(pipeline(original)))
    return samples


def to_code(steps: list[dict[str, Any]]) -> str:
    """Return Python code that builds the same pipeline with torchvision.transforms.v2.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    steps = validate_steps(steps)
    lines = ["from torchvision.transforms import v2", ""]
    customs = sorted({name for step in steps for name in CUSTOM_TRANSFORMS
                      if OPERATIONS[step["op"]].code(step["params"]).startswith(name + "(")})
    if customs:
        lines.insert(1, f"from explorer.augment import {', '.join(customs)}")
    lines.append("pipeline = v2.Compose([")
    for step in steps:
        code = OPERATIONS[step["op"]].code(step["params"])
        lines.append(f"    {code}," if step["p"] >= 1.0 else f"    v2.RandomApply([{code}], p={step['p']}),")
    lines.append("])")
    return "\n".join(lines) + "\n"


def rgb_histograms(image: Image.Image) -> dict[str, np.ndarray]:
    """Return 256-bin histograms of the R, G and B channels."""
    array = np.asarray(image.convert("RGB"))
    return {colour: np.bincount(array[..., index].ravel(), minlength=256)
            for index, colour in enumerate(("red", "green", "blue"))}
