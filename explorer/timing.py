"""One way to time forward passes on a device, within the server's time limit: the Cost lab's variants
(explorer.costs.timing) and whole networks' latency (explorer.latency) both go through :func:`time_runs`.

A run is a module and an input. :func:`time_runs` takes the device (one timing per device at a time: two at
once would each slow the other), reserves the memory budget (explorer.budget.running), runs ``WARMUP_RUNS``
passes of each run (allocations, kernel selection), then ``BLOCKS`` rounds in which every run times one block
of about ``block_seconds``; a run's time is the median over its blocks. The time limit is checked after every
pass of the warm-up and every block, against what is left at the speed measured so far.

Passes are timed on a clock that waits for the work queued on the device (as torch.utils.benchmark's timer
does for the current accelerator only), and exactly as many passes run as are counted: Timer.timeit(n) would
run two untimed passes before its n, three times the work of a one-pass block, which the time limit would
have to pay for without counting it.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, TypeVar

import torch
from torch import nn

from explorer import budget
from explorer.errors import BudgetError
from explorer.units import human_seconds

__all__ = [
    "BLOCK_SECONDS", "BLOCKS", "WAIT_SECONDS", "WARMUP_RUNS", "Timing", "check_time", "clock", "device_lock",
    "pin_threads", "predicted_run_seconds", "seconds_per_pass", "time_runs",
]

WARMUP_RUNS = 2
BLOCKS = 7  # every run gets the same number of timed blocks, interleaved so that all see the same noise
BLOCK_SECONDS = 0.03
WAIT_SECONDS = budget.WAIT_SECONDS
BUSY = "The server is busy timing another network on this device; try again in a minute."

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Timing:
    """Measured time of one forward pass: median and interquartile range over blocks, in seconds."""

    median: float
    iqr: float
    runs: int


_DEVICE_LOCKS: dict[str, threading.Lock] = {}
_DEVICE_LOCKS_LOCK = threading.Lock()


def device_lock(device: str | torch.device) -> threading.Lock:
    """Return the lock that one timing on ``device`` holds while it runs."""
    with _DEVICE_LOCKS_LOCK:
        return _DEVICE_LOCKS.setdefault(str(torch.device(device)), threading.Lock())


def clock(device: str | torch.device) -> Callable[[], float]:
    """Return a clock in seconds that first waits for the work queued on ``device``, so that a timed pass on an
    accelerator ends when its kernels do (time.perf_counter itself on the CPU)."""
    device = torch.device(device)
    if device.type == "cpu":
        return time.perf_counter

    def synchronised() -> float:
        torch.accelerator.synchronize(device)
        return time.perf_counter()

    return synchronised


def pin_threads() -> int:
    """Set PyTorch's thread count to itself, as torch.utils.benchmark's Timer does before it times, and return it.

    The count does not change; what does is that this thread's OpenMP team is set up for it. Without it, a
    thread that never set the count ran every parallel op of a tiny convolution in about 24 ms instead of 15 us
    (measured on a 2-core server, PyTorch 2.14): a block sized from a fast warm-up pass then ran a thousand
    times too long.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    return threads


def seconds_per_pass(module: Callable[[torch.Tensor], object], x: torch.Tensor, number: int,
                     clock: Callable[[], float]) -> float:
    """Return the mean seconds of ``module(x)`` over exactly ``number`` passes, timed on ``clock``.

    No pass runs besides the ``number`` timed ones (warm-up is the caller's).
    """
    start = clock()
    for _ in range(number):
        module(x)
    return (clock() - start) / number


def predicted_run_seconds(passes: Iterable[float], block_seconds: float = BLOCK_SECONDS) -> float:
    """Return the least wall time :func:`time_runs` takes for runs of ``passes`` seconds per pass each: per run,
    ``WARMUP_RUNS`` passes, then ``BLOCKS`` blocks of one pass or of ``block_seconds``, whichever is longer."""
    return sum(WARMUP_RUNS * one + BLOCKS * max(one, block_seconds) for one in passes)


def check_time(start: float, left: float, one_pass: float, limit: float, advice: str) -> None:
    """Stop a timing whose elapsed seconds since ``start`` (time.perf_counter) plus the ``left`` still to run
    would exceed ``limit``; ``one_pass`` is the pass just measured, ``advice`` what to change.

    Raises:
        BudgetError: the timing would exceed the limit, in one sentence.
    """
    elapsed = time.perf_counter() - start
    if elapsed + left > limit:
        raise BudgetError(
            f"One pass took {human_seconds(one_pass)}, so timing would take about {human_seconds(elapsed + left)}, "
            f"more than this server's limit of {human_seconds(limit)}; {advice}.")


