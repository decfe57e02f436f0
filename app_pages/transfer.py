"""Transfer learning: plan what to freeze in any registry network and what a training step then costs; fine-tune it
on your own images; and the offline digits demo."""

import pandas as pd
import streamlit as st

from explorer import charts, ui
from explorer.errors import ExplorerError
from explorer.stages import find_stages
from explorer.transfer.data import KEEP_SIDE
from explorer.ui import finetune as fine
from explorer.ui import state
from explorer.ui import transfer as page
from explorer.ui.messages import show_error
from explorer.units import human, human_bytes

st.title("Transfer learning")
st.write("Start from a network trained on a large dataset instead of from scratch: keep what its early layers learned "
         "(frozen), replace its last layer by a new head for your classes, and train only what you choose. Plan counts, "
         "for any network, what stays frozen, what trains and what one training step costs, exactly (on the meta "
         "device, nothing allocated); Your images trains it for real on your classes; the Digits demo shows the "
         "idea offline.")
ui.device_picker()  # Your images trains there

plan_tab, images_tab, demo_tab = state.lazy_tabs("transfer.tab", ["Plan", "Your images", "Digits demo (offline)"])
with demo_tab:
    if demo_tab.open:
        st.write("The course's point, measured: the bundled LeNet-5 trained on the digits 0-4 only (scikit-learn's "
                 "digits) gets a new head for 5-9, trained on a few images of each with its convolutions frozen; the "
                 "same network trained from scratch on the same images, epochs and optimizer is the comparison. "
                 "Every other image of 5-9 is held out.")
        settings = page.demo_inputs()
        if st.button("Run the demo", icon=":material/play_arrow:", key=state.widget_key("transfer.demo.run")):
            try:
                page.run_demo(settings)
            except ExplorerError as error:
                show_error(str(error))
        record = state.get(page.DEMO, None)
        if record and record["frozen"]:
            st.plotly_chart(charts.demo_curves(record["frozen"], record["scratch"]))
            if record["done"]:
                st.info(page.demo_verdict(record), icon=":material/science:")
                evaluation = record["evaluation"]
                st.caption(f"Trained on {record['settings']['samples']} images of each digit, held out "
                           f"{record['held_out_images']}; both runs took {record['seconds']:.1f} s. Per digit, the "
                           f"frozen network: " + ", ".join(f"{digit}: {accuracy:.0%}" for digit, accuracy
                                                           in evaluation.per_class_accuracy.items()) + ".")
            else:
                st.warning(f"Stopped after {len(record['frozen'])} frozen and {len(record['scratch'])} scratch "
                           f"epochs; the curves show what was trained.")


def show_plan() -> None:
    """The planner: the network, the freeze policy, and what a training step then trains and costs."""
    choice = ui.architecture_picker(custom_input=False)
    try:
        report = ui.cached_analysis(choice)
    except ExplorerError as error:
        show_error(str(error))
        return
    inputs = page.planner_inputs(len(find_stages(report)))
    try:
        with st.spinner("Planning on the meta device (a forward and a backward pass)..."):
            plan = page.cached_plan(choice, inputs)
    except ExplorerError as error:
        show_error(str(error))
        return

    st.markdown(f"**Head replaced:** `{plan.head.name}` ({plan.head.type} {plan.head.shape}) becomes a new "
                f"{plan.new_head.type} {plan.new_head.shape}, found as the last layer with weights on the output path.")
    with ui.widgets.metric_row():
        ui.widgets.labelled_metric("Trainable", human(plan.trainable_params),
                                   f"{plan.trainable_params:,} of {plan.total_params:,} · frozen {plan.frozen_params:,}")
        ui.widgets.labelled_metric("Forward MACs", human(plan.forward_macs), f"{plan.forward_macs:,} (every layer)")
        ui.widgets.labelled_metric("Backward MACs", human(plan.backward_macs),
                                   f"{plan.backward_macs:,} (only through what trains)")
        ui.widgets.labelled_metric("Training step", human(plan.training_step_macs),
                                   f"{plan.training_step_macs:,} MACs · {2 * plan.training_step_macs:,} FLOPs")
        ui.widgets.labelled_metric("Gradients", human_bytes(plan.gradient_bytes), "one per trainable weight")
        ui.widgets.labelled_metric("Optimizer state", human_bytes(plan.optimizer_state_bytes),
                                   f"{page.OPTIMIZER_LABELS[plan.optimizer]}: {page.OPTIMIZER_STATE[plan.optimizer]}")
        ui.widgets.labelled_metric("Activations kept", human_bytes(plan.activation_bytes),
                                   f"{human_bytes(plan.activation_bytes_unfrozen)} with nothing frozen: "
                                   f"{human_bytes(plan.activation_bytes_saved)} saved")
    st.caption(f"At batch {inputs['batch']}, input {'x'.join(map(str, plan.input_shape[1:]))}. Backward MACs count the "
               "input gradients of every layer after the first one that trains and the weight gradients of the layers "
               "that train (counted from a real backward pass on the meta device). Activations kept: the peak of live "
               "tensors in a forward pass that keeps what backward needs.")

    frame = pd.DataFrame(plan.rows())
    for column in ("params", "trainable", "frozen", "forward MACs", "backward MACs"):
        frame[column] = frame[column].map(lambda value: f"{value:,}")
    frame["stage"] = frame["stage"].astype(str)
    st.dataframe(frame, hide_index=True)
    st.plotly_chart(charts.freeze_plan_chart(plan))


def show_your_images() -> None:
    """Fine-tune for real: your images, the network and its weights, the settings, the run, and the results."""
    st.write("Teach a network your own classes: give a few images of each, keep what it learned on a large dataset "
             "(frozen) and train a new head on yours, on the sidebar's device.")
    source = fine.data_input()
    dataset = fine.read_dataset(source, KEEP_SIDE) if source is not None else None
    if dataset is not None:
        fine.show_dataset(dataset)
        st.markdown("**Network and weights**")
        fine.training_section(ui.architecture_picker(custom_input=False), source, dataset)
    fine.show_results()


with plan_tab:
    if plan_tab.open:
        show_plan()
with images_tab:
    if images_tab.open:
        show_your_images()
