"""AlexNet as in the 2012 paper (Krizhevsky, Sutskever, Hinton), the network course note 000 walks through.

torchvision's ``alexnet`` is the later one-GPU variant (64 first-layer filters, 224 input, no LRN).
"""

from __future__ import annotations

from torch import nn

from explorer.zoo.registry import Option, register

# (out_channels, kernel, stride, padding, grouped in the two-tower network, LRN after, max-pool after)
CONV_LAYERS = [
    (96, 11, 4, 0, False, True, True),
    (256, 5, 1, 2, True, True, True),
    (384, 3, 1, 1, False, False, False),
    (384, 3, 1, 1, True, False, False),
    (256, 3, 1, 1, True, False, True),
]
FC_LAYERS = [4096, 4096]


class AlexNet2012(nn.Module):
    """227x227x3 -> 55x55x96 -> 27x27x96 -> 27x27x256 -> 13x13x256 -> ... -> 6x6x256 = 9216 -> 4096 -> 4096."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, groups: int = 1,
                 dropout: float = 0.5) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for out_channels, kernel, stride, padding, grouped, lrn, pool in CONV_LAYERS:
            layers += [nn.Conv2d(channels, out_channels, kernel, stride, padding,
                                 groups=groups if grouped else 1),
                       nn.ReLU(inplace=True)]
            if lrn:
                layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
            if pool:
                layers.append(nn.MaxPool2d(kernel_size=3, stride=2))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        classifier: list[nn.Module] = [nn.Flatten()]
        width = channels * 6 * 6
        for units in FC_LAYERS:
            classifier += [nn.Dropout(dropout), nn.Linear(width, units), nn.ReLU(inplace=True)]
            width = units
        classifier.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*classifier)

    def forward(self, x):  # noqa: D102 - standard nn.Module forward
        return self.classifier(self.features(x))


@register(
    "alexnet_2012", display_name="AlexNet (2012 paper)", family="AlexNet", input_shape=(3, 227, 227),
    classic=True,
    options={
        "num_classes": Option(int, 1000, low=1, high=100_000),
        "in_channels": Option(int, 3, low=1, high=64),
        "groups": Option(int, 1, choices=(1, 2), help="2: conv2, conv4, conv5 split over two GPUs"),
    },
)
def alexnet_2012(**config) -> nn.Module:
    """Return the 2012 AlexNet (62,378,344 parameters single-tower; 60,965,224 with groups=2)."""
    return AlexNet2012(**config)
