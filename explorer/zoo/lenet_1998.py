"""LeNet-5 exactly as LeCun et al. built it in 1998 (section II.B of "Gradient-Based Learning Applied to
Document Recognition"): C3's partial connection table, trainable subsampling, the scaled tanh and the
Euclidean RBF output layer with fixed +1/-1 codes.

The course's ``lenet5`` simplifies three things: C3 connects to all six S2 maps (2,416 parameters
instead of 1,516), S2 and S4 are plain averages (no trainable coefficient and bias) and the output is
a 10-way linear layer instead of the RBF units.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from explorer.zoo.registry import register

# Table I of the paper: row i is S2 map i, column j is C3 map j, x marks a connection (X in the paper). The first six
# C3 maps take 3 neighbouring S2 maps, the next six 4 neighbouring ones, the next three 4 that are not
# all neighbours, the last one all six.
TABLE_I = (
    "x   xxx  xxxx xx",
    "xx   xxx  xxxx x",
    "xxx   xxx  x xxx",
    " xxx  xxxx  x xx",
    "  xxx  xxxx xx x",
    "   xxx  xxxx xxx",
)


def c3_inputs(table: tuple[str, ...] = TABLE_I) -> list[tuple[int, ...]]:
    """Return, for each C3 map, the S2 maps it reads (from Table I)."""
    return [tuple(row for row, line in enumerate(table) if line[column] == "x") for column in range(len(table[0]))]


# The RBF units' fixed codes: a 7x12 bitmap of each digit, # = +1 and . = -1. The paper drew stylised
# 7x12 characters of the ASCII set; these are our own drawings of the ten digits in that format.
DIGIT_BITMAPS = {
    0: ".......|..###..|.#...#.|#.....#|#.....#|#.....#|#.....#|#.....#|#.....#|.#...#.|..###..|.......",
    1: ".......|...#...|..##...|.#.#...|...#...|...#...|...#...|...#...|...#...|...#...|.#####.|.......",
    2: ".......|..###..|.#...#.|#.....#|......#|.....#.|....#..|...#...|..#....|.#.....|#######|.......",
    3: ".......|.#####.|#.....#|......#|......#|...###.|......#|......#|......#|#.....#|.#####.|.......",
    4: ".......|.....#.|....##.|...#.#.|..#..#.|.#...#.|#....#.|#######|.....#.|.....#.|.....#.|.......",
    5: ".......|#######|#......|#......|######.|......#|......#|......#|......#|#.....#|.#####.|.......",
    6: ".......|..####.|.#.....|#......|#......|######.|#.....#|#.....#|#.....#|#.....#|.#####.|.......",
    7: ".......|#######|......#|.....#.|....#..|...#...|...#...|..#....|..#....|..#....|..#....|.......",
    8: ".......|.#####.|#.....#|#.....#|#.....#|.#####.|#.....#|#.....#|#.....#|#.....#|.#####.|.......",
    9: ".......|.#####.|#.....#|#.....#|#.....#|#.....#|.######|......#|......#|.....#.|.####..|.......",
}


def digit_codes() -> torch.Tensor:
    """Return the 10 x 84 matrix of +1/-1 codes, row i the 7x12 bitmap of digit i read row by row."""
    return torch.tensor([[1.0 if pixel == "#" else -1.0 for pixel in DIGIT_BITMAPS[digit].replace("|", "")]
                         for digit in range(10)])


class ScaledTanh(nn.Module):
    """The paper's squashing function f(a) = A tanh(S a) with A = 1.7159 and S = 2/3 (its Appendix A)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - standard nn.Module forward
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """S2 and S4: per map, the sum of each 2x2 window times a trainable coefficient plus a trainable bias.

    Run as a depthwise 2x2 convolution, stride 2, whose four weights are the map's one coefficient.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels))
        self.bias = nn.Parameter(torch.empty(channels))
        self.kernel_size, self.stride, self.padding, self.groups = (2, 2), (2, 2), (0, 0), channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - standard nn.Module forward
        kernel = self.weight.view(-1, 1, 1, 1).expand(-1, 1, *self.kernel_size)
        return F.conv2d(x, kernel, self.bias, stride=self.stride, groups=self.groups)


class PartialConv2d(nn.Module):
    """C3: each output map is a 5x5 convolution over only the input maps its column of Table I names."""

    def __init__(self, inputs: list[tuple[int, ...]], kernel_size: int = 5) -> None:
        super().__init__()
        self.inputs = inputs
        self.maps = nn.ModuleList(nn.Conv2d(len(chosen), 1, kernel_size) for chosen in inputs)
        for index, chosen in enumerate(inputs):
            self.register_buffer(f"inputs_{index}", torch.tensor(chosen), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - standard nn.Module forward
        return torch.cat([conv(x.index_select(1, getattr(self, f"inputs_{index}")))
                          for index, conv in enumerate(self.maps)], dim=1)


class EuclideanRBF(nn.Module):
    """The output layer: y_i = sum_j (x_j - w_ij)^2, the squared distance of F6's state to class i's code.

    The codes are fixed by hand (frozen parameters); the class with the smallest output wins.
    """

    def __init__(self, codes: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(codes, requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - standard nn.Module forward
        # |x - w|^2 = |x|^2 - 2 x.w + |w|^2: the x.w products are the layer's 84 x 10 multiply-accumulates.
        return (x * x).sum(1, keepdim=True) - 2 * x @ self.weight.T + (self.weight * self.weight).sum(1)


def _layer(**modules: nn.Module) -> nn.Sequential:
    """One of the paper's layers: its operation, then the squashing function (names kept in the table)."""
    return nn.Sequential(OrderedDict(modules))


