"""The course's building blocks as small standalone architectures, with the notes' example inputs.

Where torchvision has the block (ResNet's BasicBlock and Bottleneck, GoogLeNet's Inception module,
MobileNet v2's InvertedResidual, EfficientNet's MBConv) we use its class, so what a learner sees here
is exactly what runs inside the full networks.
"""

from __future__ import annotations

from torch import nn
from torchvision.models.efficientnet import MBConv, MBConvConfig
from torchvision.models.googlenet import Inception
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.models.resnet import BasicBlock, Bottleneck

from explorer.errors import InvalidOptionError
from explorer.zoo.mobilenet_v1 import DepthwiseSeparable
from explorer.zoo.registry import EntryType, Option, register

_BLOCK = dict(entry_type=EntryType.BLOCK)


def _channels(default: int, help: str = "") -> Option:
    return Option(int, default, low=1, high=4096, help=help)


def _input_from(channels_key: str, size: int):
    return lambda config: (config[channels_key], size, size)


@register(
    "plain_conv", display_name="Plain convolution (5x5 'same')", family="Inception", **_BLOCK,
    purpose="A single convolution: the expensive baseline the 1x1 bottleneck is compared with.",
    key_idea="Cost = output pixels x output channels x kernel area x input channels.",
    explanation="One k x k convolution. On the course's example (28x28x192 to 32 channels, 5x5 'same') "
                "it needs 28*28*32 * 5*5*192 = 120,422,400 multiplications and 153,600 weights.",
    input_shape=(192, 28, 28),
    options={
        "in_channels": _channels(192),
        "out_channels": _channels(32),
        "kernel_size": Option(int, 5, low=1, high=15),
        "stride": Option(int, 1, low=1, high=8),
        "padding": Option(int, 2, low=0, high=16),
        "bias": Option(bool, False),
    },
    input_shape_fn=_input_from("in_channels", 28),
)
def plain_conv(in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
               bias: bool) -> nn.Module:
    """Return one Conv2d."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias))


@register(
    "pointwise_conv", display_name="1x1 convolution (network in network)", family="Network in Network",
    **_BLOCK, input_shape=(32, 6, 6),
    options={"in_channels": _channels(32), "out_channels": _channels(32, "fewer than in_channels shrinks")},
    input_shape_fn=_input_from("in_channels", 6),
)
def pointwise_conv(in_channels: int, out_channels: int) -> nn.Module:
    """Return a 1x1 convolution followed by ReLU (6x6x32 -> 6x6x32 by default)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size=1), nn.ReLU(inplace=True))


@register(
    "residual_block", display_name="Residual block", family="ResNet", **_BLOCK, input_shape=(64, 56, 56),
    options={
        "kind": Option(str, "basic", choices=("basic", "bottleneck"),
                       help="basic: two 3x3; bottleneck: 1x1, 3x3, 1x1 (output = 4 x width)"),
        "in_channels": _channels(64),
        "width": _channels(64, "channels of the 3x3 convolution"),
        "stride": Option(int, 1, low=1, high=2),
        "shortcut": Option(str, "auto", choices=("auto", "identity", "projection"),
                           help="auto: identity when shapes match, else a 1x1 projection"),
    },
    input_shape_fn=_input_from("in_channels", 56),
)
def residual_block(kind: str, in_channels: int, width: int, stride: int, shortcut: str) -> nn.Module:
    """Return torchvision's BasicBlock or Bottleneck with an identity or 1x1-projection shortcut.

    Raises:
        InvalidOptionError: an identity shortcut is asked for where the shapes differ.
    """
    block_cls = BasicBlock if kind == "basic" else Bottleneck
    out_channels = width * block_cls.expansion
    shapes_match = stride == 1 and in_channels == out_channels
    if shortcut == "identity" and not shapes_match:
        raise InvalidOptionError(
            f"An identity shortcut needs the block's output shape to match its input, but this block maps "
            f"{in_channels} channels to {out_channels} with stride {stride}; use shortcut=projection or auto.")
    downsample = None
    if shortcut == "projection" or (shortcut == "auto" and not shapes_match):
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )
    return block_cls(in_channels, width, stride=stride, downsample=downsample)


