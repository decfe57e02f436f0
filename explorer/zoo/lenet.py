"""LeNet-5 (LeCun et al. 1998), as course note 000 walks through it, and the modern variant of note 002."""

from __future__ import annotations

from torch import nn

from explorer.zoo.registry import Option, register

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
_POOLS = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}


class LeNet5(nn.Module):
    """32x32 -> conv 6@5x5 -> pool -> conv 16@5x5 -> pool -> 400 -> 120 -> 84 -> classes.

    With ``c5="conv"`` the 400 -> 120 layer is a 5x5 convolution with 120 filters, as in the paper's
    C5 and in note 002; on a 5x5x16 input it has exactly the weights of the fully connected layer.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, activation: str = "tanh",
                 pooling: str = "avg", c5: str = "linear") -> None:
        super().__init__()
        act, pool = _ACTIVATIONS[activation], _POOLS[pooling]
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5), act(), pool(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=5), act(), pool(kernel_size=2, stride=2),
        )
        if c5 == "conv":
            c5_layer: nn.Module = nn.Sequential(nn.Conv2d(16, 120, kernel_size=5), nn.Flatten())
        else:
            c5_layer = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120))
        self.classifier = nn.Sequential(
            c5_layer, act(),
            nn.Linear(120, 84), act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):  # noqa: D102 - standard nn.Module forward
        return self.classifier(self.features(x))


_COMMON = dict(
    family="LeNet",
    input_shape=(1, 32, 32),
    classic=True,
)


def _options(activation: str, pooling: str, c5: str) -> dict[str, Option]:
    return {
        "num_classes": Option(int, 10, low=1, high=100_000, help="digits: 10"),
        "in_channels": Option(int, 1, low=1, high=64, help="1 for grayscale, 3 for colour"),
        "activation": Option(str, activation, choices=("tanh", "relu")),
        "pooling": Option(str, pooling, choices=("avg", "max")),
        "c5": Option(str, c5, choices=("linear", "conv"),
                     help="the 400 -> 120 layer as a fully connected layer or a 5x5 convolution"),
    }


@register("lenet5", display_name="LeNet-5 (course notes)", options=_options("tanh", "avg", "linear"), **_COMMON)
def lenet5(**config) -> nn.Module:
    """Return LeNet-5 as course note 000 tells it: tanh, 2x2 average pooling, FC 400-120-84-10 (61,706 params).

    ``lenet5_1998`` is the network exactly as the paper built it.
    """
    return LeNet5(**config)


@register("lenet5_modern", display_name="LeNet-5 (modern: ReLU, max pool)",
          options=_options("relu", "max", "conv"), **{**_COMMON, "classic": False})
def lenet5_modern(**config) -> nn.Module:
    """Return the LeNet-5 course note 002 describes: ReLU, max pooling, a 5x5 conv C5 with 120 filters."""
    return LeNet5(**config)
