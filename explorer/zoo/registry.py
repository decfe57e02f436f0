"""The architecture registry: a name maps to a spec (builder, metadata, options).

Adding an architecture is adding one ``@register``-decorated builder; the CLI, every page's picker
and the parametrized tests pick it up from here (as torchvision's ``get_model`` and timm's
``register_model`` do).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable

from torch import nn

from explorer.errors import InvalidOptionError, UnknownArchitectureError
from explorer.options import QUOTED, Option, quoted  # Option stays importable from here for the zoo's modules
from explorer.zoo.families import family as _family

Shape = tuple[int, int, int]


class Origin(StrEnum):
    """Where an architecture's code comes from."""

    TORCHVISION = "torchvision"  # torchvision.models (these have pretrained weights)
    HAND_WRITTEN = "hand-written"  # written for ConvNet Explorer (explorer/zoo/)


class EntryType(StrEnum):
    """What a registry entry is."""

    NETWORK = "network"  # a whole classifier
    BLOCK = "block"  # a building block (a residual block, an inception module, ...)


@dataclass(frozen=True)
class ArchitectureSpec:
    """Everything the app knows about one architecture, and how to build it."""

    name: str
    builder: Callable[..., nn.Module]
    display_name: str
    family: str
    year: int
    paper_title: str
    paper_url: str
    purpose: str
    input_shape: Shape
    options: dict[str, Option] = field(default_factory=dict)
    explanation: str = ""
    key_idea: str = ""
    entry_type: EntryType = EntryType.NETWORK
    classic: bool = False  # one of the course's classics, shown first
    origin: Origin = Origin.HAND_WRITTEN
    input_shape_fn: Callable[[dict[str, Any]], Shape] | None = None

    def resolve_config(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the full builder config: defaults overlaid with ``config``, every value checked.

        Raises:
            InvalidOptionError: an option is unknown, mistyped or out of bounds.
        """
        config = dict(config or {})
        unknown = sorted(set(config) - set(self.options))
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise InvalidOptionError(
                f"{self.name} has no option {quoted(unknown[0])}; its options are: {known}.")
        return {key: option.parse(key, config.get(key, option.default))
                for key, option in self.options.items()}

    def default_input_shape(self, config: dict[str, Any] | None = None) -> Shape:
        """Return the (C, H, W) input this architecture expects under ``config``.

        Raises:
            InvalidOptionError: ``config`` is invalid (see :meth:`resolve_config`).
        """
        resolved = self.resolve_config(config)
        if self.input_shape_fn is not None:
            return self.input_shape_fn(resolved)
        channels, height, width = self.input_shape
        return (int(resolved.get("in_channels", channels)), height, width)


_REGISTRY: dict[str, ArchitectureSpec] = {}


def register(name: str, *, family: str, **metadata: Any) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Return a decorator that registers a builder under ``name`` with the given spec metadata.

    Year, paper, purpose, key idea and explanation default to those of ``family``
    (see ``explorer.zoo.families``); pass any of them to override.

    Raises:
        ValueError: ``name`` is registered already (a programming error, not user input).
        KeyError: ``family`` is not a known family.
    """
    fam = _family(family)
    defaults = dict(year=fam.year, paper_title=fam.paper_title, paper_url=fam.paper_url,
                    purpose=fam.purpose, key_idea=fam.key_idea, explanation=fam.explanation)

    def decorator(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        add_spec(ArchitectureSpec(name=name, builder=builder, family=family, **{**defaults, **metadata}))
        return builder

    return decorator


def add_spec(spec: ArchitectureSpec) -> None:
    """Add a ready-made spec to the registry.

    Raises:
        ValueError: a spec of that name exists already.
    """
    if spec.name in _REGISTRY:
        raise ValueError(f"architecture {spec.name!r} is registered twice")
    _REGISTRY[spec.name] = spec


def all_specs() -> dict[str, ArchitectureSpec]:
    """Return the registry itself (name -> spec), in registration order. Do not mutate it."""
    return _REGISTRY


def get_spec(name: str) -> ArchitectureSpec:
    """Return the spec registered under ``name``.

    Raises:
        UnknownArchitectureError: no such name; the message suggests the closest names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(str(name)[:QUOTED], list(_REGISTRY), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else " Run `python -m explorer list` to see them all."
        raise UnknownArchitectureError(f"There is no architecture called {quoted(name)}.{hint}") from None
