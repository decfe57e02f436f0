"""Channels a page at a time: the page count, the channels a page shows and the tile size of its montage."""

from __future__ import annotations

import pytest

from explorer.paging import MIN_TILE, PER_PAGE, channel_page, page_count


@pytest.mark.parametrize("channels", [1, 3, 6, 63, 64, 65, 512, 2048])
def test_pages_cover_every_channel_once(channels):
    pages = [channel_page(channels, index) for index in range(page_count(channels))]
    shown = [c for page in pages for c in range(page.first, page.last + 1)]
    assert shown == list(range(channels)) and all(page.last - page.first < PER_PAGE for page in pages)


def test_tiles_make_rows_of_about_720_pixels_and_never_go_below_the_least_tile():
    assert channel_page(1, 0).min_tile == 720 and channel_page(6, 0).min_tile == 240  # a 3x3 grid
    assert channel_page(64, 0).min_tile == 90 and channel_page(2048, 31).min_tile == 90
    assert channel_page(10_000, 0, per_page=10_000).min_tile == MIN_TILE


def test_a_page_out_of_range_is_the_nearest_page():
    assert channel_page(100, 5).index == 1 and channel_page(100, -1).index == 0
