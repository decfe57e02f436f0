"""Uploaded state_dicts: read without running anything in them, told apart when unusable, checked key by key.

``.pt``/``.pth`` files are read with ``torch.load(weights_only=True)``, ``.safetensors`` with safetensors; a
file that cannot be used (a pickle of objects, a plain pickle, a damaged file) is named in one sentence from
its bytes alone, never with PyTorch's own text.
"""

from __future__ import annotations

import io
import pickletools
import zipfile
from collections import deque
from typing import IO, Any

import torch
from torch import nn

from explorer.errors import StateDictMismatchError, WeightsError
from explorer.units import format_shape

MAX_STATE_DICT_BYTES = 2**30  # vgg16's state_dict is 528 MB
MAX_STATE_DICT_LABEL = "1 GB"


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
    misshaped = [f"{key} ({format_shape(state_dict[key].shape, drop_batch=False)} instead of "
                 f"{format_shape(expected[key].shape, drop_batch=False)})"
                 for key in expected if key in state_dict and state_dict[key].shape != expected[key].shape]
    if missing or unexpected or misshaped:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped)):
            if keys:
                more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
                parts.append(f"{len(keys)} {label}: {', '.join(keys[:5])}{more}")
        raise StateDictMismatchError("These weights do not fit this model; " + "; ".join(parts) + ".")
    model.load_state_dict(state_dict)
