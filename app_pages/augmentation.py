"""Augmentation: build a pipeline, see N seeded samples of your image, and whether the network still agrees."""

import streamlit as st

from explorer import charts, ui
from explorer.activations import agreement
from explorer.augment import AugmentError, sample_grid, step_by_step, to_code, to_json
from explorer.errors import ExplorerError
from explorer.images import fit_within, for_display, photo_caveat
from explorer.ui import state
from explorer.ui.messages import show_error
from explorer.ui.pipeline_editor import pipeline_editor
from explorer.weights import WeightSource

MAX_SIDE = 512

st.title("Augmentation")
st.caption("Mirroring, random cropping and colour shifting (the course's three), and more, on your own image.")
ui.device_picker()  # the network's check runs there

ui.apply_link()  # the network picker sits in a collapsed section: a link's notes belong up here
picture = ui.image_input(key="augment.image")
if picture is None:
    st.stop()
image = fit_within(picture.image, MAX_SIDE)

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
            predictions = ui.classified_once("augment.predictions", choice, weights, ui.selected_device(),
                                             [image, *samples], (picture.digest, to_json(steps), int(seed), count))
        except ExplorerError as error:
            show_error(str(error))
    if predictions:
        if weights.source == WeightSource.RANDOM:
            st.warning("Random weights: the classes are arbitrary, so whether they agree means nothing.")
        if caveat := photo_caveat(choice.spec.display_name, choice.spec.input_shape[0]):
            st.info(caveat)
        kept, total = agreement(predictions)
        st.metric(f"Samples that keep the original's top-1 class ({choice.spec.display_name})",
                  f"{kept} of {total}", border=True,
                  help=f"original: {predictions[0][0]} ({predictions[0][1]:.0%})")

TILE_SIDE = 400  # a sample or a step is drawn at most about 300 px wide: sent at that size, twice for sharp screens
left, right = st.columns([1, 3])
guesser = f"{choice.spec.display_name} guesses " if predictions else ""
caption = "original" + (f" · {guesser}{predictions[0][0]} {predictions[0][1]:.1%}" if predictions else "")
left.image(for_display(image), caption=caption, width="stretch")
with right:
    for row_start in range(0, count, 4):
        columns = st.columns(4)
        for offset, sample in enumerate(samples[row_start:row_start + 4]):
            index = row_start + offset
            label = f"sample {index + 1}"
            if predictions:
                name, probability = predictions[index + 1]
                label += f" · {name} {probability:.1%}"
            columns[offset].image(for_display(sample, TILE_SIDE), caption=label, width="stretch")

# One of the two at a time (lazy tabs): the steps' images and the histogram figure are drawn again on every run.
steps_tab, histograms_tab = state.lazy_tabs("augment.view", ["Step by step (sample 1)",
                                                             "Colour histograms: original against sample 1"])
if steps_tab.open:
    with steps_tab:
        for row_start in range(0, len(stages), 8):  # rows of 8, so a long pipeline's steps stay readable
            for column, (label, stage_image) in zip(st.columns(8), stages[row_start:row_start + 8]):
                column.image(for_display(stage_image, TILE_SIDE), caption=label, width="stretch")
if histograms_tab.open:
    with histograms_tab:
        st.plotly_chart(charts.rgb_histograms_chart(image, samples[0]))

st.subheader("The pipeline as code")
st.code(to_code(steps), language="python")
st.download_button("Pipeline as JSON", to_json(steps), "pipeline.json", "application/json", icon=":material/download:",
                   on_click="ignore")
