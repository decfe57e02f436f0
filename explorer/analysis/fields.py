"""Receptive fields: how far back into the input each value of each tensor can see.

Every tensor carries a ``Field`` (receptive field and jump, height and width) from the input on. An
operation's output gets the merge of its operands' fields (element-wise ops, concatenations,
normalisation), unless ``RULES`` holds a rule for its ATen op: one rule per family of operations that
look at a window (convolution, pooling) or at a whole map (global pooling, flatten, attention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple

import torch

aten = torch.ops.aten


@dataclass(frozen=True)
class Field:
    """The receptive field (rf) and jump (distance in input pixels between neighbouring values) of a map."""

    rf: tuple[int, int]
    jump: tuple[int, int]
    size: tuple[int, int]  # the spatial size of the map this field was computed for
    is_global: bool = False  # produced by a global operation (global pooling, flatten)

    def through(self, kernel: Iterable[int], stride: Iterable[int], dilation: Iterable[int] = (1, 1),
                size: Iterable[int] | None = None) -> "Field":
        """Return the field after a window of ``kernel`` moved by ``stride`` (a convolution, a pooling)."""
        kernel, stride, dilation = list(kernel), list(stride), list(dilation)
        rf = tuple(r + (dilation[i] * (kernel[i] - 1)) * self.jump[i] for i, r in enumerate(self.rf))
        jump = tuple(j * stride[i] for i, j in enumerate(self.jump))
        return Field(rf, jump, tuple(size) if size is not None else self.size, self.is_global)  # type: ignore[arg-type]

    def covering(self, spatial: tuple[int, int]) -> "Field":
        """Return the field after an operation that mixes all of a ``spatial``-sized map."""
        rf = tuple(r + (spatial[i] - 1) * self.jump[i] for i, r in enumerate(self.rf))
        return Field(rf, self.jump, (1, 1), True)  # type: ignore[arg-type]


class Step(NamedTuple):
    """What a rule sees of one operation."""

    op: Any  # the ATen overload packet
    args: tuple
    result: Any  # the output, or the first of several
    operand: torch.Tensor | None  # the first argument when it is a tensor
    first: Field  # the first argument's field (the merged field when it has none)
    merged: Field  # the merge of all operands' fields
    inputs: int  # how many operands carry a field

    @property
    def spatial_out(self) -> tuple[int, ...] | None:
        """Return the result's height and width, or None when it has no spatial dimensions."""
        result = self.result
        return tuple(result.shape[-2:]) if isinstance(result, torch.Tensor) and result.dim() >= 3 else None


Rule = Callable[[Step], Field | None]  # None: the operation keeps the merged field


def _pair(value: Any, default: Any = None) -> tuple[int, int]:
    if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
        value = default
    if isinstance(value, (list, tuple)):
        return (int(value[0]), int(value[-1]))
    return (int(value), int(value))