def time_runs(make_runs: Callable[[], dict[Key, tuple[nn.Module, torch.Tensor]]], device: str,
              predicted: dict[Key, float], reserve_bytes: int, advice: str,
              block_seconds: float = BLOCK_SECONDS, progress: Callable[[float, str], None] | None = None,
              label: Callable[[Key], str] = str, wait_seconds: float | None = None) -> dict[Key, Timing]:
    """Time each run's forward pass on ``device`` and return its Timing, within the server's time limit.

    ``make_runs()`` returns {key: (module, input)}, modules on ``device`` in eval mode; it is called once the
    device is this timing's and ``reserve_bytes`` of the memory budget are reserved, inside
    ``torch.inference_mode``, so that what it allocates is counted. ``predicted`` holds each key's predicted
    seconds per pass (the caller checked the whole run against the limit with :func:`predicted_run_seconds`);
    a run not measured yet is taken to be as much slower than its prediction as the slowest measured one was.
    Each run gets exactly ``WARMUP_RUNS`` passes, then one block of ``number`` passes in each of ``BLOCKS``
    rounds, ``number`` chosen from its last warm-up pass to take about ``block_seconds``.
    ``progress(fraction, text)`` is called after every warm-up pass and every block, the text starting with
    ``label(key)``.

    Returns:
        Each key, in the order ``make_runs`` gave, with its Timing over ``BLOCKS`` blocks.

    Raises:
        BudgetError: another timing held the device for ``wait_seconds`` (default ``WAIT_SECONDS``), the memory
            budget stayed taken, the measured passes would make the run exceed the time limit (the sentence ends
            with ``advice``), or the device ran out of memory.
    """
    limit = budget.limits().seconds
    now = clock(device)
    pin_threads()
    lock = device_lock(device)
    if not lock.acquire(timeout=WAIT_SECONDS if wait_seconds is None else wait_seconds):
        raise BudgetError(BUSY)
    try:
        with budget.running(reserve_bytes), torch.inference_mode():
            start = time.perf_counter()
            runs = make_runs()
            keys = list(runs)
            steps, done = len(keys) * (WARMUP_RUNS + BLOCKS), 0

            def advance(text: str) -> None:
                nonlocal done
                done += 1
                if progress is not None:
                    progress(done / steps, text)

            one: dict[Key, float] = {}  # the latest measured seconds per pass
            slowdown = 1.0  # measured over predicted, the largest so far (never taken below the prediction)
            for index, key in enumerate(keys):
                module, x = runs[key]
                for run in range(WARMUP_RUNS):  # allocations, kernel selection
                    one[key] = seconds_per_pass(module, x, 1, now)
                    if run == WARMUP_RUNS - 1 and predicted.get(key, 0) > 0:  # the first pass allocates: not a rate
                        slowdown = max(slowdown, one[key] / predicted[key])
                    advance(f"{label(key)}: warm-up pass {run + 1} of {WARMUP_RUNS}")
                    later = [slowdown * predicted.get(k, 0.0) for k in keys[index + 1:]]
                    left = ((WARMUP_RUNS - run - 1) * one[key] + predicted_run_seconds(later, block_seconds)
                            + BLOCKS * sum(max(one[k], block_seconds) for k in keys[:index + 1]))
                    check_time(start, left, one[key], limit, advice)
            numbers = {key: max(1, round(block_seconds / one[key])) for key in keys}
            times: dict[Key, list[float]] = {key: [] for key in keys}
            for block in range(BLOCKS):
                for index, key in enumerate(keys):
                    module, x = runs[key]
                    one[key] = seconds_per_pass(module, x, numbers[key], now)
                    times[key].append(one[key])
                    advance(f"{label(key)}: block {block + 1} of {BLOCKS}")
                    left = ((BLOCKS - block - 1) * sum(numbers[k] * one[k] for k in keys)
                            + sum(numbers[k] * one[k] for k in keys[index + 1:]))
                    check_time(start, left, one[key], limit, advice)
    finally:
        lock.release()
    timings = {}
    for key in keys:
        quartiles = statistics.quantiles(times[key], n=4)
        timings[key] = Timing(statistics.median(times[key]), quartiles[2] - quartiles[0], BLOCKS)
    return timings
