"""Closed-form costs of the course's convolution tricks: stages, variants and the five comparisons' builders.

A stage's MACs are ``H_out * W_out * C_out * k * k * C_in / groups`` and its weights
``k * k * C_in / groups * C_out`` (plus ``C_out`` biases); additions of a residual connection cost no
multiplications. tests/test_costs.py checks every formula against torch.utils.flop_counter on the real
modules built by explorer.costs.timing.build_variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from explorer.errors import CostInputError


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
