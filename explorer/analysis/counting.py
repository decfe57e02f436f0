"""Counting at the operation level: a TorchDispatchMode that sees every ATen operation of the forward pass.

It counts multiply-accumulates with PyTorch's own FLOP formulas (``torch.utils.flop_counter``), notes
which parameters were an operand of some operation, carries a receptive field along each tensor
(``fields.py``) and hands each operation on to a listener (the dataflow recorder).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from explorer.analysis.fields import Field, propagate
from explorer.meta_shortcuts import run_on_meta


class TensorMap:
    """Values attached to tensors by identity; the tensors are kept alive so an id is never reused."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[torch.Tensor, Any]] = {}

    def get(self, tensor: Any) -> Any:
        """Return what is attached to ``tensor``, or None."""
        if isinstance(tensor, torch.Tensor):
            entry = self._entries.get(id(tensor))
            if entry is not None and entry[0] is tensor:
                return entry[1]
        return None

    def set(self, value: Any, item: Any) -> None:
        """Attach ``item`` to ``value``, or to every tensor in it when it is a list or tuple."""
        for tensor in (value if isinstance(value, (list, tuple)) else (value,)):
            if isinstance(tensor, torch.Tensor):
                self._entries[id(tensor)] = (tensor, item)


class Tracer(TorchDispatchMode):
    """Counts MACs (``total_macs`` so far) and used parameters, and propagates receptive fields."""

    def __init__(self, parameter_ids: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        super().__init__()
        self.total_macs = 0
        self.on_op: Callable[[Any, tuple, Any], None] | None = None  # set by the Recorder: the dataflow
        self.fields = TensorMap()  # tensor -> Field
        self.parameter_ids = parameter_ids  # ids of the model's parameters (the model keeps them alive)
        self.used_parameter_ids: set[int] = set()  # those that were an operand of some operation

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        for arg in args:
            for tensor in (arg if isinstance(arg, (list, tuple)) else (arg,)):
                if id(tensor) in self.parameter_ids:
                    self.used_parameter_ids.add(id(tensor))
        packet = func._overloadpacket
        out = run_on_meta(packet, func, args, kwargs)
        formula = flop_registry.get(packet)
        if formula is not None:
            self.total_macs += formula(*args, **kwargs, out_val=out) // 2
        field_ = propagate(packet, args, out, self.fields.get)
        if field_ is not None:
            self.fields.set(out, field_)
        if self.on_op is not None:
            self.on_op(packet, args, out)
        return out

    def start_field(self, sample: torch.Tensor) -> None:
        """Give the network's input its field: every value sees one pixel, neighbours one pixel apart."""
        self.fields.set(sample, Field((1, 1), (1, 1), tuple(sample.shape[-2:])))  # type: ignore[arg-type]
