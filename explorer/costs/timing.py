"""The variants as real PyTorch modules, timed on a device within the server's memory and time budget
(explorer.timing, the loop latency uses too)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from explorer import budget
from explorer.bounded_cache import BoundedCache
from explorer.costs.formulas import Comparison, Variant, _check_positive
from explorer.timing import BLOCK_SECONDS, BLOCKS, WARMUP_RUNS, Timing, predicted_run_seconds, time_runs
from explorer.units import human_seconds

__all__ = [
    "ADVICE", "BLOCK_SECONDS", "BLOCKS", "NOISY", "WARMUP_RUNS", "Timing", "build_variant", "check_timing",
    "estimate_seconds", "explain_gap", "measure", "variant_cost",
]


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


ADVICE = "use a smaller size or a smaller batch"


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


def _pass_seconds(comparison: Comparison, batch: int, device: str) -> dict[str, float]:
    rate = budget.throughput(device)
    return {name: rate.seconds(v.macs * batch, _bytes_moved(v, batch)) for name, v in comparison.variants.items()}


def estimate_seconds(comparison: Comparison, batch: int, device: str, block_seconds: float = BLOCK_SECONDS) -> float:
    """Return the least wall time :func:`measure` should take: the warm-up passes, then blocks of one pass
    or of ``block_seconds``, whichever is longer (explorer.timing.predicted_run_seconds).

    Each pass is predicted from its MACs and the bytes it reads and writes, at the throughput the device
    showed in a short measurement (explorer.budget.throughput).
    """
    return predicted_run_seconds(_pass_seconds(comparison, batch, device).values(), block_seconds)


def check_timing(comparison: Comparison, batch: int, device: str, block_seconds: float = BLOCK_SECONDS) -> float:
    """Return the least seconds :func:`measure` would take, if it fits the server's memory and time budget.

    Raises:
        CostInputError: the batch size is not positive.
        BudgetError: a variant would not fit the memory budget, or the run would exceed the time limit.
    """
    _check_positive(batch=batch)
    for variant in comparison.variants.values():
        budget.require(variant_cost(variant, comparison.input_shape), batch, ADVICE)
    limit = budget.limits().seconds
    predicted = estimate_seconds(comparison, batch, device, block_seconds)
    if predicted > limit:
        raise budget.BudgetError(
            f"Timing both variants at batch {batch} would take about {human_seconds(predicted)}, more than this "
            f"server's limit of {human_seconds(limit)}; {ADVICE}.")
    return predicted


def measure(comparison: Comparison, batch: int = 8, device: str = "cpu", block_seconds: float = BLOCK_SECONDS,
            progress: Callable[[float, str], None] | None = None) -> dict[str, Timing]:
    """Time each variant's forward pass on ``device``, within the server's memory and time budget.

    After ``WARMUP_RUNS`` passes each, the variants take turns for ``BLOCKS`` blocks of about
    ``block_seconds``; a variant's time is the median over its blocks (explorer.timing.time_runs: one timing
    per device at a time, Cost lab and latency alike). ``progress(fraction, text)`` is called after every pass
    of the warm-up and every block.

    Returns:
        Each variant's name with the Timing of one forward pass over ``batch`` samples.

    Raises:
        CostInputError: the batch size is not positive.
        BudgetError: the modules would not fit the memory budget, the predicted or the measured run time
            exceeds the time limit, another timing held the device too long, or the device ran out of memory.
    """
    check_timing(comparison, batch, device, block_seconds)
    variants = comparison.variants
    reserve = sum(variant_cost(v, comparison.input_shape).total_bytes(batch) for v in variants.values())

    def make_runs() -> dict[str, tuple[nn.Module, torch.Tensor]]:
        x = torch.randn(batch, *comparison.input_shape, device=device)
        return {name: (build_variant(variant).to(device), x) for name, variant in variants.items()}

    return time_runs(make_runs, device, _pass_seconds(comparison, batch, device), reserve, ADVICE, block_seconds,
                     progress)


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
