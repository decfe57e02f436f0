"""Cached wrappers around the core, keyed by architecture, config and input shape.

Cached values are returned by copy (st.cache_data) or are never mutated, so no session sees another's.
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from explorer import budget
from explorer.activations import CaptureResult, capture
from explorer.analysis import ModelReport, analyze
from explorer.diagram import build_diagram
from explorer.bounded_cache import BoundedCache
from explorer.source import model_sources
from explorer.weights import LoadedModel, load_model
from explorer.zoo import build

ConfigItems = tuple[tuple[str, Any], ...]


def config_items(config: dict[str, Any]) -> ConfigItems:
    """Return a config as a sorted tuple, hashable for cache keys."""
    return tuple(sorted(config.items()))


@st.cache_data(show_spinner=False, max_entries=128)
def cached_analysis(name: str, items: ConfigItems, input_shape: tuple[int, int, int] | None) -> ModelReport:
    """Return analyze(name, input_shape, **config), computed once per key.

    Raises:
        ExplorerError: as analyze() does (errors are not cached).
    """
    return analyze(name, input_shape, **dict(items))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_dot(name: str, items: ConfigItems, input_shape: tuple[int, int, int] | None, depth: int,
               collapse: bool, expand: tuple[str, ...]) -> tuple[str, int]:
    """Return (DOT source, number of boxes) of the architecture diagram."""
    diagram = build_diagram(cached_analysis(name, items, input_shape), depth, collapse, frozenset(expand))
    return diagram.to_dot(), len(diagram.nodes)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_sources(name: str, items: ConfigItems) -> list[tuple[str, str]]:
    """Return the source of the architecture's own classes (built once on the meta device)."""
    with torch.device("meta"):
        model = build(name, **dict(items))
    return model_sources(model)


MODELS: BoundedCache[LoadedModel] = BoundedCache(lambda: budget.limits().model_cache_bytes)


def cached_model(name: str, items: ConfigItems, source: str, device: str, upload_digest: str,
                 _upload: tuple[str, bytes] | None = None) -> LoadedModel:
    """Return the model with its weights on ``device``, shared by every session and never mutated.

    Models are kept up to the budget's model-cache bytes, least recently used dropped first; the upload's
    bytes are keyed by their digest.

    Raises:
        ExplorerError: as explorer.weights.load_model does, BudgetError included (errors are not cached).
    """
    cost = budget.network_cost(name, dict(items))
    return MODELS.get((name, items, source, device, upload_digest),
                      lambda: load_model(name, dict(items), source, device, upload=_upload), cost.parameter_bytes)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_capture(model_key: tuple, image_digest: str, points: tuple[str, ...], stop_early: bool,
                   _loaded: LoadedModel, _inputs: torch.Tensor) -> CaptureResult:
    """Return capture(...) for one model, image and set of points, computed once per key, within the budget.

    Raises:
        CaptureError: as capture does. BudgetError: above the budget, or the server stayed busy.
    """
    budget.require(_loaded.cost, len(_inputs))
    with budget.running(_loaded.cost.activation_bytes(len(_inputs))):
        return capture(_loaded.model, _inputs.to(next(_loaded.model.parameters()).device), list(points),
                       stop_early)
