"""Measured latency of a whole network's forward pass on a device, at batch 1 and a chosen batch (issue 13).

The run is predicted before anything is allocated (:func:`check_latency`): its memory at the largest batch
against the budget (explorer.budget.require), its seconds from the network's MACs and the bytes its layers
read and write, at the throughput the device showed in a short measurement (explorer.budget.throughput),
against the time limit. :func:`measure_latency` then times the caller's model as the Cost lab times its
variants (explorer.costs.timing): warm-up passes, then ``BLOCKS`` interleaved blocks per batch on a clock
that waits for the device's queued work (as torch.utils.benchmark's timer does), inside ``budget.running``
and ``torch.inference_mode``, checking the time limit as it goes. :func:`cached_latency` keeps each batch's
timing per network, options, input and device, so a page measures only what it has not measured before.

Weights do not matter (:data:`RANDOM_WEIGHTS_NOTE`): the page times the models it already keeps, random ones
included.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import torch
from torch import nn

from explorer import budget
from explorer.bounded_cache import BoundedCache
from explorer.costs.timing import BLOCK_SECONDS, BLOCKS, WARMUP_RUNS, Timing, _seconds
from explorer.errors import BudgetError, InvalidOptionError

__all__ = [
    "RANDOM_WEIGHTS_NOTE", "LatencyCost", "Timing", "cached_latency", "check_latency", "latency_cost",
    "measure_latency", "predict_latency_seconds", "predict_run_seconds",
]

RANDOM_WEIGHTS_NOTE = (
    "Random weights time the same as trained ones: a forward pass does the same multiplications on tensors of "
    "the same shapes whatever values the weights hold, so its time depends on the network, the input, the batch "
    "and the device, not on training.")

ADVICE = "use a smaller batch or a smaller network"
WAIT_SECONDS = budget.WAIT_SECONDS


@dataclass(frozen=True)
class LatencyCost:
    """What one network's forward passes need, predicted on the meta device: memory, MACs and memory traffic.

    ``forward`` is the network's memory prediction (explorer.budget.network_cost) with ``macs_per_sample``
    filled in; ``traffic_bytes_per_sample`` counts every layer's output written once and read once.
    """

    forward: budget.ForwardCost
    input_shape: tuple[int, int, int]
    traffic_bytes_per_sample: int

    @property
    def label(self) -> str:
        """Return the network's name for people (as the budget's sentences say it)."""
        return self.forward.label


_LATENCY_COSTS: BoundedCache[LatencyCost] = BoundedCache(lambda: 512)


def latency_cost(name: str, config: dict[str, Any] | None = None,
                 input_shape: tuple[int, int, int] | None = None) -> LatencyCost:
    """Return the LatencyCost of registry network ``name`` with ``config`` at ``input_shape`` (default if None).

    Computed once per network, options and input (two passes on the meta device, no memory, no compute).

    Raises:
        ExplorerError: an unknown name, invalid options, or an input the network cannot take.
    """
    from explorer.analysis import analyze
    from explorer.zoo import get_spec

    resolved = get_spec(name).resolve_config(config or {})
    shape = tuple(input_shape or get_spec(name).default_input_shape(resolved))

    def predict() -> LatencyCost:
        report = analyze(name, shape, **resolved)  # checks the input first, in a sentence
        forward = replace(budget.network_cost(name, resolved, shape), macs_per_sample=report.total_macs)
        return LatencyCost(forward, shape, 2 * sum(row.output_bytes for row in report.leaves()))

    return _LATENCY_COSTS.get((name, tuple(sorted(resolved.items())), shape), predict, 1)


def predict_latency_seconds(cost: LatencyCost, batch: int, device: str) -> float:
    """Return the predicted seconds of one forward pass over ``batch`` samples on ``device``.

    The MACs and the bytes read and written (weights once, each layer's output twice) at the device's measured
    throughput; fixed per-call overhead (kernel launches, small layers) is not counted, which is why the
    measured passes check the time limit again.
    """
    return budget.throughput(device).seconds(cost.forward.macs_per_sample * batch,
                                             cost.forward.parameter_bytes + batch * cost.traffic_bytes_per_sample)


def predict_run_seconds(cost: LatencyCost, batches: Sequence[int], device: str,
                        block_seconds: float = BLOCK_SECONDS) -> float:
    """Return the least wall time :func:`measure_latency` should take: per batch, the warm-up passes, then
    ``BLOCKS`` blocks of one pass or of ``block_seconds``, whichever is longer."""
    passes = [predict_latency_seconds(cost, batch, device) for batch in _checked_batches(batches)]
    return sum(WARMUP_RUNS * one + BLOCKS * max(one, block_seconds) for one in passes)


def _checked_batches(batches: Sequence[int]) -> list[int]:
    """Return the distinct batch sizes in increasing order.

    Raises:
        InvalidOptionError: no batch, or one that is not a whole number of at least 1.
    """
    if not batches:
        raise InvalidOptionError("Choose at least one batch size to time.")
    for batch in batches:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise InvalidOptionError(f"A batch size must be a whole number of at least 1, not {batch!r}.")
    return sorted(set(batches))


def _in_words(batches: list[int]) -> str:
    if len(batches) == 1:
        return f"batch {batches[0]}"
    return f"batches {', '.join(str(b) for b in batches[:-1])} and {batches[-1]}"


def _check(cost: LatencyCost, batches: Sequence[int], device: str, block_seconds: float) -> float:
    batches = _checked_batches(batches)
    largest = batches[-1]
    fits = cost.forward.largest_batch(budget.limits().memory_bytes)
    budget.require(cost.forward, largest, f"use a batch of at most {fits}" if fits else "pick a smaller network")
    limit = budget.limits().seconds
    predicted = predict_run_seconds(cost, batches, device, block_seconds)
    if predicted > limit:
        raise BudgetError(
            f"Timing {cost.label} at {_in_words(batches)} would take about {_seconds(predicted)}, more than this "
            f"server's limit of {_seconds(limit)}; {ADVICE}.")
    return predicted


def check_latency(name: str, config: dict[str, Any] | None, input_shape: tuple[int, int, int] | None,
                  batches: Sequence[int], device: str, block_seconds: float = BLOCK_SECONDS) -> float:
    """Return the least seconds timing ``name`` at ``batches`` on ``device`` would take, if it fits the budget.

    Nothing is built or allocated: the predictions run on the meta device.

    Raises:
        InvalidOptionError: no batch, or a batch that is not a whole number of at least 1.
        ExplorerError: an unknown name, invalid options, or an input the network cannot take.
        BudgetError: the weights and the largest batch's forward pass exceed the memory budget (the sentence
            says which batch would fit), or the run would exceed the time limit.
    """
    _checked_batches(batches)
    return _check(latency_cost(name, config, input_shape), batches, device, block_seconds)


def _check_time(start: float, left: float, one_pass: float, limit: float) -> None:
    elapsed = time.perf_counter() - start
    if elapsed + left > limit:
        raise BudgetError(
            f"One pass took {_seconds(one_pass)}, so timing would take about {_seconds(elapsed + left)}, more than "
            f"this server's limit of {_seconds(limit)}; {ADVICE}.")


_DEVICE_LOCKS: dict[str, threading.Lock] = {}
_DEVICE_LOCKS_LOCK = threading.Lock()


def _device_lock(device: str) -> threading.Lock:
    with _DEVICE_LOCKS_LOCK:
        return _DEVICE_LOCKS.setdefault(str(torch.device(device)), threading.Lock())


def _clock(device: torch.device) -> Callable[[], float]:
    """Return a clock that first waits for the work queued on ``device`` (as torch.utils.benchmark.timer does for
    the current accelerator only), so that a timed pass on a GPU ends when its kernels do."""
    if device.type == "cpu":
        return time.perf_counter

    def synchronised() -> float:
        torch.accelerator.synchronize(device)
        return time.perf_counter()

    return synchronised


def _seconds_per_pass(model: nn.Module, x: torch.Tensor, number: int, clock: Callable[[], float]) -> float:
    # torch.utils.benchmark.Timer.timeit(n) would run two untimed passes before its n: three times the work of
    # a one-pass block, which the time limit would have to pay for
    start = clock()
    for _ in range(number):
        model(x)
    return (clock() - start) / number


def measure_latency(model: nn.Module, cost: LatencyCost, batches: Sequence[int], device: str,
                    progress: Callable[[float, str], None] | None = None,
                    block_seconds: float = BLOCK_SECONDS) -> dict[int, Timing]:
    """Time ``model``'s forward pass on ``device`` at each batch size, within the memory and time budget.

    ``model`` is the caller's, already on ``device`` in eval mode; it is neither changed nor kept. After
    ``WARMUP_RUNS`` passes per batch, the batches take turns for ``BLOCKS`` blocks of about ``block_seconds``;
    a batch's time is the median over its blocks. One latency run at a time per device (two at once would
    each slow the other); ``progress(fraction, text)`` is called after every pass of the warm-up and every block.

    Returns:
        Each batch size, in increasing order, with the Timing of one forward pass over that batch.

    Raises:
        InvalidOptionError: no batch, or a batch that is not a whole number of at least 1.
        BudgetError: the largest batch would not fit the memory budget, the predicted or the measured run time
            exceeds the time limit, another latency run held the device for ``WAIT_SECONDS``, or the device ran
            out of memory.
    """
    batches = _checked_batches(batches)
    _check(cost, batches, device, block_seconds)
    limit = budget.limits().seconds
    clock = _clock(torch.device(device))
    steps = len(batches) * (WARMUP_RUNS + BLOCKS)
    done = 0

    def advance(text: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done / steps, text)

    lock = _device_lock(device)
    if not lock.acquire(timeout=WAIT_SECONDS):
        raise BudgetError("The server is busy timing another network on this device; try again in a minute.")
    try:
        # the weights are the caller's (kept in the model cache); this run adds the largest batch's activations
        # and the smaller batches' inputs
        inputs_bytes = sum(b * 4 * int(torch.Size(cost.input_shape).numel()) for b in batches[:-1])
        start = time.perf_counter()
        with budget.running(cost.forward.activation_bytes(batches[-1]) + inputs_bytes), torch.inference_mode():
            inputs: dict[int, torch.Tensor] = {}
            one_pass: dict[int, float] = {}

            def left(current: int, warmups_done: int) -> float:
                # measured passes where there are some; a larger batch is taken to be at least as slow
                total = 0.0
                for batch in batches:
                    if batch < current:
                        warmups, one = 0, one_pass[batch]
                    elif batch == current:
                        warmups, one = WARMUP_RUNS - warmups_done, one_pass[batch]
                    else:
                        warmups, one = WARMUP_RUNS, max(one_pass[current], predict_latency_seconds(cost, batch, device))
                    total += warmups * one + BLOCKS * max(one, block_seconds)
                return total

            for batch in batches:
                inputs[batch] = torch.randn(batch, *cost.input_shape, device=device)
                for run in range(WARMUP_RUNS):  # allocations, kernel selection
                    one_pass[batch] = _seconds_per_pass(model, inputs[batch], 1, clock)
                    advance(f"batch {batch}: warm-up pass {run + 1} of {WARMUP_RUNS}")
                    _check_time(start, left(batch, run + 1), one_pass[batch], limit)
            numbers = {batch: max(1, round(block_seconds / one_pass[batch])) for batch in batches}
            per_block = sum(numbers[batch] * one_pass[batch] for batch in batches)
            times: dict[int, list[float]] = {batch: [] for batch in batches}
            for block in range(BLOCKS):
                for batch in batches:
                    times[batch].append(_seconds_per_pass(model, inputs[batch], numbers[batch], clock))
                    advance(f"batch {batch}: block {block + 1} of {BLOCKS}")
                slowest = max(times[batch][-1] for batch in batches)
                _check_time(start, (BLOCKS - block - 1) * per_block, slowest, limit)
    finally:
        lock.release()
    timings = {}
    for batch in batches:
        quartiles = statistics.quantiles(times[batch], n=4)
        timings[batch] = Timing(statistics.median(times[batch]), quartiles[2] - quartiles[0], BLOCKS)
    return timings


_TIMINGS: BoundedCache[Timing] = BoundedCache(lambda: 2**20)


def cached_latency(name: str, config: dict[str, Any] | None, input_shape: tuple[int, int, int] | None,
                   batches: Sequence[int], device: str, model: Callable[[], nn.Module],
                   progress: Callable[[float, str], None] | None = None) -> dict[int, Timing]:
    """Return each batch's Timing of ``name`` on ``device``, measuring only the batches not timed before.

    Timings are kept per (network, options, input, device, batch) for every session; ``model()`` returns the
    network on ``device`` in eval mode (the page's model cache) and is called only when something is measured.

    Raises:
        InvalidOptionError, ExplorerError, BudgetError: as :func:`check_latency` and :func:`measure_latency`.
    """
    from explorer.zoo import get_spec

    batches = _checked_batches(batches)
    cost = latency_cost(name, config, input_shape)
    key = (name, tuple(sorted(get_spec(name).resolve_config(config or {}).items())), cost.input_shape, device)
    kept = set(_TIMINGS.keys())
    missing = [batch for batch in batches if (*key, batch) not in kept]
    if missing:
        _check(cost, missing, device, BLOCK_SECONDS)  # before the model is built or fetched
    measured = measure_latency(model(), cost, missing, device, progress) if missing else {}
    timings = {}
    for batch in batches:  # a timing dropped since keys() was read is measured again, alone
        timings[batch] = _TIMINGS.get((*key, batch), lambda b=batch: measured[b] if b in measured else
                                      measure_latency(model(), cost, [b], device, progress)[b], 64)
    return timings
