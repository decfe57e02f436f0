"""What the Feature maps page shows of one captured tensor: the channel montage with its controls and one
channel up close, or the values of a tensor that is not a spatial map; and the first layer's filters."""

from __future__ import annotations

import streamlit as st
import torch
from PIL import Image
from torch import nn

from explorer import charts, paging
from explorer.activations import first_conv_weight
from explorer.images import for_display
from explorer.montage import COLORMAPS, Normalisation, channel_statistics, filter_tiles, montage, overlay
from explorer.ui import state
from explorer.units import format_shape


def activation_views(activation: torch.Tensor, view: Image.Image, network: str, point: str) -> None:
    """Show the output of ``point`` of ``network``: a C x H x W map as a montage of its channels (a page at a time)
    and one channel as a heatmap and over ``view`` (the image the network sees); anything else as values."""
    if activation.dim() != 3:
        st.plotly_chart(charts.values_chart(activation, f"{point}: not a spatial map"))
        return
    count = activation.shape[0]
    controls = st.columns(4)
    normalisation = controls[0].radio("Normalise", list(Normalisation), horizontal=True,
                                      help="channel: each tile uses its own range; shared: one range for all",
                                      **state.bind("feature_maps.normalise", Normalisation.CHANNEL))
    colormap = controls[1].selectbox("Colormap", COLORMAPS, **state.bind("feature_maps.colormap", COLORMAPS[0],
                                                                          lambda name: name in COLORMAPS))
    sort = controls[2].checkbox("Sort by mean activation", **state.bind("feature_maps.sort", False))
    pages = paging.page_count(count)
    number = controls[3].number_input(f"Page (of {pages})", 1, pages, **state.bind(
        f"feature_maps.page.{network}.{point}", 1, lambda n: 1 <= n <= pages)) if pages > 1 else 1
    page = paging.channel_page(count, int(number) - 1)
    tiles = montage(activation, normalisation, colormap, sort, page.index, page.per_page, min_tile=page.min_tile)
    st.image(for_display(tiles.image, side=None), caption=f"Channels {page.first}-{page.last} of {count}"
             + (" (sorted by mean activation)" if sort else ""), width="content")
    # One view at a time (lazy tabs): each plotly figure costs the browser about 0.3 s on every capture change.
    one, every = state.lazy_tabs("feature_maps.view", ["One channel up close", "Every channel's statistics"])
    if one.open:
        with one:
            channel = st.number_input("Channel to inspect", 0, count - 1, **state.bind(
                f"feature_maps.channel.{network}.{point}", tiles.channels[0], lambda c: 0 <= c < count))
            heat, blend = st.columns(2)
            heat.plotly_chart(charts.channel_heatmap(activation[channel], f"Channel {channel}", colormap))
            blend.image(for_display(overlay(view.convert("RGB"), activation[channel], colormap)), width="stretch",
                        caption=f"Channel {channel} over the image the network sees")
    if every.open:
        with every:
            st.plotly_chart(charts.channel_statistics_chart(channel_statistics(activation),
                                                            f"Per-channel statistics of {point}"))


def first_layer_filters(model: nn.Module) -> None:
    """Show the filters of the model's first 2-D convolution in a collapsed section (nothing if it has none)."""
    conv = first_conv_weight(model)
    if conv is not None:
        shape = format_shape(conv[1].shape, drop_batch=False)
        with st.expander(f"First-layer filters ({conv[0]}: {shape})", expanded=False):
            st.image(for_display(filter_tiles(conv[1]), side=None), caption="Each tile is one filter; colour when the input has 3 channels")
