"""One Cost lab comparison as a panel: inputs, formulas, numbers, charts and a timing button."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from explorer import budget, charts
from explorer.costs import (
    Comparison,
    CostInputError,
    check_timing,
    compare,
    comparison_spec,
    explain_gap,
    measure,
    sweeps,
)
from explorer.errors import ExplorerError
from explorer.formats import COST_COUNTS, cost_rows
from explorer.ui import state
from explorer.ui.messages import show_error
from explorer.ui.network import option_widget
from explorer.ui.widgets import labelled_metric, metric_row


def _inputs(name: str) -> dict[str, Any]:
    """Draw one input per setting of the comparison's Option table; return the values (None: left unset)."""
    values: dict[str, Any] = {}
    columns = st.columns(4)
    for index, (key, option) in enumerate(comparison_spec(name).options.items()):
        column = columns[index % 4]
        if option.default is None:  # left to the builder unless set (the inception's "same" padding)
            if column.checkbox(option.none_means, **state.bind(f"cost.{name}.{key}.same", True)):
                values[key] = None
                continue
        default = option.low if option.default is None else option.default
        binding = state.bind(f"cost.{name}.{key}", int(default),
                             lambda v, option=option: option.low <= v <= option.high)
        with column:
            values[key] = option_widget(key, option, binding)
    return values


def comparison_panel(name: str, device: str) -> None:
    """Show one comparison: inputs, the formulas with numbers, totals, charts and measured timings."""
    values = _inputs(name)
    try:
        comparison = compare(name, **values)
    except CostInputError as error:
        show_error(str(error))
        return
    st.markdown(f"**{comparison.title}.** {comparison.explanation}")
    for variant_name, variant in comparison.variants.items():
        terms = " + ".join(f"{s.macs:,}".replace(",", "{,}") for s in variant.all_stages)
        lines = [rf"\text{{{s.name}}}: \; {s.latex()}" for s in variant.all_stages]
        total = f"{variant.macs:,}".replace(",", "{,}")
        summary = rf"\textbf{{{variant_name}}}: \; {terms} = {total} \text{{ MACs}}" if len(variant.all_stages) > 1 \
            else rf"\textbf{{{variant_name}}}: \; {total} \text{{ MACs}}"
        st.latex(r"\begin{aligned}" + r" \\ ".join(lines + [summary]) + r"\end{aligned}")
        if variant.note:
            st.caption(f"{variant_name}: {variant.note}")
    if comparison.theory:
        st.latex(comparison.theory)
    base, cand = comparison.variants[comparison.baseline], comparison.variants[comparison.candidate]
    with metric_row():
        labelled_metric(f"{comparison.baseline} MACs", f"{base.macs:,}")
        labelled_metric(f"{comparison.candidate} MACs", f"{cand.macs:,}")
        labelled_metric(f"ratio {comparison.candidate} / {comparison.baseline}", f"{comparison.ratio:.4f}")
        labelled_metric(f"{comparison.candidate} weights", f"{cand.params:,}",
                        help=f"without biases; {comparison.baseline}: {base.params:,}")
    st.dataframe(pd.DataFrame(cost_rows(comparison)), hide_index=True, width="stretch", column_config={
        column: st.column_config.NumberColumn(format="localized") for column in COST_COUNTS})
    charted = sweeps(name, values)
    columns = st.columns(1 + len(charted))
    columns[0].plotly_chart(charts.cost_by_stage(comparison), key=f"cost:{name}:stages")
    for column, swept in zip(columns[1:], charted):
        if swept.values:
            column.plotly_chart(charts.cost_sweep(swept.values, swept.comparisons, swept.setting, swept.theory),
                                key=f"cost:{name}:sweep:{swept.setting}")
    _timing(name, comparison, device)


def _timing(name: str, comparison: Comparison, device: str) -> None:
    st.markdown(f"**Measured on {device}.** Theory counts multiplications; hardware also moves memory.")
    left, right = st.columns([1, 2])
    batch = int(left.number_input("batch size", 1, 256, **state.bind(f"cost.{name}.batch", 8, lambda b: 1 <= b <= 256)))
    try:
        predicted = check_timing(comparison, batch, device)
        left.caption(f"Takes at least {predicted:.1f} s (predicted from the MACs and this device's speed); this "
                     f"server stops runs longer than {budget.limits().seconds:.0f} s.")
        refused = False
    except ExplorerError as error:
        with left:
            show_error(str(error))
        refused = True
    if not left.button("Time both variants", key=f"cost:{name}:time", icon=":material/timer:", disabled=refused):
        return
    bar = right.progress(0.0, text="warming up...")
    try:
        timings = measure(comparison, batch, device, progress=lambda f, m: bar.progress(f, text=m))
    except ExplorerError as error:
        bar.empty()
        show_error(str(error))
        return
    bar.empty()
    base, cand = comparison.baseline, comparison.candidate
    theoretical = comparison.variants[base].macs / comparison.variants[cand].macs
    measured = timings[base].median / timings[cand].median
    right.dataframe(pd.DataFrame([{"variant": n, "median ms": t.median * 1000, "spread (IQR) ms": t.iqr * 1000,
                                   "blocks timed": t.runs} for n, t in timings.items()]),
                    hide_index=True, width="stretch")
    right.metric("speed-up: measured against theory", f"{measured:.2f}x vs {theoretical:.2f}x", border=True)
    gap = explain_gap(comparison, timings)
    if gap:
        right.info(gap)
