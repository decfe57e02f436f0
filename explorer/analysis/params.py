"""Parameter attribution: the layer table in display order, every parameter tensor counted exactly once.

Each row holds its subtree's parameters; modules that were never called get rows of their own (used by
their parent, or not run), and containers get rows for what they compute or hold outside their children,
so that leaf rows add up exactly to the totals.
"""

from __future__ import annotations

from typing import Iterable

from torch import nn

from explorer.analysis.dataflow import Recorder, layer_geometry
from explorer.analysis.report import ROLE_EXPLANATIONS, LayerRow, RowRole


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


def _uncalled_rows(recorder: Recorder, model: nn.Module, used: set[int]) -> dict[int, list[LayerRow]]:
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
                     note=str(role), **layer_geometry(module)))
    return rows


def finish_rows(recorder: Recorder, model: nn.Module, used: set[int]) -> list[LayerRow]:
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
