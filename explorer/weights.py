"""Where a model's weights come from (random, bundled with the app, torchvision's pretrained, or uploaded),
and :func:`load_model`, which builds a network with them within the resource budget.

Pretrained weights: explorer/pretrained.py (torch hub's cache, then a download). Uploaded state_dicts:
explorer/state_dicts.py (read without running anything, checked key by key). Both are re-exported here,
the one place pages and tests get weights from.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from torch import nn
from torchvision.models import get_model

from explorer import budget, preprocess
from explorer.errors import StateDictMismatchError, WeightsError, WeightsUnavailableError
from explorer.paths import ASSETS_DIR
from explorer.pretrained import Progress, checkpoint_path, ensure_pretrained_cached, pretrained_weights
from explorer.state_dicts import (
    MAX_STATE_DICT_BYTES,
    MAX_STATE_DICT_LABEL,
    PICKLED_OBJECTS,
    apply_state_dict,
    read_state_dict,
)
from explorer.zoo import build, get_spec

__all__ = [
    "ASSETS", "MAX_STATE_DICT_BYTES", "MAX_STATE_DICT_LABEL", "PICKLED_OBJECTS", "LoadedModel",
    "StateDictMismatchError", "WeightSource", "WeightsError", "WeightsUnavailableError", "apply_state_dict",
    "available_sources", "preprocessing_for", "bundled_metadata", "checkpoint_path", "ensure_pretrained_cached", "load_model",
    "pretrained_weights", "read_state_dict",
]

ASSETS = ASSETS_DIR / "weights"


class WeightSource(StrEnum):
    """Where a model's weights come from. The values are what page state keeps (plain strings compare equal)."""

    RANDOM = "random"
    BUNDLED = "bundled"
    PRETRAINED = "pretrained"
    UPLOADED = "uploaded"

    @property
    def label(self) -> str:
        """Return how the weights picker names this source."""
        return _LABELS[self]


_LABELS = {
    WeightSource.RANDOM: "Random initialisation",
    WeightSource.BUNDLED: "Bundled with the app",
    WeightSource.PRETRAINED: "torchvision pretrained (ImageNet)",
    WeightSource.UPLOADED: "Upload a state_dict",
}


@dataclass
class LoadedModel:
    """A model ready for real forward passes, and what a page needs to say about its weights."""

    model: nn.Module
    description: str
    categories: list[str] | None
    preprocessing: preprocess.Preprocessing
    cost: budget.ForwardCost


# ---------------------------------------------------------------------------------------------
# Which sources exist for an architecture


def bundled_metadata(name: str) -> dict[str, Any] | None:
    """Return the metadata of the weights bundled for ``name`` (assets/weights/), or None."""
    path = ASSETS / f"{name}_digits.json"
    return json.loads(path.read_text()) if path.exists() else None


def available_sources(name: str) -> list[WeightSource]:
    """Return the weight sources that make sense for ``name``, random first."""
    sources = [WeightSource.RANDOM]
    if bundled_metadata(name):
        sources.append(WeightSource.BUNDLED)
    if pretrained_weights(name) is not None:
        sources.append(WeightSource.PRETRAINED)
    sources.append(WeightSource.UPLOADED)
    return sources


def preprocessing_for(name: str, source: WeightSource | str,
                      input_shape: tuple[int, int, int]) -> preprocess.Preprocessing:
    """Return the preprocessing that ``source``'s weights for ``name`` expect, known before they are loaded: the
    pretrained weights' own transforms, the bundled digits' recipe, else a generic one at ``input_shape``."""
    weights = pretrained_weights(name) if source == WeightSource.PRETRAINED else None
    if weights is not None:
        return preprocess.from_torchvision(weights.transforms())
    meta = bundled_metadata(name) if source == WeightSource.BUNDLED else None
    if meta is not None:
        return preprocess.digits(meta["mean"], meta["std"])
    return preprocess.generic(input_shape)


# ---------------------------------------------------------------------------------------------


