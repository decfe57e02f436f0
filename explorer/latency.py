"""Measured latency of a whole network's forward pass on a device, at batch 1 and a chosen batch (issue 13).

The run is predicted before anything is allocated (:func:`check_latency`): its memory at the largest batch
against the budget (explorer.budget.require), its seconds from the network's MACs and the bytes its layers
read and write, at the throughput the device showed in a short measurement (explorer.budget.throughput),
against the time limit. :func:`measure_latency` then times the caller's model with the loop the Cost lab
times its variants with (explorer.timing.time_runs): warm-up passes, then ``BLOCKS`` interleaved blocks per
batch on a clock that waits for the device's queued work, one timing per device at a time, inside
``budget.running`` and ``torch.inference_mode``, checking the time limit as it goes. :func:`cached_latency`
keeps each batch's timing per network, options, input and device, so a page measures only what it has not
measured before; :func:`kept_latency` returns what is kept without measuring.

Weights do not matter (:data:`RANDOM_WEIGHTS_NOTE`): the page times the models it already keeps, random ones
included.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Hashable, Sequence

import torch
from torch import nn

from explorer import budget
from explorer.bounded_cache import BoundedCache
from explorer.errors import BudgetError, ExplorerError, InvalidOptionError
from explorer.timing import BLOCK_SECONDS, Timing, predicted_run_seconds, time_runs
from explorer.units import human_seconds

__all__ = [
    "RANDOM_WEIGHTS_NOTE", "LatencyCost", "Timing", "cached_latency", "check_latency", "kept_latency",
    "latency_cost", "measure_latency", "predict_latency_seconds", "predict_run_seconds",
]

RANDOM_WEIGHTS_NOTE = (
    "Random weights time the same as trained ones: a forward pass does the same multiplications on tensors of "
    "the same shapes whatever values the weights hold, so its time depends on the network, the input, the batch "
    "and the device, not on training.")

ADVICE = "use a smaller batch or a smaller network"


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
    return predicted_run_seconds([predict_latency_seconds(cost, batch, device) for batch in _checked_batches(batches)],
                                 block_seconds)


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
            f"Timing {cost.label} at {_in_words(batches)} would take about {human_seconds(predicted)}, more than "
            f"this server's limit of {human_seconds(limit)}; {ADVICE}.")
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


def measure_latency(model: nn.Module, cost: LatencyCost, batches: Sequence[int], device: str,
                    progress: Callable[[float, str], None] | None = None,
                    block_seconds: float = BLOCK_SECONDS) -> dict[int, Timing]:
    """Time ``model``'s forward pass on ``device`` at each batch size, within the memory and time budget.

    ``model`` is the caller's, already on ``device`` in eval mode; it is neither changed nor kept. After
    ``WARMUP_RUNS`` passes per batch, the batches take turns for ``BLOCKS`` blocks of about ``block_seconds``;
    a batch's time is the median over its blocks (explorer.timing.time_runs). One timing at a time per device,
    a Cost lab timing included (two at once would each slow the other); ``progress(fraction, text)`` is called
    after every pass of the warm-up and every block.

    Returns:
        Each batch size, in increasing order, with the Timing of one forward pass over that batch.

    Raises:
        InvalidOptionError: no batch, or a batch that is not a whole number of at least 1.
        BudgetError: the largest batch would not fit the memory budget, the predicted or the measured run time
            exceeds the time limit, another timing held the device for explorer.timing.WAIT_SECONDS, or the
            device ran out of memory.
    """
    batches = _checked_batches(batches)
    _check(cost, batches, device, block_seconds)
    # the weights are the caller's (kept in the model cache); this run adds the largest batch's activations and
    # the smaller batches' inputs
    inputs_bytes = sum(b * 4 * int(torch.Size(cost.input_shape).numel()) for b in batches[:-1])

    def make_runs() -> dict[int, tuple[nn.Module, torch.Tensor]]:
        return {batch: (model, torch.randn(batch, *cost.input_shape, device=device)) for batch in batches}

    return time_runs(make_runs, device, {batch: predict_latency_seconds(cost, batch, device) for batch in batches},
                     cost.forward.activation_bytes(batches[-1]) + inputs_bytes, ADVICE, block_seconds, progress,
                     label=lambda batch: f"batch {batch}")


_TIMINGS: BoundedCache[Timing] = BoundedCache(lambda: 2**20)


def _key(name: str, config: dict[str, Any] | None, input_shape: tuple[int, int, int] | None,
         device: str) -> tuple[Hashable, ...]:
    """Return what a kept timing is kept under, less its batch: network, options, input (as latency_cost
    resolves them) and device.

    Raises:
        ExplorerError: an unknown name or invalid options.
    """
    from explorer.zoo import get_spec

    spec = get_spec(name)
    resolved = spec.resolve_config(config or {})
    return name, tuple(sorted(resolved.items())), tuple(input_shape or spec.default_input_shape(resolved)), device


class _Dropped(Exception):
    """A kept timing left the cache between reading its keys and reading it."""


def _dropped() -> Timing:
    raise _Dropped


def kept_latency(name: str, config: dict[str, Any] | None, input_shape: tuple[int, int, int] | None,
                 batches: Sequence[int], device: str) -> dict[int, Timing]:
    """Return the Timings of ``name`` on ``device`` kept for those of ``batches`` measured before (by
    :func:`cached_latency`, in any session), so a page can show them without a click.

    Nothing is measured, built or predicted, and nothing is refused: what cannot be timed has nothing kept
    (:func:`check_latency` says why).

    Returns:
        Each kept batch size, in increasing order, with its Timing; {} when none is kept.
    """
    try:
        key = _key(name, config, input_shape, device)
    except ExplorerError:
        return {}
    kept = set(_TIMINGS.keys())
    timings = {}
    for batch in {batch for batch in batches if (*key, batch) in kept}:
        try:
            timings[batch] = _TIMINGS.get((*key, batch), _dropped, 64)
        except _Dropped:
            pass
    return dict(sorted(timings.items()))


def cached_latency(name: str, config: dict[str, Any] | None, input_shape: tuple[int, int, int] | None,
                   batches: Sequence[int], device: str, model: Callable[[], nn.Module],
                   progress: Callable[[float, str], None] | None = None) -> dict[int, Timing]:
    """Return each batch's Timing of ``name`` on ``device``, measuring only the batches not timed before.

    Timings are kept per (network, options, input, device, batch) for every session; ``model()`` returns the
    network on ``device`` in eval mode (the page's model cache) and is called only when something is measured.

    Returns:
        Each batch size, in increasing order, with its Timing.

    Raises:
        InvalidOptionError, ExplorerError, BudgetError: as :func:`check_latency` and :func:`measure_latency`.
    """
    batches = _checked_batches(batches)
    cost = latency_cost(name, config, input_shape)
    key = _key(name, config, input_shape, device)
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
