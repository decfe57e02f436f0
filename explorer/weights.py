"""Where a model's weights come from: random, bundled with the app, torchvision's pretrained, or uploaded.

Pretrained weights are read from torch hub's cache (``$TORCH_HOME/hub/checkpoints``) first and
downloaded only when missing, with a progress callback; offline, a clear WeightsUnavailableError says
so and the caller keeps random weights. Uploaded state_dicts are read without unpickling code
(``torch.load(weights_only=True)``, or safetensors) and checked key by key against the model; a file
that cannot be read is described from its bytes alone (a pickle naming code, a plain pickle, a damaged
file, not weights at all) in one sentence that says what to upload instead, never in PyTorch's words.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickletools
import re
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

import torch
from torch import nn
from torchvision.models import get_model, get_model_weights

from explorer import budget, preprocess
from explorer.errors import ExplorerError
from explorer.zoo import build, get_spec

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "weights"
MAX_STATE_DICT_BYTES = 2**30  # vgg16's state_dict is 528 MB
MAX_STATE_DICT_LABEL = "1 GB"
RANDOM, BUNDLED, PRETRAINED, UPLOADED = "random", "bundled", "pretrained", "uploaded"
SOURCE_LABELS = {
    RANDOM: "Random initialisation",
    BUNDLED: "Bundled with the app",
    PRETRAINED: "torchvision pretrained (ImageNet)",
    UPLOADED: "Upload a state_dict",
}
Progress = Callable[[float, str], None]


class WeightsError(ExplorerError):
    """Weights could not be used; the message says why."""


class WeightsUnavailableError(WeightsError):
    """Pretrained weights are neither cached nor downloadable (for instance, no internet)."""


class StateDictMismatchError(WeightsError):
    """A state_dict does not fit the model: missing, unexpected or mis-shaped keys."""


@dataclass
class LoadedModel:
    """A model ready for real forward passes, and what a page needs to say about its weights."""

    model: nn.Module
    description: str
    categories: list[str] | None
    preprocessing: preprocess.Preprocessing
    cost: budget.ForwardCost


# ---------------------------------------------------------------------------------------------
# Which sources exist for an architecture


def bundled_metadata(name: str) -> dict[str, Any] | None:
    """Return the metadata of the weights bundled for ``name`` (assets/weights/), or None."""
    path = ASSETS / f"{name}_digits.json"
    return json.loads(path.read_text()) if path.exists() else None


def pretrained_weights(name: str) -> Any | None:
    """Return torchvision's DEFAULT weights enum for ``name``, or None if it has none."""
    if get_spec(name).source != "torchvision":
        return None
    try:
        return get_model_weights(name).DEFAULT
    except (ValueError, KeyError):
        return None


def available_sources(name: str) -> list[str]:
    """Return the weight sources that make sense for ``name``, random first."""
    sources = [RANDOM]
    if bundled_metadata(name):
        sources.append(BUNDLED)
    if pretrained_weights(name) is not None:
        sources.append(PRETRAINED)
    sources.append(UPLOADED)
    return sources


# ---------------------------------------------------------------------------------------------
# Pretrained: cache first, then download


def checkpoint_path(weights: Any) -> Path:
    """Return where torch hub keeps (or would keep) the checkpoint of ``weights``."""
    filename = os.path.basename(weights.url.split("?")[0])
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def _download(url: str, destination: Path, progress: Progress | None) -> None:
    match = re.search(r"-([a-f0-9]{6,})\.", os.path.basename(destination))
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - torchvision's own URL
            total = int(response.headers.get("Content-Length") or 0)
            digest = hashlib.sha256()
            done = 0
            with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as handle:
                while chunk := response.read(1 << 20):
                    handle.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done / total if total else 0.0, f"{done / 2**20:.0f} MB")
    except (urllib.error.URLError, OSError, TimeoutError):
        raise WeightsUnavailableError(
            "The pretrained weights are not on this server and could not be downloaded (no connection to the "
            "internet?); random weights stay in use. An administrator can place them in torch hub's cache: "
            "see README, \"Pretrained weights offline\".") from None
    if match and not digest.hexdigest().startswith(match.group(1)):
        os.unlink(handle.name)
        raise WeightsUnavailableError("The downloaded weights are corrupt (checksum mismatch); random weights stay in use.")
    os.replace(handle.name, destination)


