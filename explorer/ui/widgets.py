"""Shared widgets: the device picker, the architecture picker (kept in the URL), the totals."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import streamlit as st
from PIL import Image

from explorer.analysis import ModelReport, format_shape
from explorer.devices import available_devices
from explorer.errors import ExplorerError, InvalidOptionError
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
from explorer.zoo import ArchitectureSpec, Option, get_spec, list_architectures

DEFAULT_ARCHITECTURE = "lenet5"
MAX_SIDE = 8192


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


@dataclass
class ArchitectureChoice:
    """What the picker returns: the spec, its validated options, and the input shape (None = default)."""

    spec: ArchitectureSpec
    config: dict[str, Any]
    input_shape: tuple[int, int, int] | None

    @property
    def name(self) -> str:
        """Return the registry name."""
        return self.spec.name


def _label(name: str) -> str:
    # The registry name comes first: the picker's type-to-search ranks labels that start with the typed
    # text above labels that merely contain it, so typing "resnet50" offers resnet50 before wide_resnet50_2.
    spec = get_spec(name)
    return f"{name} · " + ("" if spec.display_name == name else f"{spec.display_name} · ") + f"{spec.family} {spec.year}"


def option_widget(name: str, option: Option, key: str) -> Any:
    label = name.replace("_", " ")
    if option.choices is not None:
        return st.selectbox(label, list(option.choices), key=key, help=option.help or None)
    if option.kind is bool:
        return st.checkbox(label, key=key, help=option.help or None)
    if option.kind is int:
        return int(st.number_input(label, min_value=None if option.low is None else int(option.low),
                                   max_value=None if option.high is None else int(option.high),
                                   step=1, key=key, help=option.help or None))
    return float(st.number_input(label, min_value=option.low, max_value=option.high, step=0.05, format="%.3f",
                                 key=key, help=option.help or None))


def _parse_size(text: str) -> tuple[int, int]:
    parts = [p for p in text.lower().replace(",", "x").split("x") if p.strip()]
    try:
        dims = [int(p) for p in parts]
    except ValueError:
        dims = []
    if len(dims) == 3:
        dims = dims[1:]
    if len(dims) != 2 or not all(1 <= d <= MAX_SIDE for d in dims):
        raise InvalidOptionError(f"The input size must be written HxW with sides from 1 to {MAX_SIDE}, not {text!r}.")
    return dims[0], dims[1]


def architecture_picker(key: str = "arch", custom_input: bool = True) -> ArchitectureChoice:
    """Show the architecture selectbox, its option widgets and the input size; keep them in the URL.

    With ``custom_input=False`` (pages that feed the network its default input) the size is not offered.

    A link such as ``?arch=resnet50&width_mult=0.5&input=160x160`` reproduces the view. Bad values in
    the URL are reported with st.error and replaced by the defaults.
    """
    names = list_architectures()
    params = st.query_params
    url_arch = params.get("arch")
    seed = url_arch is not None and (url_arch != st.session_state.get(f"_{key}_url") or key not in st.session_state)
    errors: list[str] = []
    if seed:
        try:
            st.session_state[key] = get_spec(url_arch).name
        except ExplorerError as error:
            errors.append(str(error))
            seed = False
    if st.session_state.get(key) not in names:
        st.session_state[key] = DEFAULT_ARCHITECTURE

    name = st.selectbox("Architecture", names, key=key, format_func=_label,
                        help="Every torchvision classifier, the course's classics and its building blocks. "
                             "Type to search.")
    spec = get_spec(name)
    config: dict[str, Any] = {}
    if spec.options:
        columns = st.columns(min(4, len(spec.options) + 1))
        for index, (option_name, option) in enumerate(spec.options.items()):
            widget_key = f"{key}:{name}:{option_name}"
            if seed and option_name in params:
                try:
                    st.session_state[widget_key] = option.parse(option_name, params[option_name])
                except InvalidOptionError as error:
                    errors.append(f"{error} The default {option.default} is used instead.")
                    st.session_state[widget_key] = option.default
            elif widget_key not in st.session_state:
                st.session_state[widget_key] = option.default
            with columns[index % len(columns)]:
                config[option_name] = option_widget(option_name, option, widget_key)

    default_shape = spec.default_input_shape(config)
    custom_key, height_key, width_key = (f"{key}:{name}:{part}" for part in ("custom", "height", "width"))
    if seed and "input" in params:
        try:
            st.session_state[height_key], st.session_state[width_key] = _parse_size(params["input"])
            st.session_state[custom_key] = True
        except InvalidOptionError as error:
            errors.append(str(error))
    custom = custom_input and st.toggle(f"Custom input size (default {format_shape((1, *default_shape))})",
                                        key=custom_key)
    input_shape = None
    if custom:
        st.session_state.setdefault(height_key, default_shape[1])
        st.session_state.setdefault(width_key, default_shape[2])
        left, right = st.columns(2)
        height = left.number_input("input height", min_value=1, max_value=MAX_SIDE, step=1, key=height_key)
        width = right.number_input("input width", min_value=1, max_value=MAX_SIDE, step=1, key=width_key)
        input_shape = (default_shape[0], int(height), int(width))

    wanted = {"arch": name, **{k: str(v) for k, v in config.items() if v != spec.options[k].default}}
    if input_shape is not None:
        wanted["input"] = f"{input_shape[1]}x{input_shape[2]}"
    if dict(params.to_dict()) != wanted:
        params.from_dict(wanted)
    st.session_state[f"_{key}_url"] = name
    for message in errors:
        st.error(message)
    return ArchitectureChoice(spec, config, input_shape)


def show_totals(report: ModelReport) -> None:
    """Show the report's totals as metrics in two rows: params, MACs, FLOPs; memory and shapes."""
    first, second = st.columns(3), st.columns(3)
    first[0].metric("Parameters", human(report.total_params), border=True,
                    help=f"{report.total_params:,} in all: {report.trainable_params:,} trainable, "
                         f"{report.frozen_params:,} frozen")
    first[0].caption(f"{report.total_params:,} · trainable {report.trainable_params:,} · "
                     f"frozen {report.frozen_params:,}")
    first[1].metric("MACs (multiply-accumulates)", human(report.total_macs), border=True,
                    help="Multiply-accumulates of convolutions, linear layers, matmuls and attention, batch 1")
    first[1].caption(f"{report.total_macs:,} MACs")
    first[2].metric("FLOPs (= 2 x MACs)", human(report.total_flops), border=True,
                    help="Each multiply-accumulate is two floating-point operations")
    first[2].caption(f"{report.total_flops:,} FLOPs")
    second[0].metric("Activation memory (batch 1)", human_bytes(report.activation_bytes), border=True,
                     help="Sum of the distinct outputs of the leaf layers at batch 1 (float32)")
    second[0].caption(f"{report.activation_bytes:,} bytes")
    second[1].metric("Parameter memory", human_bytes(report.param_bytes), border=True)
    second[1].caption(f"{report.param_bytes:,} bytes")
    second[2].metric("Output shape (CxHxW)", format_shape(report.output_shape), border=True)
    second[2].caption(f"input {format_shape(report.input_shape)}, batch 1")


