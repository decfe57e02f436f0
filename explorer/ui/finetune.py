"""The Transfer learning page's "Your images" tab: your images as classes (a zip of class folders, or images
uploaded class by class as in Teachable Machine), a training run on the sidebar's device with a progress bar,
live curves and a stop, and what the fine-tuned model then does.

People's work is kept in :data:`WORK`, shared by the server and bounded by the budget's ``work_cache_bytes``:
decoded datasets (by their files' digests and the side they were read at, so a class reading the same zip
decodes it once) and one fine-tuned model per session. Nothing is written to disk. The page's model
(explorer.ui.state) keeps only small things: the mode, the classes and their uploads, the settings, and the
run's record (settings and per-epoch numbers), so a stop or any other rerun loses nothing.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
import streamlit as st
from PIL import Image

from explorer import budget, charts
from explorer.activations import capture, capture_points, default_point
from explorer.errors import BudgetError, ExplorerError
from explorer.images import MAX_BYTES, UPLOAD_TYPES, default_sample
from explorer.transfer import job as jobs
from explorer.transfer.data import (
    HELD_OUT_SHARE,
    KEEP_SIDE,
    MAX_CLASS_NAME,
    MAX_CLASSES,
    MAX_IMAGES,
    MAX_TOTAL_UNCOMPRESSED,
    MAX_ZIP_BYTES,
    Dataset,
    dataset_from_uploads,
    read_image_folder_zip,
)
from explorer.transfer.finetune import (
    Evaluation,
    EpochResult,
    TrainConfig,
    evaluate,
    fine_tune,
    forward_cost,
    loading_code,
    predict,
    to_safetensors,
)
from explorer.bounded_cache import BoundedCache
from explorer.ui import state
from explorer.ui.maps import activation_views
from explorer.ui.messages import MAX_WORD, cut, literal, show_error
from explorer.stages import find_stages
from explorer.ui.cache import cached_analysis
from explorer.ui.network import ArchitectureChoice
from explorer.ui.transfer import OPTIMIZER_LABELS, POLICY_LABELS, training_inputs
from explorer.ui.widgets import Upload, WeightsChoice, image_input, selected_device, upload_input, weights_picker
from explorer.units import counted, human, human_bytes, human_seconds
from explorer.weights import WeightSource, checkpoint_path, pretrained_weights
from explorer.zoo import Origin, get_spec

WORK: BoundedCache[Any] = BoundedCache(lambda: budget.limits().work_cache_bytes)
RUN = "transfer.run"  # the last run's record: settings, per-epoch results, how it ended (see train)
CLASSES = "transfer.data.classes"  # [{"id", "name", "files": [Upload], "seen": file ids in its uploader, "uploader"}]
MODES = {"zip": "A zip of class folders", "classes": "Images class by class"}
THUMBNAIL = 72  # pixels: the images shown per class and the ones the model got wrong
SHOWN_PER_CLASS = 8
SHOWN_CLASSES = 12
SHOWN_WRONG = 24
PROGRESS_SECONDS = 0.25  # the progress bar is redrawn at most this often within an epoch
LIVE_SECONDS = 1.0  # the live curves are redrawn at most this often


# ---------------------------------------------------------------------------------------------
# Your images


@dataclass(frozen=True)
class DataSource:
    """Where a dataset comes from: what identifies its files (digests and class names), how to decode it at a
    given shorter side, and how to name it."""

    key: tuple
    read: Callable[[int], Dataset] = field(compare=False)
    label: str = ""


def _new_class(number: int) -> dict[str, Any]:
    # "uploader" numbers the class's file uploader: a new number draws a new, empty one (Clear)
    return {"id": number, "name": f"Class {number}", "files": [], "seen": frozenset(), "uploader": 0}


def _classes() -> list[dict[str, Any]]:
    return state.get(CLASSES, [_new_class(1), _new_class(2)])


def _merge_uploads(entry: dict[str, Any], key: str) -> None:
    """A class uploader's on_change: files removed in the uploader leave the class, new ones join it (once each),
    while all classes together hold at most data.MAX_IMAGES images and MAX_TOTAL_UNCOMPRESSED bytes; what is
    beyond that is not kept, and the class's card says so."""
    current = st.session_state.get(key) or []
    now = {upload.file_id for upload in current}
    gone = entry["seen"] - now
    files = [upload for upload in entry["files"] if upload.file_id not in gone]
    others = [upload for other in _classes() if other is not entry for upload in other["files"]]
    count, size = len(others) + len(files), sum(len(upload.data) for upload in [*others, *files])
    digests = {upload.digest for upload in files}
    known = {upload.file_id for upload in files}
    entry["refused"] = 0
    for upload in current:
        if upload.file_id in known or upload.size > MAX_BYTES:
            continue
        if count + 1 > MAX_IMAGES or size + upload.size > MAX_TOTAL_UNCOMPRESSED:
            entry["refused"] += 1
            continue
        kept = Upload.of(upload)
        if kept.digest not in digests:
            files.append(kept)
            digests.add(kept.digest)
            count, size = count + 1, size + len(kept.data)
    entry["files"] = files
    entry["seen"] = now


