"""Renderings of a ModelReport: a pandas DataFrame, a torchinfo-like table, CSV, Markdown, LaTeX and JSON; and
the table of a Cost lab comparison. The labels of the layer table's columns and of the totals are defined here
once, for the CLI, the downloads and the pages."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from explorer.analysis import ROLE_EXPLANATIONS, ModelReport, RowRole
from explorer.units import format_pair, format_shape, human, human_bytes

FORMATS = ("table", "json", "csv", "markdown", "latex")


@dataclass(frozen=True)
class Column:
    """One column of the layer table: its key in to_frame(), its header, and the page's tooltip."""

    key: str
    label: str
    help: str = ""
    count: bool = False  # an exact whole number (the page shows it with thousands separators)
    page_label: str = ""  # the page's header where it differs from the downloads' (which must stay as they are)


COLUMNS = {column.key: column for column in (
    Column("layer", "Layer", "Indented by depth; full path in 'name'"),  # the page's, derived from name and depth
    Column("name", "Layer", page_label="Module path"),
    Column("type", "Type"),
    Column("depth", "Depth"),
    Column("input_shape", "Input (CxHxW)"),
    Column("output_shape", "Output (CxHxW)"),
    Column("kernel", "Kernel"),
    Column("stride", "Stride"),
    Column("padding", "Padding"),
    Column("groups", "Groups"),
    Column("params", "Params", "the row's module with everything inside it", count=True),
    Column("trainable_params", "Trainable", count=True, page_label="Trainable params"),
    Column("frozen_params", "Frozen", count=True, page_label="Frozen params"),
    Column("macs", "MACs", "multiply-accumulates", count=True),
    Column("flops", "FLOPs (2xMACs)", count=True),
    Column("connections", "Connections", "LeCun's count: MACs plus bias additions. Connections per parameter shows "
                                         "weight sharing.", count=True),
    Column("share_of_macs", "Share of MACs"),
    Column("output_bytes", "Output bytes", count=True),
    Column("receptive_field", "Receptive field", "input pixels one output value can see"),
    Column("jump", "Jump"),
    Column("role", "Row"),
    Column("note", "Note", "for rows that are not plain module calls"),
)}
# The columns of the CSV, Markdown and LaTeX downloads, in order, and those the Architecture page shows.
EXPORTED = ("name", "type", "depth", "input_shape", "output_shape", "kernel", "stride", "padding", "groups", "params",
            "trainable_params", "frozen_params", "macs", "flops", "connections", "output_bytes", "receptive_field",
            "jump", "role")
SHOWN = ("layer", "type", "note", "output_shape", "kernel", "stride", "padding", "groups", "params", "trainable_params",
         "frozen_params", "macs", "flops", "connections", "share_of_macs", "output_bytes", "receptive_field",
         "input_shape", "name")

# The totals' labels (ModelReport attribute -> label), in the order the text table and Markdown list them.
TOTAL_LABELS = {
    "input_shape": "Input shape",
    "output_shape": "Output shape",
    "total_params": "Total params",
    "trainable_params": "Trainable params",
    "frozen_params": "Frozen params",
    "total_macs": "MACs (multiply-accumulates)",
    "total_flops": "FLOPs (= 2 x MACs)",
    "activation_bytes": "Activation memory (batch 1)",
    "param_bytes": "Parameter memory",
}


def role_legend(report: ModelReport) -> list[str]:
    """Return one line per kind of special row the report has, saying what it means (for page and CLI)."""
    present = {row.role for row in report.layers}
    return [f"Rows marked \"{role}\": {ROLE_EXPLANATIONS[role]}." for role in ROLE_EXPLANATIONS if role in present]


