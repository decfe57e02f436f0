"""Fast results for ATen operations on meta tensors whose meta kernels are slow Python decompositions.

On the meta device an operation only has to produce outputs of the right shape, dtype and strides.
A few operations (batch norm, layer norm, activations such as hardtanh, hardswish and GELU, addmm)
compute that through Python reference implementations that cost 0.3 to 3 ms a call, which is most of
a meta forward pass. For those, the outputs are simple to state directly. Every shortcut here is
checked against the real meta kernel by tests/test_meta_shortcuts.py.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

aten = torch.ops.aten

_UNARY_INPLACE = [aten.relu_, aten.hardtanh_, aten.hardswish_, aten.hardsigmoid_, aten.silu_, aten.sigmoid_,
                  aten.tanh_, aten.gelu_]
_UNARY = [aten.relu, aten.hardtanh, aten.hardswish, aten.hardsigmoid, aten.silu, aten.sigmoid, aten.tanh,
          aten.gelu]
_SOFTMAX = [aten._safe_softmax, aten._softmax]


def _dense(x: torch.Tensor) -> bool:
    return x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))


def _stats_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


def _batch_norm(x: torch.Tensor, *_: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    channels = x.shape[1]
    return (torch.empty_like(x), torch.empty(channels, dtype=_stats_dtype(x), device=x.device),
            torch.empty(channels, dtype=_stats_dtype(x), device=x.device))


def _layer_norm(x: torch.Tensor, normalized_shape: Any, *_: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    kept = x.dim() - len(normalized_shape)
    stats_shape = tuple(x.shape[:kept]) + (1,) * len(normalized_shape)
    return (torch.empty(x.shape, dtype=x.dtype, device=x.device),
            torch.empty(stats_shape, dtype=_stats_dtype(x), device=x.device),
            torch.empty(stats_shape, dtype=_stats_dtype(x), device=x.device))


def _addmm(bias: torch.Tensor, left: torch.Tensor, right: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
    return torch.empty((left.shape[0], right.shape[1]), dtype=left.dtype, device=left.device)


def _guarded(fn: Callable[..., Any], check: Callable[..., bool]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs) if check(*args, **kwargs) else NotImplemented

    return run


def _same_float_dtypes(*tensors: Any) -> bool:
    dtypes = {t.dtype for t in tensors if isinstance(t, torch.Tensor)}
    return len(dtypes) == 1 and next(iter(dtypes)).is_floating_point


SHORTCUTS: dict[Any, Callable[..., Any]] = {
    aten.native_batch_norm: _guarded(_batch_norm, lambda x, *a: _dense(x)),
    aten.native_layer_norm: _guarded(_layer_norm, lambda x, *a: x.is_contiguous()),
    aten.addmm: _guarded(_addmm, lambda b, l, r, *a, **k: not k and l.dim() == r.dim() == 2
                         and _same_float_dtypes(b, l, r)),
    **{op: _guarded(lambda x, *a, **k: x, lambda x, *a, **k: x.is_floating_point()) for op in _UNARY_INPLACE},
    **{op: _guarded(lambda x, *a, **k: torch.empty_like(x), lambda x, *a, **k: _dense(x) and x.is_floating_point())
       for op in _UNARY},
    # softmax returns a contiguous tensor whatever the input's layout
    **{op: _guarded(lambda x, *a, **k: torch.empty_like(x), lambda x, *a, **k: x.is_contiguous()
                    and x.is_floating_point()) for op in _SOFTMAX},
}


def run_on_meta(packet: Any, func: Any, args: tuple, kwargs: dict) -> Any:
    """Return ``func(*args, **kwargs)`` for meta inputs, taking a shortcut where one is known and safe."""
    shortcut = SHORTCUTS.get(packet)
    if shortcut is not None and args and isinstance(args[0], torch.Tensor) and args[0].device.type == "meta":
        if packet is aten._softmax and args[2]:  # half-to-float softmax changes the dtype
            return func(*args, **kwargs)
        result = shortcut(*args, **kwargs)
        if result is not NotImplemented:
            return result
    return func(*args, **kwargs)