@register(
    "inception_module", display_name="Inception module (3a)", family="Inception", **_BLOCK,
    input_shape=(192, 28, 28),
    options={
        "in_channels": _channels(192),
        "ch1x1": _channels(64, "1x1 branch"),
        "ch3x3red": _channels(96, "1x1 bottleneck before the 3x3"),
        "ch3x3": _channels(128),
        "ch5x5red": _channels(16, "1x1 bottleneck before the 5x5 (a 3x3 in torchvision's GoogLeNet)"),
        "ch5x5": _channels(32),
        "pool_proj": _channels(32, "1x1 after the 3x3 max pool"),
    },
    input_shape_fn=_input_from("in_channels", 28),
)
def inception_module(**config: int) -> nn.Module:
    """Return torchvision's GoogLeNet Inception module; the defaults are module 3a on 28x28x192.

    torchvision's GoogLeNet uses a 3x3 convolution in its '5x5' branch (a known quirk kept for its
    pretrained weights); the paper's is 5x5.
    """
    return Inception(**config)


@register(
    "depthwise_separable", display_name="Depthwise separable convolution", family="MobileNet", **_BLOCK,
    input_shape=(3, 6, 6),
    options={
        "in_channels": _channels(3),
        "out_channels": _channels(5),
        "kernel_size": Option(int, 3, low=1, high=15),
        "stride": Option(int, 1, low=1, high=4),
        "padding": Option(int, 0, low=0, high=8, help="0 as in the course's example; kernel_size//2 keeps the size"),
    },
    input_shape_fn=_input_from("in_channels", 6),
)
def depthwise_separable(in_channels: int, out_channels: int, kernel_size: int, stride: int,
                        padding: int) -> nn.Module:
    """Return MobileNet v1's block: depthwise k x k then pointwise 1x1, each with BN and ReLU."""
    return DepthwiseSeparable(in_channels, out_channels, stride, kernel_size, padding)


@register(
    "inverted_residual", display_name="Inverted residual (MobileNet v2 bottleneck)", family="MobileNet v2",
    **_BLOCK, input_shape=(3, 6, 6),
    options={
        "in_channels": _channels(3),
        "out_channels": _channels(3),
        "expand_ratio": Option(int, 6, low=1, high=12),
        "stride": Option(int, 1, low=1, high=2),
    },
    input_shape_fn=_input_from("in_channels", 6),
)
def inverted_residual(in_channels: int, out_channels: int, expand_ratio: int, stride: int) -> nn.Module:
    """Return torchvision's InvertedResidual: 6x6x3 -> 6x6x18 -> depthwise -> 6x6x3, plus the skip."""
    return InvertedResidual(in_channels, out_channels, stride, expand_ratio)


@register(
    "mbconv_se", display_name="MBConv with squeeze-and-excitation", family="Squeeze-and-Excitation",
    **_BLOCK, input_shape=(24, 56, 56),
    options={
        "in_channels": _channels(24),
        "out_channels": _channels(24),
        "expand_ratio": Option(int, 6, low=1, high=12),
        "kernel_size": Option(int, 3, choices=(3, 5, 7)),
        "stride": Option(int, 1, low=1, high=2),
    },
    input_shape_fn=_input_from("in_channels", 56),
)
def mbconv_se(in_channels: int, out_channels: int, expand_ratio: int, kernel_size: int, stride: int) -> nn.Module:
    """Return torchvision's EfficientNet MBConv block (expand, depthwise, SE, project, skip)."""
    config = MBConvConfig(expand_ratio, kernel_size, stride, in_channels, out_channels, num_layers=1)
    return MBConv(config, stochastic_depth_prob=0.0, norm_layer=nn.BatchNorm2d)
