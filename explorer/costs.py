"""Closed-form costs of the course's convolution tricks, the same numbers as real modules, and timings.

Each comparison is declared once in SPECS: its builder, its settings as an Option table (type, default,
bounds, help), the settings its charts sweep and the closed-form ratio where there is one; compare(), the
Cost lab page and the CLI all read that declaration. Each returns variants made of convolution stages. A
stage's MACs are ``H_out * W_out * C_out * k * k * C_in / groups`` and its weights ``k * k * C_in / groups * C_out``
(plus ``C_out`` biases); additions of a residual connection cost no multiplications. tests/test_costs.py
checks every formula against torch.utils.flop_counter on the real modules built by :func:`build_variant`.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from explorer import budget
from explorer.errors import ExplorerError
from explorer.options import Option


class CostInputError(ExplorerError):
    """Sizes that give no valid convolution (zero, negative, empty output, indivisible groups)."""


@dataclass(frozen=True)
class Stage:
    """One convolution: its shape arithmetic and its cost."""

    name: str
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    padding: int
    groups: int
    input_hw: tuple[int, int]
    output_hw: tuple[int, int]

    @property
    def macs(self) -> int:
        """Return multiply-accumulates: output pixels x output channels x k x k x input channels per group."""
        return (self.output_hw[0] * self.output_hw[1] * self.out_channels * self.kernel * self.kernel
                * (self.in_channels // self.groups))

    @property
    def params(self) -> int:
        """Return the weights, without biases."""
        return self.kernel * self.kernel * (self.in_channels // self.groups) * self.out_channels

    @property
    def params_with_bias(self) -> int:
        """Return the weights plus one bias per output channel."""
        return self.params + self.out_channels

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Return (C, H, W) of the stage's output."""
        return (self.out_channels, *self.output_hw)

    def latex(self) -> str:
        """Return the MAC formula with the numbers put in, as LaTeX."""
        per_group = self.in_channels // self.groups
        h, w = self.output_hw
        return (rf"{h} \times {w} \times {self.out_channels} \times {self.kernel} \times {self.kernel} "
                rf"\times {per_group} = {self.macs:,}".replace(",", "{,}"))


@dataclass
class Variant:
    """A way to compute the output: stages run in a chain, plus an optional shortcut added at the end."""

    name: str
    stages: list[Stage]
    shortcut: Stage | None = None
    adds_input: bool = False  # identity shortcut: output = chain(x) + x
    note: str = ""

    @property
    def all_stages(self) -> list[Stage]:
        """Return the chain's stages, then the shortcut's."""
        return self.stages + ([self.shortcut] if self.shortcut else [])

    @property
    def macs(self) -> int:
        """Return the total multiply-accumulates."""
        return sum(stage.macs for stage in self.all_stages)

    @property
    def flops(self) -> int:
        """Return FLOPs = 2 x MACs."""
        return 2 * self.macs

    @property
    def params(self) -> int:
        """Return the total weights without biases."""
        return sum(stage.params for stage in self.all_stages)

    @property
    def params_with_bias(self) -> int:
        """Return the total weights with biases."""
        return sum(stage.params_with_bias for stage in self.all_stages)

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """Return (C, H, W) of the variant's output."""
        return self.stages[-1].output_shape


@dataclass
class Comparison:
    """Two (or more) variants of one computation, the first being the baseline."""

    name: str
    title: str
    input_shape: tuple[int, int, int]
    variants: dict[str, Variant]
    baseline: str
    candidate: str
    explanation: str
    theory: str = ""  # the closed-form ratio, in LaTeX, where there is a neat one
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Return candidate MACs / baseline MACs."""
        return self.variants[self.candidate].macs / self.variants[self.baseline].macs

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form used by the CLI (see README)."""
        return {
            "comparison": self.name,
            "input_shape": list(self.input_shape),
            "settings": self.settings,
            "variants": {name: {
                "macs": v.macs, "flops": v.flops, "params": v.params, "params_with_bias": v.params_with_bias,
                "output_shape": list(v.output_shape),
                "stages": [{"name": s.name, "macs": s.macs, "params": s.params, "output_shape": list(s.output_shape)}
                           for s in v.all_stages],
            } for name, v in self.variants.items()},
            "baseline": self.baseline,
            "candidate": self.candidate,
            "ratio": self.ratio,
        }


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if value is None or int(value) < 1:
            raise CostInputError(f"{name.replace('_', ' ').capitalize()} must be at least 1, not {value}.")


