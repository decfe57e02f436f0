"""Input checks and errors worded for the user: which layer could not take its input, and why.

PyTorch's error text is matched here, and only here, to tell an input that is too small from one
with the wrong number of channels or features.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from explorer.analysis.dataflow import Frame
from explorer.analysis.report import Shape
from explorer.units import format_shape
from explorer.errors import ExplorerError, InputShapeError, InputTooSmallError

MAX_INPUT_SIDE = 8192
MAX_INPUT_CHANNELS = 4096


def check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    """Return ``input_shape`` as three whole numbers (channels, height, width).

    Raises:
        InputShapeError: it is not three whole numbers, one is below 1, or it is too large to analyse.
    """
    try:
        dims = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise InputShapeError(f"The input shape must be three whole numbers C,H,W, not {input_shape!r}.") from None
    if len(dims) != 3:
        raise InputShapeError(f"The input shape must have three numbers C,H,W, not {len(dims)}: {input_shape!r}.")
    channels, height, width = dims
    if min(dims) < 1:
        raise InputShapeError(
            f"Every input dimension must be at least 1, but the shape is {format_shape(dims, drop_batch=False)}.")
    if channels > MAX_INPUT_CHANNELS or max(height, width) > MAX_INPUT_SIDE:
        raise InputShapeError(
            f"An input of {format_shape(dims, drop_batch=False)} is too large to analyse: keep channels at most "
            f"{MAX_INPUT_CHANNELS} and height and width at most {MAX_INPUT_SIDE}.")
    return channels, height, width


def explain_failure(error: Exception, frame: Frame | None, input_shape: Shape, default: Shape | None) -> ExplorerError:
    """Return the error to raise, worded for the user, when the forward pass failed with ``error``.

    ``frame`` is the innermost module call under way (None when the failure came before any), ``input_shape``
    the full input shape and ``default`` the network's default C,H,W, named in the sentence when known.
    Returns an InputTooSmallError when some layer's output would be empty, else an InputShapeError.
    """
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    expected = f" This network's default input is {format_shape(default, drop_batch=False)}." if default else ""
    if frame is None:
        return InputShapeError(f"The network cannot take an input of shape "
                               f"{format_shape(input_shape)}: {message}.{expected}")
    row, module = frame.row, frame.module
    layer = f"{row.name or 'the model'} ({row.type})"
    got = row.input_shape
    spatial = format_shape(got[-2:], drop_batch=False) if got and len(got) >= 4 else format_shape(got)
    lowered = message.lower()
    too_small = any(text in lowered for text in (
        "output size is too small", "kernel size can't be greater", "non-positive", "too small",
        "greater than input", "less than or equal to the input"))
    if too_small:
        kernel = getattr(module, "kernel_size", None)
        kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
        kernel_text = f" but its kernel is {format_shape(kernel, drop_batch=False)}" if kernel else ""
        return InputTooSmallError(
            f"{layer} would produce an empty output: its input is {spatial}{kernel_text}. "
            f"Use a larger input.{expected}")
    if isinstance(module, nn.Linear) and got:
        return InputShapeError(
            f"{layer} expects {module.in_features} input features but receives {got[-1]}, because the "
            f"input {format_shape(input_shape)} leads to a different size before it.{expected}")
    if isinstance(module, nn.modules.conv._ConvNd) and got and len(got) >= 2 and got[1] != module.in_channels:
        return InputShapeError(
            f"{layer} expects {module.in_channels} input channels but receives {got[1]}.{expected}")
    return InputShapeError(f"{layer} cannot take its input of shape {format_shape(got)}: {message}.{expected}")
