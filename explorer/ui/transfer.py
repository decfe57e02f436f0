"""The Transfer learning page's model: the new classes, the freeze policy and its stage, the optimizer and the batch,
kept in session state that no widget owns (explorer.ui.state), and the plan computed once per choice."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import streamlit as st

from explorer import charts
from explorer.transfer import demo, finetune, planner
from explorer.ui import state
from explorer.ui.network import ArchitectureChoice

POLICY_LABELS = {
    planner.FreezePolicy.HEAD_ONLY: "Everything but the new head",
    planner.FreezePolicy.UP_TO_STAGE: "Stages 1 to k",
    planner.FreezePolicy.NOTHING: "Nothing (train every layer)",
}
OPTIMIZER_LABELS = {"adam": "Adam", "sgd": "SGD with momentum", "plain_sgd": "Plain SGD"}
OPTIMIZER_STATE = {"adam": "two extra copies of the trainable weights", "sgd": "one extra copy (the momentum)",
                   "plain_sgd": "no extra copy"}
MAX_BATCH = 256
DEFAULT_BATCH = 16
MAX_EPOCHS = 100


def _is_int(low: int, high: int):
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def policy_inputs(stage_count: int) -> tuple[planner.FreezePolicy, int | None]:
    """Draw the freeze policy (and its stage) from the page's model, shared by the plan and the training run;
    return (policy, stage), stage None unless the policy freezes stages 1 to k."""
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
    return planner.FreezePolicy(policy), stage


def optimizer_input(container: Any) -> str:
    """Draw the optimizer (shared by the plan and the training run) in ``container``; return its key."""
    return container.selectbox("Optimizer", list(OPTIMIZER_LABELS), format_func=OPTIMIZER_LABELS.get,
                               help="What it keeps beside the weights: Adam two extra copies of the trainable "
                                    "weights (its moments), SGD with momentum (0.9) one, plain SGD none.",
                               **state.bind("transfer.optimizer", "adam", lambda v: v in OPTIMIZER_LABELS))


def batch_input(container: Any, model_key: str, default: int, help: str) -> int:
    """Draw a batch size kept at ``model_key`` in ``container``; return it."""
    return int(container.number_input("Batch size", 1, MAX_BATCH, step=1, help=help,
                                      **state.bind(model_key, default, _is_int(1, MAX_BATCH))))


def planner_inputs(stage_count: int) -> dict[str, Any]:
    """Draw the planner's widgets from the page's model; return {num_classes, policy, stage, optimizer, batch}."""
    left, middle, right = st.columns(3)
    num_classes = int(left.number_input("New classes", 1, planner.MAX_CLASSES, step=1, help="How many classes the new "
                                        "head predicts.", **state.bind("transfer.classes", 10,
                                                                       _is_int(1, planner.MAX_CLASSES))))
    optimizer = optimizer_input(middle)
    batch = batch_input(right, "transfer.batch", 1, "MACs and activation memory are for one training step over this "
                        "many images.")
    policy, stage = policy_inputs(stage_count)
    return {"num_classes": num_classes, "policy": policy, "stage": stage, "optimizer": optimizer, "batch": batch}


LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def training_inputs(stage_count: int) -> dict[str, Any]:
    """Draw the training run's settings from the page's model (the freeze policy and the optimizer are the plan's);
    return {policy, stage, optimizer, batch, lr, epochs, seed}."""
    policy, stage = policy_inputs(stage_count)
    left, right = st.columns(2)
    optimizer = optimizer_input(left)
    lr = right.select_slider("Learning rate", LEARNING_RATES, format_func=lambda v: f"{v:g}",
                             **state.bind("transfer.lr", 1e-3, lambda v: v in LEARNING_RATES))
    columns = st.columns(3)
    epochs = int(columns[0].number_input("Epochs", 1, MAX_EPOCHS, step=1, **state.bind(
        "transfer.epochs", 10, _is_int(1, MAX_EPOCHS))))
    batch = batch_input(columns[1], "transfer.train.batch", DEFAULT_BATCH, "Images per training step.")
    seed = int(columns[2].number_input("Seed", 0, 10_000, step=1, help="The same seed, images and settings train "
                                       "the same model (the split, the new head, the order of the images).",
                                       **state.bind("transfer.seed", 0, _is_int(0, 10_000))))
    return {"policy": policy, "stage": stage, "optimizer": optimizer, "batch": batch, "lr": lr, "epochs": epochs,
            "seed": seed}


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


DEMO = "transfer.demo"  # {"settings": (...), "frozen": [EpochResult], "scratch": [...], "done": bool, ...}
TIE_POINTS = 2.0  # a gap under this many points is reported as a tie (the spread between seeds is larger)


def demo_inputs() -> dict[str, Any]:
    """Draw the demo's settings from the page's model; return {samples, epochs, seed}."""
    left, middle, right = st.columns(3)
    samples = int(left.number_input("Images of each new digit to train on", 1, 50, step=1,
                                    **state.bind("transfer.demo.samples", demo.DEFAULT_SAMPLES_PER_CLASS,
                                                 _is_int(1, 50))))
    epochs = int(middle.number_input("Epochs", 1, 100, step=1, **state.bind(
        "transfer.demo.epochs", demo.DEFAULT_CONFIG.epochs, _is_int(1, 100))))
    seed = int(right.number_input("Seed", 0, 10_000, step=1, **state.bind("transfer.demo.seed", 0,
                                                                          _is_int(0, 10_000))))
    return {"samples": samples, "epochs": epochs, "seed": seed}


def run_demo(settings: dict[str, Any]) -> None:
    """Run the digits demo with a progress bar and live curves; keep every epoch in the page's model as it comes,
    so a stop (any click reruns the page and ends this run) keeps what was trained so far."""
    config = replace(demo.DEFAULT_CONFIG, epochs=settings["epochs"], seed=settings["seed"])
    record = {"settings": settings, "frozen": [], "scratch": [], "done": False}
    state.put(DEMO, record)
    stop = st.empty()  # shown while the demo runs, removed when it ends
    stop.button("Stop (keeps what was trained so far)", icon=":material/stop:", key=state.widget_key("transfer.demo.stop"),
                help="Any click reruns the page, which ends this run; every epoch so far is kept.")
    bar = st.progress(0.0, text="Training the frozen network's new head...")
    live = st.empty()
    total = 2 * config.epochs

    def on_epoch(run: str, result: Any) -> None:
        record[run].append(result)
        done = len(record["frozen"]) + len(record["scratch"])
        bar.progress(done / total, text=f"{run}: epoch {result.epoch} of {config.epochs}, held out "
                                        f"{result.held_out_accuracy:.1%}")
        live.plotly_chart(charts.demo_curves(record["frozen"], record["scratch"]), key=f"transfer.demo.live.{done}")

    result = demo.run_demo(settings["samples"], config, on_epoch=on_epoch)
    record.update(done=True, seconds=result.seconds, held_out_images=result.held_out_images,
                  evaluation=finetune.evaluate(result.frozen_model, result.held_x, result.held_y, result.classes))
    bar.empty()
    live.empty()
    stop.empty()


def demo_verdict(record: dict[str, Any]) -> str:
    """Return what the demo measured, in one sentence from its numbers (a tie is called a tie)."""
    frozen, scratch = record["frozen"][-1].held_out_accuracy, record["scratch"][-1].held_out_accuracy
    gap = 100 * (frozen - scratch)
    if abs(gap) < TIE_POINTS:
        return (f"A tie: frozen {frozen:.1%} against scratch {scratch:.1%} held out ({gap:+.1f} points, within the "
                f"spread between seeds). LeNet-5 learns these clean 8x8 digits from few images, and what it learned "
                f"on 0-4 carries little to 5-9: transfer pays when the new task is hard and its data scarce.")
    winner = "the frozen features" if gap > 0 else "training from scratch"
    return (f"{winner[0].upper() + winner[1:]} won by {abs(gap):.1f} points: frozen {frozen:.1%} against scratch "
            f"{scratch:.1%} held out. Try other seeds before drawing a conclusion: the spread between seeds is "
            f"several points.")
