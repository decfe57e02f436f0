"""Transfer learning: plan what to freeze in any registry network, and what a training step then costs."""

import pandas as pd
import streamlit as st

from explorer import charts, ui
from explorer.errors import ExplorerError
from explorer.stages import find_stages
from explorer.ui import transfer as page
from explorer.ui.messages import show_error
from explorer.units import human, human_bytes

st.title("Transfer learning")
st.write("Start from a network trained on a large dataset instead of from scratch: keep what its early layers learned "
         "(frozen), replace its last layer by a new head for your classes, and train only what you choose. The plan "
         "below counts, for any network, what stays frozen, what trains and what one training step costs, exactly "
         "(on the meta device, nothing allocated).")

choice = ui.architecture_picker(custom_input=False)
try:
    report = ui.cached_analysis(choice)
except ExplorerError as error:
    show_error(str(error))
    st.stop()
inputs = page.planner_inputs(len(find_stages(report)))
try:
    with st.spinner("Planning on the meta device (a forward and a backward pass)..."):
        plan = page.cached_plan(choice, inputs)
except ExplorerError as error:
    show_error(str(error))
    st.stop()

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
                               page.OPTIMIZER_LABELS[plan.optimizer])
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
