"""A network's stages (runs where the spatial size stays the same) and the stage-by-stage diff of two networks.

Read from an analysis alone, with no per-family code:

1. Units. The row tree is walked from the root. A row is a unit when it has no child rows, or when it is a
   module of a "repeated" type: a type that occurs as two or more sibling rows somewhere in the network
   (ResNet's BasicBlock, EfficientNet's MBConv, GoogLeNet's Inception and BasicConv2d); containers
   (Sequential, ModuleList, ModuleDict) never are. Any other row is walked into. A unit's params and MACs
   include everything inside it, so every parameter and MAC belongs to exactly one unit. The walk stops at
   the outermost repeated type, so where whole stages repeat (RegNet's AnyStage, DenseNet's dense blocks),
   a stage has one unit.
2. Stages. A unit whose output is a map (N, C, H, W) with H*W > 1 belongs to the stage of its size (H, W); a
   change of size starts a new stage, so a unit that halves the size opens the next stage. Outputs
   (N, L, D) with L > 1 are a stage of L tokens. From the first unit whose output is anything else (1x1,
   flat) on, everything is the head. A unit with no output (not run, parameters only) joins the stage it
   sits in. A 4-D output that is the previous map with its channels moved last (N, H, W, C), as Swin's
   Permute makes, is read channels-last until a permutation moves them back.
3. Scale: the downsampling factor of a stage, a power of two (1 at full resolution); two networks' stages
   are paired by scale, heads with heads, token stages in order.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from explorer.analysis import ModelReport, RowRole

CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict"})


@dataclass(frozen=True)
class Stage:
    """A run of units at one spatial size (or of one token count), or the head."""

    index: int  # from 1, as the page and the CLI number stages
    output_shape: tuple[int, ...] | None  # of its last unit with an output
    scale: int | None  # input side / output side as a power of two; None for the head and token stages
    units: tuple[str, ...]  # row keys: module path, "@N" for the (N+1)-th call
    blocks: int  # units doing multiply-accumulates
    params: int
    macs: int
    is_head: bool
    size: tuple[int, int] | None = None  # (H, W) of a spatial stage
    tokens: int | None = None  # L of a token stage

    @property
    def label(self) -> str:
        """Return "56x56", "197 tokens" or "head"."""
        if self.is_head:
            return "head"
        if self.tokens is not None:
            return f"{self.tokens} tokens"
        return f"{self.size[0]}x{self.size[1]}" if self.size else "?"

    @property
    def where(self) -> str:
        """Return the stage's label with its scale, e.g. "224x224, full resolution" or "56x56, 1/4 of the input"."""
        return self.label if self.scale is None else f"{self.label}, {_resolution(self.scale)}"


def _resolution(scale: int) -> str:
    return "full resolution" if scale == 1 else f"1/{scale} of the input"


@dataclass(frozen=True)
class StagePair:
    """Two networks' stages that correspond (same scale, or both heads); a side is None where it has none."""

    index: int  # from 1, as the page and the CLI number stages
    a: Stage | None
    b: Stage | None

    def delta(self, name: str) -> int | None:
        """Return b's ``name`` (params, macs, blocks) minus a's, or None where a side has no stage."""
        if self.a is None or self.b is None:
            return None
        return getattr(self.b, name) - getattr(self.a, name)


@dataclass(frozen=True)
class StageDiff:
    """The stage-by-stage comparison of networks ``a`` and ``b``; ``notes`` say where it is not one-to-one."""

    a: str
    b: str
    pairs: list[StagePair]
    corresponds: bool
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: one dict per stage pair (None where a side has no stage), then the verdict."""
        def side(stage: Stage | None, name: str) -> Any:
            if stage is None:
                return None
            value = getattr(stage, name)
            return list(value) if isinstance(value, tuple) else value

        stages = [{"index": pair.index,
                   "output_shape_a": side(pair.a, "output_shape"), "output_shape_b": side(pair.b, "output_shape"),
                   "params_a": side(pair.a, "params"), "params_b": side(pair.b, "params"),
                   "macs_a": side(pair.a, "macs"), "macs_b": side(pair.b, "macs"),
                   "blocks_a": side(pair.a, "blocks"), "blocks_b": side(pair.b, "blocks"),
                   "label_a": side(pair.a, "label"), "label_b": side(pair.b, "label")} for pair in self.pairs]
        return {"a": self.a, "b": self.b, "stages": stages, "corresponds": self.corresponds, "notes": self.notes}


def _key(name: str, call: int) -> str:
    """Return a module call's key, as report.graph writes it: its path, with "@N" for its (N+1)-th call."""
    return f"{name}@{call}" if call else name


