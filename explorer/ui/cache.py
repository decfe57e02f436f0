"""Cached wrappers around the core: pages pass their choices (network, weights, device, image) and this module
builds the cache keys from them.

st.cache_data keys the analyses, diagrams, source code and captures by hashable arguments; models are kept in
MODELS, shared by every session and bounded by their weights' bytes. Cached values are returned by copy
(st.cache_data) or are never mutated, so no session sees another's.
"""

from __future__ import annotations

from typing import Any, Sequence

import streamlit as st
import torch
from PIL import Image

from explorer import activations, budget
from explorer.activations import CaptureResult, capture
from explorer.analysis import ModelReport, analyze
from explorer.bounded_cache import BoundedCache
from explorer.diagram import build_diagram
from explorer.source_code import model_source_code
from explorer.ui import state
from explorer.ui.network import ArchitectureChoice
from explorer.ui.widgets import ChosenImage, WeightsChoice
from explorer.weights import LoadedModel, load_model
from explorer.zoo import build

ConfigItems = tuple[tuple[str, Any], ...]
Shape = tuple[int, int, int]


def _items(choice: ArchitectureChoice) -> ConfigItems:
    """Return the choice's options as a sorted tuple, hashable for cache keys."""
    return tuple(sorted(choice.config.items()))


def _model_key(choice: ArchitectureChoice, weights: WeightsChoice, device: str) -> tuple:
    return choice.name, _items(choice), weights.source, device, weights.digest


@st.cache_data(show_spinner=False, max_entries=128)
def _analysis(name: str, items: ConfigItems, input_shape: Shape | None) -> ModelReport:
    return analyze(name, input_shape, **dict(items))


def cached_analysis(choice: ArchitectureChoice) -> ModelReport:
    """Return analyze() of the chosen network, options and input, computed once per choice.

    Raises:
        ExplorerError: as analyze() does (errors are not cached).
    """
    return _analysis(choice.name, _items(choice), choice.input_shape)


@st.cache_data(show_spinner=False, max_entries=64)
def _dot(name: str, items: ConfigItems, input_shape: Shape | None, depth: int, collapse: bool,
         expand: tuple[str, ...]) -> tuple[str, int]:
    diagram = build_diagram(_analysis(name, items, input_shape), depth, collapse, frozenset(expand))
    return diagram.to_dot(), len(diagram.nodes)


def cached_dot(choice: ArchitectureChoice, depth: int, collapse: bool, expand: Sequence[str]) -> tuple[str, int]:
    """Return (DOT source, number of boxes) of the chosen network's diagram."""
    return _dot(choice.name, _items(choice), choice.input_shape, depth, collapse, tuple(expand))


@st.cache_data(show_spinner=False, max_entries=64)
def _source_code(name: str, items: ConfigItems) -> list[tuple[str, str]]:
    with torch.device("meta"):
        model = build(name, **dict(items))
    return model_source_code(model)


def cached_source_code(choice: ArchitectureChoice) -> list[tuple[str, str]]:
    """Return the source code of the chosen network's own classes (built once on the meta device)."""
    return _source_code(choice.name, _items(choice))


MODELS: BoundedCache[LoadedModel] = BoundedCache(lambda: budget.limits().model_cache_bytes)


def cached_model(choice: ArchitectureChoice, weights: WeightsChoice, device: str) -> LoadedModel:
    """Return the chosen network with its weights on ``device``, shared by every session and never mutated.

    Models are kept up to the budget's model-cache bytes, least recently used dropped first; an upload's
    bytes are keyed by their digest.

    Raises:
        ExplorerError: as explorer.weights.load_model does, BudgetError included (errors are not cached).
    """
    cost = budget.network_cost(choice.name, dict(choice.config))
    return MODELS.get(_model_key(choice, weights, device),
                      lambda: load_model(choice.name, dict(choice.config), weights.source, device,
                                         upload=weights.upload), cost.parameter_bytes)


@st.cache_data(show_spinner=False, max_entries=16)
def _capture(model_key: tuple, image_digest: str, points: tuple[str, ...], stop_early: bool,
             _loaded: LoadedModel, _image: Image.Image) -> CaptureResult:
    inputs = _loaded.preprocessing.tensor(_image)
    budget.require(_loaded.cost, len(inputs))
    with budget.running(_loaded.cost.activation_bytes(len(inputs))):
        return capture(_loaded.model, inputs.to(next(_loaded.model.parameters()).device), list(points), stop_early)


def cached_capture(choice: ArchitectureChoice, weights: WeightsChoice, device: str, loaded: LoadedModel,
                   picture: ChosenImage, points: Sequence[str], stop_early: bool) -> CaptureResult:
    """Return capture() of ``points`` for the chosen model (``loaded``, from cached_model) on ``picture``, computed
    once per network, weights, device, image and points, within the budget.

    Raises:
        CaptureError: as capture does. BudgetError: above the budget, or the server stayed busy.
    """
    return _capture(_model_key(choice, weights, device), picture.digest, tuple(points), stop_early,
                    _loaded=loaded, _image=picture.image)


def classified_once(key: str, choice: ArchitectureChoice, weights: WeightsChoice, device: str,
                    images: Sequence[Image.Image], asked: tuple) -> list[tuple[str, float]]:
    """Return the top-1 (class, probability) of each image, with a progress bar, kept in session state at ``key``.

    ``asked`` says what else made the images (the picture's digest, the pipeline, the seed, the count): a
    rerun that changes neither it nor the network (a download, another section's widget) reuses the answer.

    Raises:
        ExplorerError: as cached_model and classify do.
    """
    loaded = cached_model(choice, weights, device)
    asked_for = (_model_key(choice, weights, device), *asked)
    remembered = state.get(key, None)
    if remembered is not None and remembered[0] == asked_for:
        return remembered[1]
    bar = st.progress(0.0, text="Classifying...")
    predictions = activations.classify(loaded, list(images), progress=lambda done, total: bar.progress(
        done / total, text=f"Classified {done} of {total} images"))
    bar.empty()
    state.put(key, (asked_for, predictions))
    return predictions
