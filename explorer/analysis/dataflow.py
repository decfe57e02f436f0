"""Module hooks: a row for every module call, and the dataflow graph the architecture diagram is drawn from.

The Recorder's hooks open a frame when a module is called and close it when it returns, filling in
the row (shapes, MACs, receptive field, geometry); the Tracer (``counting.py``) tells it about every
operation, so that operations merging two or more tensors outside any leaf module (a residual add, a
concatenation) become nodes of the graph. Only the analysing thread's calls are recorded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch
from torch import nn

from explorer.analysis.counting import TensorMap, Tracer
from explorer.analysis.report import DataflowNode, LayerRow


@dataclass
class Frame:
    """A module call under way: its row, the MACs counted before it, its key and inputs in the graph."""

    row: LayerRow
    module: nn.Module
    macs_at_start: int
    key: str
    inputs: tuple[str, ...]
    graph_start: int
    children: list[LayerRow] = field(default_factory=list)


def first_tensor(value: Any) -> torch.Tensor | None:
    """Return the first tensor in ``value`` (a tensor, or lists, tuples and dicts of them), or None."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        return first_tensor(list(value.values()))
    return None


def layer_geometry(module: nn.Module) -> dict[str, Any]:
    """Return the kernel, stride, padding and groups of a convolution or pooling layer ({} for others)."""
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


class Recorder:
    """Module hooks building the rows; only the analysing thread's calls are recorded."""

    def __init__(self, model: nn.Module, tracer: Tracer) -> None:
        self.tracer = tracer
        self.thread = threading.get_ident()
        self.names = {module: name for name, module in model.named_modules()}
        self.calls: dict[nn.Module, int] = {}
        self.rows: list[LayerRow] = []
        self.stack: list[Frame] = []
        self.frame_of_row: dict[int, Frame] = {}
        self.leaf_outputs: list[torch.Tensor] = []
        self.handles: list[Any] = []
        self.graph: list[DataflowNode] = []
        self.producers = TensorMap()
        tracer.on_op = self.on_op

    def mark_input(self, sample: torch.Tensor) -> None:
        """Make ``sample`` the graph's input node."""
        self.producers.set(sample, "input")
        self.graph.append(DataflowNode("input", "placeholder", "input", (), ()))

    def mark_output(self, output: Any) -> None:
        """End the graph with an output node fed by whatever produced ``output``."""
        self.graph.append(DataflowNode("output", "output", "output", (), self.producers_of([output])))

    def activation_bytes(self) -> int:
        """Return the bytes of the distinct tensors that leaf modules returned (at the traced batch size)."""
        seen_outputs: set[int] = set()
        total = 0
        for tensor in self.leaf_outputs:
            if id(tensor) not in seen_outputs:
                seen_outputs.add(id(tensor))
                total += tensor.numel() * tensor.element_size()
        return total

    def producers_of(self, values: Iterable[Any]) -> tuple[str, ...]:
        """Return the graph nodes that produced the tensors in ``values``, each once, in order."""
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
        inputs = self.producers_of(args)
        if not inputs:
            return
        if len(inputs) >= 2:
            name = f"{packet.__name__}_{len(self.graph)}"
            stack = tuple(frame.key for frame in self.stack[1:])
            self.graph.append(DataflowNode(name, "call_function", packet.__name__, stack, inputs))
            self.producers.set(out, name)
        else:
            self.producers.set(out, inputs[0])

    def __enter__(self) -> "Recorder":
        for module in self.names:
            self.handles.append(module.register_forward_pre_hook(self.pre_hook, with_kwargs=True))
            self.handles.append(module.register_forward_hook(self.post_hook, with_kwargs=True))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self.handles:
            handle.remove()

    def pre_hook(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        """Open a frame and a row for this call of ``module``."""
        if threading.get_ident() != self.thread:
            return
        name = self.names.get(module, "?")
        call = self.calls.get(module, 0)
        self.calls[module] = call + 1
        first = first_tensor(args) if args else first_tensor(kwargs)
        row = LayerRow(name=name, type=type(module).__name__, depth=len(self.stack), call=call,
                       input_shape=tuple(first.shape) if first is not None else None,
                       **layer_geometry(module))  # parent links are set when the table is finished
        if self.stack:
            self.stack[-1].children.append(row)
        key = f"{name}@{call}" if call else name
        frame = Frame(row, module, self.tracer.total_macs, key,
                      self.producers_of([*args, *kwargs.values()]), len(self.graph))
        self.frame_of_row[id(row)] = frame
        self.stack.append(frame)
        self.rows.append(row)

    def post_hook(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        """Close the frame: the row's output, MACs and field; a leaf call becomes a node of the graph."""
        if threading.get_ident() != self.thread or not self.stack or self.stack[-1].module is not module:
            return
        frame = self.stack.pop()
        row = frame.row
        row.macs = self.tracer.total_macs - frame.macs_at_start
        result = first_tensor(output)
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
