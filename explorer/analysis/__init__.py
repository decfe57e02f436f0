"""Exact layer-by-layer analysis of a network on the meta device: shapes, parameters, MACs, memory, receptive field.

One forward pass on the ``meta`` device (tensors with shapes but no data) is traced at two levels:
module hooks give the rows (every module call in execution order, containers included) and a
``TorchDispatchMode`` sees every ATen operation, counting multiply-accumulates with PyTorch's own
FLOP formulas (``torch.utils.flop_counter``) and carrying a receptive field along each tensor.

Conventions (the same as torchvision's documented "GFLOPS" and torchinfo's "Mult-Adds"):
MACs count multiply-accumulates of convolutions, linear layers, matrix products and attention;
FLOPs = 2 x MACs. Element-wise operations, normalisation and pooling are not counted.

This file runs the pass (``analyze``); each of the other jobs has a file of its own:
report.py (the result and its JSON), fields.py (receptive fields), counting.py (the dispatch mode:
MACs, used parameters), dataflow.py (module hooks, rows, the diagram's graph), params.py (parameter
attribution, rows in display order), failures.py (input checks, errors worded for the user).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Iterable

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from explorer.analysis.counting import Tracer
from explorer.analysis.dataflow import Recorder, first_tensor
from explorer.analysis.failures import MAX_INPUT_CHANNELS, MAX_INPUT_SIDE, check_input_shape, explain_failure
from explorer.analysis.params import finish_rows
from explorer.analysis.report import (
    ROLE_EXPLANATIONS,
    DataflowNode,
    LayerRow,
    ModelReport,
    RowRole,
    Shape,
)
from explorer.errors import ExplorerError, InputShapeError, InvalidOptionError
from explorer.zoo import build, get_spec

__all__ = [
    "analyze", "ModelReport", "LayerRow", "RowRole", "ROLE_EXPLANATIONS", "DataflowNode", "Shape",
    "MAX_INPUT_SIDE", "MAX_INPUT_CHANNELS",
]


def analyze(arch: str | nn.Module, input_shape: Iterable[int] | None = None, **config: Any) -> ModelReport:
    """Return the layer-by-layer analysis of ``arch`` at ``input_shape`` (C, H, W; batch 1).

    ``arch`` is a registry name (built on the meta device with ``config``) or an ``nn.Module``. A module
    whose parameters are on the meta device is traced as it is; any other module runs one real forward
    pass of zeros on its own device (hooks are temporary and only record the calling thread).

    Raises:
        UnknownArchitectureError: ``arch`` is not a registered name.
        InvalidOptionError: ``config`` does not fit the architecture's options.
        InputShapeError: the input shape is malformed or the network cannot take it;
            InputTooSmallError when some layer's output would be empty.
    """
    model, name, resolved, default, built_on = _model_for(arch, input_shape, config)
    channels, height, width = check_input_shape(default if input_shape is None else input_shape)
    full_shape = (1, channels, height, width)
    tracer = Tracer({id(p) for p in model.parameters()})
    recorder = Recorder(model, tracer)
    output = _traced_forward(model, full_shape, tracer, recorder, default)
    result = first_tensor(output)
    unique_params = {id(p): p for p in model.parameters()}.values()
    return ModelReport(
        architecture=name,
        config=resolved,
        input_shape=full_shape,
        output_shape=tuple(result.shape) if result is not None else None,
        layers=finish_rows(recorder, model, tracer.used_parameter_ids),
        total_params=sum(p.numel() for p in unique_params),
        trainable_params=sum(p.numel() for p in unique_params if p.requires_grad),
        total_macs=tracer.total_macs,
        activation_bytes=recorder.activation_bytes(),
        param_bytes=sum(p.numel() * p.element_size() for p in unique_params),
        buffer_bytes=sum(b.numel() * b.element_size() for b in model.buffers()),
        built_on=built_on,
        graph=recorder.graph,
    )


def _model_for(arch: str | nn.Module, input_shape: Iterable[int] | None,
               config: dict[str, Any]) -> tuple[nn.Module, str, dict[str, Any], Shape | None, str]:
    """Return (model, name, resolved config, default input shape or None, where the model was built)."""
    if isinstance(arch, nn.Module):
        if config:
            raise InvalidOptionError("Options only apply to registry names, not to a ready-built module.")
        if input_shape is None:
            raise InputShapeError("An input shape C,H,W is needed to analyse a ready-built module.")
        return arch, type(arch).__name__, {}, None, "given"
    spec = get_spec(arch)
    resolved = spec.resolve_config(config)
    default = spec.default_input_shape(resolved)
    model, built_on = _build_for_analysis(arch, resolved)
    return model, arch, resolved, default, built_on


def _build_for_analysis(name: str, config: dict[str, Any]) -> tuple[nn.Module, str]:
    """Return the registry's network on the meta device and where it was built ("meta", or "cpu" then moved)."""
    try:
        with torch.device("meta"):
            return build(name, **config), "meta"
    except ExplorerError:
        raise
    except (NotImplementedError, RuntimeError):
        # A builder that reads tensor values cannot run on meta: build on the CPU, then drop the data.
        return build(name, **config).to("meta"), "cpu"


def _traced_forward(model: nn.Module, full_shape: Shape, tracer: Tracer, recorder: Recorder,
                    default: Shape | None) -> Any:
    """Return the model's output for one input of ``full_shape``, run under the recorder's hooks and the tracer.

    Raises:
        InputShapeError: the network cannot take the input (see failures.explain_failure).
    """
    first_param = next(iter(model.parameters()), None)
    device = first_param.device if first_param is not None else torch.device("meta")
    dtype = first_param.dtype if first_param is not None and first_param.is_floating_point() else torch.float32
    with recorder, torch.no_grad():
        sample = (torch.empty if device.type == "meta" else torch.zeros)(full_shape, device=device, dtype=dtype)
        tracer.start_field(sample)
        recorder.mark_input(sample)
        try:
            # The math attention kernel is made of matmuls PyTorch can count; fused kernels are not.
            with sdpa_kernel(SDPBackend.MATH), _unfused_attention(), tracer:
                output = model(sample)
        except ExplorerError:
            raise
        except (RuntimeError, ValueError, IndexError, AssertionError, TypeError) as error:
            frame = recorder.stack[-1] if recorder.stack else None
            raise explain_failure(error, frame, full_shape, default) from error
    recorder.mark_output(output)
    return output


_FASTPATH_LOCK = threading.Lock()
_fastpath_holders = 0


@contextmanager
def _unfused_attention():
    """Keep nn.MultiheadAttention off its fused fast path while an analysis runs.

    On a real CPU or CUDA module under ``no_grad``, MultiheadAttention runs one fused operation
    (``_native_multi_head_attention``) that no FLOP formula covers: FlopCounterMode then reports vit_b_16
    as 11.27 GMACs instead of 17.56. The switch is process-wide, so it is held with a count; other
    threads' forward passes meanwhile take the unfused path, which computes the same values.
    """
    global _fastpath_holders
    with _FASTPATH_LOCK:
        if _fastpath_holders == 0:
            torch.backends.mha.set_fastpath_enabled(False)
        _fastpath_holders += 1
    try:
        yield
    finally:
        with _FASTPATH_LOCK:
            _fastpath_holders -= 1
            if _fastpath_holders == 0:
                torch.backends.mha.set_fastpath_enabled(True)
