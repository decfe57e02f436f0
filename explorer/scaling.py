"""Compound scaling of EfficientNet-B0 (Tan and Le 2019), computed and measured.

The paper scales B0's depth by alpha^phi, its width by beta^phi and its resolution by gamma^phi, with
alpha * beta^2 * gamma^2 ~ 2 so that each step of phi should double the FLOPS. Here that maths meets what is
actually built: torchvision rounds every stage's layer count up (``ceil``) and every channel count to a multiple
of 8, so the real cost moves in steps, and every number below comes from ``analyze("efficientnet", ...)``, the
registry entry a link opens on the Architecture page, or from a hand count of torchvision's blocks that the tests
hold equal to it (``counted_params``, ``counted_macs``, ``counted_activation_bytes``): ``exact_curve`` uses the
counts to draw the curve every 0.01 of phi in milliseconds, where building each point would take seconds.

The figures the page cites from the paper live in ``PAPER_FIGURES``, each with its table; nothing else here is
an accuracy.
"""

from __future__ import annotations

import ast
import inspect
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable, Iterable

from torchvision.models import efficientnet as tv_efficientnet
from torchvision.models.efficientnet import MBConvConfig

from explorer.analysis import MAX_INPUT_SIDE, ModelReport, analyze
from explorer.errors import InvalidOptionError, ScalingError
from explorer.pretrained import pretrained_weights
from explorer.zoo import get_spec
from explorer.zoo.efficientnet_scaled import (
    ALPHA,
    B0_STAGES,
    BASE_RESOLUTION,
    BETA,
    GAMMA,
    MAX_MULTIPLIER,
    compound_scaling,
)

__all__ = [
    "ALPHA", "BETA", "GAMMA", "PAPER_TARGET", "PAPER", "PAPER_FIGURES", "PAPER_CLAIM", "TABLE_1", "PaperFigure", "Multipliers",
    "ScalingPoint", "DepthStep", "Variant", "ScaledNetwork", "constraint", "multipliers", "stage_layers",
    "stage_channels", "stage_resolutions", "config_for", "within_caps", "highest_phi", "scaling_curve",
    "depth_steps", "torchvision_variants", "single_dimension", "paper_points", "counted_macs",
    "counted_params", "counted_activation_bytes", "exact_curve", "curve_phis",
]

ARCH = "efficientnet"
PAPER_TARGET = 2.0  # alpha * beta^2 * gamma^2 ~ 2: each step of phi doubles the FLOPS (Section 3.3, Equation 3)
PAPER = ("Tan and Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks, ICML 2019",
         "https://arxiv.org/abs/1905.11946")
# Table 1 of the paper, B0's nine stages: (operator, input resolution, output channels, layers)
TABLE_1 = [
    ("Conv3x3", 224, 32, 1),
    ("MBConv1, k3x3", 112, 16, 1),
    ("MBConv6, k3x3", 112, 24, 2),
    ("MBConv6, k5x5", 56, 40, 2),
    ("MBConv6, k3x3", 28, 80, 3),
    ("MBConv6, k5x5", 14, 112, 3),
    ("MBConv6, k5x5", 14, 192, 4),
    ("MBConv6, k3x3", 7, 320, 1),
    ("Conv1x1 & Pooling & FC", 7, 1280, 1),
]
MBCONV_STAGES = tuple(range(2, 9))  # Table 1's stages 2..8 are torchvision's scaled MBConv stages
SEARCH_LOW = 1 / MAX_MULTIPLIER  # single-dimension searches stay within the registry's bases: 1/16x .. 16x
SEARCH_HIGH = MAX_MULTIPLIER

Progress = Callable[[int, int], None]


# ---------------------------------------------------------------- the paper's figures

@dataclass(frozen=True)
class PaperFigure:
    """One row the paper reports: a network, how it was scaled, its FLOPS and ImageNet top-1 accuracy.

    The paper's FLOPS are multiply-adds, as torchvision's "GFLOPS" and this app's MACs.
    """

    network: str  # the baseline as the paper names it
    scaling: str  # "baseline", "depth", "width", "resolution" or "compound"
    depth: float | None  # the multipliers as the paper writes them; None where it gives none
    width: float | None
    resolution: float | None
    flops: str  # as the paper prints it: "1.8B"
    top1: float  # percent
    source: str  # "Table 7", ...

    @property
    def gflops(self) -> float:
        """Return the paper's FLOPS in billions (multiply-adds)."""
        return float(self.flops.removesuffix("B"))

    def scaled_as(self) -> str:
        """Return how the paper describes this network: "EfficientNet-B0 scaled by depth (d=4)"."""
        given = {"depth": self.depth, "width": self.width, "resolution": self.resolution}
        if self.scaling == "baseline":
            return f"{self.network} (baseline)"
        if self.scaling in given:
            return f"{self.network} scaled by {self.scaling} ({self.scaling[0]}={given[self.scaling]:g})"
        if self.depth is None:
            return f"{self.network} (compound scaling)"
        return f"{self.network} compound-scaled (d={self.depth:g}, w={self.width:g}, r={self.resolution:g})"

    def citation(self) -> str:
        """Return the figure as the page quotes it, with its source:
        "79.0 % top-1 for EfficientNet-B0 scaled by depth (d=4) at 1.8B FLOPS (Tan and Le 2019, Table 7)"."""
        return f"{self.top1:.1f} % top-1 for {self.scaled_as()} at {self.flops} FLOPS (Tan and Le 2019, {self.source})"


