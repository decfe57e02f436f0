"""Renderings of a ModelReport: a pandas DataFrame, a torchinfo-like table, CSV, Markdown, LaTeX and JSON."""

from __future__ import annotations

import json

from explorer.analysis import ROLE_EXPLANATIONS, ModelReport, RowRole
from explorer.units import format_pair, format_shape, human, human_bytes

FORMATS = ("table", "json", "csv", "markdown", "latex")

# Columns of the exported layer table, in order (frame column -> header).
EXPORT_COLUMNS = {
    "name": "Layer", "type": "Type", "depth": "Depth", "input_shape": "Input (CxHxW)",
    "output_shape": "Output (CxHxW)", "kernel": "Kernel", "stride": "Stride", "padding": "Padding",
    "groups": "Groups", "params": "Params", "trainable_params": "Trainable", "frozen_params": "Frozen",
    "macs": "MACs", "flops": "FLOPs (2xMACs)", "connections": "Connections", "output_bytes": "Output bytes",
    "receptive_field": "Receptive field", "jump": "Jump", "role": "Row",
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
    return to_frame(report, depth)[list(EXPORT_COLUMNS)].rename(columns=EXPORT_COLUMNS)


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
    """Return the report's totals as labelled, exact strings (the same labels everywhere)."""
    return {
        "Input shape": format_shape(report.input_shape, drop_batch=False),
        "Output shape": format_shape(report.output_shape, drop_batch=False),
        "Total params": f"{report.total_params:,}",
        "Trainable params": f"{report.trainable_params:,}",
        "Frozen params": f"{report.frozen_params:,}",
        "MACs (multiply-accumulates)": f"{report.total_macs:,} ({human(report.total_macs)})",
        "FLOPs (= 2 x MACs)": f"{report.total_flops:,} ({human(report.total_flops)})",
        "Activation memory (batch 1)": f"{report.activation_bytes:,} bytes ({human_bytes(report.activation_bytes)})",
        "Parameter memory": f"{report.param_bytes:,} bytes ({human_bytes(report.param_bytes)})",
    }


def to_table(report: ModelReport, depth: int | None = None) -> str:
    """Return a torchinfo-style text table with labelled MACs and FLOPs columns and the totals."""
    headers = ["Layer (type)", "Output shape", "Params", "MACs", "FLOPs (2xMACs)", "RF"]
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


def cost_table(comparison) -> str:
    """Return a comparison (explorer.costs.Comparison) as a text table: variants, their stages, the ratio."""
    lines = [comparison.title, f"input {format_shape(comparison.input_shape, drop_batch=False)} (CxHxW)", ""]
    header = f"{'variant / stage':34}{'MACs':>16}{'FLOPs (2xMACs)':>18}{'params':>12}{'params+bias':>13}  output"
    lines += [header, "-" * len(header)]
    for name, variant in comparison.variants.items():
        lines.append(f"{name:34}{variant.macs:>16,}{variant.flops:>18,}{variant.params:>12,}"
                     f"{variant.params_with_bias:>13,}  {format_shape(variant.output_shape, drop_batch=False)}")
        for stage in variant.all_stages:
            lines.append(f"  {stage.name:32}{stage.macs:>16,}{2 * stage.macs:>18,}{stage.params:>12,}"
                         f"{stage.params_with_bias:>13,}  {format_shape(stage.output_shape, drop_batch=False)}")
        if variant.note:
            lines.append(f"  ({variant.note})")
    lines += ["", f"ratio {comparison.candidate} / {comparison.baseline} (MACs): {comparison.ratio:.4f}"]
    return "\n".join(lines) + "\n"
