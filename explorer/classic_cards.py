"""The course's classics as Home's cards show them, shipped precomputed in ``classic_cards.json`` so that Home draws
without importing PyTorch (a fresh server's first page would otherwise wait seconds for torch and torchvision).

The file is written from the registry and ``analyze()`` by ``python -m explorer.classic_cards`` and a test checks
that it still equals what they give, so a changed spec or a changed count fails the suite instead of showing an
old number. A leaf module: it imports the registry and the analysis only to write the file.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

CARDS_FILE = Path(__file__).with_name("classic_cards.json")


@dataclass(frozen=True)
class ClassicCard:
    """One classic at its default options and input: what Home's card says about it."""

    name: str
    display_name: str
    year: int
    purpose: str
    key_idea: str
    input_shape: tuple[int, ...]  # (1, C, H, W), the input it is analysed with
    total_params: int
    total_macs: int


def load(path: Path = CARDS_FILE) -> list[ClassicCard]:
    """Return the shipped cards in time order (the order of ``explorer.zoo.classics()``)."""
    return [ClassicCard(**{**card, "input_shape": tuple(card["input_shape"])})
            for card in json.loads(path.read_text())]


def compute() -> list[ClassicCard]:
    """Return the cards as the registry and ``analyze()`` give them now (imports PyTorch)."""
    from explorer.analysis import analyze
    from explorer.zoo import classics, get_spec

    cards = []
    for name in classics():
        spec, report = get_spec(name), analyze(name)
        cards.append(ClassicCard(name, spec.display_name, spec.year, spec.purpose, spec.key_idea,
                                 tuple(report.input_shape), report.total_params, report.total_macs))
    return cards


def write(path: Path = CARDS_FILE) -> None:
    """Write ``compute()``'s cards to ``path`` as JSON."""
    path.write_text(json.dumps([asdict(card) for card in compute()], indent=1) + "\n")


if __name__ == "__main__":
    write()
    print(f"wrote {CARDS_FILE}", file=sys.stderr)