def _paper_rows() -> list[PaperFigure]:
    # Each row checked against the text of arXiv 1905.11946v5 (Tables 2, 3 and 7). Table 7's baseline reads 77.3 %
    # there; a translation of an earlier version reads 76.3 %: cite the version (v5) with the figure.
    rows = [
        # Table 7, "Scaled Models Used in Figure 7": the only single-dimension scalings of B0 given as numbers
        # (Figure 3 and Figure 8 are curves); Section 6: compound scaling improves accuracy "by up to 2.5%".
        ("EfficientNet-B0", "baseline", 1.0, 1.0, 1.0, "0.4B", 77.3, "Table 7"),
        ("EfficientNet-B0", "depth", 4.0, 1.0, 1.0, "1.8B", 79.0, "Table 7"),
        ("EfficientNet-B0", "width", 1.0, 2.0, 1.0, "1.8B", 78.9, "Table 7"),
        ("EfficientNet-B0", "resolution", 1.0, 1.0, 2.0, "1.9B", 79.1, "Table 7"),
        ("EfficientNet-B0", "compound", 1.4, 1.2, 1.3, "1.8B", 81.1, "Table 7"),
        # Table 3, "Scaling Up MobileNets and ResNet" (MobileNetV1 has no depth row)
        ("MobileNetV1", "baseline", 1.0, 1.0, 1.0, "0.6B", 70.6, "Table 3"),
        ("MobileNetV1", "width", 1.0, 2.0, 1.0, "2.2B", 74.2, "Table 3"),
        ("MobileNetV1", "resolution", 1.0, 1.0, 2.0, "2.2B", 72.7, "Table 3"),
        ("MobileNetV1", "compound", 1.4, 1.2, 1.3, "2.3B", 75.6, "Table 3"),
        ("MobileNetV2", "baseline", 1.0, 1.0, 1.0, "0.3B", 72.0, "Table 3"),
        ("MobileNetV2", "depth", 4.0, 1.0, 1.0, "1.2B", 76.8, "Table 3"),
        ("MobileNetV2", "width", 1.0, 2.0, 1.0, "1.1B", 76.4, "Table 3"),
        ("MobileNetV2", "resolution", 1.0, 1.0, 2.0, "1.2B", 74.8, "Table 3"),
        ("MobileNetV2", "compound", None, None, None, "1.3B", 77.4, "Table 3"),
        ("ResNet-50", "baseline", 1.0, 1.0, 1.0, "4.1B", 76.0, "Table 3"),
        ("ResNet-50", "depth", 4.0, 1.0, 1.0, "16.2B", 78.1, "Table 3"),
        ("ResNet-50", "width", 1.0, 2.0, 1.0, "14.7B", 77.7, "Table 3"),
        ("ResNet-50", "resolution", 1.0, 1.0, 2.0, "16.4B", 77.5, "Table 3"),
        ("ResNet-50", "compound", None, None, None, "16.7B", 78.8, "Table 3"),
    ]
    # Table 2: B0..B7 as the paper trained them (torchvision's ported weights report their own acc@1)
    rows += [(f"EfficientNet-B{k}", "compound" if k else "baseline", None, None, None, flops, top1, "Table 2")
             for k, (top1, flops) in enumerate([(77.1, "0.39B"), (79.1, "0.70B"), (80.1, "1.0B"), (81.6, "1.8B"),
                                                (82.9, "4.2B"), (83.6, "9.9B"), (84.0, "19B"), (84.3, "37B")])]
    return [PaperFigure(*row) for row in rows]


PAPER_FIGURES: tuple[PaperFigure, ...] = tuple(_paper_rows())
# What the paper says of Figure 8 (Section 6), word for word, for the page to quote
PAPER_CLAIM = ("our compound scaling method can further improve accuracy, by up to 2.5%, than other "
               "single-dimension scaling methods", "Tan and Le 2019, Section 6 (Figure 8), arXiv 1905.11946v5")


