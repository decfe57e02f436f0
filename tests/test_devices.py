"""Device listing: the CPU for real, CUDA and MPS with their availability functions patched."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from explorer.devices import DeviceUnavailableError, available_devices, resolve_device


def test_cpu_is_always_first_and_really_computes():
    devices = available_devices()
    assert devices[0].id == "cpu"
    device = resolve_device("cpu")
    assert (torch.ones(2, device=device) * 3).sum().item() == 6.0


def test_cuda_devices_are_listed_with_name_and_memory(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda i: SimpleNamespace(name=f"Fake GPU {i}", total_memory=(i + 1) * 8 * 2**30))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    devices = available_devices()
    assert [d.id for d in devices] == ["cpu", "cuda:0", "cuda:1"]
    assert devices[2].label == "cuda:1 - Fake GPU 1 (16.0 GiB)"
    assert resolve_device("cuda:1") == torch.device("cuda:1")


def test_mps_is_listed_where_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert [d.id for d in available_devices()] == ["cpu", "mps"]


def test_missing_device_is_a_sentence(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailableError, match="There is no device 'cuda:0' on this machine; available: cpu."):
        resolve_device("cuda:0")
