"""Which compute devices exist here: the CPU always, every CUDA GPU, Apple's MPS where present."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

import torch

from explorer.errors import DeviceUnavailableError


@dataclass(frozen=True)
class DeviceOption:
    """One device a user can pick: its torch id and a label for people (a GPU's says its memory)."""

    id: str
    label: str


@functools.cache
def configure_threads() -> int:
    """Set PyTorch's CPU thread count once per process: every core, or CONVNET_THREADS; return it."""
    threads = max(1, int(os.environ.get("CONVNET_THREADS", os.cpu_count() or 1)))
    torch.set_num_threads(threads)
    return threads


def available_devices() -> list[DeviceOption]:
    """Return the devices PyTorch can use here, CPU first, then cuda:0..N-1, then mps."""
    devices = [DeviceOption("cpu", f"CPU ({torch.get_num_threads()} threads)")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            devices.append(DeviceOption(f"cuda:{index}",
                                        f"cuda:{index} - {props.name} ({props.total_memory / 2**30:.1f} GiB)"))
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append(DeviceOption("mps", "mps - Apple GPU"))
    return devices


def resolve_device(device_id: str) -> torch.device:
    """Return the torch.device for ``device_id`` if it is available here.

    Raises:
        DeviceUnavailableError: no such device on this machine (the message lists those that exist).
    """
    ids = [d.id for d in available_devices()]
    if device_id not in ids:
        raise DeviceUnavailableError(
            f"There is no device {device_id!r} on this machine; available: {', '.join(ids)}.")
    return torch.device(device_id)
