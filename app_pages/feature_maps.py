"""Feature maps: upload an image, pick a network, its weights and a layer; see what that layer computes."""

import streamlit as st

from explorer import budget, charts, ui
from explorer.activations import capture_points, class_scores, default_point, top_k
from explorer.errors import ExplorerError
from explorer.images import default_sample, for_display
from explorer.ui import state
from explorer.ui.maps import activation_views, first_layer_filters
from explorer.ui.messages import MAX_WORD, cut, literal, show_error, show_success
from explorer.units import format_shape, human_bytes
from explorer.weights import WeightSource

st.title("Feature maps")
st.caption("Run a real forward pass on your image and look at what any layer computes.")

choice = ui.architecture_picker(custom_input=False)
device = ui.device_picker()
weights = ui.weights_picker(choice.name, "feature_maps.weights")
if weights is None:
    st.stop()
picture = ui.image_input("feature_maps.image", default_sample=default_sample(choice.spec.input_shape[0]))
if picture is None:
    st.stop()

try:
    with st.spinner("Building the model and loading its weights..."):
        loaded = ui.cached_model(choice, weights, device)
    report = ui.cached_analysis(choice)
except ExplorerError as error:
    show_error(str(error))
    st.stop()

if weights.source == WeightSource.RANDOM:
    st.warning("Random weights: the maps show how the network transforms the image, not features it has "
               "learned, and any prediction means nothing.", icon=":material/casino:")
else:
    show_success(loaded.description, icon=":material/check_circle:")  # an upload's description names its file

left, right = st.columns([1, 2])
with left:
    size = f"{picture.image.width}x{picture.image.height}"
    st.image(for_display(picture.image), caption=f"{literal(cut(picture.name, MAX_WORD))}: {size}", width="stretch")
    view = loaded.preprocessing.network_view(picture.image)
    st.image(for_display(view.resize((max(view.width, 160), max(view.height, 160)))), caption="What the network sees")
with right:
    st.markdown("**Preprocessing** (" + loaded.preprocessing.origin + ")")
    st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(loaded.preprocessing.describe(), 1)))

points = capture_points(loaded.model, report.calls())
labels = {p.name: p.label for p in points}
point = st.selectbox("Layer or branch point", list(labels), format_func=labels.get,
                     help="Any module, each call of a module called more than once, and the shortcut and the sum "
                          "of residual blocks",
                     **state.bind(f"feature_maps.point.{choice.name}", default_point(loaded.model, points),
                                  lambda name: name in labels))
predict = loaded.categories is not None
try:
    with st.spinner(f"Running {choice.spec.display_name} on {device}..."):
        result = ui.cached_capture(choice, weights, device, loaded, picture, (point,), stop_early=not predict)
except ExplorerError as error:
    show_error(str(error))
    st.stop()
activation = result.activations[point][0]
how = "stopped once the layer was reached" if result.stopped_early else "ran to the end"
st.caption(f"Forward pass on {device}: {result.seconds * 1000:.1f} ms ({how}). "
           f"Output of {labels[point]}: {format_shape(activation.shape, drop_batch=False)}. "
           f"Memory: {human_bytes(loaded.cost.parameter_bytes)} of weights and about "
           f"{human_bytes(loaded.cost.activation_bytes(1))} for the pass, within this server's budget of "
           f"{human_bytes(budget.limits().memory_bytes)}.")

if predict and result.output is not None:
    st.plotly_chart(charts.predictions_chart(top_k(class_scores(loaded.model, result.output), loaded.categories)))

activation_views(activation, view, choice.name, point)
first_layer_filters(loaded.model)
