"""The channels of a feature map shown a page at a time, in a montage about as wide as a page's column."""

from __future__ import annotations

import math
from dataclasses import dataclass

PER_PAGE = 64  # channels in one montage
MONTAGE_WIDTH = 720  # pixels the tiles of a full row add up to, about
MIN_TILE = 48  # pixels of the smallest tile side: a map of 7x7 or less is enlarged to at least this


@dataclass(frozen=True)
class ChannelPage:
    """One page of channels: its index from 0, the channels it shows (first to last, inclusive) and tile size."""

    index: int
    per_page: int
    first: int
    last: int
    min_tile: int


def page_count(channels: int, per_page: int = PER_PAGE) -> int:
    """Return how many pages ``channels`` channels take (at least 1)."""
    return max(1, math.ceil(channels / per_page))


def channel_page(channels: int, index: int, per_page: int = PER_PAGE) -> ChannelPage:
    """Return page ``index`` (from 0, clamped to the pages there are) of ``channels`` channels.

    Tiles are sized so that one row of the first page's square grid spans about MONTAGE_WIDTH pixels.
    """
    index = min(max(0, index), page_count(channels, per_page) - 1)
    columns = math.ceil(math.sqrt(max(1, min(per_page, channels))))  # the montage's square grid
    return ChannelPage(index, per_page, index * per_page, min(channels, (index + 1) * per_page) - 1,
                       max(MIN_TILE, MONTAGE_WIDTH // columns))
