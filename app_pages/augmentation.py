"""Augmentation: build a pipeline, see N seeded samples of your image, and whether the network still agrees."""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from explorer import ui
from explorer.activations import classify
from explorer.augment import (
    AugmentError,
    rgb_histograms,
    sample_grid,
    step_by_step,
    to_code,
    to_json,
)
from explorer.errors import ExplorerError
from explorer.ui import state
from explorer.ui.messages import show_error
from explorer.ui.pipeline_editor import pipeline_editor
from explorer.weights import RANDOM

MAX_SIDE = 512

st.title("Augmentation")
st.caption("Mirroring, random cropping and colour shifting (the course's three), and more, on your own image.")

ui.apply_link()  # the network picker sits in a collapsed section: a link's notes belong up here
picture = ui.image_input(key="augment.image")
if picture is None:
    st.stop()
image = picture.image
if max(image.size) > MAX_SIDE:
    image = image.copy()
    image.thumbnail((MAX_SIDE, MAX_SIDE))

steps = pipeline_editor("augment.pipeline")
controls = st.columns([2, 1, 1])
count = controls[0].slider("Samples", 1, 32, **state.bind("augment.count", 8, lambda n: 1 <= n <= 32))
seed = controls[1].number_input("Seed", 0, 10**6, **state.bind("augment.seed", 0, lambda n: 0 <= n <= 10**6))
controls[2].button("Reshuffle", icon=":material/shuffle:",
                   on_click=lambda: state.put("augment.seed", (state.get("augment.seed", 0) + 1) % (10**6 + 1)))

try:
    with st.spinner(f"Drawing {count} samples..."):
        samples = sample_grid(image, steps, count, int(seed))
        stages = step_by_step(image, steps, int(seed) * 1000)
except (AugmentError, ExplorerError) as error:
    show_error(str(error))
    st.stop()

predictions = None
with st.expander("Does the network still agree?", expanded=False):
    choice = ui.architecture_picker(custom_input=False)
    weights = ui.weights_picker(choice.name, "augment.weights")
    asked = st.toggle(f"Classify the original and every sample with {choice.spec.display_name}",
                      **state.bind("augment.classify", False))
    if weights is not None and asked:
        try:
            model_key = (choice.name, ui.config_items(choice.config), weights.source, ui.selected_device(),
                         weights.digest)
            loaded = ui.cached_model(*model_key, _upload=weights.upload)
            # a rerun that changes none of these (a download, another section's widget) reuses the answer
            asked_for = (model_key, picture.digest, to_json(steps), int(seed), count)
            remembered = state.get("augment.predictions", None)
            if remembered is not None and remembered[0] == asked_for:
                predictions = remembered[1]
            else:
                bar = st.progress(0.0, text="Classifying...")
                predictions = classify(loaded, [image, *samples], progress=lambda done, total: bar.progress(
                    done / total, text=f"Classified {done} of {total} images"))
                bar.empty()
                state.put("augment.predictions", (asked_for, predictions))
        except ExplorerError as error:
            show_error(str(error))
    if predictions:
        if weights.source == RANDOM:
            st.warning("Random weights: the classes are arbitrary, so whether they agree means nothing.")
        if choice.spec.input_shape[0] == 1:
            st.info(f"{choice.spec.display_name} knows only what it was trained on (handwritten digits, seen in "
                    f"grayscale): on a photo its guesses say little. Pick a network trained on photos above.")
        kept = sum(1 for name, _ in predictions[1:] if name == predictions[0][0])
        st.metric(f"Samples that keep the original's top-1 class ({choice.spec.display_name})",
                  f"{kept} of {count}", border=True,
                  help=f"original: {predictions[0][0]} ({predictions[0][1]:.0%})")

left, right = st.columns([1, 3])
guesser = f"{choice.spec.display_name} guesses " if predictions else ""
caption = "original" + (f" · {guesser}{predictions[0][0]} {predictions[0][1]:.1%}" if predictions else "")
left.image(image, caption=caption, width="stretch")
with right:
    for row_start in range(0, count, 4):
        columns = st.columns(4)
        for offset, sample in enumerate(samples[row_start:row_start + 4]):
            index = row_start + offset
            label = f"sample {index + 1}"
            if predictions:
                name, probability = predictions[index + 1]
                label += f" · {name} {probability:.1%}"
            columns[offset].image(sample, caption=label, width="stretch")

st.subheader("Step by step (sample 1)")
for row_start in range(0, len(stages), 8):  # rows of 8, so a long pipeline's steps stay readable
    for column, (label, stage_image) in zip(st.columns(8), stages[row_start:row_start + 8]):
        column.image(stage_image, caption=label, width="stretch")

st.subheader("Colour histograms: original against sample 1")
figure = go.Figure()
for label, picture_ in (("original", image), ("sample 1", samples[0])):
    for colour, counts in rgb_histograms(picture_).items():
        figure.add_trace(go.Scatter(x=np.arange(256), y=counts, name=f"{label} {colour}", mode="lines",
                                    line=dict(color=colour, dash="solid" if label == "original" else "dot")))
figure.update_layout(height=320, xaxis_title="value", yaxis_title="pixels", margin=dict(t=20, b=10, l=10, r=10))
st.plotly_chart(figure)

st.subheader("The pipeline as code")
st.code(to_code(steps), language="python")
st.download_button("Pipeline as JSON", to_json(steps), "pipeline.json", "application/json", icon=":material/download:",
                   on_click="ignore")
