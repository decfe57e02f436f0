"""Architecture diagrams as graphviz DOT, drawn from the dataflow graph that analyze() records.

The graph (leaf module calls and the operations that merge tensors, from the same meta forward pass
that counts the MACs) is grouped at a chosen module depth: every module at that depth becomes one
box labelled with its output shape, parameters and MACs. Operations that merge tensors above that depth
(a residual addition, an Inception concatenation) stay as nodes of their own, so skips and branches are
drawn as such. Identical blocks that follow each other in a chain collapse into one box marked "xN".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from explorer.analysis import DataflowNode, LayerRow, ModelReport, RowRole
from explorer.units import format_shape, human

MAX_DEFAULT_NODES = 40


@dataclass
class DiagramNode:
    """One box (or merge circle) of the diagram."""

    key: str
    role: str  # "input", "output", "module" or "merge"
    title: str
    detail: str = ""  # lines under the title: type, output shape, params, MACs
    cluster: str = ""
    repeat: int = 1
    last_key: str = ""
    signature: tuple = ()

    def label(self, in_cluster_box: bool = True) -> str:
        """Return the text shown in the box; a collapsed run reads ``layer1.1 … 2  x2``.

        Inside its cluster's box a node is named relative to the cluster; outside, by its full path.
        """
        title, detail = self.title, self.detail
        if self.cluster and not in_cluster_box:
            title = f"{self.cluster}.{title}"
        if self.repeat > 1:
            title = f"{self.title} … {_path(self.last_key).rsplit('.', 1)[-1]}  x{self.repeat}"
            detail += "\n(each)"
        return f"{title}\n{detail}" if detail else title


@dataclass
class Diagram:
    """Nodes in execution order, edges between their keys, and how it was made."""

    nodes: dict[str, DiagramNode]
    edges: list[tuple[str, str]]
    depth: int
    cluster_labels: dict[str, str] = field(default_factory=dict)

    def to_dot(self) -> str:
        """Return the diagram as a graphviz DOT string."""
        lines = [
            "digraph architecture {",
            '  graph [rankdir=TB, fontname="Helvetica", fontsize=10, nodesep=0.25, ranksep=0.3];',
            '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
            'fillcolor="#EEF3FB", color="#4C78A8"];',
            '  edge [color="#555555", arrowsize=0.6];',
        ]
        members: dict[str, list[DiagramNode]] = {}
        for node in self.nodes.values():
            members.setdefault(node.cluster, []).append(node)
        for cluster, nodes in members.items():
            indent = "  "
            boxed = bool(cluster) and len(nodes) > 1
            if boxed:
                lines.append(f"  subgraph {_quote('cluster_' + cluster)} {{")
                lines.append(f'    label={_quote(self.cluster_labels.get(cluster, cluster))}; style="rounded,dashed"; '
                             f'color="#999999"; fontcolor="#555555";')
                indent = "    "
            for node in nodes:
                lines.append(f"{indent}{_quote(node.key)} [{_node_style(node)}label={_quote(node.label(boxed))}];")
            if boxed:
                lines.append("  }")
        for tail, head in self.edges:
            lines.append(f"  {_quote(tail)} -> {_quote(head)};")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_COLOURS = [
    (r"Conv", "#DCE8F7", "#4C78A8"),
    (r"Norm", "#EEEEEE", "#888888"),
    (r"Pool", "#E3F2E1", "#54A24B"),
    (r"Linear|Classifier", "#FDEBD7", "#F58518"),
    (r"ReLU|GELU|SiLU|Tanh|Sigmoid|Hardswish|Hardsigmoid|Softmax", "#FFFFFF", "#AAAAAA"),
    (r"Attention|Encoder", "#F3E5F5", "#8E44AD"),
]


def _node_style(node: DiagramNode) -> str:
    if node.role == "merge":
        return 'shape=circle, fixedsize=false, fillcolor="#FFF4C2", color="#B8860B", '
    if node.role in ("input", "output"):
        return 'shape=oval, fillcolor="#FFFFFF", color="#333333", '
    module_type = node.signature[0] if node.signature else ""
    for pattern, fill, line in _COLOURS:
        if re.search(pattern, module_type):
            return f'fillcolor="{fill}", color="{line}", '
    return 'fillcolor="#F4F1FA", color="#6C5B9E", '


def _path(key: str) -> str:
    """Return the module path of a stack key ("layer1.0.relu@1" -> "layer1.0.relu")."""
    return key.split("@")[0]


_MERGE_SYMBOLS = {"add": "+", "iadd": "+", "add_": "+", "sub": "-", "cat": "concat", "concat": "concat",
                  "stack": "stack", "mul": "x", "imul": "x", "mul_": "x", "matmul": "matmul", "bmm": "matmul"}


def _rows_by_key(report: ModelReport) -> dict[str, LayerRow]:
    """Return the module-call rows by dataflow key: the module path, with "@N" for its (N+1)-th call."""
    return {(f"{row.name}@{row.call}" if row.call else row.name): row
            for row in report.layers if row.role is RowRole.MODULE}


def _module_detail(row: LayerRow | None) -> str:
    if row is None:
        return ""
    parts = [row.type, format_shape(row.output_shape)]
    counts = []
    if row.params:
        counts.append(f"{human(row.params)} params")
    if row.macs:
        counts.append(f"{human(row.macs)} MACs")
    if counts:
        parts.append(" · ".join(counts))
    return "\n".join(p for p in parts if p)


def _signature(row: LayerRow | None) -> tuple:
    if row is None:
        return ()
    return (row.type, row.params, row.macs, row.output_shape, row.input_shape)


def build_diagram(report: ModelReport, depth: int, collapse_repeats: bool = True,
                  expand: frozenset[str] | set[str] = frozenset()) -> Diagram:
    """Return the diagram of ``report``'s model grouped at module ``depth`` (1 = the model's children).

    Blocks named in ``expand`` are drawn one level deeper (their layers and merges), the rest grouped.
    """
    rows = _rows_by_key(report)
    diagram = _dataflow_diagram(report, report.graph, rows, max(1, depth), frozenset(expand))
    for key in {n.cluster for n in diagram.nodes.values() if n.cluster}:
        row = rows.get(key)
        diagram.cluster_labels[key] = f"{key} ({row.type})" if row else key
    if collapse_repeats:
        _collapse_repeats(diagram)
    return diagram


def _group_key(node: DataflowNode, depth: int, expand: frozenset[str]) -> str | None:
    """Return the stack key of the box ``node`` belongs to, or None if it lies above the grouping."""
    stack, index = node.stack, depth - 1
    while index < len(stack):
        is_own_module = node.op == "call_module" and index == len(stack) - 1
        if _path(stack[index]) in expand and not is_own_module:
            index += 1
            continue
        return stack[index]
    return stack[-1] if node.op == "call_module" and stack else None


def _dataflow_diagram(report: ModelReport, graph: list[DataflowNode], rows: dict[str, LayerRow],
                      depth: int, expand: frozenset[str]) -> Diagram:
    nodes: dict[str, DiagramNode] = {}
    edges: list[tuple[str, str]] = []
    key_of: dict[str, str | None] = {}

    def add_edges(node: DataflowNode, key: str) -> None:
        for producer in node.inputs:
            tail = key_of.get(producer)
            if tail and tail != key and (tail, key) not in edges:
                edges.append((tail, key))

    for node in graph:
        if node.op == "placeholder":
            key_of[node.name] = "input"
            nodes["input"] = DiagramNode("input", "input", "input", format_shape(report.input_shape))
            continue
        if node.op == "output":
            nodes["output"] = DiagramNode("output", "output", "output", format_shape(report.output_shape))
            add_edges(node, "output")
            continue
        key = _group_key(node, depth, expand)
        if key is not None:
            if key not in nodes:
                path = _path(key)
                row = rows.get(key)
                cluster = path.rpartition(".")[0]
                title = path[len(cluster) + 1:] if cluster else path  # the cluster's box names the parent
                if key != path:
                    title += f" (call {int(key.split('@')[1]) + 1})"
                nodes[key] = DiagramNode(key, "module", title, _module_detail(row), cluster=cluster,
                                         signature=_signature(row))
            key_of[node.name] = key
            add_edges(node, key)
            continue
        tails = [key_of.get(name) for name in node.inputs if key_of.get(name)]
        if len(tails) >= 2:  # a merge above the grouping depth: residual add, concatenation, gating
            key = node.name
            nodes[key] = DiagramNode(key, "merge", _MERGE_SYMBOLS.get(node.target, node.target),
                                     cluster=_path(node.stack[-1]) if node.stack else "")
            key_of[node.name] = key
            add_edges(node, key)
        else:  # recorded merges whose inputs all fall in one box
            key_of[node.name] = tails[0] if tails else None
    # clusters only for real parent modules
    for diagram_node in nodes.values():
        if diagram_node.cluster and diagram_node.cluster not in rows:
            diagram_node.title = f"{diagram_node.cluster}.{diagram_node.title}"
            diagram_node.cluster = ""
    return Diagram(nodes, edges, depth)


def _collapse_repeats(diagram: Diagram) -> None:
    """Merge chains of identical consecutive blocks (same cluster, type, params, MACs, shapes) into one."""
    changed = True
    while changed:
        changed = False
        outgoing: dict[str, list[str]] = {}
        incoming: dict[str, list[str]] = {}
        for tail, head in diagram.edges:
            outgoing.setdefault(tail, []).append(head)
            incoming.setdefault(head, []).append(tail)
        for key, node in diagram.nodes.items():
            if node.role != "module" or not node.signature:
                continue
            successors = outgoing.get(key, [])
            if len(successors) != 1:
                continue
            follower = diagram.nodes[successors[0]]
            if (follower.role == "module" and follower.signature == node.signature
                    and follower.cluster == node.cluster and incoming.get(follower.key) == [key]):
                node.repeat += follower.repeat
                node.last_key = follower.last_key or follower.key
                diagram.edges = [(key if s == follower.key else s, t) for s, t in diagram.edges
                                 if (s, t) != (key, follower.key)]
                del diagram.nodes[follower.key]
                changed = True
                break


def blocks_with_merges(report: ModelReport, depth: int) -> list[str]:
    """Return, in execution order, the boxes at ``depth`` whose inside merges tensors (skips, branches)."""
    found: list[str] = []
    for node in report.graph:
        if node.op == "call_function" and len(node.stack) >= depth:
            key = _path(node.stack[depth - 1])
            if key not in found:
                found.append(key)
    return found


def default_depth(report: ModelReport) -> int:
    """Return the deepest grouping that still fits in about MAX_DEFAULT_NODES boxes (at least 1)."""
    best = 1
    for depth in range(1, max(2, report.max_depth + 1)):
        if len(build_diagram(report, depth).nodes) <= MAX_DEFAULT_NODES:
            best = depth
        else:
            break
    return best
