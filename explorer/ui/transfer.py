"""The Transfer learning page's model: the new classes, the freeze policy and its stage, the optimizer and the batch,
kept in session state that no widget owns (explorer.ui.state), and the plan computed once per choice."""

from __future__ import annotations

from typing import Any

import streamlit as st

from explorer.transfer import planner
from explorer.ui import state
from explorer.ui.network import ArchitectureChoice

POLICY_LABELS = {
    planner.FreezePolicy.HEAD_ONLY: "Everything but the new head",
    planner.FreezePolicy.UP_TO_STAGE: "Stages 1 to k",
    planner.FreezePolicy.NOTHING: "Nothing (train every layer)",
}
OPTIMIZER_LABELS = {"adam": "Adam (two extra copies of the trainable weights)",
                    "sgd": "SGD with momentum (one extra copy)", "plain_sgd": "Plain SGD (no extra copy)"}
MAX_BATCH = 256


def _is_int(low: int, high: int):
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def planner_inputs(stage_count: int) -> dict[str, Any]:
    """Draw the planner's widgets from the page's model; return {num_classes, policy, stage, optimizer, batch}."""
    left, middle, right = st.columns(3)
    num_classes = int(left.number_input("New classes", 1, planner.MAX_CLASSES, step=1, help="How many classes the new "
                                        "head predicts.", **state.bind("transfer.classes", 10,
                                                                       _is_int(1, planner.MAX_CLASSES))))
    optimizer = middle.selectbox("Optimizer", list(OPTIMIZER_LABELS), format_func=OPTIMIZER_LABELS.get,
                                 **state.bind("transfer.optimizer", "adam", lambda v: v in OPTIMIZER_LABELS))
    batch = int(right.number_input("Batch size", 1, MAX_BATCH, step=1, help="MACs and activation memory are for one "
                                   "training step over this many images.",
                                   **state.bind("transfer.batch", 1, _is_int(1, MAX_BATCH))))
    policy = st.radio("Freeze", list(POLICY_LABELS), format_func=POLICY_LABELS.get, horizontal=True,
                      **state.bind("transfer.policy", planner.FreezePolicy.HEAD_ONLY, lambda v: v in POLICY_LABELS))
    stage = None
    if policy == planner.FreezePolicy.UP_TO_STAGE:
        if stage_count > 1:
            stage = st.slider("Freeze stages 1 to k", 1, stage_count, help="Stages are runs of layers at one spatial "
                              "size, found from the analysis (as on Compare's stage diff); the last is the head.",
                              **state.bind("transfer.stage", max(1, stage_count - 2), _is_int(1, stage_count)))
        else:
            stage = 1
            st.caption("This network has one stage, so freezing stage 1 freezes everything but the new head.")
    return {"num_classes": num_classes, "policy": planner.FreezePolicy(policy), "stage": stage,
            "optimizer": optimizer, "batch": batch}


@st.cache_data(show_spinner=False, max_entries=64)
def _plan(name: str, items: tuple, num_classes: int, policy: str, stage: int | None, optimizer: str,
          batch: int) -> planner.Plan:
    return planner.plan(name, dict(items), num_classes, policy, stage, optimizer, batch)


def cached_plan(choice: ArchitectureChoice, inputs: dict[str, Any]) -> planner.Plan:
    """Return planner.plan for the chosen network and the page's inputs, computed once per choice (0.05-3 s cold).

    Raises:
        ExplorerError: as planner.plan does (errors are not cached).
    """
    return _plan(choice.name, tuple(sorted(choice.config.items())), inputs["num_classes"], str(inputs["policy"]),
                 inputs["stage"], inputs["optimizer"], inputs["batch"])
