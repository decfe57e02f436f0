"""Every meta shortcut gives exactly what the real meta kernel gives: shape, strides, dtype, identity."""

from __future__ import annotations

import pytest
import torch

from explorer.meta_shortcuts import SHORTCUTS, run_on_meta

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


def _calls(packet, x):
    """Yield argument tuples for ``packet`` shaped by ``x``, as torch.nn's layers call it."""
    if packet is aten.native_batch_norm:
        stats = [torch.empty(x.shape[1], device="meta", dtype=x.dtype) for _ in range(4)]
        for training in (False, True):
            yield (x, *stats, training, 0.1, 1e-5)
    elif packet is aten.native_layer_norm:
        for normalized in (1, 2):
            shape = list(x.shape[-normalized:])
            yield (x, shape, torch.empty(shape, device="meta", dtype=x.dtype),
                   torch.empty(shape, device="meta", dtype=x.dtype), 1e-5)
    elif packet is aten.addmm:  # a Linear layer: only x's dtype matters
        left = torch.empty(7, 5, device="meta", dtype=x.dtype)
        for right in (torch.empty(5, 3, device="meta", dtype=x.dtype),
                      torch.empty(3, 5, device="meta", dtype=x.dtype).t()):
            for bias in (torch.empty(3, device="meta", dtype=x.dtype), torch.empty(7, 3, device="meta", dtype=x.dtype)):
                yield (bias, left, right)
    elif packet is aten._softmax:
        yield (x, -1, False)
    elif packet is aten._safe_softmax:
        yield (x, -1)
    else:  # an activation; a shortcut of another kind fails here until it gets its own call above
        yield (x,)


@pytest.mark.parametrize("label, x", INPUTS, ids=[label for label, _ in INPUTS])
@pytest.mark.parametrize("packet", list(SHORTCUTS), ids=str)
def test_every_shortcut_gives_what_the_real_meta_kernel_gives(packet, label, x):
    for args in _calls(packet, x):
        real = packet.default(*args)  # on meta nothing is computed, so in-place kernels change nothing either
        fast = run_on_meta(packet, packet.default, args, {})
        assert _describe(fast) == _describe(real)
        assert (fast is x) == (real is x)  # in-place kernels return their input, the others a new tensor