def to_frame(report: ModelReport, depth: int | None = None):
    """Return the layer table as a pandas DataFrame, keeping rows at most ``depth`` deep.

    Shapes are written CxHxW (batch dropped); ``share_of_macs`` is each row's fraction of the total.
    """
    import pandas as pd

    rows = [row for row in report.layers if depth is None or row.depth <= depth]
    total = report.total_macs or 1
    return pd.DataFrame({
        "name": [row.name or "(model)" for row in rows],
        "type": [row.type for row in rows],
        "depth": [row.depth for row in rows],
        "input_shape": [format_shape(row.input_shape) for row in rows],
        "output_shape": [format_shape(row.output_shape) for row in rows],
        "kernel": [format_pair(row.kernel_size) for row in rows],
        "stride": [format_pair(row.stride) for row in rows],
        "padding": [format_pair(row.padding) for row in rows],
        "groups": [format_pair(row.groups) for row in rows],
        "params": [row.params for row in rows],
        "trainable_params": [row.trainable_params for row in rows],
        "frozen_params": [row.frozen_params for row in rows],
        "macs": [row.macs for row in rows],
        "flops": [row.flops for row in rows],
        "connections": [row.connections for row in rows],
        "share_of_macs": [row.macs / total for row in rows],
        "output_bytes": [row.output_bytes for row in rows],
        "receptive_field": [format_pair(row.receptive_field) for row in rows],
        "jump": [format_pair(row.jump) for row in rows],
        "is_leaf": [row.is_leaf for row in rows],
        "executed": [row.executed for row in rows],
        "role": [str(row.role) for row in rows],
        "note": [row.note for row in rows],
    })


def _export_frame(report: ModelReport, depth: int | None):
    return to_frame(report, depth)[list(EXPORTED)].rename(columns={key: COLUMNS[key].label for key in EXPORTED})


def to_csv(report: ModelReport, depth: int | None = None) -> str:
    """Return the layer table as CSV (exact integers, shapes CxHxW)."""
    return _export_frame(report, depth).to_csv(index=False)


def to_markdown(report: ModelReport, depth: int | None = None) -> str:
    """Return the layer table as a GitHub-flavoured Markdown table followed by the totals."""
    frame = _export_frame(report, depth)
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for values in frame.itertuples(index=False):
        cells = [_cell(v) for v in values]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {k}: {v}" for k, v in totals(report).items()) + "\n"


def to_latex(report: ModelReport, depth: int | None = None) -> str:
    """Return the layer table as a LaTeX tabular (booktabs-free, compiles with plain LaTeX)."""
    frame = _export_frame(report, depth)

    def escape(text: str) -> str:
        for char, replacement in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                                  ("#", r"\#"), ("<", r"$<$"), (">", r"$>$"), ("{", r"\{"), ("}", r"\}")):
            text = text.replace(char, replacement)
        return text

    lines = [r"\begin{tabular}{" + "l" * 2 + "r" * (len(frame.columns) - 2) + "}", r"\hline",
             " & ".join(escape(c) for c in frame.columns) + r" \\", r"\hline"]
    for values in frame.itertuples(index=False):
        lines.append(" & ".join(escape(_cell(v)) for v in values) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def totals(report: ModelReport) -> dict[str, str]:
    """Return the report's totals as exact strings under TOTAL_LABELS (the labels the page uses too)."""
    values = {
        "input_shape": format_shape(report.input_shape, drop_batch=False),
        "output_shape": format_shape(report.output_shape, drop_batch=False),
        "total_params": f"{report.total_params:,}",
        "trainable_params": f"{report.trainable_params:,}",
        "frozen_params": f"{report.frozen_params:,}",
        "total_macs": f"{report.total_macs:,} ({human(report.total_macs)})",
        "total_flops": f"{report.total_flops:,} ({human(report.total_flops)})",
        "activation_bytes": f"{report.activation_bytes:,} bytes ({human_bytes(report.activation_bytes)})",
        "param_bytes": f"{report.param_bytes:,} bytes ({human_bytes(report.param_bytes)})",
    }
    return {TOTAL_LABELS[key]: values[key] for key in TOTAL_LABELS}


def to_table(report: ModelReport, depth: int | None = None) -> str:
    """Return a torchinfo-style text table with labelled MACs and FLOPs columns and the totals."""
    headers = ["Layer (type)", "Output shape", *(COLUMNS[key].label for key in ("params", "macs", "flops")), "RF"]
    body = []
    for row in report.layers:
        if depth is not None and row.depth > depth:
            continue
        indent = "  " * row.depth + ("" if row.depth == 0 else "└─")
        label = f"{indent}{row.name.rsplit('.', 1)[-1] or report.architecture} ({row.type})"
        if row.role is RowRole.OWN_PARAMETERS:
            label = f"{indent}<own parameters: {row.note}>"
        elif row.role in (RowRole.USED_BY_PARENT, RowRole.NOT_RUN):
            label += f" [{row.role}]"
        body.append([label, format_shape(row.output_shape), f"{row.params:,}" if row.params else "--",
                     f"{row.macs:,}" if row.macs else "--", f"{row.flops:,}" if row.flops else "--",
                     format_pair(row.receptive_field)])
    widths = [max(len(headers[i]), *(len(r[i]) for r in body)) for i in range(len(headers))]
    rule = "=" * (sum(widths) + 2 * (len(widths) - 1))

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    out = [rule, line(headers), rule, *(line(r) for r in body), rule]
    out += role_legend(report)
    out += [f"{k}: {v}" for k, v in totals(report).items()]
    out.append(rule)
    return "\n".join(out) + "\n"


def render(report: ModelReport, fmt: str, depth: int | None = None) -> str:
    """Return ``report`` rendered in ``fmt`` (one of FORMATS).

    Raises:
        ValueError: ``fmt`` is not one of FORMATS.
    """
    if fmt == "json":
        data = report.to_dict()
        if depth is not None:
            data["layers"] = [row for row in data["layers"] if row["depth"] <= depth]
        return json.dumps(data, indent=2) + "\n"
    renderers = {"table": to_table, "csv": to_csv, "markdown": to_markdown, "latex": to_latex}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}")
    return renderers[fmt](report, depth)