def _remove_class(entry_id: int) -> None:
    state.put(CLASSES, [entry for entry in _classes() if entry["id"] != entry_id])


def _add_class() -> None:
    classes = _classes()
    state.put(CLASSES, [*classes, _new_class(max((entry["id"] for entry in classes), default=0) + 1)])


def _clear_class(entry: dict[str, Any]) -> None:
    entry.update(files=[], seen=frozenset(), uploader=entry["uploader"] + 1)


def class_uploads() -> DataSource | None:
    """Draw one card per class (its name, an uploader, its images' count) and the buttons that add and remove
    classes (Teachable Machine's flow); return the classes as a DataSource, or None (after st.info) while no class
    has images."""
    classes = _classes()
    for entry in classes:
        prefix = f"transfer.data.class.{entry['id']}"
        with st.container(border=True):
            name_column, files_column = st.columns([1, 2])
            name_column.text_input("Class name", max_chars=MAX_CLASS_NAME, **state.bind_to(
                state.widget_key(f"{prefix}.name"), entry["name"], lambda new, entry=entry: entry.update(name=new)))
            key = state.widget_key(f"{prefix}.files.{entry['uploader']}")
            shown = files_column.file_uploader(
                f"Images of this class, up to {MAX_BYTES // 2**20} MB each", type=UPLOAD_TYPES,
                accept_multiple_files=True, key=key, max_upload_size=MAX_BYTES // 2**20,
                on_change=_merge_uploads, args=(entry, key))
            entry["seen"] = frozenset(upload.file_id for upload in shown or [])
            count = len(entry["files"])
            if entry.get("refused"):
                refused = entry["refused"]
                files_column.warning(f"{refused:,} {'files were' if refused != 1 else 'file was'} not kept: all "
                                     f"classes together hold at most {MAX_IMAGES:,} images and "
                                     f"{human_bytes(MAX_TOTAL_UNCOMPRESSED)}.")
            buttons = name_column.container(horizontal=True)
            buttons.caption(counted(count, "file"))
            buttons.button("Clear", key=state.widget_key(f"{prefix}.clear"), disabled=not count,
                           on_click=_clear_class, args=(entry,), help="Forget this class's images.")
            buttons.button("Remove class", key=state.widget_key(f"{prefix}.remove"), disabled=len(classes) <= 2,
                           on_click=_remove_class, args=(entry["id"],), help="At least two classes are needed.")
    st.button("Add a class", icon=":material/add:", key=state.widget_key("transfer.data.add"), on_click=_add_class,
              disabled=len(classes) >= MAX_CLASSES, help=f"At most {MAX_CLASSES} classes.")
    if not any(entry["files"] for entry in classes):
        st.info("Name each class and add its images: at least two classes with images are needed.")
        return None
    pairs = [(entry["name"], [(upload.name, upload.data) for upload in entry["files"]]) for entry in classes]
    key = ("classes", tuple((entry["name"], tuple(upload.digest for upload in entry["files"])) for entry in classes))
    return DataSource(key, lambda side: dataset_from_uploads(pairs, side), f"{len(classes)} classes uploaded here")


