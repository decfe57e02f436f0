"""Turning a PIL image into the tensor a network expects, step by step, so the page can show each step.

Three recipes: the exact transforms of torchvision's pretrained weights, a generic ImageNet-style one for
random weights at any input size, and the handwritten-digit one the bundled LeNet-5 was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F_nn
from PIL import Image, ImageOps
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as F

from explorer.units import format_shape

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """A recipe: resize the shorter side, centre-crop, (digits: clean up), scale to [0, 1], normalise."""

    channels: int
    crop: tuple[int, int]
    resize: int | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    interpolation: InterpolationMode = InterpolationMode.BILINEAR
    digits: bool = False  # the LeNet-5 digits recipe instead of resize + crop
    origin: str = ""  # where the recipe comes from, in words (the page shows it)

    def describe(self) -> list[str]:
        """Return the steps in words, in the order they run."""
        if self.digits:
            return ["convert to grayscale",
                    "invert if the background is light (the network was trained on bright ink on black)",
                    "crop to the ink's bounding box and pad it to a square",
                    "shrink to 8x8 by area averaging (the resolution of the training scans), stretch the "
                    "contrast, then enlarge to 28x28",
                    "pad 2 pixels on every side to 32x32",
                    f"scale to [0, 1] and normalise with mean {self.mean[0]:.4f} and std {self.std[0]:.4f}"]
        steps = []
        if self.channels == 1:
            steps.append("convert to grayscale")
        if self.resize:
            steps.append(f"resize the shorter side to {self.resize} pixels ({self.interpolation.value})")
        steps.append(f"centre-crop {format_shape(self.crop, drop_batch=False)}")
        mean = ", ".join(f"{m:.3f}" for m in self.mean)
        std = ", ".join(f"{s:.3f}" for s in self.std)
        steps.append(f"scale to [0, 1] and normalise per channel with mean ({mean}) and std ({std})")
        return steps

    def network_view(self, image: Image.Image) -> Image.Image:
        """Return the image the network sees, before normalisation (what a person should look at)."""
        if self.digits:
            return digit_view(image)
        picture = image.convert("L") if self.channels == 1 else image.convert("RGB")
        if self.resize:
            picture = F.resize(picture, [self.resize], interpolation=self.interpolation, antialias=True)
        return F.center_crop(picture, list(self.crop))

    def tensor(self, image: Image.Image) -> torch.Tensor:
        """Return the normalised input tensor, shape 1 x C x H x W (float32, CPU)."""
        view = self.network_view(image)
        array = np.asarray(view, dtype=np.float32) / 255.0
        tensor = torch.from_numpy(array[None] if array.ndim == 2 else array.transpose(2, 0, 1).copy())
        if tensor.shape[0] != self.channels:  # an unusual channel count: repeat the gray image
            tensor = tensor.mean(dim=0, keepdim=True).expand(self.channels, -1, -1).contiguous()
        return F.normalize(tensor, list(self.mean), list(self.std)).unsqueeze(0)


def digit_view(image: Image.Image) -> Image.Image:
    """Return a 32x32 grayscale digit, bright ink on black, framed like the bundled LeNet-5's training data."""
    gray = ImageOps.grayscale(image)
    array = np.asarray(gray, dtype=np.float32)
    if array.mean() > 127:  # light paper, dark ink
        array = 255.0 - array
    ink = array > max(40.0, 0.2 * array.max(initial=0.0))
    if ink.any():
        rows, cols = np.where(ink)
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        array = array[top:bottom, left:right]
    height, width = array.shape
    side = max(height, width)
    # no margin: the training scans were normalised so that the digit fills its 8x8 box
    square = np.zeros((side, side), dtype=np.float32)
    square[(side - height) // 2: (side - height) // 2 + height, (side - width) // 2: (side - width) // 2 + width] = array
    # the UCI scans counted ink in 4x4 blocks of a 32x32 bitmap: area averaging (BOX) is the same operation
    small = np.asarray(Image.fromarray(square.clip(0, 255).astype(np.uint8), "L").resize((8, 8), Image.BOX),
                       dtype=np.float32)
    small = small * (255.0 / max(float(small.max(initial=0.0)), 1.0))  # full contrast, like the scans
    large = Image.fromarray(small.round().astype(np.uint8), "L").resize((28, 28), Image.BILINEAR)
    return ImageOps.expand(large, border=2, fill=0)


def from_torchvision(transforms: object) -> Preprocessing:
    """Return the recipe of a torchvision weights' ``transforms()`` (ImageClassification)."""
    crop = transforms.crop_size[0]
    resize = transforms.resize_size[0] if transforms.resize_size else None
    return Preprocessing(3, (crop, crop), resize, tuple(transforms.mean), tuple(transforms.std),
                         transforms.interpolation, origin="the pretrained weights' own transforms")


def generic(input_shape: tuple[int, int, int]) -> Preprocessing:
    """Return an ImageNet-style recipe for any input size (used with random weights)."""
    channels, height, width = input_shape
    resize = int(round(min(height, width) * 256 / 224))
    if channels == 1:
        return Preprocessing(1, (height, width), resize, (0.5,), (0.5,), origin="generic, grayscale")
    if channels != 3:
        mean, std = (0.5,) * channels, (0.5,) * channels
    else:
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    return Preprocessing(channels, (height, width), resize, mean, std, origin="generic ImageNet-style")


def digits(mean: float, std: float) -> Preprocessing:
    """Return the recipe the bundled LeNet-5 was trained with (see scripts/train_lenet5_digits.py)."""
    return Preprocessing(1, (32, 32), None, (mean,), (std,), digits=True, origin="the bundled LeNet-5's training")


def digits_as_lenet_input() -> tuple[torch.Tensor, torch.Tensor]:
    """Return (N x 1 x 32 x 32 images in [0, 1], labels) from scikit-learn's load_digits.

    The bundled LeNet-5's framing (scripts/train_lenet5_digits.py): the 8x8 scan (0-16) enlarged to 28x28
    (bilinear) and padded by 2.
    """
    from sklearn.datasets import load_digits  # here: only the scripts and the demo need scikit-learn

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F_nn.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)
    images = F_nn.pad(images, (2, 2, 2, 2))
    return images.clamp(0, 1), torch.tensor(digits.target)