def ensure_pretrained_cached(name: str, progress: Progress | None = None) -> Path:
    """Return the path of ``name``'s DEFAULT pretrained checkpoint in torch hub's cache, downloading it if missing.

    Raises:
        WeightsError: ``name`` has no pretrained weights.
        WeightsUnavailableError: not cached and not downloadable.
    """
    weights = pretrained_weights(name)
    if weights is None:
        raise WeightsError(f"torchvision has no pretrained weights for {name}.")
    path = checkpoint_path(weights)
    if not path.exists():
        _download(weights.url, path, progress)
    return path


# ---------------------------------------------------------------------------------------------
# Reading and applying state_dicts


def _unwrap(loaded: Any) -> dict[str, torch.Tensor]:
    if isinstance(loaded, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in loaded and isinstance(loaded[key], dict) and len(loaded) <= 8:
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not loaded:
        raise WeightsError("The file does not hold a state_dict (a dictionary of parameter names to tensors).")
    bad = [key for key, value in loaded.items() if not isinstance(key, str) or not isinstance(value, torch.Tensor)]
    if bad:
        raise WeightsError(f"The file is not a plain state_dict: entry {bad[0]!r} is not a named tensor.")
    if all(key.startswith("module.") for key in loaded):  # saved from DataParallel
        loaded = {key[len("module."):]: value for key, value in loaded.items()}
    return loaded


# What a refused file is, in one sentence each (never PyTorch's or safetensors' own text).
PICKLED_OBJECTS = ("This file is a pickle of Python objects (for example a whole model saved with torch.save(model)), "
                   "not a plain state_dict; it was not loaded because unpickling it could run code, so save "
                   "model.state_dict() instead.")
PLAIN_PICKLE = ("This file is a plain Python pickle (for example written with pickle.dump) that holds no tensors; "
                "save the weights with torch.save(model.state_dict()) instead.")
NOT_WEIGHTS = ("This file is not a weights file; upload a .pt or .pth file saved with torch.save(model.state_dict()), "
               "or a .safetensors file.")
DAMAGED = ("This file starts like a PyTorch weights file but is cut short or damaged; upload it again, or save it "
           "again with torch.save(model.state_dict()).")
BAD_SAFETENSORS = ("This file is named .safetensors but is cut short, damaged or not in the safetensors format; save "
                   "the weights again with safetensors.torch.save_file(model.state_dict(), path).")
_ZIP = b"PK\x03\x04"
_PICKLE_PROTOCOLS = {bytes([0x80, protocol]) for protocol in range(2, 6)}


def _allowed_globals() -> set[str]:
    """Return the globals torch.load(weights_only=True) accepts (the list get_unsafe_globals_in_checkpoint uses).

    Empty if this torch hides the list: every global then counts as code, the safe reading.
    """
    try:
        from torch import _weights_only_unpickler as unpickler

        return set(unpickler._get_allowed_globals()) | set(unpickler._get_user_allowed_globals())
    except (ImportError, AttributeError):
        return set()


def _pickle_globals(stream: IO[bytes], max_opcodes: int = 2_000_000) -> tuple[set[str], bool]:
    """Return the ``module.name`` of every global one pickle in ``stream`` names, and whether torch's magic
    number (the first pickle of its legacy format) is among its constants.

    Read statically with pickletools, up to the pickle's STOP or ``max_opcodes`` opcodes (a bound on the
    time a huge pickle takes): nothing is unpickled and nothing runs. A name built while unpickling reads ``?``.

    Raises:
        ValueError: the bytes are not a complete pickle.
    """
    names: set[str] = set()
    magic = False
    memo: dict[int, str] = {}
    top: deque[Any] = deque([None, None], maxlen=2)  # the last two values pushed, where a static reading knows them
    for count, (opcode, arg, _) in enumerate(pickletools.genops(stream)):
        if count >= max_opcodes:
            break
        if opcode.name in ("GLOBAL", "INST"):
            names.add(str(arg).replace(" ", "."))
        elif opcode.name == "STACK_GLOBAL":
            module, name = top
            names.add(f"{module}.{name}" if isinstance(module, str) and isinstance(name, str) else "?")
        magic = magic or arg == torch.serialization.MAGIC_NUMBER
        if opcode.name in ("MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT"):
            if isinstance(top[-1], str):
                memo[len(memo) if opcode.name == "MEMOIZE" else arg] = top[-1]
        elif opcode.name in ("GET", "BINGET", "LONG_BINGET"):
            top.append(memo.get(arg))
        elif opcode.stack_before or opcode.stack_after:  # PROTO and FRAME touch no stack
            top.append(arg if isinstance(arg, str) and opcode.name not in ("GLOBAL", "INST") else None)
    return names, magic


def _diagnose(data: bytes) -> str:
    """Return the sentence that says what a file torch.load(weights_only=True) refused is, and what to upload.

    Looks at the bytes only (the zip's directory, pickle opcodes); nothing in the file is run.
    """
    allowed = _allowed_globals()
    if data.startswith(_ZIP):  # torch.save's format since PyTorch 1.6: a zip holding data.pkl and the tensors
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                pickled = next(name for name in archive.namelist() if name.endswith("data.pkl"))
                with archive.open(pickled) as stream:
                    names, _ = _pickle_globals(stream)
        except (zipfile.BadZipFile, StopIteration, ValueError, OSError, EOFError, RuntimeError):
            return DAMAGED
        return PICKLED_OBJECTS if names - allowed else DAMAGED
    if data[:2] not in _PICKLE_PROTOCOLS and data[:1] not in (b"(", b"}", b"]"):  # protocols 2-5, or 0-1
        return NOT_WEIGHTS
    stream = io.BytesIO(data)
    try:
        names, legacy = _pickle_globals(stream)
    except ValueError:
        return DAMAGED if data[:2] in _PICKLE_PROTOCOLS else NOT_WEIGHTS
    if not legacy:
        return PICKLED_OBJECTS if names - allowed else PLAIN_PICKLE
    # torch.save's legacy format: pickles of the magic number, the protocol, system info, the object and
    # its storage keys, then the raw storages
    try:
        for _ in range(4):
            names |= _pickle_globals(stream)[0]
    except ValueError:
        pass  # cut short within the pickles
    return PICKLED_OBJECTS if names - allowed else DAMAGED


def _looks_like_safetensors(data: bytes) -> bool:
    """Return whether ``data`` starts as a safetensors file does: an 8-byte header length, then a JSON object."""
    return len(data) >= 10 and data[8:9] == b"{" and int.from_bytes(data[:8], "little") <= len(data) - 8


def read_state_dict(data: bytes, filename: str = "weights.pt") -> dict[str, torch.Tensor]:
    """Return the state_dict in ``data`` (.pt/.pth via torch.load(weights_only=True), or .safetensors).

    The format is told by the bytes (a zip or pickle is PyTorch's, an 8-byte length and JSON is safetensors),
    and by the name where the bytes say neither. Nothing in the file is run: a refused file is described from
    its bytes alone, in one sentence.

    Raises:
        WeightsError: too large, empty, unreadable, or not a state_dict (e.g. a pickled model object).
    """
    if not data:
        raise WeightsError("The weights file is empty.")
    if len(data) > MAX_STATE_DICT_BYTES:
        raise WeightsError(f"The weights file is {len(data) / 2**20:,.1f} MB; files up to {MAX_STATE_DICT_LABEL} "
                           f"({MAX_STATE_DICT_BYTES // 2**20:,} MB) are read.")
    torch_format = data.startswith(_ZIP) or data[:2] in _PICKLE_PROTOCOLS
    if not torch_format and (_looks_like_safetensors(data) or filename.lower().endswith(".safetensors")):
        from safetensors import SafetensorError
        from safetensors.torch import load as load_safetensors

        try:
            loaded = load_safetensors(data)
        except (SafetensorError, ValueError, RuntimeError, OverflowError):
            raise WeightsError(BAD_SAFETENSORS if filename.lower().endswith(".safetensors") else NOT_WEIGHTS) from None
        return _unwrap(loaded)
    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - torch.load raises many types for bad input; the bytes tell which
        raise WeightsError(_diagnose(data)) from None
    return _unwrap(loaded)


def apply_state_dict(model: nn.Module, state_dict: dict[str, torch.Tensor]) -> None:
    """Copy ``state_dict`` into ``model``.

    Raises:
        StateDictMismatchError: keys are missing, unexpected or of the wrong shape (all listed, up to 5 each).
    """
    expected = model.state_dict()
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    misshaped = [f"{key} ({'x'.join(map(str, state_dict[key].shape))} instead of "
                 f"{'x'.join(map(str, expected[key].shape))})"
                 for key in expected if key in state_dict and state_dict[key].shape != expected[key].shape]
    if missing or unexpected or misshaped:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped)):
            if keys:
                more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
                parts.append(f"{len(keys)} {label}: {', '.join(keys[:5])}{more}")
        raise StateDictMismatchError("These weights do not fit this model; " + "; ".join(parts) + ".")
    model.load_state_dict(state_dict)