def _paper_figure_for(depth: float, width: float, resolution: float) -> PaperFigure | None:
    """Return the paper's Table 7 row of B0 at these multipliers, compared at the paper's precision (one decimal)."""
    key = (round(depth, 1), round(width, 1), round(resolution, 1))
    for figure in PAPER_FIGURES:
        if figure.network == "EfficientNet-B0" and figure.source == "Table 7" \
                and (figure.depth, figure.width, figure.resolution) == key:
            return figure
    return None


# ---------------------------------------------------------------- the maths

@dataclass(frozen=True)
class Multipliers:
    """What compound scaling asks of B0 at one phi; ``flops_factor`` is what the paper predicts, not a measurement."""

    depth: float
    width: float
    resolution: int  # pixels, rounded as the registry rounds it
    flops_factor: float  # (alpha * beta^2 * gamma^2)^phi


def constraint(alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> float:
    """Return alpha * beta^2 * gamma^2, the factor by which one step of phi should multiply the FLOPS (target 2)."""
    return alpha * beta ** 2 * gamma ** 2


def multipliers(phi: float, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> Multipliers:
    """Return the depth and width multipliers, the resolution and the paper's predicted FLOPS factor at ``phi``."""
    depth, width, resolution = compound_scaling(phi, alpha, beta, gamma)
    return Multipliers(depth, width, resolution, constraint(alpha, beta, gamma) ** phi)


def stage_layers(depth_mult: float) -> list[int]:
    """Return the layers of Table 1's nine stages at ``depth_mult``, rounded as torchvision rounds them.

    Stages 2..8 (the MBConv stages) get ceil(layers * depth_mult) (``MBConvConfig.adjust_depth``); the stem
    and the head stay one layer each.
    """
    return [1] + [MBConvConfig.adjust_depth(row[5], depth_mult) for row in B0_STAGES] + [1]


def stage_channels(width_mult: float) -> list[int]:
    """Return the output channels of Table 1's nine stages at ``width_mult``, rounded as torchvision rounds them.

    Every count is rounded to a multiple of 8 (``MBConvConfig.adjust_channels``); the head has 4x the last stage's.
    """
    stem = MBConvConfig.adjust_channels(B0_STAGES[0][3], width_mult)
    stages = [MBConvConfig.adjust_channels(row[4], width_mult) for row in B0_STAGES]
    return [stem] + stages + [4 * stages[-1]]


def stage_resolutions(resolution: int) -> list[int]:
    """Return the input side of Table 1's nine stages for an input of ``resolution`` pixels.

    Each stride-2 stage halves the side, rounding up (a k x k convolution padded by (k-1)/2).
    """
    sides = [resolution]
    strides = [(3, 2)] + [(row[1], row[2]) for row in B0_STAGES]  # the stem, then each MBConv stage
    for kernel, stride in strides:
        padding = (kernel - 1) // 2
        sides.append((sides[-1] + 2 * padding - kernel) // stride + 1)
    return sides[:9]


# ---------------------------------------------------------------- points of the registry entry

def config_for(phi: float, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA,
               num_classes: int = 1000) -> dict[str, Any]:
    """Return the registry config (``efficientnet``'s options) of a point, checked as the Architecture page checks it.

    Raises:
        InvalidOptionError: an option is out of bounds, or the network would exceed the depth, width or
            resolution caps.
    """
    spec = get_spec(ARCH)
    config = spec.resolve_config(dict(phi=phi, alpha=alpha, beta=beta, gamma=gamma, num_classes=num_classes))
    spec.default_input_shape(config)  # the caps
    return config


def within_caps(phi: float, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> bool:
    """Return whether the network at ``phi`` stays within the registry's depth, width and resolution caps."""
    depth, width, resolution = compound_scaling(phi, alpha, beta, gamma)
    return depth <= MAX_MULTIPLIER and width <= MAX_MULTIPLIER and 1 <= resolution <= MAX_INPUT_SIDE


def highest_phi(alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> float:
    """Return the largest phi (at most the option's high, 8) whose network stays within the caps."""
    high = get_spec(ARCH).options["phi"].high
    limits = [high]
    for base, cap in ((alpha, MAX_MULTIPLIER), (beta, MAX_MULTIPLIER), (gamma, (MAX_INPUT_SIDE + 0.5) / BASE_RESOLUTION)):
        if base > 1:
            limits.append(math.log(cap) / math.log(base))
    phi = min(limits)
    while not within_caps(phi, alpha, beta, gamma):  # the closed form can land a rounding error past a cap
        phi = math.nextafter(phi, -math.inf)
    return phi


@lru_cache(maxsize=1024)
def _report(items: tuple[tuple[str, Any], ...]) -> ModelReport:
    return analyze(ARCH, **dict(items))


def _analysis(config: dict[str, Any]) -> ModelReport:
    """Return analyze(ARCH, **config), kept per config (a report is read, never changed)."""
    return _report(tuple(sorted(config.items())))


@dataclass(frozen=True)
class ScalingPoint:
    """One point of the compound-scaling curve, measured by ``analyze`` on the registry entry."""

    phi: float
    config: dict[str, Any]
    resolution: int
    layers: tuple[int, ...]  # Table 1's nine stages
    channels: tuple[int, ...]
    params: int
    macs: int
    activation_bytes: int


def scaling_curve(alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA,
                  phis: Iterable[float] = (), progress: Progress | None = None) -> list[ScalingPoint]:
    """Return the measured network at each phi of ``phis`` (in their order), for the given bases.

    A phi whose network exceeds the caps is left out (``highest_phi`` says where the curve stops). ``progress``
    is called as progress(done, total) after each point. A cold grid of phi -1..7 in steps of 0.25 takes about
    6 s on one CPU core (33 analyses, measured on the development machine); points already analysed are kept per process.

    Raises:
        InvalidOptionError: a phi or base lies outside the registry entry's bounds.
    """
    wanted = [phi for phi in phis if within_caps(phi, alpha, beta, gamma)]
    points = []
    for done, phi in enumerate(wanted, start=1):
        config = config_for(phi, alpha, beta, gamma)
        report = _analysis(config)
        scaled = multipliers(phi, alpha, beta, gamma)
        points.append(ScalingPoint(
            phi=phi, config=config, resolution=scaled.resolution, layers=tuple(stage_layers(scaled.depth)),
            channels=tuple(stage_channels(scaled.width)), params=report.total_params, macs=report.total_macs,
            activation_bytes=report.activation_bytes))
        if progress is not None:
            progress(done, len(wanted))
    return points


def curve_phis(low: float, high: float, step: float = 0.01) -> tuple[float, ...]:
    """Return low, low + step, ..., high (at most), each rounded to two decimals, so that every integer phi in
    the range is exactly present (phi=2 is 2.0, not 2.0000000000000004). ``step`` is a multiple of 0.01."""
    hundredths = round(step * 100)
    if hundredths < 1 or abs(step * 100 - hundredths) > 1e-9:
        raise ValueError(f"the step of phi must be a positive multiple of 0.01, not {step!r}")
    first, last = math.ceil(round(low * 100, 6)), math.floor(round(high * 100, 6))
    return tuple(round(k / 100, 2) + 0.0 for k in range(first, last + 1, hundredths))


def exact_curve(alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA, phis: Iterable[float] = (),
                num_classes: int = 1000) -> list[ScalingPoint]:
    """Return the compound-scaling curve at every phi of ``phis`` within the caps, counted rather than built.

    Each point is what ``analyze`` reports for its config (params, MACs and activation bytes: ``counted_params``,
    ``counted_macs`` and ``counted_activation_bytes``, held equal to it by the tests), at tens of microseconds a
    point instead of ~0.2 s, so a curve can be sampled finely enough (every 0.01 of phi) to show where
    torchvision's rounding makes the cost jump.

    Raises:
        InvalidOptionError: a base or ``num_classes`` is out of bounds, or a phi within the caps lies outside the
            registry entry's phi option.
    """
    base = config_for(0.0, alpha, beta, gamma, num_classes)  # checks the bases once
    option = get_spec(ARCH).options["phi"]
    points = []
    for phi in phis:
        if not within_caps(phi, alpha, beta, gamma):
            continue
        if not option.low <= phi <= option.high:
            config_for(phi, alpha, beta, gamma, num_classes)  # raises the registry's own sentence
        depth, width, resolution = compound_scaling(phi, alpha, beta, gamma)
        layers, channels = stage_layers(depth), stage_channels(width)
        params, macs, activation_bytes = _counts(layers, channels, resolution, num_classes)
        points.append(ScalingPoint(
            phi=phi, config={**base, "phi": float(phi)}, resolution=resolution, layers=tuple(layers),
            channels=tuple(channels), params=params, macs=macs, activation_bytes=activation_bytes))
    return points


@dataclass(frozen=True)
class DepthStep:
    """A phi where ceil(layers x alpha^phi) changes: at ``phi`` the stages still have ``before`` layers, just
    above it ``after`` (one more each)."""

    phi: float
    depth: float  # alpha^phi = k / L at the step
    stages: tuple[int, ...]  # Table 1's stage numbers (2..8)
    before: tuple[int, ...]
    after: tuple[int, ...]


def depth_steps(alpha: float = ALPHA, low: float = -1.0, high: float = 7.0) -> list[DepthStep]:
    """Return every phi in [low, high] where some stage's rounded layer count changes, in order.

    Closed form: a stage of L layers has ceil(L * alpha^phi) layers, which goes from k to k+1 as alpha^phi passes
    k/L, that is at phi = log(k/L) / log(alpha). Stages whose k/L coincide step together (at phi=0, all of them).
    With alpha=1 the depth never changes and there are no steps.
    """
    if alpha <= 1 or high < low:
        return []
    by_ratio: dict[Fraction, list[tuple[int, int]]] = {}
    for stage, row in zip(MBCONV_STAGES, B0_STAGES):
        layers = row[5]
        first = max(1, math.floor(layers * alpha ** low))
        last = math.ceil(layers * alpha ** high)
        for k in range(first, last + 1):
            phi = math.log(k / layers) / math.log(alpha)
            if low <= phi <= high:
                by_ratio.setdefault(Fraction(k, layers), []).append((stage, k))
    steps = []
    for ratio in sorted(by_ratio):
        stages = sorted(by_ratio[ratio])
        steps.append(DepthStep(
            phi=math.log(ratio.numerator / ratio.denominator) / math.log(alpha),
            depth=ratio.numerator / ratio.denominator,
            stages=tuple(stage for stage, _ in stages),
            before=tuple(k for _, k in stages),
            after=tuple(k + 1 for _, k in stages)))
    return steps


# ---------------------------------------------------------------- torchvision's B0..B7

@lru_cache(maxsize=1)
def _torchvision_multipliers() -> dict[str, tuple[float, float]]:
    """Return {"efficientnet_b0": (width_mult, depth_mult), ...} as torchvision's builders pass them.

    Read from torchvision's own source (each efficientnet_bK calls ``_efficientnet_conf`` with literal
    multipliers and keeps them nowhere else), so they are never written down twice.
    """
    found = {}
    for node in ast.parse(inspect.getsource(tv_efficientnet)).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("efficientnet_b"):
            for call in ast.walk(node):
                if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "_efficientnet_conf":
                    keywords = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
                    found[node.name] = (float(keywords["width_mult"]), float(keywords["depth_mult"]))
    return found


@dataclass(frozen=True)
class Variant:
    """One of torchvision's EfficientNet-B0..B7 with the figures torchvision documents for its DEFAULT weights.

    ``phi`` is the paper's label (Bk "comes from" phi=k, Section 4, STEP 2), where the page draws it; Bk is not
    the network at phi=k: torchvision's multipliers were rounded by hand (B2: width 1.1, depth 1.2, 288 px, where
    phi=2 gives 1.21, 1.44 and 296 px). ``nearest_phi`` is the phi at which the paper's law,
    B0's MACs x (alpha beta^2 gamma^2)^phi with the paper's bases, predicts Bk's documented MACs.
    ``config`` is the registry entry's config that builds exactly this network (phi=1 with the multipliers
    as bases), so the page can open it on the Architecture page.
    """

    name: str  # "B2"
    registry_name: str  # "efficientnet_b2"
    width_mult: float
    depth_mult: float
    resolution: int  # the DEFAULT weights' crop size
    params: int  # meta["num_params"]
    gmacs: float  # meta["_ops"] (torchvision's "GFLOPS", which are multiply-accumulates)
    top1: float  # meta["_metrics"]["ImageNet-1K"]["acc@1"], torchvision's own evaluation
    phi: int
    nearest_phi: float
    config: dict[str, Any] = field(default_factory=dict)


def _gamma_for(resolution: int) -> float:
    """Return the shortest decimal gamma that gives ``resolution`` pixels at phi=1 (288 px: 1.286)."""
    exact = resolution / BASE_RESOLUTION
    for digits in range(1, 12):
        scale = 10 ** digits
        for gamma in (round(exact, digits), math.floor(exact * scale) / scale, math.ceil(exact * scale) / scale):
            if compound_scaling(1.0, 1.0, 1.0, gamma)[2] == resolution:
                return gamma
    return exact


@lru_cache(maxsize=1)
def _variants() -> tuple[Variant, ...]:
    found = _torchvision_multipliers()
    b0_gmacs = pretrained_weights("efficientnet_b0").meta["_ops"]
    variants = []
    for k in range(8):
        registry_name = f"efficientnet_b{k}"
        width_mult, depth_mult = found[registry_name]
        weights = pretrained_weights(registry_name)
        resolution = int(weights.transforms().crop_size[0])
        gmacs = float(weights.meta["_ops"])
        variants.append(Variant(
            name=f"B{k}", registry_name=registry_name, width_mult=width_mult, depth_mult=depth_mult,
            resolution=resolution, params=int(weights.meta["num_params"]), gmacs=gmacs,
            top1=float(weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]), phi=k,
            nearest_phi=math.log(gmacs / b0_gmacs) / math.log(constraint()),
            config=config_for(1.0, alpha=depth_mult, beta=width_mult, gamma=_gamma_for(resolution))))
    return tuple(variants)


def torchvision_variants() -> list[Variant]:
    """Return torchvision's EfficientNet-B0..B7: multipliers read from torchvision, figures from their weights' meta.

    No download is needed (the meta ships with torchvision).
    """
    return [replace(variant, config=dict(variant.config)) for variant in _variants()]  # the caller may change them


# ---------------------------------------------------------------- one dimension against all three

@dataclass(frozen=True)
class ScaledNetwork:
    """B0 scaled one way, measured: the compound network, or one dimension alone matched to its MACs.

    ``gap`` is macs / target_macs - 1 (0 for the compound network itself; None where there is no target).
    ``note`` is a sentence when the dimension cannot reach the target within the caps (the network is then
    the one at the cap). ``paper_accuracy`` is the paper's top-1 with its citation, only where the paper reports
    this very network (Table 7, multipliers compared at the paper's one decimal).
    """

    label: str  # "compound", "depth only", "width only", "resolution only"
    config: dict[str, Any]
    depth_mult: float
    width_mult: float
    resolution_mult: float
    resolution: int
    params: int
    macs: int
    activation_bytes: int
    target_macs: int | None = None
    gap: float | None = None
    note: str | None = None
    paper_accuracy: str | None = None


def _scaled(label: str, config: dict[str, Any], target: int | None = None, note: str | None = None) -> ScaledNetwork:
    scaled = multipliers(config["phi"], config["alpha"], config["beta"], config["gamma"])
    report = _analysis(config)
    resolution_mult = scaled.resolution / BASE_RESOLUTION
    figure = _paper_figure_for(scaled.depth, scaled.width, resolution_mult)
    return ScaledNetwork(
        label=label, config=config, depth_mult=scaled.depth, width_mult=scaled.width,
        resolution_mult=resolution_mult, resolution=scaled.resolution, params=report.total_params,
        macs=report.total_macs, activation_bytes=report.activation_bytes, target_macs=target,
        gap=None if target is None else report.total_macs / target - 1, note=note,
        paper_accuracy=figure.citation() if figure is not None else None)


_DIMENSIONS = {"depth": "alpha", "width": "beta", "resolution": "gamma"}


def _single_config(dimension: str, base: float, phi: float) -> dict[str, Any]:
    bases = {"alpha": 1.0, "beta": 1.0, "gamma": 1.0, _DIMENSIONS[dimension]: base}
    return config_for(phi, **bases)


def _as_config(dimension: str, mult: float) -> dict[str, Any]:
    """Return the config of B0 scaled by ``mult`` in one dimension: phi=1 and the base ``mult`` (phi=-1, 1/mult below 1)."""
    return _single_config(dimension, mult, 1.0) if mult >= 1 else _single_config(dimension, 1 / mult, -1.0)


def _signature(config: dict[str, Any]) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """Return what the built network depends on: its layers, channels and resolution (equal signature, equal MACs)."""
    scaled = multipliers(config["phi"], config["alpha"], config["beta"], config["gamma"])
    return tuple(stage_layers(scaled.depth)), tuple(stage_channels(scaled.width)), scaled.resolution


def _side(size: int, kernel: int, stride: int) -> int:
    """Return the output side of a k x k convolution padded by (k-1)/2 (torchvision's Conv2dNormActivation)."""
    return (size + 2 * ((kernel - 1) // 2) - kernel) // stride + 1


def _mbconv(c_in: int, c_out: int, expand: int, kernel: int, stride: int, size: int) -> tuple[int, int, int, int]:
    """Return (params, MACs, activation elements, output side) of one torchvision MBConv block on a size x size input.

    As torchvision.models.efficientnet.MBConv builds it: an expand 1x1 conv + BN + SiLU only where the expanded
    width differs from ``c_in``; a depthwise k x k conv (stride here) + BN + SiLU; squeeze-excitation (average pool,
    1x1 conv to max(1, c_in // 4) channels with bias, SiLU, 1x1 conv back with bias, sigmoid); a project 1x1 conv
    + BN. Convolutions followed by BN have no bias; a BN has two parameters per channel (its running statistics are
    buffers). Activation elements are the distinct leaf-module outputs as ``analyze`` keeps them: each conv and
    BN output, not the in-place SiLU's (the same tensor), the SE's pool, convs and sigmoid, not the eval-mode
    StochasticDepth's (it returns its input).
    """
    expanded = MBConvConfig.adjust_channels(c_in, expand)
    squeeze = max(1, c_in // 4)
    params = macs = activations = 0
    if expanded != c_in:
        params += c_in * expanded + 2 * expanded
        macs += size * size * c_in * expanded
        activations += 2 * expanded * size * size
    size = _side(size, kernel, stride)
    area = size * size
    params += expanded * kernel * kernel + 2 * expanded
    macs += area * expanded * kernel * kernel
    activations += 2 * expanded * area
    params += 2 * expanded * squeeze + squeeze + expanded
    macs += 2 * expanded * squeeze
    activations += 3 * expanded + squeeze
    params += expanded * c_out + 2 * c_out
    macs += area * expanded * c_out
    activations += 2 * c_out * area
    return params, macs, activations, size


def _counts(layers: Iterable[int], channels: Iterable[int], resolution: int,
            num_classes: int) -> tuple[int, int, int]:
    """Return (params, MACs, activation bytes) of the network with Table 1's nine stages at these layers, channels
    and resolution, counted by hand from torchvision's blocks.

    Every block of a stage after its first sees the same input (stride 1, c_out channels), so a stage is counted
    as its first block plus (layers - 1) times the next one: the cost does not grow with the depth.
    """
    layers, channels = list(layers), list(channels)
    size = _side(resolution, 3, 2)
    stem = channels[0]
    params, macs, activations = 27 * stem + 2 * stem, size * size * 27 * stem, 2 * stem * size * size
    c_in = stem
    for (expand, kernel, stride, *_), repeats, c_out in zip(B0_STAGES, layers[1:8], channels[1:8]):
        first = _mbconv(c_in, c_out, expand, kernel, stride, size)
        size = first[3]
        params, macs, activations = params + first[0], macs + first[1], activations + first[2]
        if repeats > 1:
            rest = _mbconv(c_out, c_out, expand, kernel, 1, size)
            params += (repeats - 1) * rest[0]
            macs += (repeats - 1) * rest[1]
            activations += (repeats - 1) * rest[2]
        c_in = c_out
    head = channels[8]
    params += c_in * head + 2 * head + head * num_classes + num_classes
    macs += size * size * c_in * head + head * num_classes
    # head conv and BN (its SiLU in place), the average pool, the flattened vector through eval-mode Dropout, the logits
    activations += 2 * head * size * size + 2 * head + num_classes
    return params, macs, 4 * activations  # float32


def counted_macs(layers: Iterable[int], channels: Iterable[int], resolution: int, num_classes: int = 1000) -> int:
    """Return the MACs of the network with Table 1's nine stages at these layers, channels and resolution, counted
    by hand from torchvision's blocks (stem, per MBConv: expand 1x1, depthwise kxk, squeeze-excitation, project 1x1;
    head 1x1; classifier).

    The single-dimension search tries many networks with it without building them, and ``exact_curve`` draws the
    dense curve from it; the tests hold it equal to ``analyze`` across the caps.
    """
    return _counts(layers, channels, resolution, num_classes)[1]


def counted_params(layers: Iterable[int], channels: Iterable[int], num_classes: int = 1000) -> int:
    """Return the parameters of the network with Table 1's nine stages at these layers and channels, counted by
    hand from torchvision's blocks (stem conv + BN; per MBConv: expand 1x1 + BN where the width changes, depthwise
    kxk + BN, squeeze-excitation's two 1x1 convs with biases, project 1x1 + BN; head 1x1 + BN; Linear with bias).

    The tests hold it equal to ``analyze(...).total_params`` across the caps.
    """
    return _counts(layers, channels, 1, num_classes)[0]


def counted_activation_bytes(layers: Iterable[int], channels: Iterable[int], resolution: int,
                             num_classes: int = 1000) -> int:
    """Return the activation memory at batch 1 as ``analyze`` reports it (the distinct leaf-module outputs,
    float32), counted by hand; the tests hold it equal to ``analyze(...).activation_bytes``."""
    return _counts(layers, channels, resolution, num_classes)[2]


def _shortest(dimension: str, config: dict[str, Any]) -> dict[str, Any]:
    """Return a config that builds the same network with the base written in as few decimals as possible."""
    key = _DIMENSIONS[dimension]
    base, wanted = config[key], _signature(config)
    for digits in range(1, 12):
        scale = 10 ** digits
        for candidate in sorted({round(base, digits), math.floor(base * scale) / scale, math.ceil(base * scale) / scale},
                                key=lambda value: abs(value - base)):
            if 1 <= candidate <= MAX_MULTIPLIER:
                shorter = _single_config(dimension, candidate, config["phi"])
                if _signature(shorter) == wanted:
                    return shorter
    return config


def _match(dimension: str, target: int) -> tuple[dict[str, Any], str | None]:
    """Return the config of B0 scaled in ``dimension`` alone whose MACs are nearest ``target``, and a note if the
    caps stop it short.

    MACs grow monotonically (in steps) with each multiplier: bracket the target by doubling, then bisect until the
    two ends build neighbouring networks; the nearer of the two wins. Candidates are counted with
    ``counted_macs`` (no build), so a search costs milliseconds.
    """
    def macs(mult: float) -> int:
        return counted_macs(*_signature(_as_config(dimension, mult)))

    low, high = 1.0, 1.0
    if macs(1.0) < target:
        while macs(high) < target:
            if high >= SEARCH_HIGH:
                return _as_config(dimension, SEARCH_HIGH), (
                    f"Scaling the {dimension} alone cannot reach the compound network's {target / 1e9:.3g} GMACs: "
                    f"at the {SEARCH_HIGH:g}x cap it gives {macs(SEARCH_HIGH) / 1e9:.3g} GMACs.")
            low, high = high, min(2 * high, SEARCH_HIGH)
    else:
        while macs(low) > target:
            if low <= SEARCH_LOW:
                return _as_config(dimension, SEARCH_LOW), (
                    f"Scaling the {dimension} alone cannot come down to the compound network's {target / 1e9:.3g} "
                    f"GMACs: at 1/{MAX_MULTIPLIER:g} of B0 it still gives {macs(SEARCH_LOW) / 1e9:.3g} GMACs.")
            low, high = max(low / 2, SEARCH_LOW), low
    # invariant: macs(low) <= target <= macs(high)
    if dimension == "resolution":  # whole pixels: bisect on the side itself
        left, right = round(low * BASE_RESOLUTION), round(high * BASE_RESOLUTION)
        while right - left > 1:
            middle = (left + right) // 2
            left, right = (middle, right) if macs(middle / BASE_RESOLUTION) <= target else (left, middle)
        low, high = left / BASE_RESOLUTION, right / BASE_RESOLUTION
    else:
        while _signature(_as_config(dimension, low)) != _signature(_as_config(dimension, high)):
            middle = (low + high) / 2
            if middle in (low, high):  # neighbouring floats: low and high build neighbouring networks
                break
            low, high = (middle, high) if macs(middle) <= target else (low, middle)
    best = min((low, high), key=lambda mult: (abs(macs(mult) - target), mult))
    return _shortest(dimension, _as_config(dimension, best)), None


def single_dimension(phi: float, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA) -> list[ScaledNetwork]:
    """Return the compound network at ``phi``, then B0 scaled by depth only, width only and resolution only, each
    with the multiplier whose MACs come nearest the compound network's.

    The rounding (layers up, channels to 8, whole pixels) makes equal MACs impossible: ``gap`` says how far each
    match is (depth moves in the largest steps). A dimension that cannot reach the target within the caps comes
    back at the cap with a ``note``. Each network is a registry config (depth only: phi=1, alpha=d, beta=gamma=1).

    Raises:
        InvalidOptionError: ``phi`` or a base lies outside the registry entry's bounds, or the compound network
            itself exceeds the caps.
    """
    compound = config_for(phi, alpha, beta, gamma)
    target = _analysis(compound).total_macs
    networks = [_scaled("compound", compound, target)]
    for dimension in _DIMENSIONS:
        config, note = _match(dimension, target)
        networks.append(_scaled(f"{dimension} only", config, target, note))
    return networks


def paper_points() -> list[ScaledNetwork]:
    """Return the paper's Table 7 networks (B0, depth x4, width x2, resolution x2, compound d=1.4 w=1.2 r=1.3),
    built and measured here, each with the paper's top-1 and its citation.

    Raises:
        ScalingError: a row of Table 7 can no longer be built (a bug: the rows lie well within the caps).
    """
    labels = {"baseline": "B0", "depth": "depth only", "width": "width only", "resolution": "resolution only",
              "compound": "compound"}
    networks = []
    for figure in PAPER_FIGURES:
        if figure.source != "Table 7":
            continue
        try:
            config = config_for(1.0, alpha=figure.depth, beta=figure.width, gamma=figure.resolution)
        except InvalidOptionError as error:
            raise ScalingError(f"Table 7's {figure.scaling} network cannot be built ({str(error).rstrip('.')}).") \
                from error
        networks.append(_scaled(labels[figure.scaling], config))
    return networks
