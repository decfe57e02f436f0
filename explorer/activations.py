"""Feature-map capture: the outputs of any module, and branch-level points inside residual blocks.

One cached model is shared by every session, so capture never changes it: hooks are added for the
duration of one forward pass, record only the calling thread's tensors, and are removed afterwards.
The forward pass stops as soon as every requested point has been captured.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torchvision.models.googlenet import Inception as GoogLeNetInception
from torchvision.models.inception import (
    InceptionA,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
)
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import BasicBlock, Bottleneck

from explorer import budget
from explorer.errors import CaptureError

INCEPTION_MODULES = (GoogLeNetInception, InceptionA, InceptionB, InceptionC, InceptionD, InceptionE)


@dataclass(frozen=True)
class CapturePoint:
    """A place whose tensor can be captured: ``name`` is a module path, or ``block:shortcut`` / ``block:sum``."""

    name: str
    label: str


@dataclass
class CaptureResult:
    """Captured tensors (on the CPU), the model's output if the pass ran to the end, and its duration."""

    activations: dict[str, torch.Tensor]
    output: torch.Tensor | None
    seconds: float
    stopped_early: bool


def capture_points(model: nn.Module, calls: dict[str, int] | None = None) -> list[CapturePoint]:
    """Return every capture point of ``model`` in module order, with labels that name branch roles.

    ``calls`` maps a module path to how often one forward pass calls it (``ModelReport.calls()``): a
    module called more than once (ResNet's shared ReLU) gets one point per call, ``path@N`` for call N+1.
    """
    calls = calls or {}
    points: list[CapturePoint] = []
    roles: dict[str, str] = {}
    for path, module in model.named_modules():
        if isinstance(module, (BasicBlock, Bottleneck)):
            last_bn = "bn3" if isinstance(module, Bottleneck) else "bn2"
            roles[f"{path}.{last_bn}"] = "residual path, before the sum"
            if module.downsample is not None:
                roles[f"{path}.downsample"] = "shortcut (1x1 projection)"
        elif isinstance(module, INCEPTION_MODULES):
            roles[path] = "concatenation of the branches"
            for child in module.named_children():
                roles[f"{path}.{child[0]}"] = "branch"
        elif isinstance(module, InvertedResidual):
            stages = list(module.conv.named_children())
            names = (["expansion 1x1", "depthwise 3x3", "projection 1x1", "projection BN"] if len(stages) == 4
                     else ["depthwise 3x3", "projection 1x1", "projection BN"])
            for (child, _), role in zip(stages, names):
                roles[f"{path}.conv.{child}"] = role
            if module.use_res_connect:
                roles[path] = "output = input + block (residual sum)"
    for path, module in model.named_modules():
        if not path:
            continue
        role = f" — {roles[path]}" if path in roles else ""
        count = calls.get(path, 1)
        label = f"{path} ({type(module).__name__}){role}"
        points.append(CapturePoint(path, label + (f" — call 1 of {count}" if count > 1 else "")))
        points += [CapturePoint(f"{path}@{n}", f"{label} — call {n + 1} of {count}") for n in range(1, count)]
        if isinstance(module, (BasicBlock, Bottleneck)):
            if module.downsample is None:
                points.append(CapturePoint(f"{path}:shortcut", f"{path} — shortcut (identity: the block's input)"))
            points.append(CapturePoint(f"{path}:sum", f"{path} — residual + shortcut, before the final ReLU"))
    return points


class _Stop(Exception):
    """Raised from a hook to end the forward pass once everything asked for is captured."""


