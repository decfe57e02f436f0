"""Shared widgets: the device picker, the totals, the image input and the weights picker (state in explorer.ui.state)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image

from explorer.analysis import ModelReport, format_shape
from explorer.devices import available_devices
from explorer.errors import ExplorerError
from explorer.formats import human, human_bytes
from explorer.images import NOTE_KEY, UPLOAD_TYPES, load_image, sample_images
from explorer.weights import (
    BUNDLED,
    PRETRAINED,
    RANDOM,
    SOURCE_LABELS,
    UPLOADED,
    WeightsUnavailableError,
    available_sources,
    ensure_pretrained_cached,
)
from explorer.ui import state
from explorer.ui.messages import plain, show_error


def device_picker() -> str:
    """Show the compute-device selectbox in the sidebar; return the chosen device id."""
    devices = available_devices()
    labels = {device.id: device.label for device in devices}
    if st.session_state.get("device") not in labels:
        st.session_state["device"] = devices[0].id
    return st.sidebar.selectbox("Compute device", list(labels), format_func=labels.get, key="device",
                                help="Where real forward passes run (feature maps, timings). Analysis needs "
                                     "no device: it runs on PyTorch's meta device, without memory or compute.")


def selected_device() -> str:
    """Return the device id chosen in the sidebar (cpu before the picker has run)."""
    return st.session_state.get("device", "cpu")


METRIC_WIDTH = 220  # metrics sit side by side while they fit and wrap onto new rows when they do not


def metric_row():
    """Return a container whose children sit side by side and wrap onto new rows in a narrow window."""
    return st.container(horizontal=True, wrap=True, gap="small")


def labelled_metric(label: str, value: str, caption: str = "", help: str | None = None) -> None:
    """Show one bordered metric with an exact caption under it, METRIC_WIDTH wide (inside metric_row())."""
    with st.container(width=METRIC_WIDTH, gap=None):
        st.metric(label, value, border=True, help=help)
        if caption:
            st.caption(caption)


def show_totals(report: ModelReport) -> None:
    """Show the report's totals as metrics: params, MACs, FLOPs, memory and shapes, each with exact figures."""
    with metric_row():
        labelled_metric("Parameters", human(report.total_params),
                        f"{report.total_params:,} · trainable {report.trainable_params:,} · "
                        f"frozen {report.frozen_params:,}",
                        help=f"{report.total_params:,} in all: {report.trainable_params:,} trainable, "
                             f"{report.frozen_params:,} frozen")
        labelled_metric("MACs (multiply-accumulates)", human(report.total_macs), f"{report.total_macs:,} MACs",
                        help="Multiply-accumulates of convolutions, linear layers, matmuls and attention, batch 1")
        labelled_metric("FLOPs (= 2 x MACs)", human(report.total_flops), f"{report.total_flops:,} FLOPs",
                        help="Each multiply-accumulate is two floating-point operations")
        labelled_metric("Activation memory (batch 1)", human_bytes(report.activation_bytes),
                        f"{report.activation_bytes:,} bytes",
                        help="Sum of the distinct outputs of the leaf layers at batch 1 (float32)")
        labelled_metric("Parameter memory", human_bytes(report.param_bytes), f"{report.param_bytes:,} bytes")
        labelled_metric("Output shape (CxHxW)", format_shape(report.output_shape),
                        f"input {format_shape(report.input_shape)}, batch 1")


@dataclass
class ChosenImage:
    """An image a person picked: the RGB picture, a digest of its bytes (a cache key) and its name."""

    image: Image.Image
    digest: str
    name: str


def _keep_upload(model_key: str, upload: Any) -> None:
    """An uploader's on_change: keep the new file in the model; clearing the uploader forgets it."""
    state.put(model_key, None if upload is None else (upload.name, upload.getvalue()))