def data_input() -> DataSource | None:
    """Draw the choice of how to give images and its inputs; return the DataSource, or None (after a message)."""
    mode = st.radio("Your images", list(MODES), format_func=MODES.get, horizontal=True,
                    **state.bind("transfer.data.mode", "zip", lambda value: value in MODES))
    if mode == "classes":
        return class_uploads()
    st.caption(f"One folder per class (cats/1.jpg, dogs/7.png, ...), or the same under one top folder, as zipping a "
               f"folder gives; up to {MAX_IMAGES:,} images in up to {MAX_CLASSES} classes. Links, absolute or ../ "
               f"paths and files that are not images are skipped and listed; nothing is written to disk.")
    limit = f"{MAX_ZIP_BYTES // 2**20} MB"
    upload = upload_input("A zip of class folders", "transfer.data.zip", ["zip"], MAX_ZIP_BYTES, limit, "zips")
    if upload is None:
        st.info(f"Choose a zip of class folders (up to {limit}), or add images class by class.")
        return None
    return DataSource(("zip", upload.digest), lambda side: read_image_folder_zip(upload.data, side),
                      cut(upload.name, MAX_WORD))


def read_dataset(source: DataSource, side: int) -> Dataset | None:
    """Return ``source`` decoded at ``side`` (kept in WORK for everyone), or None after showing why it cannot be.

    A refusal is remembered for the session, so a bad zip is not read again on every rerun.
    """
    key = ("dataset", source.key, side)
    refused = state.get("transfer.data.refused", None)
    if refused is not None and refused[0] == key:
        show_error(refused[1])
        return None
    dataset = WORK.find(key)
    if dataset is None:
        try:
            with st.spinner("Reading your images..."):
                dataset = source.read(side)
        except ExplorerError as error:
            state.put("transfer.data.refused", (key, str(error)))
            show_error(str(error))
            return None
        WORK.put(key, dataset, dataset.nbytes())
    return dataset


def _thumbnail(image: Image.Image, side: int = THUMBNAIL) -> Image.Image:
    small = image.copy()
    small.thumbnail((side, side))
    return small


def show_dataset(dataset: Dataset) -> None:
    """Show how many images each class has, a few of each, and every file that was skipped and why."""
    counts = dataset.counts()
    st.markdown(f"**{len(dataset):,} images in {len(dataset.classes)} classes**; {HELD_OUT_SHARE:.0%} of each class "
                f"(at least one image of a class of two or more) is held out to measure the fine-tuned model.")
    left, right = st.columns([1, 2])
    left.dataframe(pd.DataFrame({"class": list(counts), "images": list(counts.values())}), hide_index=True)
    with right:
        for index, name in enumerate(dataset.classes[:SHOWN_CLASSES]):
            images = [image for image, label in zip(dataset.images, dataset.labels) if label == index]
            st.caption(literal(cut(name)))
            st.image([_thumbnail(image) for image in images[:SHOWN_PER_CLASS]], width=THUMBNAIL)
        if len(dataset.classes) > SHOWN_CLASSES:
            st.caption(f"and {len(dataset.classes) - SHOWN_CLASSES} more classes.")
    if dataset.skipped:
        with st.expander(f"{counted(len(dataset.skipped), 'file')} skipped, and why"):
            st.dataframe(pd.DataFrame({"file": [s.name for s in dataset.skipped],
                                       "why": [s.reason for s in dataset.skipped]}), hide_index=True)
    if dataset.ignored:
        st.caption(f"{counted(dataset.ignored, 'system file')} (__MACOSX, .DS_Store, Thumbs.db, ...) passed over.")


# ---------------------------------------------------------------------------------------------
# The network's weights, the settings and the estimate


def weights_input(name: str) -> WeightsChoice | None:
    """Draw the weights to start from (torchvision's pretrained ones by default when they are in torch hub's cache);
    return the choice, or None while an upload is awaited. With random weights, say what that means and where
    transfer learning can be seen offline."""
    weights = pretrained_weights(name)
    cached = weights is not None and checkpoint_path(weights).exists()
    choice = weights_picker(name, "transfer.weights", WeightSource.PRETRAINED if cached else None)
    if choice is not None and choice.source == WeightSource.RANDOM:
        pretrained = ("Choose torchvision's pretrained weights to start from what it learned on ImageNet. "
                      if weights is not None else "")
        st.info(f"Random weights: there are no learned features to transfer. Frozen layers keep their random values, "
                f"so freezing nothing trains the network from scratch. {pretrained}Without internet, the Digits demo "
                f"tab shows transfer learning with weights bundled with the app.", icon=":material/info:")
    return choice


