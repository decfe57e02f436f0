"""One resource budget for every real computation: memory predicted before anything is allocated, time too.

A classroom shares one server, so no link, file or setting may make it hold more than it has. Every path
that builds real weights or runs a real forward pass first asks for a :class:`ForwardCost`, predicted on
the meta device (no memory, no compute), and goes through :func:`require` and :func:`running`:

- ``require`` refuses, with a sentence saying what it would need and what to change, a computation whose
  predicted bytes exceed the memory budget;
- ``running`` reserves the bytes while the computation runs, so that computations of different sessions
  together stay within the budget too (one waits for another; after a while it gives up with a sentence).

The limits are settings (environment variables, README "Resource budget"); the defaults suit a 2-core,
8 GB classroom server: 2 GB for what runs at once, 2 GB of models kept for reuse (explorer.ui.cache),
60 s for a timing run, 10 minutes for a fine-tuning run, 1 GB of datasets and fine-tuned models kept for the
people who made them.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from explorer.bounded_cache import BoundedCache
from explorer.errors import BudgetError
from explorer.units import human_bytes

MEMORY_ENV = "CONVNET_EXPLORER_MEMORY_MB"
MODEL_CACHE_ENV = "CONVNET_EXPLORER_MODEL_CACHE_MB"
TIME_ENV = "CONVNET_EXPLORER_TIME_S"
TRAINING_TIME_ENV = "CONVNET_EXPLORER_TRAINING_S"
WORK_CACHE_ENV = "CONVNET_EXPLORER_WORK_CACHE_MB"
DEFAULT_MEMORY_MB = 2048
DEFAULT_MODEL_CACHE_MB = 2048
DEFAULT_SECONDS = 60
DEFAULT_TRAINING_SECONDS = 600
DEFAULT_WORK_CACHE_MB = 1024
# PyTorch's CPU kernels need workspace beside their inputs and outputs, and the allocator keeps freed
# blocks for reuse: measured peaks (tests/test_budget.py) stay under twice the live tensors plus this.
LIVE_TENSOR_FACTOR = 2
WORKSPACE_BYTES = 64 * 2**20
WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """The server's budget: bytes that may run at once, bytes of models kept for reuse, seconds of timing, seconds
    of one fine-tuning run, and bytes of people's own work kept between reruns (decoded datasets, fine-tuned
    models)."""

    memory_bytes: int
    model_cache_bytes: int
    seconds: float
    training_seconds: float = float(DEFAULT_TRAINING_SECONDS)
    work_cache_bytes: int = DEFAULT_WORK_CACHE_MB * 2**20


def _setting(variable: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise BudgetError(f"The setting {variable} must be a whole number, not {text[:20]!r}.") from None
    if not low <= value <= high:
        raise BudgetError(f"The setting {variable} must be between {low} and {high}, not {value}.")
    return value


def limits() -> Limits:
    """Return the budget from the environment (README "Resource budget"), defaults where unset.

    Raises:
        BudgetError: a setting is not a whole number in its range.
    """
    return Limits(_setting(MEMORY_ENV, DEFAULT_MEMORY_MB, 16, 2**20) * 2**20,
                  _setting(MODEL_CACHE_ENV, DEFAULT_MODEL_CACHE_MB, 0, 2**20) * 2**20,
                  float(_setting(TIME_ENV, DEFAULT_SECONDS, 1, 86400)),
                  float(_setting(TRAINING_TIME_ENV, DEFAULT_TRAINING_SECONDS, 1, 86400)),
                  _setting(WORK_CACHE_ENV, DEFAULT_WORK_CACHE_MB, 0, 2**20) * 2**20)


@dataclass(frozen=True)
class ForwardCost:
    """What forward passes of one network at one input size need, predicted on the meta device.

    ``parameter_bytes`` are weights and buffers; the activations of a batch of ``n`` take
    ``fixed_bytes + n * per_sample_bytes`` (live tensors at the peak, doubled, plus workspace).
    """

    label: str
    parameter_bytes: int
    fixed_bytes: int
    per_sample_bytes: int
    macs_per_sample: int = 0

    def activation_bytes(self, batch: int = 1) -> int:
        """Return the predicted activation bytes of a forward pass over ``batch`` samples."""
        return self.fixed_bytes + batch * self.per_sample_bytes

    def total_bytes(self, batch: int = 1) -> int:
        """Return weights plus the activations of ``batch`` samples."""
        return self.parameter_bytes + self.activation_bytes(batch)

    def largest_batch(self, memory_bytes: int) -> int:
        """Return the largest batch whose forward pass fits in ``memory_bytes`` (0 if not even one fits)."""
        room = memory_bytes - self.parameter_bytes - self.fixed_bytes
        return max(0, room // max(1, self.per_sample_bytes))


class _LiveTensors(TorchDispatchMode):
    """Track the bytes of tensors alive during a forward pass, and their peak, on any device (meta included).

    A storage counts from the op that creates it until the last tensor viewing it is freed; ``excluded``
    storages (the weights, counted apart) never count, even through a view such as a transposed weight.
    """

    def __init__(self, excluded: set[int]) -> None:
        super().__init__()
        self.excluded = excluded
        self.storages: dict[int, list[int]] = {}
        self.live = 0
        self.peak = 0

    def _release(self, key: int) -> None:
        entry = self.storages[key]
        entry[1] -= 1
        if entry[1] == 0:
            self.live -= entry[0]
            del self.storages[key]

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor):
                storage = tensor.untyped_storage()
                if storage._cdata in self.excluded:
                    continue
                entry = self.storages.setdefault(storage._cdata, [storage.nbytes(), 0])
                if entry[1] == 0:
                    self.live += entry[0]
                entry[1] += 1
                weakref.finalize(tensor, self._release, storage._cdata)
        self.peak = max(self.peak, self.live)
        return out


def live_peak_bytes(model: nn.Module, input_shape: tuple[int, ...], batch: int, grad: bool = False) -> int:
    """Return the peak bytes of tensors alive during one forward pass of ``model`` (on the meta device).

    With ``grad`` the tensors autograd saves for the backward pass stay alive, as they do in training.
    """
    mode = _LiveTensors({t.untyped_storage()._cdata for t in [*model.parameters(), *model.buffers()]})
    inputs = torch.empty(batch, *input_shape, device="meta")
    with torch.set_grad_enabled(grad), mode:
        output = model(inputs)
        peak = mode.peak
    del output
    return peak + inputs.numel() * inputs.element_size()


def cost_of(build_meta: Callable[[], nn.Module], input_shape: tuple[int, ...], label: str,
            macs_per_sample: int = 0) -> ForwardCost:
    """Return the ForwardCost of the module ``build_meta()`` returns (built on the meta device) at ``input_shape``.

    One pass at batch 1: every live tensor is taken to grow with the batch, which over-counts the few
    that do not (a relative-position table, say) and never under-counts.
    """
    with torch.device("meta"):
        model = build_meta().eval()
    parameter_bytes = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    return ForwardCost(label, parameter_bytes, WORKSPACE_BYTES,
                       LIVE_TENSOR_FACTOR * live_peak_bytes(model, input_shape, 1), macs_per_sample)


_NETWORK_COSTS: BoundedCache[ForwardCost] = BoundedCache(lambda: 512)


def network_cost(name: str, config: dict[str, Any] | None = None,
                 input_shape: tuple[int, int, int] | None = None) -> ForwardCost:
    """Return the ForwardCost of registry network ``name`` with ``config`` (default input unless given).

    Computed once per network, options and input, however many sessions ask at the same moment.

    Raises:
        ExplorerError: an unknown name or invalid options.
    """
    from explorer.zoo import build, get_spec

    spec = get_spec(name)
    resolved = spec.resolve_config(config or {})
    shape = tuple(input_shape or spec.default_input_shape(resolved))
    return _NETWORK_COSTS.get((name, tuple(sorted(resolved.items())), shape),
                              lambda: cost_of(lambda: build(name, **resolved), shape, spec.display_name), 1)


def require(cost: ForwardCost, batch: int = 1, advice: str = "pick a smaller network or a smaller input",
            extra_bytes: int = 0) -> None:
    """Refuse a computation whose predicted memory exceeds the server's budget.

    ``extra_bytes`` counts what else the computation allocates (an uploaded file read into tensors).

    Raises:
        BudgetError: weights + activations of ``batch`` samples + ``extra_bytes`` exceed the memory budget.
    """
    budget = limits().memory_bytes
    need = cost.total_bytes(batch) + extra_bytes
    if need <= budget:
        return
    samples = "one sample" if batch == 1 else f"a batch of {batch}"
    raise BudgetError(
        f"{cost.label} on {samples} would need about {human_bytes(need)} "
        f"({human_bytes(cost.parameter_bytes)} of weights, {human_bytes(cost.activation_bytes(batch))} of "
        f"activations{f', {human_bytes(extra_bytes)} to read the file' if extra_bytes else ''}), more than "
        f"this server's budget of {human_bytes(budget)}; {advice}.")


_reserved = 0
_reserved_changed = threading.Condition()


def reserved_bytes() -> int:
    """Return the bytes currently reserved by running computations."""
    with _reserved_changed:
        return _reserved


@contextmanager
def running(nbytes: int, wait_seconds: float = WAIT_SECONDS) -> Iterator[None]:
    """Reserve ``nbytes`` of the memory budget while the block runs; wait while other computations hold it.

    A computation larger than the whole budget should have been refused by :func:`require`; it still runs
    alone here (it waits for the budget to be free) rather than never. If the device runs out of memory
    all the same, the block's error becomes a sentence (never the allocator's own text).

    Raises:
        BudgetError: the budget stayed taken by other computations for ``wait_seconds``, or the device ran
            out of memory inside the block.
    """
    global _reserved
    budget = limits().memory_bytes
    deadline = time.monotonic() + wait_seconds
    with _reserved_changed:
        while _reserved and _reserved + nbytes > budget:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BudgetError("The server is busy with other people's computations; try again in a minute.")
            _reserved_changed.wait(left)
        _reserved += nbytes
    try:
        yield
    except RuntimeError as error:  # torch.OutOfMemoryError, or an allocation the host refused
        if not any(text in str(error).lower() for text in ("out of memory", "can't allocate", "alloc_cpu")):
            raise
        raise BudgetError("The device ran out of memory for this computation; use a smaller network, input or "
                          "batch.") from None
    finally:
        with _reserved_changed:
            _reserved -= nbytes
            _reserved_changed.notify_all()


@dataclass(frozen=True)
class Throughput:
    """What a device did in a short measurement: multiply-accumulates and bytes copied per second."""

    macs_per_second: float
    bytes_per_second: float

    def seconds(self, macs: int, nbytes: int) -> float:
        """Return the predicted seconds of work of ``macs`` multiply-accumulates reading and writing ``nbytes``."""
        return macs / self.macs_per_second + nbytes / self.bytes_per_second


_THROUGHPUTS: dict[tuple[str, int], tuple[Throughput, float]] = {}  # (device, threads) -> (fastest, when measured)
REMEASURE_SECONDS = 60.0


def throughput(device: str) -> Throughput:
    """Return ``device``'s throughput on torch.get_num_threads() threads, as timings and forward passes run
    (torch.utils.benchmark's Timer would measure on one unless told): a dense 3x3 convolution and a 32 MB copy,
    each the fastest of seven passes on explorer.timing's clock, per device and thread count.

    It is measured again when asked a minute or more after the last measurement, and the fastest pace ever
    measured is kept: one measured while other work held the cores (another session's run, the browser of a
    person on this machine) read 4-5 times slower and made every later prediction as wrong.
    """
    key = (device, torch.get_num_threads())
    kept, measured_at = _THROUGHPUTS.get(key, (None, -REMEASURE_SECONDS))
    if kept is None or time.monotonic() - measured_at >= REMEASURE_SECONDS:
        measured = _measure_throughput(device)
        if kept is not None:
            measured = Throughput(max(measured.macs_per_second, kept.macs_per_second),
                                  max(measured.bytes_per_second, kept.bytes_per_second))
        _THROUGHPUTS[key] = (measured, time.monotonic())
    return _THROUGHPUTS[key][0]


def _measure_throughput(device: str) -> Throughput:
    from explorer.timing import clock, pin_threads, seconds_per_pass

    pin_threads()
    conv = nn.Conv2d(64, 64, 3, padding=1, bias=False).to(device).eval()
    x = torch.randn(1, 64, 56, 56, device=device)
    block = torch.empty(8 * 2**20, device=device)
    now = clock(device)
    with torch.inference_mode():
        for _ in range(2):  # allocations, kernel selection
            conv(x)
            block.clone()
        # the fastest of several single passes: predictions are the least a run can take, so refusals are
        # sure ones (a busy server measured at its median refused networks that timed in a fifth of the limit)
        conv_seconds = min(seconds_per_pass(conv, x, 1, now) for _ in range(7))
        copy_seconds = min(seconds_per_pass(torch.clone, block, 1, now) for _ in range(7))
    return Throughput(56 * 56 * 64 * 64 * 9 / conv_seconds, 2 * block.nbytes / copy_seconds)