def load_model(name: str, config: dict[str, Any], source: WeightSource | str, device: str = "cpu",
               upload: tuple[str, bytes] | None = None, progress: Progress | None = None) -> LoadedModel:
    """Return ``name`` built with ``config`` on ``device`` in eval mode, with weights from ``source``.

    ``upload`` is (filename, bytes) for the "uploaded" source.

    Raises:
        InvalidOptionError: the config is invalid.
        WeightsError: the source does not apply (no bundled or pretrained weights, options changed),
            the upload is unreadable or does not fit (StateDictMismatchError), or pretrained weights are
            unavailable (WeightsUnavailableError).
        BudgetError: the weights and one sample's forward pass would not fit the server's memory budget.
    """
    spec = get_spec(name)
    resolved = spec.resolve_config(config)
    input_shape = spec.default_input_shape(resolved)
    cost = budget.network_cost(name, resolved, input_shape)
    reading = len(upload[1]) if source == WeightSource.UPLOADED and upload is not None else 0
    budget.require(cost, 1, _advice(name, resolved, input_shape), extra_bytes=reading)
    with budget.running(cost.parameter_bytes + reading):
        return _load(name, spec, resolved, input_shape, source, device, upload, progress, cost)


def _advice(name: str, config: dict[str, Any], input_shape: tuple[int, int, int]) -> str:
    """Return what to change when ``name`` does not fit: fewer classes only where the default count would fit."""
    default = get_spec(name).resolve_config({})
    if config.get("num_classes", default.get("num_classes")) != default.get("num_classes"):
        fewer = {**config, "num_classes": default["num_classes"]}
        if budget.network_cost(name, fewer, input_shape).total_bytes(1) <= budget.limits().memory_bytes:
            return f"use fewer classes ({default['num_classes']} fit) or a smaller network"
    return "pick a smaller network"


def _load(name: str, spec: Any, resolved: dict[str, Any], input_shape: tuple[int, int, int],
          source: WeightSource | str, device: str, upload: tuple[str, bytes] | None, progress: Progress | None,
          cost: budget.ForwardCost) -> LoadedModel:
    # pretrained models come from torchvision's own builder below; every other source starts random
    model = build(name, **resolved) if source != WeightSource.PRETRAINED else nn.Identity()
    categories = None
    recipe = preprocessing_for(name, source, input_shape)
    description = "Random initialisation: the feature maps show the network's structure, not learned features."
    if source == WeightSource.BUNDLED:
        meta = bundled_metadata(name)
        if meta is None:
            raise WeightsError(f"No weights are bundled for {name}.")
        if resolved != spec.resolve_config(meta.get("config", {})):
            raise WeightsError("The bundled weights were trained with the default options; reset the options to use them.")
        apply_state_dict(model, read_state_dict((ASSETS / f"{name}_digits.pt").read_bytes()))
        categories = meta["categories"]
        description = (f"Trained on handwritten digits ({meta['dataset']}); held-out accuracy "
                       f"{meta['held_out_accuracy']:.1%} on {meta['test_samples']} digits.")
    elif source == WeightSource.PRETRAINED:
        weights = pretrained_weights(name)
        if weights is None:
            raise WeightsError(f"torchvision has no pretrained weights for {name}.")
        if resolved != spec.resolve_config({}):
            raise WeightsError("Pretrained weights exist only for the default options; reset the options to use them.")
        ensure_pretrained_cached(name, progress)
        try:  # torchvision's own builder reads the cached file (and knows each model's quirks)
            model = get_model(name, weights=weights, **resolved)
        except (RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as error:  # truncated or foreign
            raise WeightsError(f"The cached pretrained weights for {name} could not be loaded "
                               f"({(str(error).splitlines() or [type(error).__name__])[0][:160]}).") from None
        categories = list(weights.meta["categories"])
        description = f"torchvision's {weights} ({weights.meta.get('_docs', '').strip().split('.')[0]})."
    elif source == WeightSource.UPLOADED:
        if upload is None:
            raise WeightsError("Choose a .pt, .pth or .safetensors file with a state_dict to upload.")
        filename, data = upload
        apply_state_dict(model, read_state_dict(data, filename))
        description = f"Uploaded weights from {filename}."
    elif source != WeightSource.RANDOM:
        raise WeightsError(f"Unknown weight source {source!r}; choose one of {', '.join(WeightSource)}.")
    return LoadedModel(model.to(device).eval(), description, categories, recipe, cost)