@st.cache_data(show_spinner=False, max_entries=32)
def _estimate(name: str, items: tuple, source: str, policy: str, stage: int | None, train: TrainConfig,
              classes: int, train_images: int, held_images: int, device: str) -> jobs.Estimate:
    job = jobs.Job(name, dict(items), WeightSource(source), jobs.FreezePolicy(policy), stage, train)
    return jobs.estimate(job, classes, train_images, held_images, device)


def estimate(job: jobs.Job, dataset: Dataset, device: str) -> jobs.Estimate:
    """Return jobs.estimate of ``job`` on ``dataset`` (split as the run will split it), once per choice.

    Raises:
        ExplorerError: as jobs.estimate and jobs.split raise.
    """
    train, held = jobs.split(dataset, job.train.seed)
    return _estimate(job.name, tuple(sorted(job.config.items())), str(job.source), str(job.policy), job.stage,
                     job.train, len(dataset.classes), len(train), len(held), device)


def check(cost: jobs.Estimate) -> None:
    """Refuse a run above the budget (jobs.check) or one whose model and images this server could not keep.

    Raises:
        BudgetError: in one sentence.
    """
    jobs.check(cost)
    kept = cost.step.weight_bytes + cost.data_bytes
    limit = budget.limits().work_cache_bytes
    if kept > limit:
        raise BudgetError(f"The fine-tuned {cost.step.label} and its images would take about {human_bytes(kept)}, more "
                          f"than this server keeps of one person's work ({human_bytes(limit)}); use fewer images or "
                          f"a smaller network.")


def show_estimate(cost: jobs.Estimate) -> None:
    """Say what the run trains and what it needs, before it starts."""
    total = cost.trainable_params + cost.frozen_params
    step = cost.step
    batch = (f"batch {step.batch_size}" if step.batch_size == cost.job.train.batch_size else
             f"batch {step.batch_size} (every training image: fewer than the batch size)")
    st.caption(
        f"The new head replaces {cost.head.name} ({cost.head.type} {cost.head.in_features} -> "
        f"{cost.head.out_features}, now -> {cost.classes}); {cost.trainable_params:,} of {total:,} parameters train, "
        f"{cost.frozen_params:,} stay frozen. Per image, {human(cost.forward_macs)} MACs forward and "
        f"{human(cost.backward_macs)} backward. A training step at {batch} keeps {human_bytes(step.kept_bytes)} of "
        f"activations for the backward pass, as Plan counts them; with weights, gradients, optimizer state and the "
        f"budget's margin (activations doubled, plus workspace) it needs about {human_bytes(step.total_bytes)}, and "
        f"the {counted(cost.train_images + cost.held_images, 'preprocessed image')} "
        f"{human_bytes(cost.data_bytes)}, within this server's budget of {human_bytes(budget.limits().memory_bytes)}. "
        f"The multiply-accumulates of {counted(cost.job.train.epochs, 'epoch')} on "
        f"{counted(cost.train_images, 'image')} alone take at least {human_seconds(cost.seconds)} on {cost.device} "
        f"(limit {human_seconds(budget.limits().training_seconds)}).")