# ---------------------------------------------------------------------------------------------


def load_model(name: str, config: dict[str, Any], source: str, device: str = "cpu",
               upload: tuple[str, bytes] | None = None, progress: Progress | None = None) -> LoadedModel:
    """Return ``name`` built with ``config`` on ``device`` in eval mode, with weights from ``source``.

    ``upload`` is (filename, bytes) for the "uploaded" source.

    Raises:
        InvalidOptionError: the config is invalid.
        WeightsError: the source does not apply (no bundled or pretrained weights, options changed),
            the upload is unreadable or does not fit (StateDictMismatchError), or pretrained weights are
            unavailable (WeightsUnavailableError).
        BudgetError: the weights and one sample's forward pass would not fit the server's memory budget.
    """
    spec = get_spec(name)
    resolved = spec.resolve_config(config)
    input_shape = spec.default_input_shape(resolved)
    cost = budget.network_cost(name, resolved, input_shape)
    reading = len(upload[1]) if source == UPLOADED and upload is not None else 0
    budget.require(cost, 1, _advice(name, resolved, input_shape), extra_bytes=reading)
    with budget.running(cost.parameter_bytes + reading):
        return _load(name, spec, resolved, input_shape, source, device, upload, progress, cost)


def _advice(name: str, config: dict[str, Any], input_shape: tuple[int, int, int]) -> str:
    """Return what to change when ``name`` does not fit: fewer classes only where the default count would fit."""
    default = get_spec(name).resolve_config({})
    if config.get("num_classes", default.get("num_classes")) != default.get("num_classes"):
        fewer = {**config, "num_classes": default["num_classes"]}
        if budget.network_cost(name, fewer, input_shape).total_bytes(1) <= budget.limits().memory_bytes:
            return f"use fewer classes ({default['num_classes']} fit) or a smaller network"
    return "pick a smaller network"