def upload_input(label: str, model_key: str, types: list[str], **kwargs: Any) -> tuple[str, bytes] | None:
    """Draw a file uploader whose file is kept in the model at ``model_key``; return (name, bytes) or None.

    A file uploader cannot be set from session state, so when it comes back empty (it was hidden in an
    earlier run) the kept file is named under it and still used, until another file replaces it.
    """
    key = state.widget_key(model_key)
    upload = st.file_uploader(label, type=types, key=key, on_change=lambda: _keep_upload(model_key, st.session_state[key]),
                              **kwargs)
    kept = state.get(model_key, None)
    if upload is not None and (kept is None or (kept[0], len(kept[1])) != (upload.name, upload.size)):
        _keep_upload(model_key, upload)  # a file that arrived without a change event: copy it once, not per run
        kept = state.get(model_key, None)
    if kept is not None and upload is None:
        st.caption(f"Using {plain(kept[0])}, uploaded earlier. Upload another file to replace it.")
    return kept


def image_input(key: str = "image", default_sample: str = "cat") -> ChosenImage | None:
    """Show the image input of a page (a bundled sample or an upload); return the image, or None after a message.

    The mode, the sample and the upload are the page's model (``key``.mode/.sample/.upload). The sample
    follows ``default_sample`` (the current network's) until the person picks one.
    """
    samples = sample_images()
    names = list(samples)
    mode = st.radio("Image", ["Sample", "Upload"], horizontal=True, **state.bind(f"{key}.mode", "Sample"))
    if mode == "Upload":
        upload = upload_input("PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF", f"{key}.upload", UPLOAD_TYPES)
        if upload is None:
            st.info("Choose an image file, or switch to a sample.")
            return None
        name, data = upload
    else:
        chosen = st.session_state.get(f"{key}.sample")
        name = st.selectbox("Sample image", names, help="Public-domain or CC0 photos; see assets/images/ATTRIBUTION.md",
                            **state.bind_to(state.widget_key(f"{key}.sample"),
                                            chosen if chosen in names else
                                            (default_sample if default_sample in names else names[0]),
                                            lambda new: state.put(f"{key}.sample", new)))
        data = samples[name].read_bytes()
    try:
        image = load_image(data)
    except ExplorerError as error:
        show_error(str(error))
        return None
    if image.info.get(NOTE_KEY):
        st.info(image.info[NOTE_KEY])
    return ChosenImage(image, hashlib.sha256(data).hexdigest(), name)


@dataclass
class WeightsChoice:
    """The weight source a person picked, an uploaded file if any, and its digest (a cache key)."""

    source: str
    upload: tuple[str, bytes] | None = None
    digest: str = ""


def weights_picker(name: str, key: str) -> WeightsChoice | None:
    """Show the weight sources of ``name`` (bundled first where it exists); return the choice.

    The source and an uploaded file are the page's model (``key``.source.NAME, ``key``.upload.NAME).
    Pretrained weights are fetched here, with a progress bar; when they are unavailable the page says so
    and random weights are used. Returns None (after st.info) while an upload is awaited.
    """
    sources = available_sources(name)
    default = BUNDLED if BUNDLED in sources else RANDOM
    source = st.radio("Weights", sources, horizontal=True, format_func=SOURCE_LABELS.get,
                      **state.bind(f"{key}.source.{name}", default, lambda value: value in sources))
    if source == UPLOADED:
        upload = upload_input("A state_dict saved with torch.save(model.state_dict()) or safetensors",
                              f"{key}.upload.{name}", ["pt", "pth", "safetensors"], max_upload_size=600)
        if upload is None:
            st.info("Choose a weights file, or pick another source.")
            return None
        return WeightsChoice(source, upload, hashlib.sha256(upload[1]).hexdigest())
    if source == PRETRAINED:
        bar = st.progress(0.0, text="Looking for the pretrained weights in torch hub's cache...")
        try:
            ensure_pretrained_cached(name, lambda fraction, done: bar.progress(min(fraction, 1.0),
                                                                               text=f"Downloading... {done}"))
        except WeightsUnavailableError as error:
            st.warning(plain(str(error)))
            source = RANDOM
        except ExplorerError as error:
            show_error(str(error))
            source = RANDOM
        finally:
            bar.empty()
    return WeightsChoice(source)
