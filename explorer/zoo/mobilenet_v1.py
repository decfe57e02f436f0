"""MobileNet v1 (Howard et al. 2017): a stem and 13 depthwise separable layers."""

from __future__ import annotations

from torch import nn

from explorer.zoo.registry import Option, register

# (out_channels, stride) of the 13 depthwise-separable layers, Table 1 of Howard et al. 2017
LAYERS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
          (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
STEM_CHANNELS = 32


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, groups: int = 1) -> nn.Sequential:
    """Return Conv2d (no bias) -> BatchNorm2d -> ReLU, MobileNet's basic unit."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class DepthwiseSeparable(nn.Sequential):
    """A depthwise k x k convolution (one filter per channel) then a pointwise 1x1 convolution."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, kernel_size: int = 3,
                 padding: int | None = None) -> None:
        padding = kernel_size // 2 if padding is None else padding
        super().__init__()
        self.depthwise = conv_bn_relu(in_channels, in_channels, kernel_size, stride, padding,
                                      groups=in_channels)
        self.pointwise = conv_bn_relu(in_channels, out_channels, 1)


class MobileNetV1(nn.Module):
    """MobileNet v1: 3x3 stem, 13 depthwise separable layers, global pooling, one FC layer."""

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, in_channels: int = 3) -> None:
        super().__init__()

        def width(channels: int) -> int:
            return max(1, int(channels * width_mult))

        layers: list[nn.Module] = [conv_bn_relu(in_channels, width(STEM_CHANNELS), 3, 2, 1)]
        channels = width(STEM_CHANNELS)
        for out_channels, stride in LAYERS:
            layers.append(DepthwiseSeparable(channels, width(out_channels), stride))
            channels = width(out_channels)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels, num_classes))

    def forward(self, x):  # noqa: D102 - standard nn.Module forward
        return self.classifier(self.pool(self.features(x)))


@register(
    "mobilenet_v1", display_name="MobileNet v1", family="MobileNet", input_shape=(3, 224, 224), classic=True,
    options={
        "num_classes": Option(int, 1000, low=1, high=100_000),
        "width_mult": Option(float, 1.0, low=0.1, high=2.0, help="width multiplier alpha: 1.0, 0.75, 0.5, 0.25"),
        "in_channels": Option(int, 3, low=1, high=64),
    },
)
def mobilenet_v1(**config) -> nn.Module:
    """Return MobileNet v1 (4,231,976 parameters and 568.7 M MACs at width 1.0, 224x224)."""
    return MobileNetV1(**config)