def _units(report: ModelReport) -> list[int]:
    """Return the indices of the unit rows, in row order (see the module's docstring)."""
    rows = report.layers
    children: dict[int | None, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        children[row.parent].append(index)
    repeated = set()
    for siblings in children.values():
        counts = Counter(rows[i].type for i in siblings if rows[i].role is RowRole.MODULE)
        repeated |= {kind for kind, count in counts.items() if count >= 2 and kind not in CONTAINERS}
    merging = {node.stack[-1] for node in report.graph if node.op == "call_function" and node.stack}
    units: list[int] = []

    def walk(index: int) -> None:
        row = rows[index]
        whole = row.role is RowRole.MODULE and row.type not in CONTAINERS and (
            row.type in repeated or _key(row.name, row.call) in merging)
        if not children[index] or whole:
            units.append(index)
        else:
            for child in children[index]:
                walk(child)

    for root in children[None]:
        if children[root]:  # the network itself is never a unit unless it has no children
            for child in children[root]:
                walk(child)
        else:
            units.append(root)
    return units


class _Reader:
    """Reads each unit's output as a spatial map, tokens or head, following a channels-last layout."""

    def __init__(self) -> None:
        self.last_map: tuple[int, ...] | None = None
        self.channels_last = False
        self.channels_last_from: str | None = None
        self.tokens_from: str | None = None

    def key(self, shape: tuple[int, ...], unit: str) -> tuple[str, Any]:
        """Return ("map", (H, W)), ("tokens", L) or ("head", None) for a unit's output."""
        if len(shape) == 4:
            previous, self.last_map = self.last_map, shape
            if previous is not None and shape != previous and sorted(shape) == sorted(previous):
                if not self.channels_last and shape == (previous[0], previous[2], previous[3], previous[1]):
                    self.channels_last = True
                    self.channels_last_from = self.channels_last_from or unit
                elif self.channels_last and shape == (previous[0], previous[3], previous[1], previous[2]):
                    self.channels_last = False
            size = (shape[1], shape[2]) if self.channels_last else (shape[2], shape[3])
            return ("map", size) if size[0] * size[1] > 1 else ("head", None)
        if len(shape) == 3 and shape[1] > 1:
            self.tokens_from = self.tokens_from or unit
            return "tokens", shape[1]
        return "head", None


def _scale(input_shape: tuple[int, ...], size: tuple[int, int]) -> int | None:
    steps = round(math.log2((input_shape[2] * input_shape[3]) / (size[0] * size[1])) / 2)
    return 2 ** steps if steps >= 0 else None


def _stages_and_layout(report: ModelReport) -> tuple[list[Stage], _Reader]:
    rows = report.layers
    reader = _Reader()
    # (group key, unit indices, the value the stage reports: its last size or token count)
    groups: list[tuple[tuple[str, Any], list[int], Any]] = []
    waiting: list[int] = []  # units with no output before the first stage
    for index in _units(report):
        row = rows[index]
        if row.output_shape is None:
            (groups[-1][1] if groups else waiting).append(index)
            continue
        kind, value = ("head", None) if groups and groups[-1][0][0] == "head" else \
            reader.key(tuple(row.output_shape), _key(row.name, row.call))
        # A map stage is a run at one scale: valid convolutions (149x149 then 147x147) do not start a new one.
        scale = _scale(report.input_shape, value) if kind == "map" else None
        key = (kind, scale if scale is not None else value)
        if not groups or groups[-1][0] != key:
            groups.append((key, [], value))
        groups[-1][1].extend(waiting + [index])
        groups[-1] = (key, groups[-1][1], value)
        waiting = []
    if waiting:  # nothing ran at all: one head of parameters
        groups.append((("head", None), waiting, None))
    stages = []
    for number, ((kind, _), members, value) in enumerate(groups, start=1):
        shapes = [rows[i].output_shape for i in members if rows[i].output_shape is not None]
        stages.append(Stage(
            index=number,
            output_shape=tuple(shapes[-1]) if shapes else None,
            scale=_scale(report.input_shape, value) if kind == "map" else None,
            units=tuple(_key(rows[i].name, rows[i].call) for i in members),
            blocks=sum(rows[i].macs > 0 for i in members),
            params=sum(rows[i].params for i in members),
            macs=sum(rows[i].macs for i in members),
            is_head=kind == "head",
            size=value if kind == "map" else None,
            tokens=value if kind == "tokens" else None,
        ))
    return stages, reader


def find_stages(report: ModelReport) -> list[Stage]:
    """Return the stages of an analysed network, in order; their params and MACs add up to the report's totals."""
    return _stages_and_layout(report)[0]


def _layout_notes(name: str, reader: _Reader) -> list[str]:
    tail = "so its stages are not the spatial stages of a convolutional network and the comparison is not one-to-one."
    notes = []
    if reader.tokens_from:
        notes.append(f"{name} works on tokens from {reader.tokens_from} on (outputs shaped N x L x D), {tail}")
    if reader.channels_last_from:
        notes.append(f"{name} keeps its maps channels-last from {reader.channels_last_from} on "
                     f"(outputs shaped N x H x W x C), {tail}")
    return notes


def _group(stages: list[Stage]) -> dict[tuple[int, int | None], list[Stage]]:
    """Return the stages by pairing key: (0, scale) for maps, (1, None) for token stages, (2, None) for the head."""
    groups: dict[tuple[int, int | None], list[Stage]] = defaultdict(list)
    for stage in stages:
        if stage.is_head:
            groups[(2, None)].append(stage)
        elif stage.tokens is not None:
            groups[(1, None)].append(stage)
        elif stage.scale is not None:
            groups[(0, stage.scale)].append(stage)
        else:  # an output larger than the input: no scale to pair by
            groups[(0, -stage.index)].append(stage)
    return groups


def diff_stages(a: ModelReport, b: ModelReport) -> StageDiff:
    """Return the stage-by-stage comparison of two analysed networks, stages paired by scale, heads with heads.

    ``corresponds`` is True when both have the same scales, each once, and both are convolutional maps
    (channels first) throughout; otherwise what shares a scale is still paired and a note says each problem.
    """
    name_a, name_b = a.architecture, b.architecture
    if name_a == name_b and (a.config != b.config or a.input_shape != b.input_shape):
        name_a, name_b = f"{name_a} (A)", f"{name_b} (B)"
    stages_a, reader_a = _stages_and_layout(a)
    stages_b, reader_b = _stages_and_layout(b)
    notes = _layout_notes(name_a, reader_a) + _layout_notes(name_b, reader_b)
    groups_a, groups_b = _group(stages_a), _group(stages_b)
    pairs: list[StagePair] = []
    for key in sorted(set(groups_a) | set(groups_b)):
        side_a, side_b = groups_a.get(key, []), groups_b.get(key, [])
        for name, side in ((name_a, side_a), (name_b, side_b)):
            if key[0] == 0 and len(side) > 1:
                notes.append(f"{name} has {len(side)} stages at {_resolution(key[1])} "
                             f"(stages {', '.join(str(s.index) for s in side)}), so they do not pair one-to-one.")
        for position in range(max(len(side_a), len(side_b))):
            stage_a = side_a[position] if position < len(side_a) else None
            stage_b = side_b[position] if position < len(side_b) else None
            for stage, name, other in ((stage_a, name_a, name_b), (stage_b, name_b, name_a)):
                if stage is not None and (stage_a is None or stage_b is None):
                    notes.append(f"{name}'s stage {stage.index} ({stage.where}) has no counterpart in {other}.")
            pairs.append(StagePair(len(pairs) + 1, stage_a, stage_b))
    corresponds = not notes
    return StageDiff(name_a, name_b, pairs, corresponds, notes)
