"""Feature maps: upload an image, pick a network, its weights and a layer; see what that layer computes."""


import streamlit as st

from explorer import charts, ui
from explorer import budget
from explorer.activations import (
    capture_points,
    class_scores,
    first_conv_weight,
    top_k,
)
from explorer.errors import ExplorerError
from explorer.formats import human_bytes
from explorer.images import default_sample
from explorer.montage import (
    COLORMAPS,
    as_jpeg,
    channel_statistics,
    filter_tiles,
    montage,
    overlay,
)
from explorer.ui import state
from explorer.ui.messages import MAX_WORD, cut, literal, show_error, show_success
from explorer.weights import RANDOM

st.title("Feature maps")
st.caption("Run a real forward pass on your image and look at what any layer computes.")

choice = ui.architecture_picker(custom_input=False)
items = ui.config_items(choice.config)
device = ui.selected_device()

weights = ui.weights_picker(choice.name, "feature_maps.weights")
if weights is None:
    st.stop()
source = weights.source

picture = ui.image_input("feature_maps.image", default_sample=default_sample(choice.spec.input_shape[0]))
if picture is None:
    st.stop()

try:
    with st.spinner("Building the model and loading its weights..."):
        loaded = ui.cached_model(choice.name, items, source, device, weights.digest, _upload=weights.upload)
    report = ui.cached_analysis(choice.name, items, None)
except ExplorerError as error:
    show_error(str(error))
    st.stop()

if source == RANDOM:
    st.warning("Random weights: the maps show how the network transforms the image, not features it has "
               "learned, and any prediction means nothing.", icon=":material/casino:")
else:
    show_success(loaded.description, icon=":material/check_circle:")  # an upload's description names its file

left, right = st.columns([1, 2])
with left:
    size = f"{picture.image.width}x{picture.image.height}"
    st.image(picture.image, caption=f"{literal(cut(picture.name, MAX_WORD))}: {size}", width="stretch")
    view = loaded.preprocessing.network_view(picture.image)
    st.image(view.resize((max(view.width, 160), max(view.height, 160))), caption="What the network sees")
with right:
    st.markdown("**Preprocessing** (" + loaded.preprocessing.source + ")")
    st.markdown("\n".join(f"{i}. {step}" for i, step in enumerate(loaded.preprocessing.describe(), 1)))
    inputs = loaded.preprocessing.tensor(picture.image)

points = capture_points(loaded.model, report.calls())
labels = {p.name: p.label for p in points}
names = [p.name for p in points]
first_conv = next((row.name for row in report.leaves() if row.type == "Conv2d"), names[0])
point = st.selectbox("Layer or branch point", names, format_func=labels.get,
                     help="Any module, each call of a module called more than once, and the shortcut and the sum "
                          "of residual blocks",
                     **state.bind(f"feature_maps.point.{choice.name}", first_conv, lambda name: name in labels))
predict = loaded.categories is not None
try:
    with st.spinner(f"Running {choice.spec.display_name} on {device}..."):
        result = ui.cached_capture((choice.name, items, source, device, weights.digest), picture.digest, (point,),
                                   not predict, _loaded=loaded, _inputs=inputs)
except ExplorerError as error:
    show_error(str(error))
    st.stop()
activation = result.activations[point][0]
how = "stopped once the layer was reached" if result.stopped_early else "ran to the end"
st.caption(f"Forward pass on {device}: {result.seconds * 1000:.1f} ms ({how}). "
           f"Output of {labels[point]}: {'x'.join(map(str, activation.shape))}. "
           f"Memory: {human_bytes(loaded.cost.parameter_bytes)} of weights and about "
           f"{human_bytes(loaded.cost.activation_bytes(1))} for the pass, within this server's budget of "
           f"{human_bytes(budget.limits().memory_bytes)}.")

if predict and result.output is not None:
    st.plotly_chart(charts.predictions_chart(top_k(class_scores(loaded.model, result.output), loaded.categories)))

if activation.dim() == 3:
    count = activation.shape[0]
    controls = st.columns(4)
    normalisation = controls[0].radio("Normalise", ["channel", "shared"], horizontal=True,
                                      help="channel: each tile uses its own range; shared: one range for all",
                                      **state.bind("feature_maps.normalise", "channel"))
    colormap = controls[1].selectbox("Colormap", COLORMAPS, **state.bind("feature_maps.colormap", COLORMAPS[0],
                                                                          lambda name: name in COLORMAPS))
    sort = controls[2].checkbox("Sort by mean activation", **state.bind("feature_maps.sort", False))
    per_page = 64
    pages = (count + per_page - 1) // per_page
    page = controls[3].number_input(f"Page (of {pages})", 1, pages, **state.bind(
        f"feature_maps.page.{choice.name}.{point}", 1, lambda n: 1 <= n <= pages)) - 1 if pages > 1 else 0
    shown = min(per_page, count)
    tiles = montage(activation, normalisation, colormap, sort, int(page), per_page,
                    min_tile=max(48, 720 // max(1, int(shown ** 0.5 + 0.999))))
    first, last = int(page) * per_page, min(count, (int(page) + 1) * per_page)
    st.image(as_jpeg(tiles.image), caption=f"Channels {first}-{last - 1} of {count}"
             + (" (sorted by mean activation)" if sort else ""), width="content")
    channel = st.number_input("Channel to inspect", 0, count - 1, **state.bind(
        f"feature_maps.channel.{choice.name}.{point}", tiles.channels[0], lambda c: 0 <= c < count))
    heat, blend = st.columns(2)
    heat.plotly_chart(charts.channel_heatmap(activation[channel], f"Channel {channel}", colormap))
    blend.image(overlay(view.convert("RGB"), activation[channel], colormap), width="stretch",
                caption=f"Channel {channel} over the image the network sees")
    st.plotly_chart(charts.channel_statistics_chart(channel_statistics(activation),
                                                    f"Per-channel statistics of {point}"))
else:
    st.plotly_chart(charts.values_chart(activation, f"{point}: not a spatial map"))

conv = first_conv_weight(loaded.model)
if conv is not None:
    with st.expander(f"First-layer filters ({conv[0]}: {'x'.join(map(str, conv[1].shape))})", expanded=False):
        st.image(filter_tiles(conv[1]), caption="Each tile is one filter; colour when the input has 3 channels")