@dataclass
class ChosenImage:
    """An image a person picked: the RGB picture, a digest of its bytes (a cache key) and its name."""

    image: Image.Image
    digest: str
    name: str


def image_input(key: str = "image", default_sample: str = "cat") -> ChosenImage | None:
    """Show the shared image input (a bundled sample or an upload); return the image, or None after st.error."""
    samples = sample_images()
    mode = st.radio("Image", ["Sample", "Upload"], horizontal=True, key=f"{key}:mode")
    if mode == "Upload":
        upload = st.file_uploader("PNG, JPEG, WebP, BMP, GIF (first frame) or TIFF", type=UPLOAD_TYPES,
                                  key=f"{key}:upload")
        if upload is None:
            st.info("Choose an image file, or switch to a sample.")
            return None
        data, name = upload.getvalue(), upload.name
    else:
        names = list(samples)
        if st.session_state.get(f"{key}:sample") not in names:
            st.session_state[f"{key}:sample"] = default_sample if default_sample in names else names[0]
        name = st.selectbox("Sample image", names, key=f"{key}:sample",
                            help="Public-domain or CC0 photos; see assets/images/ATTRIBUTION.md")
        data = samples[name].read_bytes()
    try:
        image = load_image(data)
    except ExplorerError as error:
        st.error(str(error))
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

    Pretrained weights are fetched here, with a progress bar; when they are unavailable the page says so
    and random weights are used. Returns None (after st.info) while an upload is awaited.
    """
    sources = available_sources(name)
    default = BUNDLED if BUNDLED in sources else RANDOM
    source = st.radio("Weights", sources, index=sources.index(default), horizontal=True,
                      format_func=SOURCE_LABELS.get, key=f"{key}:{name}")
    if source == UPLOADED:
        file = st.file_uploader("A state_dict saved with torch.save(model.state_dict()) or safetensors",
                                type=["pt", "pth", "safetensors"], key=f"{key}_upload:{name}", max_upload_size=600)
        if file is None:
            st.info("Choose a weights file, or pick another source.")
            return None
        data = file.getvalue()
        return WeightsChoice(source, (file.name, data), hashlib.sha256(data).hexdigest())
    if source == PRETRAINED:
        bar = st.progress(0.0, text="Looking for the pretrained weights in torch hub's cache...")
        try:
            ensure_pretrained_cached(name, lambda fraction, done: bar.progress(min(fraction, 1.0),
                                                                               text=f"Downloading... {done}"))
        except WeightsUnavailableError as error:
            st.warning(str(error))
            source = RANDOM
        except ExplorerError as error:
            st.error(str(error))
            source = RANDOM
        finally:
            bar.empty()
    return WeightsChoice(source)