def training_section(choice: ArchitectureChoice, source: DataSource, dataset: Dataset) -> None:
    """Draw the weights and the training settings for ``choice``, say what the run would train and need (or why it
    cannot run, in one sentence), and run it when Train is pressed."""
    weights = weights_input(choice.name)
    if weights is None:
        return
    try:
        settings = training_inputs(len(find_stages(cached_analysis(choice))))
        job = jobs.Job(choice.name, dict(choice.config), weights.source, settings["policy"], settings["stage"],
                       TrainConfig(settings["optimizer"], settings["lr"], settings["epochs"], settings["batch"],
                                   settings["seed"]))
        with st.spinner("Planning the run on the meta device..."):
            cost = estimate(job, dataset, selected_device())
        check(cost)
        show_estimate(cost)
        if st.button("Train", type="primary", icon=":material/play_arrow:", key=state.widget_key("transfer.train")):
            train(job, cost, source, weights)
    except ExplorerError as error:
        show_error(str(error))


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class Trained:
    """One session's fine-tuned model in WORK: the run it belongs to, the prepared job, its evaluation once made."""

    run: str
    prepared: jobs.Prepared
    evaluation: Evaluation | None = None


def _session() -> str:
    return state.get("transfer.session", uuid.uuid4().hex)


def _trained(record: dict[str, Any]) -> Trained | None:
    trained = WORK.find(("trained", _session()))
    return trained if trained is not None and trained.run == record["run"] else None


def train(job: jobs.Job, cost: jobs.Estimate, source: DataSource, weights: WeightsChoice) -> None:
    """Load the weights, fine-tune with a progress bar, live curves and a stop button, and evaluate on the held-out
    images. The record (settings, every finished epoch) is in the page's model from the start and the model in
    WORK, so a stop (any click reruns the page, which ends this run) keeps what was trained so far.

    Raises:
        ExplorerError: the images, the weights or the budget refuse (one sentence each).
    """
    dataset = read_dataset(source, jobs.reading_side(job.recipe()))
    if dataset is None:
        return
    train_part, held_part = jobs.split(dataset, job.train.seed)
    bar = st.progress(0.0, text="Loading the weights and preprocessing the images...")
    try:
        prepared = jobs.prepare(cost, train_part, held_part, upload=weights.upload,
                                progress=lambda fraction, done: bar.progress(min(fraction, 1.0),
                                                                             text=f"Downloading the weights... {done}"))
    finally:
        bar.empty()
    run = uuid.uuid4().hex
    trained = Trained(run, prepared)
    if not WORK.put(("trained", _session()), trained, prepared.nbytes):
        raise BudgetError(f"The fine-tuned model and its images take {human_bytes(prepared.nbytes)}, more than this "
                          f"server keeps of one person's work; use fewer images or a smaller network.")
    epochs = job.train.epochs
    record = {"run": run, "job": job, "data": source.label, "device": cost.device, "classes": prepared.classes,
              "train_images": len(train_part), "held_images": len(held_part), "description": prepared.description,
              "trainable": prepared.trainable_params, "frozen": prepared.frozen_params, "epochs": [],
              "done": False, "limited": "", "seconds": 0.0}
    state.put(RUN, record)
    stop = st.empty()  # the button and its note, removed when the run ends
    with stop.container():
        st.button("Stop (keeps what was trained so far)", icon=":material/stop:", key=state.widget_key("transfer.stop"))
        st.caption("Training runs while this page waits: Stop, or any other click here (another tab or page, a "
                   "widget), ends the run, and the model keeps what it learned.")
    bar = st.progress(0.0, text=f"Epoch 1 of {epochs}...")
    live = st.empty()
    shown = [0.0]
    drawn = [0.0]

    def on_batch(epoch: int, done: int, total: int) -> None:
        if time.monotonic() - shown[0] >= PROGRESS_SECONDS or done == total:
            shown[0] = time.monotonic()
            bar.progress(min(1.0, (epoch - 1 + done / total) / epochs),
                         text=f"Epoch {epoch} of {epochs}: {done:,} of {total:,} images")

    def on_epoch(result: EpochResult) -> None:
        record["epochs"].append(result)
        bar.progress(result.epoch / epochs, text=f"Epoch {result.epoch} of {epochs}: held-out accuracy "
                                                 f"{result.held_out_accuracy:.1%}")
        if time.monotonic() - drawn[0] >= LIVE_SECONDS:  # a chart takes a browser ~0.1 s to draw: not every epoch
            drawn[0] = time.monotonic()
            live.plotly_chart(charts.training_curves(record["epochs"]), key=f"transfer.live.{result.epoch}")

    history = fine_tune(prepared.model, prepared.train_x, prepared.train_y, prepared.held_x, prepared.held_y,
                        job.train, on_epoch, cost.step.label, on_batch, budget.limits().training_seconds)
    record.update(done=not history.stopped, limited=history.limited, seconds=history.seconds)
    bar.progress(1.0, text="Measuring the held-out images...")
    trained.evaluation = evaluate(prepared.model, prepared.held_x, prepared.held_y, prepared.classes)
    for element in (bar, live, stop):
        element.empty()


