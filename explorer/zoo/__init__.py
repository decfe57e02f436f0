"""The architecture registry: ``list_architectures()``, ``get_spec(name)``, ``build(name, **config)``."""

from __future__ import annotations

from typing import Any

from torch import nn

from explorer.errors import InvalidOptionError
from explorer.zoo import (  # noqa: F401 (register)
    alexnet_2012,
    blocks,
    efficientnet_scaled,
    lenet,
    lenet_1998,
    mobilenet_v1,
)
from explorer.zoo.registry import ArchitectureSpec, EntryType, Option, Origin, all_specs, get_spec
from explorer.zoo.torchvision_models import register_torchvision_models

register_torchvision_models()

__all__ = ["ArchitectureSpec", "EntryType", "Option", "Origin", "build", "get_spec", "list_architectures", "search"]


def list_architectures(entry_type: EntryType | str | None = None) -> list[str]:
    """Return every registered name: the course's classics in time order first, then the rest by name.

    ``entry_type`` restricts the list to networks or to blocks.
    """
    specs = [s for s in all_specs().values() if entry_type is None or s.entry_type == entry_type]
    rest = sorted((s for s in specs if not s.classic),
                  key=lambda s: (s.entry_type != EntryType.NETWORK, s.family, s.name))
    return [name for name in classics() if entry_type is None or get_spec(name).entry_type == entry_type] \
        + [s.name for s in rest]


def classics() -> list[str]:
    """Return the course's classics (specs marked ``classic``) in time order, as Home shows them."""
    return [s.name for s in sorted((s for s in all_specs().values() if s.classic), key=lambda s: (s.year, s.name))]


def build(name: str, **config: Any) -> nn.Module:
    """Return a freshly built ``name`` with ``config`` (validated against its options), in eval mode.

    Weights are random. Call it under ``torch.device("meta")`` to build without memory or init.

    Raises:
        UnknownArchitectureError: no such architecture.
        InvalidOptionError: an option is unknown, mistyped, out of bounds, or the builder rejects it.
    """
    spec = get_spec(name)
    resolved = spec.resolve_config(config)
    try:
        model = spec.builder(**resolved)
    except InvalidOptionError:
        raise
    except (ValueError, AssertionError) as error:  # a TypeError would be our bug: options are already checked
        settings = ", ".join(f"{k}={v}" for k, v in resolved.items())
        raise InvalidOptionError(f"{name} cannot be built with {settings}: {error}.") from error
    return model.eval()


def _squashed(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def search(query: str) -> list[str]:
    """Return the names matching ``query``, best first, in list_architectures() order within a rank.

    Ranks: the name or display name is the query (spaces, hyphens and case ignored, so "ResNet 50" is
    resnet50); starts with it ("lenet" finds the LeNets before GoogLeNet); contains it; every word of the query is in the name, display name, family or year. Only
    when none of those match are purpose and key idea searched too ("attention", "mobile").
    """
    wanted, words = _squashed(query), query.lower().split()
    if not wanted:
        return []
    ranked: list[list[str]] = [[], [], [], [], []]
    for name in list_architectures():
        spec = get_spec(name)
        titles = {_squashed(name), _squashed(spec.display_name)}
        identity = " ".join([name, spec.display_name, spec.family, str(spec.year)]).lower()
        if wanted in titles:
            ranked[0].append(name)
        elif any(title.startswith(wanted) for title in titles):
            ranked[1].append(name)
        elif any(wanted in title for title in titles):
            ranked[2].append(name)
        elif all(word in identity for word in words):
            ranked[3].append(name)
        elif all(word in f"{identity} {spec.purpose} {spec.key_idea}".lower() for word in words):
            ranked[4].append(name)
    best = ranked[0] + ranked[1] + ranked[2] + ranked[3]
    return best or ranked[4]