def adaptive_window(size_in: int, size_out: int) -> tuple[int, int]:
    """Return (largest window, stride) of PyTorch's adaptive pooling from size_in to size_out."""
    window = max(math.ceil((i + 1) * size_in / size_out) - (i * size_in) // size_out for i in range(size_out))
    return window, max(1, size_in // size_out)


def _convolution(step: Step) -> Field | None:
    args = step.args
    if args[6] or len(args[1].shape) != 4:  # transposed, or not 2-D
        return None
    return step.first.through(args[1].shape[2:], args[3], args[5], step.spatial_out)


def _pooling(step: Step) -> Field | None:
    args, operand = step.args, step.operand
    if operand is None or operand.dim() < 3:
        return None
    kernel = _pair(args[1])
    stride = _pair(args[2] if len(args) > 2 else None, kernel)
    dilation = _pair(args[4] if step.op is not aten.avg_pool2d and len(args) > 4 else 1)
    return step.first.through(kernel, stride, dilation, step.spatial_out)


def _adaptive_pooling(step: Step) -> Field | None:
    operand = step.operand
    if operand is None or operand.dim() < 3:
        return None
    size_in = tuple(operand.shape[-2:])
    size_out = _pair(step.args[1])
    if size_out == (1, 1):
        return step.first.covering(size_in)  # type: ignore[arg-type]
    windows = [adaptive_window(size_in[i], size_out[i]) for i in range(2)]
    return step.first.through([w for w, _ in windows], [s for _, s in windows], size=size_out)


def _reduction(step: Step) -> Field | None:
    args, operand = step.args, step.operand
    if operand is None or operand.dim() != 4 or len(args) <= 1:
        return None
    dims = {d % 4 for d in (args[1] if isinstance(args[1], (list, tuple)) else [args[1]])}
    if {2, 3} <= dims:  # a mean (or sum, max, min) over height and width: global pooling
        return step.first.covering(tuple(operand.shape[-2:]))  # type: ignore[arg-type]
    return None


def _flatten(step: Step) -> Field | None:
    operand, result, first = step.operand, step.result, step.first
    if operand is None or operand.dim() != 4 or not isinstance(result, torch.Tensor):
        return None
    _, c, h, w = operand.shape
    if (h, w) == first.size and result.dim() == 2 and result.shape[1] == c * h * w and h * w > 1:
        return first.covering((h, w))  # flatten(x, 1) of an image-shaped map before a fully connected layer
    return None


def _attention_scores(step: Step) -> Field | None:
    result, merged = step.result, step.merged
    if not isinstance(result, torch.Tensor) or result.dim() < 2 or step.inputs < 2:
        return None
    tokens = result.shape[-1]
    left = step.args[-2] if step.op is aten.baddbmm else step.args[0]
    if result.shape[-2] != tokens or left.shape[-1] == tokens:
        return None
    # Attention scores (queries x keys): every token sees the other T tokens, a window of about
    # sqrt(T) x sqrt(T) patches (the whole image in ViT, a 7x7 window in Swin).
    side = max(1, math.isqrt(int(tokens)))
    if side >= min(merged.size):  # the window is the whole map: the field is the whole map
        rf = tuple(max(merged.rf[i], merged.size[i] * merged.jump[i]) for i in range(2))
        return Field(rf, merged.jump, merged.size, merged.is_global)  # type: ignore[arg-type]
    return merged.through((side, side), (1, 1))


RULES: dict[Any, Rule] = {
    aten.convolution: _convolution,
    **dict.fromkeys((aten.max_pool2d_with_indices, aten.avg_pool2d, aten.max_pool2d), _pooling),
    **dict.fromkeys((aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d, aten.adaptive_avg_pool2d),
                    _adaptive_pooling),
    **dict.fromkeys((aten.mean, aten.sum, aten.amax, aten.amin), _reduction),
    **dict.fromkeys((aten.view, aten._unsafe_view, aten.reshape, aten.flatten), _flatten),
    **dict.fromkeys((aten.bmm, aten.baddbmm, aten.mm), _attention_scores),
}


def propagate(op: Any, args: tuple, out: Any, field_of: Callable[[Any], Field | None]) -> Field | None:
    """Return the field of the output of ``op`` applied to ``args``, or None when no operand has one.

    ``field_of`` returns the field a tensor carries (None for one that carries none).
    """
    inputs: list[tuple[torch.Tensor, Field]] = []
    for arg in args:
        for tensor in (arg if isinstance(arg, (list, tuple)) else (arg,)):
            found = field_of(tensor)
            if found is not None:
                inputs.append((tensor, found))
    if not inputs:
        return None
    result = out[0] if isinstance(out, (list, tuple)) and out else out
    size = result.numel() if isinstance(result, torch.Tensor) else 0
    # A global tensor that is broadcast onto a larger map (a squeeze-and-excitation gate) only
    # rescales channels: by convention it does not widen the receptive field of the map.
    local = [f for t, f in inputs if not (f.is_global and t.numel() < size)] or [f for _, f in inputs]
    merged = Field(tuple(max(f.rf[i] for f in local) for i in range(2)),  # type: ignore[arg-type]
                   tuple(max(f.jump[i] for f in local) for i in range(2)),  # type: ignore[arg-type]
                   local[0].size, any(f.is_global for f in local))
    rule = RULES.get(op)
    if rule is None:
        return merged
    operand = args[0] if isinstance(args[0], torch.Tensor) else None
    step = Step(op, args, result, operand, field_of(operand) or merged, merged, len(inputs))
    return rule(step) or merged
