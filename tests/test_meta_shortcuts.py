"""Every meta shortcut gives exactly what the real meta kernel gives: shape, strides, dtype, identity."""

from __future__ import annotations

import pytest
import torch

from explorer.meta_shortcuts import _SOFTMAX, _UNARY, _UNARY_INPLACE, SHORTCUTS, run_on_meta

aten = torch.ops.aten


def _inputs():
    yield "contiguous", torch.empty(2, 8, 5, 5, device="meta")
    yield "channels_last", torch.empty(2, 8, 5, 5, device="meta").to(memory_format=torch.channels_last)
    yield "transposed", torch.empty(2, 8, 5, 5, device="meta").transpose(2, 3)
    yield "sliced", torch.empty(2, 8, 10, 5, device="meta")[:, :, ::2]
    yield "3d", torch.empty(2, 8, 5, device="meta")
    yield "half", torch.empty(2, 8, 5, 5, device="meta", dtype=torch.float16)
    yield "double", torch.empty(2, 8, 5, 5, device="meta", dtype=torch.float64)


INPUTS = list(_inputs())


def _describe(value):
    if isinstance(value, torch.Tensor):
        return (tuple(value.shape), value.stride(), value.dtype)
    return [_describe(v) for v in value]


def _check(packet, args, kwargs=None):
    kwargs = kwargs or {}
    func = packet.default
    real = func(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args], **kwargs)
    fast = run_on_meta(packet, func, args, kwargs)
    assert _describe(fast) == _describe(real)
    return fast


@pytest.mark.parametrize("label, x", INPUTS, ids=[label for label, _ in INPUTS])
@pytest.mark.parametrize("packet", _UNARY_INPLACE, ids=str)
def test_inplace_activations_return_their_input(packet, label, x):
    assert packet.default(x) is x  # what the real kernel does
    assert run_on_meta(packet, packet.default, (x,), {}) is x


@pytest.mark.parametrize("label, x", INPUTS, ids=[label for label, _ in INPUTS])
@pytest.mark.parametrize("packet", _UNARY + _SOFTMAX, ids=str)
def test_activations_match_the_real_kernel(packet, label, x):
    args = (x, -1, False) if packet in (aten._softmax,) else ((x, -1) if packet is aten._safe_softmax else (x,))
    _check(packet, args)


@pytest.mark.parametrize("label, x", INPUTS, ids=[label for label, _ in INPUTS])
@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_matches_the_real_kernel(label, x, training):
    stats = [torch.empty(x.shape[1], device="meta", dtype=x.dtype) for _ in range(4)]
    _check(aten.native_batch_norm, (x, *stats, training, 0.1, 1e-5))


@pytest.mark.parametrize("label, x", INPUTS, ids=[label for label, _ in INPUTS])
@pytest.mark.parametrize("normalized", [1, 2])
def test_layer_norm_matches_the_real_kernel(label, x, normalized):
    shape = list(x.shape[-normalized:])
    weight = torch.empty(shape, device="meta", dtype=x.dtype)
    _check(aten.native_layer_norm, (x, shape, weight, weight.clone(), 1e-5))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("transposed", [False, True])
def test_addmm_matches_the_real_kernel(dtype, transposed):
    left = torch.empty(7, 5, device="meta", dtype=dtype)
    right = torch.empty(3, 5, device="meta", dtype=dtype).t() if transposed else torch.empty(5, 3, device="meta", dtype=dtype)
    _check(aten.addmm, (torch.empty(3, device="meta", dtype=dtype), left, right))
    _check(aten.addmm, (torch.empty(7, 3, device="meta", dtype=dtype), left, right))


def test_every_shortcut_is_covered_here():
    covered = set(_UNARY) | set(_SOFTMAX) | set(_UNARY_INPLACE) | {aten.native_batch_norm, aten.native_layer_norm, aten.addmm}
    assert set(SHORTCUTS) == covered
