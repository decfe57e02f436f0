"""The layer table as Streamlit shows it: thousands separators, shapes CxHxW, a share-of-MACs bar."""

from __future__ import annotations

import streamlit as st

from explorer.analysis import ModelReport
from explorer.formats import to_frame


def layer_table(report: ModelReport, depth: int | None) -> None:
    """Show the layer rows at most ``depth`` deep in an st.dataframe."""
    frame = to_frame(report, depth)
    frame.insert(0, "layer", ["  " * d + (n.rsplit(".", 1)[-1] if d else n) for n, d in
                              zip(frame["name"], frame["depth"])])
    columns = ["layer", "type", "note", "output_shape", "kernel", "stride", "padding", "groups", "params", "trainable_params",
               "frozen_params", "macs", "flops", "connections", "share_of_macs", "output_bytes", "receptive_field",
               "input_shape", "name"]
    st.dataframe(
        frame[columns], hide_index=True, width="stretch", height=min(640, 38 + 35 * len(frame)),
        column_config={
            "layer": st.column_config.TextColumn("Layer", help="Indented by depth; full path in 'name'"),
            "type": "Type",
            "output_shape": st.column_config.TextColumn("Output (CxHxW)"),
            "input_shape": st.column_config.TextColumn("Input (CxHxW)"),
            "kernel": "Kernel", "stride": "Stride", "padding": "Padding",
            "groups": "Groups",
            "params": st.column_config.NumberColumn("Params", format="localized",
                                                    help="the row's module with everything inside it"),
            "trainable_params": st.column_config.NumberColumn("Trainable params", format="localized"),
            "frozen_params": st.column_config.NumberColumn("Frozen params", format="localized"),
            "macs": st.column_config.NumberColumn("MACs", format="localized", help="multiply-accumulates"),
            "flops": st.column_config.NumberColumn("FLOPs (2xMACs)", format="localized"),
            "connections": st.column_config.NumberColumn(
                "Connections", format="localized",
                help="LeCun's count: MACs plus bias additions. Connections per parameter shows weight sharing."),
            "share_of_macs": st.column_config.ProgressColumn("Share of MACs", format="percent", min_value=0.0,
                                                             max_value=1.0),
            "output_bytes": st.column_config.NumberColumn("Output bytes", format="localized"),
            "receptive_field": st.column_config.TextColumn("Receptive field",
                                                           help="input pixels one output value can see"),
            "note": st.column_config.TextColumn("Note", help="for rows that are not plain module calls"),
            "name": st.column_config.TextColumn("Module path"),
        },
    )