def _load(name: str, spec: Any, resolved: dict[str, Any], input_shape: tuple[int, int, int], source: str,
          device: str, upload: tuple[str, bytes] | None, progress: Progress | None,
          cost: budget.ForwardCost) -> LoadedModel:
    # pretrained models come from torchvision's own builder below; every other source starts random
    model = build(name, **resolved) if source != PRETRAINED else nn.Identity()
    categories = None
    recipe = preprocess.generic(input_shape)
    description = "Random initialisation: the feature maps show the network's structure, not learned features."
    if source == BUNDLED:
        meta = bundled_metadata(name)
        if meta is None:
            raise WeightsError(f"No weights are bundled for {name}.")
        if resolved != spec.resolve_config(meta.get("config", {})):
            raise WeightsError("The bundled weights were trained with the default options; reset the options to use them.")
        apply_state_dict(model, read_state_dict((ASSETS / f"{name}_digits.pt").read_bytes()))
        categories = meta["categories"]
        recipe = preprocess.digits(meta["mean"], meta["std"])
        description = (f"Trained on handwritten digits ({meta['dataset']}); held-out accuracy "
                       f"{meta['held_out_accuracy']:.1%} on {meta['test_samples']} digits.")
    elif source == PRETRAINED:
        weights = pretrained_weights(name)
        if weights is None:
            raise WeightsError(f"torchvision has no pretrained weights for {name}.")
        if resolved != spec.resolve_config({}):
            raise WeightsError("Pretrained weights exist only for the default options; reset the options to use them.")
        ensure_pretrained_cached(name, progress)
        try:  # torchvision's own builder reads the cached file (and knows each model's quirks)
            model = get_model(name, weights=weights, **resolved)
        except RuntimeError as error:
            raise WeightsError(f"The cached pretrained weights for {name} could not be loaded "
                               f"({str(error).splitlines()[0][:160]}).") from None
        categories = list(weights.meta["categories"])
        recipe = preprocess.from_torchvision(weights.transforms())
        description = f"torchvision's {weights} ({weights.meta.get('_docs', '').strip().split('.')[0]})."
    elif source == UPLOADED:
        if upload is None:
            raise WeightsError("Choose a .pt, .pth or .safetensors file with a state_dict to upload.")
        filename, data = upload
        apply_state_dict(model, read_state_dict(data, filename))
        description = f"Uploaded weights from {filename}."
    elif source != RANDOM:
        raise WeightsError(f"Unknown weight source {source!r}; choose one of {', '.join(SOURCE_LABELS)}.")
    return LoadedModel(model.to(device).eval(), description, categories, recipe, cost)
