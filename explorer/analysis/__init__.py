"""Exact layer-by-layer analysis of a network on the meta device: shapes, parameters, MACs, memory, receptive field.

One forward pass on the ``meta`` device (tensors with shapes but no data) is traced at two levels:
module hooks give the rows (every module call in execution order, containers included) and a
``TorchDispatchMode`` sees every ATen operation, counting multiply-accumulates with PyTorch's own
FLOP formulas (``torch.utils.flop_counter``) and carrying a receptive field along each tensor.

Conventions (the same as torchvision's documented "GFLOPS" and torchinfo's "Mult-Adds"):
MACs count multiply-accumulates of convolutions, linear layers, matrix products and attention;
FLOPs = 2 x MACs. Element-wise operations, normalisation and pooling are not counted.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from explorer.analysis.counting import TensorMap, Tracer
from explorer.analysis.fields import Field
from explorer.analysis.report import (
    ROLE_EXPLANATIONS,
    DataflowNode,
    LayerRow,
    ModelReport,
    RowRole,
    Shape,
    format_pair,
    format_shape,
)
from explorer.errors import (
    ExplorerError,
    InputShapeError,
    InputTooSmallError,
    InvalidOptionError,
)
from explorer.zoo import build, get_spec

MAX_INPUT_SIDE = 8192
MAX_INPUT_CHANNELS = 4096


# ----------------------------------------------------------------------------------------------
# Module-level recording.


@dataclass
class _Frame:
    row: LayerRow
    module: nn.Module
    macs_at_start: int
    key: str
    inputs: tuple[str, ...]
    graph_start: int
    children: list[LayerRow] = field(default_factory=list)


def _first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        return _first_tensor(list(value.values()))
    return None


def _layer_geometry(module: nn.Module) -> dict[str, Any]:
    """Kernel, stride, padding and groups of convolutions and pooling layers (the modules with a kernel)."""
    if not hasattr(module, "kernel_size"):
        return {}
    geometry: dict[str, Any] = {}
    for key in ("kernel_size", "stride", "padding"):
        value = getattr(module, key, None)
        if isinstance(value, (int, tuple, list, str)) and not isinstance(value, bool):
            geometry[key] = tuple(value) if isinstance(value, (list, tuple)) else value
    groups = getattr(module, "groups", None)
    if isinstance(groups, int) and not isinstance(groups, bool):
        geometry["groups"] = groups
    return geometry


class _Recorder:
    """Module hooks building the rows; only the analysing thread's calls are recorded."""

    def __init__(self, model: nn.Module, tracer: Tracer) -> None:
        self.model = model
        self.tracer = tracer
        self.thread = threading.get_ident()
        self.names = {module: name for name, module in model.named_modules()}
        self.calls: dict[nn.Module, int] = {}
        self.rows: list[LayerRow] = []
        self.stack: list[_Frame] = []
        self.frame_of_row: dict[int, _Frame] = {}
        self.leaf_outputs: list[torch.Tensor] = []
        self.handles: list[Any] = []
        self.graph: list[DataflowNode] = []
        self.producers = TensorMap()
        tracer.on_op = self.on_op

    def sources(self, values: Iterable[Any]) -> tuple[str, ...]:
        found: list[str] = []
        for value in values:
            for tensor in (value if isinstance(value, (list, tuple)) else (value,)):
                producer = self.producers.get(tensor)
                if producer is not None and producer not in found:
                    found.append(producer)
        return tuple(found)

    def on_op(self, packet: Any, args: tuple, out: Any) -> None:
        """Dataflow at the operation level: merges become nodes, everything else passes through."""
        if threading.get_ident() != self.thread:
            return
        sources = self.sources(args)
        if not sources:
            return
        if len(sources) >= 2:
            name = f"{packet.__name__}_{len(self.graph)}"
            stack = tuple(frame.key for frame in self.stack[1:])
            self.graph.append(DataflowNode(name, "call_function", packet.__name__, stack, sources))
            self.producers.set(out, name)
        else:
            self.producers.set(out, sources[0])

    def __enter__(self) -> "_Recorder":
        for module in self.names:
            self.handles.append(module.register_forward_pre_hook(self.pre_hook, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self.post_hook, with_kwargs=True))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self.handles:
            handle.remove()

    def pre_hook(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        if threading.get_ident() != self.thread:
            return
        name = self.names.get(module, "?")
        call = self.calls.get(module, 0)
        self.calls[module] = call + 1
        source = _first_tensor(args) if args else _first_tensor(kwargs)
        row = LayerRow(name=name, type=type(module).__name__, depth=len(self.stack), call=call,
                       input_shape=tuple(source.shape) if source is not None else None,
                       **_layer_geometry(module))  # parent links are set when the table is finished
        if self.stack:
            self.stack[-1].children.append(row)
        key = f"{name}@{call}" if call else name
        frame = _Frame(row, module, self.tracer.total_macs, key,
                       self.sources([*args, *kwargs.values()]), len(self.graph))
        self.frame_of_row[id(row)] = frame
        self.stack.append(frame)
        self.rows.append(row)

    def post_hook(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        if threading.get_ident() != self.thread or not self.stack or self.stack[-1].module is not module:
            return
        frame = self.stack.pop()
        row = frame.row
        row.macs = self.tracer.total_macs - frame.macs_at_start
        result = _first_tensor(output)
        if result is not None:
            row.output_shape = tuple(result.shape)
            row.output_bytes = result.numel() * result.element_size()
            field_ = self.tracer.fields.get(result)
            if field_ is not None:
                row.receptive_field, row.jump = field_.rf, field_.jump
        row.is_leaf = not frame.children
        if row.is_leaf:
            row.connections = row.macs
            if row.macs and result is not None and isinstance(getattr(module, "bias", None), torch.Tensor):
                row.connections += result.numel()  # one bias addition per output value
            if result is not None:
                self.leaf_outputs.append(result)
            if self.stack:  # the model itself is not a node of its own graph
                del self.graph[frame.graph_start:]  # merges inside a leaf (attention matmuls) stay inside it
                stack = tuple(f.key for f in self.stack[1:]) + (frame.key,)
                self.graph.append(DataflowNode(frame.key, "call_module", row.type, stack, frame.inputs))
                self.producers.set(output, frame.key)


def _claim(parameters: Iterable[nn.Parameter], seen: set[int]) -> tuple[int, int]:
    total = trainable = 0
    for parameter in parameters:
        if id(parameter) in seen:
            continue
        seen.add(id(parameter))
        total += parameter.numel()
        if parameter.requires_grad:
            trainable += parameter.numel()
    return total, trainable


def _uncalled_rows(recorder: _Recorder, model: nn.Module, used: set[int]) -> dict[int, list[LayerRow]]:
    """Return rows for the modules that were never called, keyed by the id of the row they belong under.

    A module that was not called but whose descendants were (a ModuleList iterated by its parent) gets no
    row: its descendants' rows stand under the nearest called ancestor. Any other uncalled module with
    parameters gets one row for its whole subtree, marked as used by the parent when one of its
    parameters was an operand of some operation, else as not run.
    """
    called_paths = {recorder.names[module] for module in recorder.calls}
    ancestors_of_called = {path.rsplit(".", depth)[0] for path in called_paths if path
                           for depth in range(1, path.count(".") + 1)} | {""}
    first_frames = {frame.module: frame for frame in recorder.frame_of_row.values() if frame.row.call == 0}
    rows: dict[int, list[LayerRow]] = {}
    covered: list[str] = []  # uncalled subtrees that have a row already
    for name, module in model.named_modules():
        if not name or module in recorder.calls or name in ancestors_of_called:
            continue
        if any(name.startswith(prefix + ".") for prefix in covered):
            continue
        covered.append(name)
        parameters = list(module.parameters())
        if not parameters:
            continue
        owner_path = name
        while owner_path and model.get_submodule(owner_path) not in recorder.calls:
            owner_path = owner_path.rpartition(".")[0]
        owner = first_frames[model.get_submodule(owner_path) if owner_path else model].row
        role = RowRole.USED_BY_PARENT if any(id(p) in used for p in parameters) else RowRole.NOT_RUN
        rows.setdefault(id(owner), []).append(
            LayerRow(name=name, type=type(module).__name__, depth=owner.depth + 1, role=role,
                     note=str(role), **_layer_geometry(module)))
    return rows


def _finish_rows(recorder: _Recorder, model: nn.Module, used: set[int]) -> list[LayerRow]:
    """Return the layer table in display order (each row followed by its subtree), counts filled in.

    Each row's params are its subtree's, every tensor counted once (at the first call of the first module
    that owns it). A container that computes or holds something outside its children gets a leaf row
    for it (RowRole.OPS, RowRole.OWN_PARAMETERS), so leaf rows add up exactly to the totals.
    """
    uncalled = _uncalled_rows(recorder, model, used)
    seen: set[int] = set()
    ordered: list[LayerRow] = []

    def finish(row: LayerRow, parent: int | None) -> None:
        row.parent = parent
        index = len(ordered)
        ordered.append(row)
        frame = recorder.frame_of_row.get(id(row))
        called = list(frame.children) if frame else []
        children = called + uncalled.get(id(row), [])
        for child in children[len(called):]:  # an uncalled module's row holds its whole subtree
            child.params, child.trainable_params = _claim(model.get_submodule(child.name).parameters(), seen)
        for child in children:
            finish(child, index)
        if frame is None:
            return
        own_params, own_trainable = _claim(frame.module.parameters(), seen)
        if not children:
            row.params, row.trainable_params = own_params, own_trainable
            return
        prefix = f"{row.name}." if row.name else ""
        own_macs = row.macs - sum(child.macs for child in children)
        if own_macs:
            ordered.append(LayerRow(name=f"{prefix}<ops>", type=str(RowRole.OPS), depth=row.depth + 1,
                                    macs=own_macs, connections=own_macs, role=RowRole.OPS,
                                    note=ROLE_EXPLANATIONS[RowRole.OPS], parent=index))
            children.append(ordered[-1])
        if own_params:
            held = ", ".join(n for n, p in frame.module.named_parameters(recurse=False)) or "parameters of uncalled containers"
            ordered.append(LayerRow(name=f"{prefix}<own parameters>", type=str(RowRole.OWN_PARAMETERS),
                                    depth=row.depth + 1, params=own_params, trainable_params=own_trainable,
                                    role=RowRole.OWN_PARAMETERS, note=held, parent=index))
            children.append(ordered[-1])
        row.params = sum(child.params for child in children)
        row.trainable_params = sum(child.trainable_params for child in children)
        row.connections = sum(child.connections for child in children)
        row.is_leaf = False

    finish(recorder.rows[0], None)
    return ordered


# ----------------------------------------------------------------------------------------------


def _check_input_shape(input_shape: Any) -> tuple[int, int, int]:
    try:
        dims = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise InputShapeError(f"The input shape must be three whole numbers C,H,W, not {input_shape!r}.") from None
    if len(dims) != 3:
        raise InputShapeError(f"The input shape must have three numbers C,H,W, not {len(dims)}: {input_shape!r}.")
    channels, height, width = dims
    if min(dims) < 1:
        raise InputShapeError(f"Every input dimension must be at least 1, but the shape is {channels}x{height}x{width}.")
    if channels > MAX_INPUT_CHANNELS or max(height, width) > MAX_INPUT_SIDE:
        raise InputShapeError(
            f"An input of {channels}x{height}x{width} is too large to analyse: keep channels at most "
            f"{MAX_INPUT_CHANNELS} and height and width at most {MAX_INPUT_SIDE}.")
    return channels, height, width


def _build_for_analysis(name: str, config: dict[str, Any]) -> tuple[nn.Module, str]:
    try:
        with torch.device("meta"):
            return build(name, **config), "meta"
    except ExplorerError:
        raise
    except (NotImplementedError, RuntimeError):
        # A builder that reads tensor values cannot run on meta: build on the CPU, then drop the data.
        return build(name, **config).to("meta"), "cpu"


def _explain_failure(error: Exception, frame: _Frame | None, input_shape: Shape, default: Shape | None) -> ExplorerError:
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    expected = f" This network's default input is {'x'.join(map(str, default))}." if default else ""
    if frame is None:
        return InputShapeError(f"The network cannot take an input of shape "
                               f"{format_shape(input_shape)}: {message}.{expected}")
    row, module = frame.row, frame.module
    layer = f"{row.name or 'the model'} ({row.type})"
    got = row.input_shape
    spatial = f"{got[-2]}x{got[-1]}" if got and len(got) >= 4 else format_shape(got)
    lowered = message.lower()
    too_small = any(text in lowered for text in (
        "output size is too small", "kernel size can't be greater", "non-positive", "too small",
        "greater than input", "less than or equal to the input"))
    if too_small:
        kernel = getattr(module, "kernel_size", None)
        kernel_text = f" but its kernel is {format_pair(kernel)}x{format_pair(kernel)}" if isinstance(kernel, int) \
            else (f" but its kernel is {'x'.join(map(str, kernel))}" if kernel else "")
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
    if isinstance(arch, nn.Module):
        if config:
            raise InvalidOptionError("Options only apply to registry names, not to a ready-built module.")
        if input_shape is None:
            raise InputShapeError("An input shape C,H,W is needed to analyse a ready-built module.")
        model, name, default, resolved, built_on = arch, type(arch).__name__, None, {}, "given"
    else:
        spec = get_spec(arch)
        resolved = spec.resolve_config(config)
        default = spec.default_input_shape(resolved)
        model, built_on = _build_for_analysis(arch, resolved)
        name = arch
    channels, height, width = _check_input_shape(default if input_shape is None else input_shape)
    first_param = next(iter(model.parameters()), None)
    device = first_param.device if first_param is not None else torch.device("meta")
    dtype = first_param.dtype if first_param is not None and first_param.is_floating_point() else torch.float32
    full_shape = (1, channels, height, width)
    tracer = Tracer()
    tracer.parameter_ids = {id(p) for p in model.parameters()}
    recorder = _Recorder(model, tracer)
    with recorder, torch.no_grad():
        sample = (torch.empty if device.type == "meta" else torch.zeros)(full_shape, device=device, dtype=dtype)
        tracer.fields.set(sample, Field((1, 1), (1, 1), (height, width)))
        recorder.producers.set(sample, "input")
        recorder.graph.append(DataflowNode("input", "placeholder", "input", (), ()))
        try:
            # The math attention kernel is made of matmuls PyTorch can count; fused kernels are not.
            with sdpa_kernel(SDPBackend.MATH), _unfused_attention(), tracer:
                output = model(sample)
        except ExplorerError:
            raise
        except (RuntimeError, ValueError, IndexError, AssertionError, TypeError) as error:
            frame = recorder.stack[-1] if recorder.stack else None
            raise _explain_failure(error, frame, full_shape, default) from error
    recorder.graph.append(DataflowNode("output", "output", "output", (), recorder.sources([output])))
    rows = _finish_rows(recorder, model, tracer.used_parameter_ids)
    seen_outputs: set[int] = set()
    activation_bytes = 0
    for tensor in recorder.leaf_outputs:
        if id(tensor) not in seen_outputs:
            seen_outputs.add(id(tensor))
            activation_bytes += tensor.numel() * tensor.element_size()
    unique_params = {id(p): p for p in model.parameters()}.values()
    result = _first_tensor(output)
    return ModelReport(
        architecture=name,
        config=resolved,
        input_shape=full_shape,
        output_shape=tuple(result.shape) if result is not None else None,
        layers=rows,
        total_params=sum(p.numel() for p in unique_params),
        trainable_params=sum(p.numel() for p in unique_params if p.requires_grad),
        total_macs=tracer.total_macs,
        activation_bytes=activation_bytes,
        param_bytes=sum(p.numel() * p.element_size() for p in unique_params),
        buffer_bytes=sum(b.numel() * b.element_size() for b in model.buffers()),
        built_on=built_on,
        graph=recorder.graph,
    )