# ---------------------------------------------------------------------------------------------
# Results


WEIGHTS_WORDS = {WeightSource.RANDOM: "random weights", WeightSource.BUNDLED: "the weights bundled with the app",
                 WeightSource.PRETRAINED: "torchvision's pretrained weights", WeightSource.UPLOADED: "uploaded weights"}


def _settings(record: dict[str, Any]) -> str:
    job: jobs.Job = record["job"]
    freeze = POLICY_LABELS[job.policy].lower() + (f" (k = {job.stage})" if job.stage else "")
    return (f"{get_spec(job.name).display_name} from {WEIGHTS_WORDS[WeightSource(job.source)]}, frozen: {freeze}; "
            f"{OPTIMIZER_LABELS[job.train.optimizer]}, learning rate {job.train.lr:g}, batch "
            f"{job.train.batch_size}, seed {job.train.seed}; {record['train_images']:,} images trained on, "
            f"{record['held_images']:,} held out, on {record['device']}.")


def show_results() -> None:
    """Show the last run: how it ended, its curves, and what the fine-tuned model does on held-out images, on a new
    image and inside; its weights to download and the code that loads them."""
    record = state.get(RUN, None)
    if record is None:
        return
    st.subheader("The fine-tuned model")
    st.caption(f"Trained on {literal(record['data'])}: {_settings(record)}")
    finished = len(record["epochs"])
    if record["limited"]:
        st.warning(record["limited"])
    elif not record["done"]:
        st.warning(f"Stopped after {finished} of {record['job'].train.epochs} epochs (Stop, or another click on the "
                   f"page while it trained, ends a run): the model keeps everything it learned up to the stop, and "
                   f"what follows is measured on it as it is.")
    else:
        st.caption(f"{counted(finished, 'epoch')} in {human_seconds(record['seconds'])}.")
    if record["epochs"]:
        st.plotly_chart(charts.training_curves(record["epochs"]), key="transfer.curves")
    trained = _trained(record)
    if trained is None:
        st.warning(f"The fine-tuned model is no longer kept: to stay within "
                   f"{human_bytes(budget.limits().work_cache_bytes)} of people's work, the server lets the least "
                   f"recently used go. Train again to use it.")
        return
    try:
        if trained.evaluation is None:  # stopped before its evaluation
            prepared = trained.prepared
            trained.evaluation = evaluate(prepared.model, prepared.held_x, prepared.held_y, prepared.classes)
    except ExplorerError as error:
        show_error(str(error))
        return
    tabs = state.lazy_tabs("transfer.results.tab", ["Held-out images", "Classify an image", "Feature maps",
                                                    "Download"])
    views = (show_evaluation, show_classifier, show_feature_maps, show_download)
    for tab, view in zip(tabs, views):
        with tab:
            if tab.open:
                view(record, trained)


def show_evaluation(record: dict[str, Any], trained: Trained) -> None:
    """Held-out accuracy, per class and as a confusion matrix, and the images it got wrong."""
    evaluation = trained.evaluation
    held = trained.prepared.held
    counts = held.counts()
    st.metric("Held-out accuracy", f"{evaluation.accuracy:.1%}", border=True,
              help=f"{round(evaluation.accuracy * len(held)):,} of {len(held):,} images it never trained on")
    st.dataframe(pd.DataFrame({
        "class": evaluation.classes,
        "held out": [counts[name] for name in evaluation.classes],
        "right": [row[index] for index, row in enumerate(evaluation.confusion)],
        "accuracy": [f"{value:.1%}" if value == value else "—" for value in evaluation.per_class_accuracy.values()],
    }), hide_index=True)
    st.plotly_chart(charts.confusion_matrix(evaluation.classes, evaluation.confusion), key="transfer.confusion")
    if not evaluation.wrong:
        st.success("It classified every held-out image right.", icon=":material/check_circle:")
        return
    shown = evaluation.wrong[:SHOWN_WRONG]
    st.markdown(f"**The held-out {'image' if len(evaluation.wrong) == 1 else 'images'} it got wrong** "
                f"({len(evaluation.wrong):,}" + (f", the first {SHOWN_WRONG} shown)" if len(evaluation.wrong) > SHOWN_WRONG
                                                   else ")"))
    classes = evaluation.classes
    st.image([_thumbnail(held.images[index], 2 * THUMBNAIL) for index in shown], width=2 * THUMBNAIL,
             caption=[literal(f"{cut(classes[held.labels[index]], 20)} taken for "
                              f"{cut(classes[evaluation.predicted[index]], 20)}") for index in shown])


