"""The result of an analysis: its rows, its dataflow nodes, its totals, and how they serialise to JSON.

Also how a shape or a kernel/stride pair is written in text, so that every rendering writes them alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

Shape = tuple[int, ...]


class RowRole(StrEnum):
    """What a row of the layer table stands for."""

    MODULE = "module"  # a module call
    OPS = "functional ops"  # multiply-accumulates a container computes itself (e.g. attention products)
    OWN_PARAMETERS = "own parameters"  # parameters a container holds itself, outside any child
    USED_BY_PARENT = "weights used by the parent"  # never called; its parent uses its weights functionally
    NOT_RUN = "not run"  # neither its code nor its weights took part in the forward pass


ROLE_EXPLANATIONS = {
    RowRole.OPS: "matrix products the container computes itself (e.g. attention), outside any child module; "
                 "their connections count these multiply-accumulates only, not bias additions among them",
    RowRole.OWN_PARAMETERS: "parameters the container holds itself, outside any child module",
    RowRole.USED_BY_PARENT: "the module is never called: its parent uses its weights in a functional call, "
                            "so its parameters are counted here and its MACs on the parent",
    RowRole.NOT_RUN: "neither its code nor its weights took part in this forward pass (e.g. an auxiliary "
                     "classifier in eval mode); its parameters still count in the total",
}


@dataclass
class LayerRow:
    """One row of the layer table: a module call, or what a container does or holds itself (see RowRole).

    ``params`` are inclusive (a row holds its children's), each parameter tensor counted once, on the
    first call of the first module that owns it; leaf rows add up exactly to the totals, as MACs do.
    ``connections`` are LeCun's: multiply-accumulates plus bias additions.
    """

    name: str
    type: str
    depth: int
    call: int = 0
    input_shape: Shape | None = None
    output_shape: Shape | None = None
    kernel_size: Shape | None = None
    stride: Shape | None = None
    padding: Shape | str | None = None
    groups: int | None = None
    params: int = 0
    trainable_params: int = 0
    macs: int = 0
    connections: int = 0
    output_bytes: int = 0
    receptive_field: tuple[int, int] | None = None
    jump: tuple[int, int] | None = None
    is_leaf: bool = True
    role: RowRole = RowRole.MODULE
    note: str = ""  # for the rows that are not plain module calls: what they hold
    parent: int | None = None  # index of the enclosing row in ModelReport.layers

    @property
    def executed(self) -> bool:
        """Return False only for a module none of whose code or weights took part in the forward pass."""
        return self.role is not RowRole.NOT_RUN

    @property
    def frozen_params(self) -> int:
        """Return the parameters of this row that do not require gradients."""
        return self.params - self.trainable_params

    @property
    def flops(self) -> int:
        """Return FLOPs, defined as 2 x MACs."""
        return 2 * self.macs


@dataclass(frozen=True)
class DataflowNode:
    """One node of the dataflow graph recorded during analysis (the diagram is drawn from these).

    ``op`` is "placeholder" (the input), "call_module" (a leaf module call), "call_function" (an
    operation outside any leaf module that merges two or more tensors: a residual add, a concatenation,
    a gate) or "output". ``stack`` holds the enclosing module keys, outermost first, a module's own key
    last; a key is the module path, with "@N" appended for its (N+1)-th call.
    """

    name: str
    op: str
    target: str
    stack: tuple[str, ...]
    inputs: tuple[str, ...]


@dataclass
class ModelReport:
    """The analysis of one network at one input shape. Totals are exact integers."""

    architecture: str
    config: dict[str, Any]
    input_shape: Shape
    output_shape: Shape | None
    layers: list[LayerRow]
    total_params: int
    trainable_params: int
    total_macs: int
    activation_bytes: int
    param_bytes: int
    buffer_bytes: int
    built_on: str = "meta"
    graph: list[DataflowNode] = field(default_factory=list, repr=False)

    @property
    def total_flops(self) -> int:
        """Return FLOPs, defined as 2 x MACs."""
        return 2 * self.total_macs

    @property
    def frozen_params(self) -> int:
        """Return the parameters that do not require gradients."""
        return self.total_params - self.trainable_params

    @property
    def max_depth(self) -> int:
        """Return the deepest row's depth."""
        return max((row.depth for row in self.layers), default=0)

    def calls(self) -> dict[str, int]:
        """Return how many times the forward pass called each module, by module path."""
        counts: dict[str, int] = {}
        for row in self.layers:
            if row.role is RowRole.MODULE:
                counts[row.name] = max(counts.get(row.name, 0), row.call + 1)
        return counts

    def leaves(self) -> list[LayerRow]:
        """Return the rows that did their own work (no executed children), in execution order."""
        return [row for row in self.layers if row.is_leaf]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: totals, then one dict per layer row (shapes include the batch)."""
        layers = []  # the dataflow graph is left out: it is the diagram's input, not a result
        for row in self.layers:
            item = asdict(row)
            item["frozen_params"] = row.frozen_params
            item["flops"] = row.flops
            item["executed"] = row.executed
            layers.append(item)
        return {
            "architecture": self.architecture,
            "config": self.config,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape) if self.output_shape else None,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "frozen_params": self.frozen_params,
            "total_macs": self.total_macs,
            "total_flops": self.total_flops,
            "activation_bytes": self.activation_bytes,
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "built_on": self.built_on,
            "conventions": "MACs = multiply-accumulates of conv, linear, matmul and attention; "
                           "FLOPs = 2 x MACs; connections = MACs + bias additions; params are inclusive and "
                           "leaf rows add up to the totals; activation_bytes = distinct leaf outputs at batch 1",
            "layers": layers,
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Return :meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)
