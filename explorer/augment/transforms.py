"""The course's colour shifting (fixed or random per-channel offsets) and AlexNet's PCA colour augmentation,
as small torchvision.transforms.v2 transforms on uint8 image tensors."""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


def _as_float(image: torch.Tensor) -> torch.Tensor:
    return image.to(torch.float32)


def _back(image: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return tv_tensors.wrap(image.round().clamp(0, 255).to(torch.uint8), like=like) \
        if isinstance(like, tv_tensors.Image) else image.round().clamp(0, 255).to(torch.uint8)


class ColorShift(v2.Transform):
    """Add fixed offsets (in 0-255 units) to the R, G and B channels, clipping at 0 and 255."""

    def __init__(self, offsets: tuple[float, float, float]) -> None:
        super().__init__()
        self.offsets = tuple(float(o) for o in offsets)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:  # noqa: D102 - v2.Transform API
        if not isinstance(inpt, (tv_tensors.Image, torch.Tensor)):
            return inpt
        shift = torch.tensor(self.offsets, dtype=torch.float32).view(3, 1, 1)
        return _back(_as_float(inpt) + shift, inpt)


class RandomColorShift(v2.Transform):
    """Add random offsets, each drawn uniformly from [-range, range] for its channel (R, G, B)."""

    def __init__(self, ranges: tuple[float, float, float]) -> None:
        super().__init__()
        self.ranges = tuple(float(r) for r in ranges)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:  # noqa: D102 - v2.Transform API
        ranges = torch.tensor(self.ranges)
        return {"offsets": (torch.rand(3) * 2 - 1) * ranges}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:  # noqa: D102 - v2.Transform API
        if not isinstance(inpt, (tv_tensors.Image, torch.Tensor)):
            return inpt
        return _back(_as_float(inpt) + params["offsets"].view(3, 1, 1), inpt)


def principal_components(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (eigenvalues, eigenvectors as columns) of the RGB covariance of a 3 x H x W image in [0, 1]."""
    pixels = image.reshape(3, -1).to(torch.float64) / 255.0
    covariance = torch.cov(pixels)
    values, vectors = torch.linalg.eigh(covariance)
    return values.clamp(min=0), vectors


def fancy_pca_shift(image: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """Return the RGB offset (0-255 units) that AlexNet's PCA augmentation adds for the given alphas."""
    values, vectors = principal_components(image)
    return (vectors @ (alphas.to(torch.float64) * values)) * 255.0


class FancyPCA(v2.Transform):
    """AlexNet's PCA colour augmentation: add sum_i alpha_i * lambda_i * p_i, alpha_i ~ N(0, sigma^2).

    The principal components are those of this image's RGB pixels (Krizhevsky et al. 2012 used the
    whole training set's), so colours move along the directions in which this image already varies.
    """

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        self.sigma = float(sigma)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:  # noqa: D102 - v2.Transform API
        return {"alphas": torch.randn(3) * self.sigma}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:  # noqa: D102 - v2.Transform API
        if not isinstance(inpt, (tv_tensors.Image, torch.Tensor)):
            return inpt
        shift = fancy_pca_shift(inpt, params["alphas"]).to(torch.float32).view(3, 1, 1)
        return _back(_as_float(inpt) + shift, inpt)
