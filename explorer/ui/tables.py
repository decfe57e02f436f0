"""The layer table as Streamlit shows it: thousands separators, shapes CxHxW, a share-of-MACs bar.

The columns, their headers and tooltips come from explorer.formats (COLUMNS, SHOWN), as the downloads' do.
"""

from __future__ import annotations

import streamlit as st

from explorer.analysis import ModelReport
from explorer.formats import COLUMNS, SHOWN, Column, to_frame


def _config(column: Column):
    label, help_text = column.page_label or column.label, column.help or None
    if column.key == "share_of_macs":
        return st.column_config.ProgressColumn(label, format="percent", min_value=0.0, max_value=1.0, help=help_text)
    if column.count:
        return st.column_config.NumberColumn(label, format="localized", help=help_text)
    return st.column_config.TextColumn(label, help=help_text)


def layer_table(report: ModelReport, depth: int | None) -> None:
    """Show the layer rows at most ``depth`` deep in an st.dataframe."""
    frame = to_frame(report, depth)
    frame.insert(0, "layer", ["  " * d + (n.rsplit(".", 1)[-1] if d else n) for n, d in
                              zip(frame["name"], frame["depth"])])
    st.dataframe(frame[list(SHOWN)], hide_index=True, width="stretch", height=min(640, 38 + 35 * len(frame)),
                 column_config={key: _config(COLUMNS[key]) for key in SHOWN})