class LeNet5Paper(nn.Sequential):
    """32x32 -> C1 6@28x28 -> S2 6@14x14 -> C3 16@10x10 -> S4 16@5x5 -> C5 120 -> F6 84 -> RBF 10."""

    output_is_distance = True  # the smallest output wins (see explorer.activations.class_scores)

    def __init__(self) -> None:
        super().__init__(OrderedDict(
            c1=_layer(conv=nn.Conv2d(1, 6, 5), squash=ScaledTanh()),
            s2=_layer(subsample=Subsampling(6), squash=ScaledTanh()),
            c3=_layer(conv=PartialConv2d(c3_inputs()), squash=ScaledTanh()),
            s4=_layer(subsample=Subsampling(16), squash=ScaledTanh()),
            c5=_layer(conv=nn.Conv2d(16, 120, 5), squash=ScaledTanh(), flatten=nn.Flatten()),
            f6=_layer(linear=nn.Linear(120, 84), squash=ScaledTanh()),
            output=EuclideanRBF(digit_codes()),
        ))
        self._init_as_in_the_paper()

    def _init_as_in_the_paper(self) -> None:
        """Weights uniform in [-2.4 / F, 2.4 / F], F the number of inputs of the unit (section II.B)."""
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
            elif isinstance(module, Subsampling):
                fan_in = 4
            else:
                continue
            for parameter in (module.weight, module.bias):
                nn.init.uniform_(parameter, -2.4 / fan_in, 2.4 / fan_in)


def connection_table_markdown(table: tuple[str, ...] = TABLE_I) -> str:
    """Return Table I as a Markdown table: a row per S2 map, a column per C3 map, X where they connect."""
    columns = len(table[0])
    lines = ["| S2 \\ C3 | " + " | ".join(str(j) for j in range(columns)) + " |",
             "|---" * (columns + 1) + "|"]
    lines += [f"| {i} | " + " | ".join("X" if mark == "x" else " " for mark in line) + " |"
              for i, line in enumerate(table)]
    return "\n".join(lines)


EXPLANATION = (
    "The network of the paper, layer for layer. C1 (6 maps of 28x28) and C3 (16 maps of 10x10) are 5x5 "
    "convolutions; S2 and S4 add up each 2x2 window, multiply by one trainable coefficient per map and add "
    "a trainable bias, then squash with f(a) = 1.7159 tanh(2a/3); C5 has 120 maps of 1x1, F6 84 units, and "
    "the 10 outputs are Euclidean RBF units: each measures the squared distance from F6's 84 values to a "
    "fixed +1/-1 code (a 7x12 bitmap of its digit), and the smallest distance wins. The codes were drawn by "
    "hand, not learned: here they are frozen parameters (840).\n\n"
    "**C3's connection table** (Table I of the paper): not every C3 map reads every S2 map.\n\n"
    + connection_table_markdown() + "\n\n"
    "LeCun gives two reasons: it keeps the number of connections within reasonable bounds, and, more "
    "importantly, it breaks the symmetry in the network: different C3 maps see different sets of inputs, "
    "so they are forced to extract different (and, one hopes, complementary) features. C3 then has 1,516 "
    "parameters instead of the 2,416 of a fully connected C3.\n\n"
    "**Weight sharing in numbers.** The Connections column counts multiply-accumulates plus bias additions, "
    "as the paper does: C1 has 156 parameters but 122,304 connections, each weight used 784 times (once "
    "per output position). The whole network makes 340,908 connections with 60,000 trainable parameters.\n\n"
    "**How the course's LeNet-5 differs** (the `lenet5` entry, 61,706 parameters): C3 reads all six S2 maps "
    "(2,416 parameters), S2 and S4 are plain averages with no parameters, the squashing function is a "
    "plain tanh, and the output is a 10-way fully connected layer (850 parameters) instead of the RBF units."
)


@register("lenet5_1998", display_name="LeNet-5 (1998 paper, exact)", family="LeNet", input_shape=(1, 32, 32),
          classic=True, options={}, explanation=EXPLANATION,
          purpose="Recognise handwritten digits exactly as the 1998 paper's network did.",
          key_idea="Partial connections in C3, trainable subsampling and RBF outputs: 60,000 trainable "
                   "parameters make 340,908 connections.")
def lenet5_1998() -> nn.Module:
    """Return LeNet-5 as published: 60,000 trainable parameters plus 840 fixed RBF codes."""
    return LeNet5Paper()