def stage(name: str, hw: tuple[int, int], in_channels: int, out_channels: int, kernel: int, stride: int = 1,
          padding: int = 0, groups: int = 1) -> Stage:
    """Return a convolution stage on an ``hw`` input.

    Raises:
        CostInputError: a size is not positive, the padding is negative, channels do not divide into
            groups, or the kernel is larger than the padded input (no output).
    """
    _check_positive(kernel=kernel, stride=stride, groups=groups, in_channels=in_channels, out_channels=out_channels)
    if padding < 0:
        raise CostInputError(f"Padding cannot be negative ({padding}).")
    if in_channels % groups or out_channels % groups:
        raise CostInputError(f"{name}: {in_channels} input and {out_channels} output channels must both divide "
                             f"into {groups} groups.")
    padded = (hw[0] + 2 * padding, hw[1] + 2 * padding)
    if kernel > min(padded):
        raise CostInputError(f"{name}: a {kernel}x{kernel} kernel does not fit the {padded[0]}x{padded[1]} padded "
                             f"input, so there is no output; use a smaller kernel or more padding.")
    output = ((padded[0] - kernel) // stride + 1, (padded[1] - kernel) // stride + 1)
    return Stage(name, in_channels, out_channels, kernel, stride, padding, groups, hw, output)


def inception(height: int = 28, width: int = 28, in_channels: int = 192, out_channels: int = 32, kernel: int = 5,
              bottleneck: int = 16, stride: int = 1, padding: int | None = None) -> Comparison:
    """Return a plain k x k convolution against a 1x1 bottleneck followed by the k x k (Inception)."""
    _check_positive(height=height, width=width, bottleneck=bottleneck)
    pad = kernel // 2 if padding is None else padding
    hw = (height, width)
    plain = Variant("plain", [stage(f"{kernel}x{kernel} conv", hw, in_channels, out_channels, kernel, stride, pad)])
    squeeze = stage("1x1 bottleneck", hw, in_channels, bottleneck, 1)
    bottlenecked = Variant("bottleneck", [squeeze, stage(f"{kernel}x{kernel} conv", squeeze.output_hw, bottleneck,
                                                         out_channels, kernel, stride, pad)])
    return Comparison(
        "inception", "Plain convolution against a 1x1 bottleneck (Inception)", (in_channels, height, width),
        {"plain": plain, "bottleneck": bottlenecked}, "plain", "bottleneck",
        "Shrinking the channels with a cheap 1x1 convolution first makes the expensive k x k convolution see "
        "far fewer input channels; in the course's example the cost drops to about a tenth.",
        settings=dict(height=height, width=width, in_channels=in_channels, out_channels=out_channels,
                      kernel=kernel, bottleneck=bottleneck, stride=stride, padding=pad))


def _separable_ratio(settings: dict[str, Any]) -> float:
    """Return 1/n_c' + 1/f^2: a depthwise separable convolution's MACs over a standard one's."""
    return 1 / settings["out_channels"] + 1 / settings["kernel"] ** 2


def separable(height: int = 6, width: int = 6, in_channels: int = 3, out_channels: int = 5, kernel: int = 3,
              stride: int = 1, padding: int = 0) -> Comparison:
    """Return a standard convolution against a depthwise separable one (MobileNet)."""
    _check_positive(height=height, width=width)
    hw = (height, width)
    standard = Variant("standard", [stage(f"{kernel}x{kernel} conv", hw, in_channels, out_channels, kernel, stride,
                                          padding)])
    depthwise = stage(f"depthwise {kernel}x{kernel}", hw, in_channels, in_channels, kernel, stride, padding,
                      groups=in_channels)
    pointwise_stage = stage("pointwise 1x1", depthwise.output_hw, in_channels, out_channels, 1)
    return Comparison(
        "separable", "Standard against depthwise separable convolution (MobileNet)", (in_channels, height, width),
        {"standard": standard, "separable": Variant("separable", [depthwise, pointwise_stage])},
        "standard", "separable",
        "A depthwise convolution filters each channel on its own; a 1x1 pointwise convolution then mixes "
        "the channels. Together they cost 1/n_c' + 1/f^2 of a standard convolution.",
        theory=rf"\frac{{1}}{{n_c'}} + \frac{{1}}{{f^2}} = \frac{{1}}{{{out_channels}}} + \frac{{1}}{{{kernel}^2}} "
               rf"= {_separable_ratio(dict(out_channels=out_channels, kernel=kernel)):.4f}",
        settings=dict(height=height, width=width, in_channels=in_channels, out_channels=out_channels,
                      kernel=kernel, stride=stride, padding=padding))


def pointwise(height: int = 6, width: int = 6, in_channels: int = 32, out_channels: int = 32,
              groups: int = 1) -> Comparison:
    """Return a 1x1 convolution keeping the channels against one shrinking (or growing) them to ``out_channels``."""
    _check_positive(height=height, width=width)
    hw = (height, width)
    keep = Variant("keep", [stage("1x1 conv, same channels", hw, in_channels, in_channels, 1, groups=groups)])
    change = Variant("change", [stage(f"1x1 conv to {out_channels}", hw, in_channels, out_channels, 1,
                                      groups=groups)])
    per_pixel = (in_channels // groups) * out_channels
    return Comparison(
        "pointwise", "1x1 convolution (network in network)", (in_channels, height, width),
        {"keep": keep, "change": change}, "keep", "change",
        f"Each 1x1 filter is a tiny fully connected layer over the {in_channels} channels of one pixel: "
        f"{per_pixel:,} multiplications per pixel for {out_channels} filters, the same at every one of the "
        f"{height * width:,} pixels.",
        settings=dict(height=height, width=width, in_channels=in_channels, out_channels=out_channels, groups=groups))


def inverted_residual(height: int = 6, width: int = 6, in_channels: int = 3, out_channels: int = 3,
                      expansion: int = 6, kernel: int = 3, stride: int = 1) -> Comparison:
    """Return MobileNet v2's bottleneck (expand, depthwise, project) against a plain k x k convolution."""
    _check_positive(height=height, width=width, expansion=expansion)
    hw, pad = (height, width), kernel // 2
    hidden = in_channels * expansion
    plain = Variant("plain", [stage(f"{kernel}x{kernel} conv", hw, in_channels, out_channels, kernel, stride, pad)])
    stages = []
    if expansion != 1:
        stages.append(stage(f"expansion 1x1 (x{expansion})", hw, in_channels, hidden, 1))
    depthwise = stage(f"depthwise {kernel}x{kernel}", hw, hidden, hidden, kernel, stride, pad, groups=hidden)
    stages += [depthwise, stage("projection 1x1", depthwise.output_hw, hidden, out_channels, 1)]
    residual = stride == 1 and in_channels == out_channels and depthwise.output_hw == hw  # an even kernel grows it
    note = "with a residual connection (the addition costs no multiplications)" if residual else \
        "no residual connection: the input and output shapes differ"
    return Comparison(
        "inverted-residual", "MobileNet v2 bottleneck against a plain convolution", (in_channels, height, width),
        {"plain": plain, "bottleneck": Variant("bottleneck", stages, adds_input=residual, note=note)},
        "plain", "bottleneck",
        "The block expands the few input channels, filters them depthwise (cheap, one filter per channel) and "
        "projects back down with a linear 1x1. It can cost more than a plain convolution on tiny inputs and "
        "less on wide ones, while keeping the tensors between blocks thin.",
        settings=dict(height=height, width=width, in_channels=in_channels, out_channels=out_channels,
                      expansion=expansion, kernel=kernel, stride=stride))


def residual(height: int = 56, width: int = 56, in_channels: int = 64, out_channels: int = 64, kernel: int = 3,
             stride: int = 1) -> Comparison:
    """Return a basic residual block with an identity shortcut against one with a 1x1-projection shortcut."""
    _check_positive(height=height, width=width)
    hw, pad = (height, width), kernel // 2
    first = stage(f"{kernel}x{kernel} conv 1", hw, in_channels, out_channels, kernel, stride, pad)
    second = stage(f"{kernel}x{kernel} conv 2", first.output_hw, out_channels, out_channels, kernel, 1, pad)
    projection = stage("1x1 projection shortcut", hw, in_channels, out_channels, 1, stride)
    if second.output_hw != projection.output_hw:
        raise CostInputError(
            f"A {kernel}x{kernel} kernel with padding {pad} makes the residual path's output "
            f"{second.output_hw[0]}x{second.output_hw[1]} but the shortcut's {projection.output_hw[0]}x"
            f"{projection.output_hw[1]}, so they cannot be added; use an odd kernel.")
    shapes_match = stride == 1 and in_channels == out_channels
    identity_note = "" if shapes_match else ("not possible here: the shapes differ, so the shortcut must be "
                                             "projected; shown as the cost of the residual path alone")
    return Comparison(
        "residual", "Residual block: identity against 1x1-projection shortcut", (in_channels, height, width),
        {"identity": Variant("identity", [first, second], adds_input=shapes_match, note=identity_note),
         "projection": Variant("projection", [first, second], shortcut=projection)},
        "identity", "projection",
        "The residual path does the work; the identity shortcut adds the input back for free. When the block "
        "changes the number of channels or the resolution, a 1x1 convolution with stride projects the "
        "shortcut to the new shape, at the cost shown here.",
        settings=dict(height=height, width=width, in_channels=in_channels, out_channels=out_channels,
                      kernel=kernel, stride=stride))


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


# ---------------------------------------------------------------------------------------------
# Real modules and measured time


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


def variant_cost(variant: Variant, input_shape: tuple[int, int, int]) -> budget.ForwardCost:
    """Return the memory a forward pass of ``variant``'s real module needs (explorer.budget)."""
    return budget.cost_of(lambda: build_variant(variant), input_shape, f"The {variant.name} variant", variant.macs)


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
