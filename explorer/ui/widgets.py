"""Shared widgets: the device picker, the totals, the image input and the weights picker (state in explorer.ui.state;
what a widget does when it cannot give what was asked: explorer.ui.messages)."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image

from explorer.analysis import ModelReport
from explorer.devices import DeviceUnavailableError, available_devices, configure_threads, resolve_device
from explorer.errors import ExplorerError
from explorer.formats import TOTAL_LABELS
from explorer.images import MAX_BYTES, NOTE_KEY, UPLOAD_TYPES, load_image, sample_images
from explorer.weights import (
    MAX_STATE_DICT_BYTES,
    MAX_STATE_DICT_LABEL,
    WeightSource,
    WeightsUnavailableError,
    available_sources,
    ensure_pretrained_cached,
)
from explorer.ui import state
from explorer.ui.messages import MAX_WORD, cut, literal, show_error, show_warning
from explorer.units import format_shape, human, human_bytes


DEVICE = "device"  # the chosen device id, kept across pages (the pages that run nothing draw no picker)


def device_picker() -> str:
    """Show the compute-device selectbox in the sidebar (on the pages that run real passes); return the chosen id
    (one of this machine's devices: a stored id it lacks is replaced by the CPU before the picker is drawn)."""
    configure_threads()
    devices = available_devices()
    labels = {device.id: device.label for device in devices}
    st.sidebar.selectbox("Compute device", list(labels), format_func=labels.get,
                         help="Where this page's real forward passes, timings and training run. Analysis "
                              "needs no device: it runs on PyTorch's meta device, without memory or compute.",
                         **state.bind(DEVICE, devices[0].id, lambda device: device in labels))
    return state.get(DEVICE, devices[0].id)  # already checked against ``labels``: no second look at the devices


def selected_device() -> str:
    """Return the device id chosen in the sidebar (cpu before the picker has run).

    The id is checked against this machine's devices before any tensor goes there: one it lacks (state
    written by something other than the picker) gives cpu, with a note on the page.
    """
    device = st.session_state.get(DEVICE, "cpu")
    try:
        resolve_device(device)
    except DeviceUnavailableError as error:
        show_warning(f"{error} Using the CPU.")
        return "cpu"
    return device


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
    """Show the report's totals as metrics: params, MACs, FLOPs, memory and shapes, each with exact figures, under
    the labels the CLI and the downloads use (explorer.formats.TOTAL_LABELS)."""
    with metric_row():
        labelled_metric("Parameters", human(report.total_params),
                        f"{report.total_params:,} · trainable {report.trainable_params:,} · "
                        f"frozen {report.frozen_params:,}",
                        help=f"{report.total_params:,} in all: {report.trainable_params:,} trainable, "
                             f"{report.frozen_params:,} frozen")
        labelled_metric(TOTAL_LABELS["total_macs"], human(report.total_macs), f"{report.total_macs:,} MACs",
                        help="Multiply-accumulates of convolutions, linear layers, matmuls and attention, batch 1")
        labelled_metric(TOTAL_LABELS["total_flops"], human(report.total_flops), f"{report.total_flops:,} FLOPs",
                        help="Each multiply-accumulate is two floating-point operations")
        labelled_metric(TOTAL_LABELS["activation_bytes"], human_bytes(report.activation_bytes),
                        f"{report.activation_bytes:,} bytes",
                        help="Sum of the distinct outputs of the leaf layers at batch 1 (float32)")
        labelled_metric(TOTAL_LABELS["param_bytes"], human_bytes(report.param_bytes), f"{report.param_bytes:,} bytes")
        labelled_metric(f"{TOTAL_LABELS['output_shape']} (CxHxW)", format_shape(report.output_shape),
                        f"input {format_shape(report.input_shape)}, batch 1")


@dataclass
class ChosenImage:
    """An image a person picked: the RGB picture, a digest of its bytes (a cache key) and its name."""

    image: Image.Image
    digest: str
    name: str


@dataclass(frozen=True)
class Upload:
    """An uploaded file as the page's model keeps it: its name, its bytes, their sha256 (computed once) and
    the uploader's id of the file (which tells a new file from the one kept)."""

    name: str
    data: bytes
    digest: str
    file_id: str = ""

    @classmethod
    def of(cls, upload: Any) -> Upload:
        """Return the Upload of Streamlit's UploadedFile ``upload``, hashing its bytes once (without copying them)."""
        data = upload.getvalue()  # Streamlit's own buffer, not a copy
        return cls(upload.name, data, hashlib.sha256(data).hexdigest(), getattr(upload, "file_id", ""))


def _keep_upload(model_key: str, upload: Any, limit_bytes: int) -> None:
    """An uploader's on_change: keep the new file in the model; clearing the uploader forgets it.

    A file over the uploader's own limit is not kept (upload_input says why).
    """
    ok = upload is not None and upload.size <= limit_bytes
    state.put(model_key, Upload.of(upload) if ok else None)


def _megabytes(count: int) -> str:
    return f"{count / 2**20:,.1f} MB"


def upload_input(label: str, model_key: str, types: list[str], limit_bytes: int, limit_label: str,
                 what: str) -> Upload | None:
    """Draw a file uploader whose file is kept in the model at ``model_key``; return the kept Upload or None.

    The uploader's own limit (``limit_bytes``, shown as "up to ``limit_label``" in the label) is told to the
    browser, which refuses a larger file before sending it, and checked here too: a larger file that arrives
    gets one sentence naming ``what`` the uploader takes, and None is returned. A file uploader cannot be set
    from session state, so when it comes back empty (it was hidden in an earlier run) the kept file is named
    under it and still used, until another file replaces it.
    """
    key = state.widget_key(model_key)
    upload = st.file_uploader(f"{label}, up to {limit_label}", type=types, key=key,
                              max_upload_size=max(1, limit_bytes // 2**20),
                              on_change=lambda: _keep_upload(model_key, st.session_state[key], limit_bytes))
    kept = state.get(model_key, None)
    if upload is not None and upload.size > limit_bytes:
        state.put(model_key, None)
        show_error(f"{cut(upload.name, MAX_WORD)} is {_megabytes(upload.size)}, and {what} up to {limit_label} are "
                   f"read here, so it was not used.")
        return None
    if upload is not None and (kept is None or (kept.file_id, kept.name, len(kept.data))
                               != (getattr(upload, "file_id", ""), upload.name, upload.size)):
        _keep_upload(model_key, upload, limit_bytes)  # a file that arrived without a change event: once, not per run
        kept = state.get(model_key, None)
    if kept is not None and upload is None:
        st.caption(f"Using {literal(cut(kept.name, MAX_WORD))}, uploaded earlier. Upload another file to replace it.")
    return kept


DECODED_PER_INPUT = 2  # a sample and an upload: switching between them decodes neither again


def _decode_once(key: str, digest: str, data: bytes) -> Image.Image | str:
    """Return load_image(data), or the sentence why it cannot be read, decoding each file only once.

    The results are kept in session state per image input (``key``.decoded), by digest, for the last
    DECODED_PER_INPUT files: a rerun never decodes again (a 6000x6600 16-bit PNG takes seconds), and a
    session holds at most two decoded pictures per input, each at most MAX_PIXELS.
    """
    decoded: OrderedDict[str, Image.Image | str] = state.get(f"{key}.decoded", OrderedDict())
    if digest not in decoded:
        try:
            decoded[digest] = load_image(data)
        except ExplorerError as error:
            decoded[digest] = str(error)
        while len(decoded) > DECODED_PER_INPUT:
            decoded.popitem(last=False)
    decoded.move_to_end(digest)
    return decoded[digest]


def image_input(key: str = "image", default_sample: str = "cat") -> ChosenImage | None:
    """Show the image input of a page (a bundled sample or an upload); return the image, or None after a message.

    The mode, the sample and the upload are the page's model (``key``.mode/.sample/.upload). The sample
    follows ``default_sample`` (the current network's) until the person picks one. Each file is decoded
    once (see _decode_once); the returned image is shared by reruns and must not be changed in place.
    """
    samples = sample_images()
    names = list(samples)
    mode = st.radio("Image", ["Sample", "Upload"], horizontal=True, **state.bind(f"{key}.mode", "Sample"))
    if mode == "Upload":
        limit = f"{MAX_BYTES // 2**20} MB"
        upload = upload_input("PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF (first page)", f"{key}.upload",
                              UPLOAD_TYPES, MAX_BYTES, limit, "images")
        if upload is None:  # the browser marks a larger file red and does not send it: say the limit in view
            st.info(f"Choose an image file of up to {limit}, or switch to a sample.")
            return None
        name, digest, data = upload.name, upload.digest, upload.data
    else:
        chosen = st.session_state.get(f"{key}.sample")
        name = st.selectbox("Sample image", names, help="Public-domain or CC0 photos; see assets/images/ATTRIBUTION.md",
                            **state.bind_to(state.widget_key(f"{key}.sample"),
                                            chosen if chosen in names else
                                            (default_sample if default_sample in names else names[0]),
                                            lambda new: state.put(f"{key}.sample", new)))
        data = samples[name].read_bytes()  # under 1 MB each: hashing them each run costs about a millisecond
        digest = hashlib.sha256(data).hexdigest()
    image = _decode_once(key, digest, data)
    if isinstance(image, str):
        show_error(image)
        return None
    if image.info.get(NOTE_KEY):
        st.info(image.info[NOTE_KEY])
    return ChosenImage(image, digest, name)


@dataclass
class WeightsChoice:
    """The weight source a person picked, an uploaded file (name, bytes) if any, and its digest (a cache key)."""

    source: WeightSource
    upload: tuple[str, bytes] | None = None
    digest: str = ""


def weights_picker(name: str, key: str, preferred: WeightSource | None = None) -> WeightsChoice | None:
    """Show the weight sources of ``name``; return the choice.

    The default is ``preferred`` where ``name`` has it, else the bundled weights where they exist, else random.
    The source and an uploaded file are the page's model (``key``.source.NAME, ``key``.upload.NAME).
    Pretrained weights are fetched here, with a progress bar; when they are unavailable the page says so
    and random weights are used. Returns None (after st.info) while an upload is awaited.
    """
    sources = available_sources(name)
    default = WeightSource.BUNDLED if WeightSource.BUNDLED in sources else WeightSource.RANDOM
    if preferred in sources:
        default = preferred
    source = st.radio("Weights", sources, horizontal=True, format_func=lambda option: WeightSource(option).label,
                      **state.bind(f"{key}.source.{name}", default, lambda value: value in sources))
    if source == WeightSource.UPLOADED:
        upload = upload_input("A state_dict saved with torch.save(model.state_dict()) or safetensors",
                              f"{key}.upload.{name}", ["pt", "pth", "safetensors"], MAX_STATE_DICT_BYTES,
                              MAX_STATE_DICT_LABEL, "weights files")
        if upload is None:
            st.info(f"Choose a weights file of up to {MAX_STATE_DICT_LABEL}, or pick another source.")
            return None
        # one weights file per page and person: an upload for another network is dropped, so a session
        # holds at most one file of up to 1 GB here however many networks it tries
        for other in [k for k in st.session_state if str(k).startswith(f"{key}.upload.") and k != f"{key}.upload.{name}"]:
            del st.session_state[other]
        return WeightsChoice(WeightSource.UPLOADED, (upload.name, upload.data), upload.digest)
    if source == WeightSource.PRETRAINED:
        bar = st.progress(0.0, text="Looking for the pretrained weights in torch hub's cache...")
        try:
            ensure_pretrained_cached(name, lambda fraction, done: bar.progress(min(fraction, 1.0),
                                                                               text=f"Downloading... {done}"))
        except WeightsUnavailableError as error:
            show_warning(str(error))
            source = WeightSource.RANDOM
        except ExplorerError as error:
            show_error(f"{error} Random weights are used instead.")
            source = WeightSource.RANDOM
        finally:
            bar.empty()
    return WeightsChoice(WeightSource(source))