def show_classifier(record: dict[str, Any], trained: Trained) -> None:
    """Classify an image of the person's (a sample or an upload) with the fine-tuned model."""
    prepared = trained.prepared
    picture = image_input("transfer.classify", default_sample=default_sample(prepared.recipe.channels))
    if picture is None:
        return
    left, right = st.columns([1, 2])
    left.image(_thumbnail(prepared.recipe.network_view(picture.image), 224), caption="What the network sees")
    try:
        ranked = predict(prepared.model, prepared.recipe.tensor(picture.image), prepared.classes,
                         k=min(5, len(prepared.classes)))
    except ExplorerError as error:
        show_error(str(error))
        return
    right.plotly_chart(charts.predictions_chart(ranked), key="transfer.predictions")


def show_feature_maps(record: dict[str, Any], trained: Trained) -> None:
    """What any layer of the fine-tuned model computes on a held-out image."""
    prepared = trained.prepared
    held = prepared.held
    labels = [f"{index + 1}: {cut(held.names[index], 40)} ({cut(prepared.classes[held.labels[index]], 30)})"
              for index in range(len(held))]
    index = st.selectbox("Held-out image", range(len(held)), format_func=lambda i: labels[i],
                         **state.bind("transfer.maps.image", 0, lambda value: value in range(len(held))))
    points = capture_points(prepared.model)
    names = {point.name: point.label for point in points}
    point = st.selectbox("Layer or branch point", list(names), format_func=names.get,
                         **state.bind(f"transfer.maps.point.{record['job'].name}",
                                      default_point(prepared.model, points), lambda name: name in names))
    image = held.images[index]
    inputs = prepared.recipe.tensor(image)
    try:
        cost = forward_cost(prepared.model, tuple(inputs.shape[1:]))
        budget.require(cost, 1)
        with budget.running(cost.activation_bytes(1)):
            result = capture(prepared.model, inputs.to(next(prepared.model.parameters()).device), [point])
    except ExplorerError as error:
        show_error(str(error))
        return
    activation_views(result.activations[point][0], prepared.recipe.network_view(image),
                     f"finetuned.{record['job'].name}", point)


def show_download(record: dict[str, Any], trained: Trained) -> None:
    """The fine-tuned weights as safetensors (made when clicked), and the code that loads them."""
    prepared = trained.prepared
    job: jobs.Job = record["job"]
    filename = f"{job.name}_finetuned.safetensors"
    st.download_button("Download the fine-tuned weights (safetensors)", lambda: to_safetensors(prepared.model),
                       file_name=filename, mime="application/octet-stream", icon=":material/download:",
                       on_click="ignore", key=state.widget_key("transfer.download"))
    st.caption(f"{human_bytes(sum(t.numel() * t.element_size() for t in prepared.model.state_dict().values()))}; "
               f"the classes in the order of the model's outputs: " + literal(", ".join(prepared.classes)) + ".")
    config = get_spec(job.name).resolve_config(job.config)
    st.code(loading_code(job.name, config, len(prepared.classes), prepared.head, filename, prepared.model,
                         prepared.classes, prepared.recipe.describe()), language="python")
    if get_spec(job.name).origin != Origin.TORCHVISION:
        st.caption(f"{get_spec(job.name).display_name} is one of this app's own networks: the code needs this "
                   f"project's explorer package on the path.")
