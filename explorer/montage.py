"""Pictures of feature maps: all channels as one montage image, overlays, filter tiles, channel statistics."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import plotly.colors
import torch
from PIL import Image

COLORMAPS = ("viridis", "magma", "inferno", "cividis", "gray", "RdBu")
_PLOTLY_NAMES = {"viridis": "Viridis", "magma": "Magma", "inferno": "Inferno", "cividis": "Cividis",
                 "RdBu": "RdBu_r"}


def plotly_colorscale(name: str) -> str:
    """Return the plotly colorscale that draws colormap ``name`` (from COLORMAPS) in charts."""
    return _PLOTLY_NAMES.get(name, "Greys_r" if name == "gray" else name)


@functools.cache
def colormap_lut(name: str) -> np.ndarray:
    """Return a 256 x 3 uint8 lookup table for a colormap name from COLORMAPS."""
    if name == "gray":
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp, ramp, ramp], axis=1)
    colours = plotly.colors.sample_colorscale(plotly_colorscale(name), np.linspace(0, 1, 256).tolist())
    rows = [[int(round(float(c))) for c in colour[colour.index("(") + 1:-1].split(",")] for colour in colours]
    return np.array(rows, dtype=np.uint8)


class Normalisation(StrEnum):
    """How a montage scales its tiles' values to colours."""

    CHANNEL = "channel"  # each tile stretched to its own min..max
    SHARED = "shared"  # one scale for all, so brightness compares across channels


@dataclass
class Montage:
    """One image of many channels, and which channel each tile shows (row-major)."""

    image: Image.Image
    channels: list[int]
    columns: int


def channel_order(maps: torch.Tensor, sort_by_mean: bool) -> list[int]:
    """Return channel indices, by decreasing mean activation if asked, else in order."""
    if not sort_by_mean:
        return list(range(maps.shape[0]))
    return torch.argsort(maps.float().mean(dim=(1, 2)), descending=True).tolist()


def montage(maps: torch.Tensor, normalisation: Normalisation | str = Normalisation.CHANNEL, colormap: str = "viridis",
            sort_by_mean: bool = False, page: int = 0, per_page: int = 64, min_tile: int = 48) -> Montage:
    """Return the channels of ``maps`` (C x H x W) tiled into one RGB image.

    ``normalisation`` is a :class:`Normalisation`. ``page`` selects channels page*per_page onwards.

    Raises:
        ValueError: ``maps`` is not 3-D, or ``normalisation`` / ``colormap`` is unknown.
    """
    if maps.dim() != 3:
        raise ValueError("maps must be C x H x W")
    if normalisation not in tuple(Normalisation):
        raise ValueError("normalisation must be 'channel' or 'shared'")
    order = channel_order(maps, sort_by_mean)
    chosen = order[page * per_page: (page + 1) * per_page]
    data = maps[chosen].float().numpy()
    if normalisation == Normalisation.SHARED:
        low, high = float(maps.min()), float(maps.max())
        scaled = (data - low) / (high - low if high > low else 1.0)
    else:
        low = data.min(axis=(1, 2), keepdims=True)
        span = data.max(axis=(1, 2), keepdims=True) - low
        scaled = (data - low) / np.where(span > 0, span, 1.0)
    indices = np.clip((scaled * 255).astype(np.int32), 0, 255)
    coloured = colormap_lut(colormap)[indices]  # n x H x W x 3
    count, height, width = indices.shape
    scale = max(1, math.ceil(min_tile / max(height, width)))
    if scale > 1:
        coloured = coloured.repeat(scale, axis=1).repeat(scale, axis=2)
    tile_h, tile_w = height * scale, width * scale
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    gap = 2
    canvas = np.full((rows * (tile_h + gap) - gap, columns * (tile_w + gap) - gap, 3), 255, dtype=np.uint8)
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = row * (tile_h + gap), column * (tile_w + gap)
        canvas[top: top + tile_h, left: left + tile_w] = coloured[index]
    return Montage(Image.fromarray(canvas), chosen, columns)


def overlay(image: Image.Image, channel: torch.Tensor, colormap: str = "magma", alpha: float = 0.5) -> Image.Image:
    """Return ``image`` with one channel (H x W) stretched over it as a coloured, semi-transparent heatmap."""
    data = channel.float().numpy()
    low, high = float(data.min()), float(data.max())
    scaled = (data - low) / (high - low if high > low else 1.0)
    heat = Image.fromarray(colormap_lut(colormap)[(scaled * 255).astype(np.uint8)])
    heat = heat.resize(image.size, Image.BILINEAR)
    return Image.blend(image.convert("RGB"), heat, alpha)


def filter_tiles(weight: torch.Tensor, max_filters: int = 64, tile: int = 40) -> Image.Image:
    """Return first-layer filters (out x in x k x k) as tiles: RGB for 3 input channels, else gray."""
    filters = weight[:max_filters].float()
    if filters.shape[1] != 3:
        filters = filters.mean(dim=1, keepdim=True)
    count, channels, height, width = filters.shape
    low = filters.amin(dim=(1, 2, 3), keepdim=True)
    span = filters.amax(dim=(1, 2, 3), keepdim=True) - low
    scaled = ((filters - low) / torch.where(span > 0, span, torch.ones_like(span)) * 255).byte().numpy()
    scale = max(1, tile // max(height, width))
    columns = max(1, math.ceil(math.sqrt(count)))
    rows = math.ceil(count / columns)
    gap = 2
    canvas = np.full((rows * (height * scale + gap) - gap, columns * (width * scale + gap) - gap, 3), 255,
                     dtype=np.uint8)
    for index in range(count):
        tile_data = scaled[index].transpose(1, 2, 0)
        if channels == 1:
            tile_data = np.repeat(tile_data, 3, axis=2)
        tile_data = tile_data.repeat(scale, axis=0).repeat(scale, axis=1)
        row, column = divmod(index, columns)
        top, left = row * (height * scale + gap), column * (width * scale + gap)
        canvas[top: top + tile_data.shape[0], left: left + tile_data.shape[1]] = tile_data
    return Image.fromarray(canvas)


def channel_statistics(maps: torch.Tensor) -> dict[str, list[float]]:
    """Return per-channel mean, max and fraction of exact zeros (what ReLU switched off)."""
    flat = maps.float().flatten(1)
    return {"mean": flat.mean(dim=1).tolist(), "max": flat.amax(dim=1).tolist(),
            "zeros": (flat == 0).float().mean(dim=1).tolist()}