TOTAL_STAGE = "(total)"  # the stage of a variant's own row in cost_rows
COST_COUNTS = ("MACs", "FLOPs (2xMACs)", "params", "params with bias")  # cost_rows' exact whole numbers


def cost_rows(comparison: Any) -> list[dict[str, Any]]:
    """Return the table of a comparison (explorer.costs.Comparison), one dict per row: each variant's own row
    (stage TOTAL_STAGE), then one row per stage. The Cost lab shows it; cost_table prints it."""
    rows = []
    for name, variant in comparison.variants.items():
        for stage in (None, *variant.all_stages):
            part = variant if stage is None else stage
            rows.append({"variant": name, "stage": TOTAL_STAGE if stage is None else stage.name, "MACs": part.macs,
                         "FLOPs (2xMACs)": 2 * part.macs, "params": part.params,
                         "params with bias": part.params_with_bias,
                         "output (CxHxW)": format_shape(part.output_shape, drop_batch=False)})
    return rows


def cost_table(comparison: Any) -> str:
    """Return a comparison (explorer.costs.Comparison) as a text table: variants, their stages, the ratio."""
    lines = [comparison.title, f"input {format_shape(comparison.input_shape, drop_batch=False)} (CxHxW)", ""]
    header = f"{'variant / stage':34}{'MACs':>16}{'FLOPs (2xMACs)':>18}{'params':>12}{'params+bias':>13}  output"
    lines += [header, "-" * len(header)]
    rows = cost_rows(comparison)
    for index, row in enumerate(rows):
        label = row["variant"] if row["stage"] == TOTAL_STAGE else "  " + row["stage"]
        lines.append(f"{label:34}{row['MACs']:>16,}{row['FLOPs (2xMACs)']:>18,}{row['params']:>12,}"
                     f"{row['params with bias']:>13,}  {row['output (CxHxW)']}")
        note = comparison.variants[row["variant"]].note
        if note and (index + 1 == len(rows) or rows[index + 1]["stage"] == TOTAL_STAGE):  # after its last stage
            lines.append(f"  ({note})")
    lines += ["", f"ratio {comparison.candidate} / {comparison.baseline} (MACs): {comparison.ratio:.4f}"]
    return "\n".join(lines) + "\n"
