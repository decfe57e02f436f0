"""Closed-form costs of the course's convolution tricks, the same numbers as real modules, and timings.

- formulas.py: stages, variants and the five comparisons' builders (the course's numbers);
- comparisons.py: each comparison declared once (settings as an Option table, sweeps, ratio), compare();
- timing.py: the variants as real modules, timed within the resource budget, and the gap explained.
"""

from explorer.costs.comparisons import (
    COMPARISONS,
    KERNELS,
    MAX_SIZE,
    SPECS,
    ComparisonSpec,
    Sweep,
    SweptCost,
    all_settings,
    compare,
    comparison_spec,
    sweeps,
)
from explorer.costs.formulas import (
    Comparison,
    Stage,
    Variant,
    inception,
    inverted_residual,
    pointwise,
    residual,
    separable,
    stage,
)
from explorer.costs.timing import (
    BLOCK_SECONDS,
    BLOCKS,
    NOISY,
    WARMUP_RUNS,
    Timing,
    build_variant,
    check_timing,
    estimate_seconds,
    explain_gap,
    measure,
    variant_cost,
)
from explorer.errors import CostInputError

__all__ = [
    "BLOCK_SECONDS", "BLOCKS", "COMPARISONS", "KERNELS", "MAX_SIZE", "NOISY", "SPECS", "WARMUP_RUNS", "Comparison",
    "ComparisonSpec", "CostInputError", "Stage", "Sweep", "SweptCost", "Timing", "Variant", "all_settings",
    "build_variant", "check_timing", "compare", "comparison_spec", "estimate_seconds", "explain_gap", "inception",
    "inverted_residual", "measure", "pointwise", "residual", "separable", "stage", "sweeps", "variant_cost",
]