def capture(model: nn.Module, inputs: torch.Tensor, points: Sequence[str], stop_early: bool = True) -> CaptureResult:
    """Run ``model`` on ``inputs`` and return the tensors at ``points`` (copied to the CPU).

    With ``stop_early`` the pass ends once every point is captured (``output`` is then None).

    Raises:
        CaptureError: a point names no module of the model, or the pass never reached it.
    """
    modules = dict(model.named_modules())
    wanted = list(dict.fromkeys(points))
    thread = threading.get_ident()
    results: dict[str, torch.Tensor] = {}
    pending: dict[str, torch.Tensor] = {}
    handles: list[Any] = []

    def keep(point: str, tensor: Any) -> None:
        if isinstance(tensor, (tuple, list)):
            tensor = next((t for t in tensor if isinstance(t, torch.Tensor)), None)
        if isinstance(tensor, torch.Tensor):
            results[point] = tensor.detach().clone()  # later in-place ops (ReLU(inplace)) must not change it
        if stop_early and len(results) == len(wanted):
            raise _Stop

    def on_output(point: str, call: int):
        seen = 0

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            nonlocal seen
            if threading.get_ident() == thread and point not in results:
                seen += 1
                if seen == call + 1:
                    keep(point, output)
        return hook

    def on_block_input(point: str):
        def hook(module: nn.Module, args: Any) -> None:
            if threading.get_ident() == thread and point not in results:
                keep(point, args[0])
        return hook

    def on_relu_input(point: str):
        def hook(module: nn.Module, args: Any) -> None:
            if threading.get_ident() == thread and point not in results:
                pending[point] = args[0].detach().clone()
        return hook

    def on_block_end(point: str):
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            if threading.get_ident() == thread and point in pending and point not in results:
                keep(point, pending.pop(point))
        return hook

    try:
        for point in wanted:
            path, _, role = point.partition(":")
            path, _, call_text = path.partition("@")
            module = modules.get(path)
            if module is None or not path or (role and not isinstance(module, (BasicBlock, Bottleneck))) \
                    or (call_text and not (call_text.isdigit() and not role)):
                raise CaptureError(f"There is no capture point {point!r} in this model.")
            if role == "shortcut":
                handles.append(module.register_forward_pre_hook(on_block_input(point)))
            elif role == "sum":
                handles.append(module.relu.register_forward_pre_hook(on_relu_input(point)))
                handles.append(module.register_forward_hook(on_block_end(point)))
            elif role:
                raise CaptureError(f"There is no capture point {point!r} in this model.")
            else:
                handles.append(module.register_forward_hook(on_output(point, int(call_text or 0))))
        output = None
        stopped = False
        start = time.perf_counter()
        with torch.inference_mode():
            try:
                output = model(inputs)
            except _Stop:
                stopped = True
        seconds = time.perf_counter() - start
    finally:
        for handle in handles:
            handle.remove()
    missing = [point for point in wanted if point not in results]
    if missing:
        raise CaptureError(f"The forward pass never reached {missing[0]!r} (it is not used for this input).")
    if isinstance(output, (tuple, list)):
        output = output[0]
    return CaptureResult({k: v.cpu() for k, v in results.items()},
                         output.detach().cpu() if isinstance(output, torch.Tensor) else None, seconds, stopped)


def class_scores(model: nn.Module, output: torch.Tensor) -> torch.Tensor:
    """Return scores where larger means more likely: the output itself, negated for distance outputs.

    LeNet-5 as published (``lenet5_1998``) outputs squared distances to each class's code: the smallest wins.
    """
    return -output if getattr(model, "output_is_distance", False) else output


def top_k(output: torch.Tensor, categories: Sequence[str] | None, k: int = 5) -> list[tuple[str, float]]:
    """Return the k most probable classes of a 1 x N output as (name, probability)."""
    probabilities = torch.softmax(output.float().flatten(), dim=0)
    values, indices = probabilities.topk(min(k, probabilities.numel()))
    names = [categories[i] if categories and i < len(categories) else f"class {i}" for i in indices.tolist()]
    return list(zip(names, values.tolist()))


def classify(loaded: Any, images: Sequence[Any],
             progress: Callable[[int, int], None] | None = None) -> list[tuple[str, float]]:
    """Return the top-1 (class name, probability) of each PIL image, in batches that fit the memory budget.

    ``loaded`` is an explorer.weights.LoadedModel; ``progress(done, total)`` is called after each batch.

    Raises:
        BudgetError: not even one image fits the budget, or the server stayed busy.
    """
    model, cost = loaded.model, loaded.cost
    budget.require(cost, 1, "pick a smaller network")
    size = max(1, min(len(images), cost.largest_batch(budget.limits().memory_bytes)))
    device = next(model.parameters()).device
    results: list[tuple[str, float]] = []
    for start in range(0, len(images), size):
        chunk = images[start:start + size]
        with budget.running(cost.activation_bytes(len(chunk))), torch.inference_mode():
            batch = torch.cat([loaded.preprocessing.tensor(image) for image in chunk]).to(device)
            outputs = class_scores(model, model(batch)).cpu()
        results += [top_k(row[None], loaded.categories, 1)[0] for row in outputs]
        if progress is not None:
            progress(len(results), len(images))
    return results


def agreement(predictions: Sequence[tuple[str, float]]) -> tuple[int, int]:
    """Return (kept, total): how many of the samples keep the original's top-1 class.

    ``predictions`` is classify()'s answer for the original followed by its samples.
    """
    original, samples = predictions[0][0], predictions[1:]
    return sum(1 for name, _ in samples if name == original), len(samples)


def first_conv_name(model: nn.Module) -> str | None:
    """Return the path of the first 2-D convolution in module order (the order a forward pass reaches it in, for
    every registered network), or None."""
    return next((path for path, module in model.named_modules() if isinstance(module, nn.Conv2d)), None)


def first_conv_weight(model: nn.Module) -> tuple[str, torch.Tensor] | None:
    """Return (path, weight) of the first 2-D convolution in module order, or None."""
    path = first_conv_name(model)
    return None if path is None else (path, model.get_submodule(path).weight.detach().cpu())


def default_point(model: nn.Module, points: Sequence[CapturePoint]) -> str:
    """Return the capture point a page starts on: the first 2-D convolution, else the first point."""
    path = first_conv_name(model)
    return path if path in {point.name for point in points} else points[0].name
