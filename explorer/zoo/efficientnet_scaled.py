"""EfficientNet at any compound-scaling coefficient phi (Tan and Le 2019), fractional phi included.

Built from torchvision's own EfficientNet classes, so phi=0 is exactly torchvision's efficientnet_b0.
"""

from __future__ import annotations

from functools import partial

from torch import nn
from torchvision.models.efficientnet import EfficientNet, MBConvConfig

from explorer.zoo.registry import Option, register

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width and resolution bases of the compound scaling
BASE_RESOLUTION = 224

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


def compound_scaling(phi: float) -> tuple[float, float, int]:
    """Return (depth multiplier, width multiplier, input resolution) for coefficient ``phi``."""
    return ALPHA ** phi, BETA ** phi, int(round(BASE_RESOLUTION * GAMMA ** phi))


def efficientnet_stages(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    """Return B0's stages scaled by the given width and depth multipliers."""
    stage = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [stage(*row) for row in B0_STAGES]


@register(
    "efficientnet", display_name="EfficientNet (any phi)", family="EfficientNet", input_shape=(3, 224, 224),
    options={
        "phi": Option(float, 0.0, low=-2.0, high=8.0,
                      help="compound coefficient: depth x1.2^phi, width x1.1^phi, resolution x1.15^phi"),
        "num_classes": Option(int, 1000, low=1, high=100_000),
    },
    input_shape_fn=lambda config: (3, compound_scaling(config["phi"])[2], compound_scaling(config["phi"])[2]),
)
def efficientnet(phi: float = 0.0, num_classes: int = 1000) -> nn.Module:
    """Return EfficientNet-B0 compound-scaled by ``phi`` (phi=0 is torchvision's efficientnet_b0).

    torchvision's B1..B7 are the paper's hand-rounded points near this curve, not exactly on it.
    """
    depth_mult, width_mult, _ = compound_scaling(phi)
    return EfficientNet(efficientnet_stages(width_mult, depth_mult), dropout=0.2, num_classes=num_classes)
