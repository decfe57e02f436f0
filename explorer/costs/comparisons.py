"""Each Cost lab comparison declared once: its builder, its settings as an Option table (type, default, bounds,
help), the settings its charts sweep and the closed-form ratio where there is one. compare(), the Cost lab
page and the CLI all read this declaration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from explorer.costs.formulas import (
    Comparison,
    _separable_ratio,
    inception,
    inverted_residual,
    pointwise,
    residual,
    separable,
)
from explorer.errors import CostInputError
from explorer.options import Option


MAX_SIZE = 4096  # the largest size of any setting, on the Cost lab page and on the command line


def _size(default: int | None, help: str, low: int = 1, none_means: str = "") -> Option:
    return Option(int, default, low=low, high=MAX_SIZE, help=help, none_means=none_means)


_HEIGHT, _WIDTH, _IN, _OUT = "input height", "input width", "input channels", "output channels"
_KERNEL, _STRIDE, _PADDING = "side f of the square kernel", "step of the kernel", "zeros added on each side"


@dataclass(frozen=True)
class Sweep:
    """A setting a comparison's chart varies over ``values``, with the closed-form ratio where there is one."""

    setting: str
    values: tuple[int, ...]
    theory: Callable[[dict[str, Any]], float] | None = None  # every setting -> candidate MACs / baseline MACs


@dataclass(frozen=True)
class ComparisonSpec:
    """One comparison declared as data: its builder, its settings (in the builder's order) and its sweeps."""

    name: str
    label: str  # short, for a tab
    builder: Callable[..., Comparison]
    options: dict[str, Option]
    sweeps: tuple[Sweep, ...]

    def resolve(self, settings: dict[str, Any]) -> dict[str, Any]:
        """Return every setting: the declared defaults overlaid with the ``settings`` that are not None."""
        return {**{key: option.default for key, option in self.options.items()},
                **{key: value for key, value in settings.items() if value is not None}}


KERNELS = (1, 3, 5, 7, 9)
SPECS: dict[str, ComparisonSpec] = {spec.name: spec for spec in (
    ComparisonSpec("inception", "Inception 1x1 bottleneck", inception, {
        "height": _size(28, _HEIGHT), "width": _size(28, _WIDTH), "in_channels": _size(192, _IN),
        "out_channels": _size(32, _OUT), "kernel": _size(5, _KERNEL),
        "bottleneck": _size(16, "channels of the 1x1 bottleneck"), "stride": _size(1, _STRIDE),
        "padding": _size(None, _PADDING, low=0, none_means="'same' padding")},
        (Sweep("bottleneck", (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192)), Sweep("kernel", KERNELS))),
    ComparisonSpec("separable", "Depthwise separable", separable, {
        "height": _size(6, _HEIGHT), "width": _size(6, _WIDTH), "in_channels": _size(3, _IN),
        "out_channels": _size(5, "output channels n_c'"), "kernel": _size(3, _KERNEL), "stride": _size(1, _STRIDE),
        "padding": _size(0, _PADDING, low=0)},
        (Sweep("out_channels", (1, 2, 4, 8, 16, 32, 64, 128, 256, 512), _separable_ratio), Sweep("kernel", KERNELS))),
    ComparisonSpec("pointwise", "1x1 convolution", pointwise, {
        "height": _size(6, _HEIGHT), "width": _size(6, _WIDTH), "in_channels": _size(32, _IN),
        "out_channels": _size(32, _OUT), "groups": _size(1, "channel groups: both channel counts must divide by it")},
        (Sweep("out_channels", (1, 2, 4, 8, 16, 32, 64, 128)),)),
    ComparisonSpec("inverted-residual", "MobileNet v2 bottleneck", inverted_residual, {
        "height": _size(6, _HEIGHT), "width": _size(6, _WIDTH), "in_channels": _size(3, _IN),
        "out_channels": _size(3, _OUT), "expansion": _size(6, "the hidden layer has input channels x expansion"),
        "kernel": _size(3, _KERNEL), "stride": _size(1, _STRIDE)},
        (Sweep("expansion", (1, 2, 3, 4, 6, 8, 10, 12)), Sweep("kernel", KERNELS))),
    ComparisonSpec("residual", "Residual shortcut", residual, {
        "height": _size(56, _HEIGHT), "width": _size(56, _WIDTH), "in_channels": _size(64, _IN),
        "out_channels": _size(64, _OUT), "kernel": _size(3, _KERNEL), "stride": _size(1, _STRIDE)},
        (Sweep("out_channels", (16, 32, 64, 128, 256)), Sweep("kernel", KERNELS))),
)}
COMPARISONS = tuple(SPECS)


def comparison_spec(name: str) -> ComparisonSpec:
    """Return the declaration of comparison ``name``.

    Raises:
        CostInputError: there is no such comparison.
    """
    if name not in SPECS:
        raise CostInputError(f"There is no comparison {name!r}; choose one of {', '.join(COMPARISONS)}.")
    return SPECS[name]


def all_settings() -> dict[str, Option]:
    """Return every setting some comparison takes, each with its first declaration (the CLI's flags)."""
    settings: dict[str, Option] = {}
    for spec in SPECS.values():
        for key, option in spec.options.items():
            settings.setdefault(key, option)
    return settings


def compare(name: str, **settings: Any) -> Comparison:
    """Return the comparison ``name`` (one of COMPARISONS) with ``settings`` (unset ones take the course's defaults).

    Raises:
        CostInputError: unknown comparison or setting, or sizes that give no valid convolution.
    """
    spec = comparison_spec(name)
    unknown = [key for key, value in settings.items() if value is not None and key not in spec.options]
    if unknown:
        raise CostInputError(f"{name} does not use {unknown[0]}; its settings are {', '.join(spec.options)}.")
    return spec.builder(**spec.resolve(settings))


@dataclass
class SweptCost:
    """One sweep computed: the values that gave a valid comparison, those comparisons, and the ratio's formula."""

    setting: str
    values: list[int]
    comparisons: list[Comparison]
    theory: Callable[[int], float] | None


def sweeps(name: str, settings: dict[str, Any]) -> list[SweptCost]:
    """Return each declared sweep of comparison ``name`` around ``settings``, leaving out values that give no
    valid convolution (a kernel larger than the input).

    Raises:
        CostInputError: as compare() does for an unknown comparison or setting.
    """
    spec = comparison_spec(name)
    resolved = spec.resolve(settings)
    results = []
    for sweep in spec.sweeps:
        values, comparisons = [], []
        for value in sweep.values:
            try:
                comparisons.append(compare(name, **{**settings, sweep.setting: value}))
                values.append(value)
            except CostInputError:
                continue
        theory = None if sweep.theory is None else \
            (lambda value, sweep=sweep: sweep.theory({**resolved, sweep.setting: value}))
        results.append(SweptCost(sweep.setting, values, comparisons, theory))
    return results
