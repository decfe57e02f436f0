"""EfficientNet at any compound-scaling coefficient phi (Tan and Le 2019), fractional phi included.

Built from torchvision's own EfficientNet classes, so phi=0 is exactly torchvision's efficientnet_b0. The bases
alpha, beta and gamma are options too, so a link can name any point of the compound-scaling explorer, scaling
by one dimension included (depth only: beta=gamma=1).
"""

from __future__ import annotations

from functools import partial

from torch import nn
from torchvision.models.efficientnet import EfficientNet, MBConvConfig

from explorer.errors import InvalidOptionError
from explorer.zoo.registry import Option, register

# The paper's bases for depth, width and resolution (Section 4, STEP 1: alpha * beta^2 * gamma^2 ~ 2)
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15
BASE_RESOLUTION = 224
MAX_MULTIPLIER = 16.0  # deepest and widest a network may be, as a multiple of B0 (beyond it, builds get slow)

# EfficientNet-B0 stages as torchvision writes them: (expand_ratio, kernel, stride, in, out, layers)
B0_STAGES = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
]


def compound_scaling(phi: float, alpha: float = ALPHA, beta: float = BETA,
                     gamma: float = GAMMA) -> tuple[float, float, int]:
    """Return (depth multiplier, width multiplier, input resolution) for coefficient ``phi`` and the given bases.

    Nothing is checked here; see :func:`checked_scaling`.
    """
    return alpha ** phi, beta ** phi, int(round(BASE_RESOLUTION * gamma ** phi))


def _times(value: float) -> str:
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def checked_scaling(phi: float, alpha: float = ALPHA, beta: float = BETA,
                    gamma: float = GAMMA) -> tuple[float, float, int]:
    """Return :func:`compound_scaling`'s (depth, width, resolution) once they are known to be buildable.

    Raises:
        InvalidOptionError: the depth or width multiplier exceeds MAX_MULTIPLIER, or the resolution lies outside
            1..MAX_INPUT_SIDE pixels.
    """
    from explorer.analysis.failures import MAX_INPUT_SIDE  # here: explorer.analysis imports the zoo

    depth, width, resolution = compound_scaling(phi, alpha, beta, gamma)
    point = f"EfficientNet at phi={phi:g}"
    if depth > MAX_MULTIPLIER:
        raise InvalidOptionError(
            f"{point} and alpha={alpha:g} would be {_times(depth)}x deeper than B0, but the depth multiplier alpha^phi "
            f"can be at most {MAX_MULTIPLIER:g}: lower phi or alpha.")
    if width > MAX_MULTIPLIER:
        raise InvalidOptionError(
            f"{point} and beta={beta:g} would be {_times(width)}x wider than B0, but the width multiplier beta^phi "
            f"can be at most {MAX_MULTIPLIER:g}: lower phi or beta.")
    if not 1 <= resolution <= MAX_INPUT_SIDE:
        raise InvalidOptionError(
            f"{point} and gamma={gamma:g} would take {resolution}x{resolution} images, but the resolution "
            f"{BASE_RESOLUTION} x gamma^phi must lie between 1 and {MAX_INPUT_SIDE} pixels: change phi or gamma.")
    return depth, width, resolution


def efficientnet_stages(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    """Return B0's stages scaled by the given width and depth multipliers."""
    stage = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [stage(*row) for row in B0_STAGES]


def _input_shape(config: dict) -> tuple[int, int, int]:
    _, _, resolution = checked_scaling(config["phi"], config["alpha"], config["beta"], config["gamma"])
    return (3, resolution, resolution)


def _base(name: str, default: float, dimension: str) -> Option:
    return Option(float, default, low=1.0, high=MAX_MULTIPLIER,
                  help=f"{dimension} base: B0's {dimension} is multiplied by {name}^phi "
                       f"(the paper's {default}; 1 keeps B0's {dimension})")


@register(
    "efficientnet", display_name="EfficientNet (any phi)", family="EfficientNet", input_shape=(3, 224, 224),
    options={
        "phi": Option(float, 0.0, low=-2.0, high=8.0,
                      help="compound coefficient: depth x alpha^phi, width x beta^phi, resolution x gamma^phi"),
        "alpha": _base("alpha", ALPHA, "depth"),
        "beta": _base("beta", BETA, "width"),
        "gamma": _base("gamma", GAMMA, "resolution"),
        "num_classes": Option(int, 1000, low=1, high=100_000),
    },
    input_shape_fn=_input_shape,
)
def efficientnet(phi: float = 0.0, alpha: float = ALPHA, beta: float = BETA, gamma: float = GAMMA,
                 num_classes: int = 1000) -> nn.Module:
    """Return EfficientNet-B0 compound-scaled by ``phi`` (phi=0 is torchvision's efficientnet_b0).

    torchvision's B1..B7 are the paper's hand-rounded points near this curve, not exactly on it
    (see explorer.scaling.torchvision_variants).

    Raises:
        InvalidOptionError: the network would be more than MAX_MULTIPLIER times deeper or wider than B0, or its
            resolution would lie outside 1..MAX_INPUT_SIDE pixels.
    """
    depth_mult, width_mult, _ = checked_scaling(phi, alpha, beta, gamma)
    return EfficientNet(efficientnet_stages(width_mult, depth_mult), dropout=0.2, num_classes=num_classes)
