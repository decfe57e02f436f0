"""The variants as real PyTorch modules, timed on a device within the server's memory and time budget."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from explorer import budget
from explorer.bounded_cache import BoundedCache
from explorer.costs.formulas import Comparison, Variant, _check_positive


class _VariantModule(nn.Module):
    def __init__(self, variant: Variant, bias: bool) -> None:
        super().__init__()
        self.chain = nn.Sequential(*[nn.Conv2d(s.in_channels, s.out_channels, s.kernel, s.stride, s.padding,
                                               groups=s.groups, bias=bias) for s in variant.stages])
        s = variant.shortcut
        self.shortcut = None if s is None else nn.Conv2d(s.in_channels, s.out_channels, s.kernel, s.stride,
                                                         s.padding, groups=s.groups, bias=bias)
        self.adds_input = variant.adds_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.chain(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        elif self.adds_input:
            out = out + x
        return out


def build_variant(variant: Variant, bias: bool = False) -> nn.Module:
    """Return the variant as a real PyTorch module (convolutions only, so its MACs equal the formula's)."""
    return _VariantModule(variant, bias).eval()


@dataclass(frozen=True)
class Timing:
    """Measured time of one forward pass: median and interquartile range over blocks, in seconds."""

    median: float
    iqr: float
    runs: int


WARMUP_RUNS = 2
BLOCKS = 7  # every variant gets the same number of timed blocks, interleaved so both see the same noise
BLOCK_SECONDS = 0.03


_VARIANT_COSTS: BoundedCache[budget.ForwardCost] = BoundedCache(lambda: 512)


def variant_cost(variant: Variant, input_shape: tuple[int, int, int]) -> budget.ForwardCost:
    """Return the memory a forward pass of ``variant``'s real module needs (explorer.budget).

    Predicted once per variant and input: the Cost lab checks every tab on each rerun, and measure() again.
    """
    key = (variant.name, tuple(variant.stages), variant.shortcut, variant.adds_input, tuple(input_shape))
    return _VARIANT_COSTS.get(key, lambda: budget.cost_of(lambda: build_variant(variant), input_shape,
                                                          f"The {variant.name} variant", variant.macs), 1)


def _bytes_moved(variant: Variant, batch: int) -> int:
    # each value is counted 4 times: CPU kernels for depthwise and 1x1 convolutions read their input several
    # times over (measured: separable at 512x512, batch 4, took 4x a single read and write)
    activations = 4 * sum(s.in_channels * s.input_hw[0] * s.input_hw[1] + s.out_channels * s.output_hw[0]
                      * s.output_hw[1] for s in variant.all_stages)
    return 4 * (batch * activations + variant.params)


def estimate_seconds(comparison: Comparison, batch: int, device: str, block_seconds: float = BLOCK_SECONDS) -> float:
    """Return the least wall time :func:`measure` should take: the warm-up passes, then blocks of one pass
    or of ``block_seconds``, whichever is longer.

    Each pass is predicted from its MACs and the bytes it reads and writes, at the throughput the device
    showed in a short measurement (explorer.budget.throughput).
    """
    rate = budget.throughput(device)
    passes = [rate.seconds(v.macs * batch, _bytes_moved(v, batch)) for v in comparison.variants.values()]
    return sum(WARMUP_RUNS * one + BLOCKS * max(one, block_seconds) for one in passes)


def _seconds(value: float) -> str:
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def check_timing(comparison: Comparison, batch: int, device: str, block_seconds: float = BLOCK_SECONDS) -> float:
    """Return the least seconds :func:`measure` would take, if it fits the server's memory and time budget.

    Raises:
        CostInputError: the batch size is not positive.
        BudgetError: a variant would not fit the memory budget, or the run would exceed the time limit.
    """
    _check_positive(batch=batch)
    for variant in comparison.variants.values():
        budget.require(variant_cost(variant, comparison.input_shape), batch, "use a smaller size or a smaller batch")
    limit = budget.limits().seconds
    predicted = estimate_seconds(comparison, batch, device, block_seconds)
    if predicted > limit:
        raise budget.BudgetError(
            f"Timing both variants at batch {batch} would take about {_seconds(predicted)}, more than this "
            f"server's limit of {_seconds(limit)}; use a smaller size or a smaller batch.")
    return predicted


def _check_time(start: float, left: float, one_pass: float, limit: float) -> None:
    elapsed = time.perf_counter() - start
    if elapsed + left > limit:
        raise budget.BudgetError(
            f"One pass took {_seconds(one_pass)}, so timing would take about {_seconds(elapsed + left)}, more than "
            f"this server's limit of {_seconds(limit)}; use a smaller size or a smaller batch.")


def measure(comparison: Comparison, batch: int = 8, device: str = "cpu", block_seconds: float = BLOCK_SECONDS,
            progress: Callable[[float, str], None] | None = None) -> dict[str, Timing]:
    """Time each variant's forward pass on ``device``, within the server's memory and time budget.

    After ``WARMUP_RUNS`` passes each, the variants take turns for ``BLOCKS`` blocks of about
    ``block_seconds``; a variant's time is the median over its blocks. ``progress(fraction, text)`` is
    called after every pass of the warm-up and every block.

    Raises:
        CostInputError: the batch size is not positive.
        BudgetError: the modules would not fit the memory budget, the predicted or the measured run time
            exceeds the time limit, or the device ran out of memory.
    """
    from torch.utils import benchmark

    check_timing(comparison, batch, device, block_seconds)
    names = list(comparison.variants)
    costs = {name: variant_cost(comparison.variants[name], comparison.input_shape) for name in names}
    limit = budget.limits().seconds
    steps = len(names) * (WARMUP_RUNS + BLOCKS)
    done = 0

    def advance(text: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done / steps, text)

    start = time.perf_counter()
    with budget.running(sum(cost.total_bytes(batch) for cost in costs.values())), torch.inference_mode():
        x = torch.randn(batch, *comparison.input_shape, device=device)
        timers, one_pass = {}, {}
        for name in names:
            module = build_variant(comparison.variants[name]).to(device)
            timers[name] = benchmark.Timer("module(x)", globals={"module": module, "x": x},
                                           num_threads=torch.get_num_threads())
            for run in range(WARMUP_RUNS):  # allocations, kernel selection
                one_pass[name] = timers[name].timeit(1).median
                advance(f"{name}: warm-up pass {run + 1} of {WARMUP_RUNS}")
                _check_time(start, (WARMUP_RUNS - run - 1 + BLOCKS) * one_pass[name], one_pass[name], limit)
        numbers = {name: max(1, round(block_seconds / one_pass[name])) for name in names}
        _check_time(start, BLOCKS * sum(numbers[name] * one_pass[name] for name in names),
                    max(one_pass.values()), limit)
        times: dict[str, list[float]] = {name: [] for name in names}
        for block in range(BLOCKS):
            for name in names:
                times[name].append(timers[name].timeit(numbers[name]).median)
                advance(f"{name}: block {block + 1} of {BLOCKS}")
    timings = {}
    for name in names:
        quartiles = statistics.quantiles(times[name], n=4)
        timings[name] = Timing(statistics.median(times[name]), quartiles[2] - quartiles[0], BLOCKS)
    return timings


NOISY = 0.5  # a spread (IQR) above half the median: the blocks disagree too much to compare variants


def explain_gap(comparison: Comparison, timings: dict[str, Timing]) -> str:
    """Return a short explanation when the measured speed-up differs much from the MAC ratio, else "".

    A noisy timing (some variant's spread above half its median: another computation shared the device)
    is said to be noisy instead of explained.
    """
    noisy = [name for name, timing in timings.items() if timing.iqr > NOISY * timing.median]
    if noisy:
        return (f"The timing was noisy ({', '.join(noisy)} varied by more than half its median between blocks: "
                f"the device was busy with other work), so the speed-up means little; time again.")
    theoretical = comparison.variants[comparison.baseline].macs / comparison.variants[comparison.candidate].macs
    measured = timings[comparison.baseline].median / timings[comparison.candidate].median
    if 0.67 <= measured / theoretical <= 1.5:
        return ""
    if measured > theoretical:
        return (f"Measured speed-up {measured:.2f}x against {theoretical:.2f}x in theory: on this device the "
                f"{comparison.baseline} variant does fewer multiplications per second than the "
                f"{comparison.candidate} variant (its layers are smaller, or move more memory per "
                f"multiplication), so it loses more than its MACs say.")
    reasons = []
    if any(s.groups > 1 for v in comparison.variants.values() for s in v.all_stages):
        reasons.append("depthwise convolutions do few multiplications per value they read, so they are "
                       "limited by memory traffic rather than arithmetic")
    if max(v.macs for v in comparison.variants.values()) < 50_000_000:
        reasons.append("layers this small are dominated by fixed per-call overhead (launching kernels, "
                       "allocating outputs), which MACs do not count")
    reasons.append("each extra stage writes and reads an intermediate tensor")
    return (f"Measured speed-up {measured:.2f}x against {theoretical:.2f}x in theory: " + "; ".join(reasons) + ".")
