"""Shared test helpers: reference numbers from tests/data (see its README) and a cache of analyses."""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = ROOT / "tests" / "data"


@dataclass(frozen=True)
class ReferenceRow:
    name: str
    input_resolution: int
    num_params: int
    gmacs: float


@functools.cache
def reference_rows() -> tuple[ReferenceRow, ...]:
    """Rows of torchvision_classification.csv (documented params and GMACs per model)."""
    path = REFERENCE_DIR / "torchvision_classification.csv"
    if not path.exists():
        pytest.fail(f"reference numbers not found at {path}")
    with path.open() as handle:
        return tuple(ReferenceRow(r["architecture"], int(r["input_resolution"]), int(r["num_params"]),
                                  float(r["gmacs"])) for r in csv.DictReader(handle))


@functools.cache
def analyzed(name: str):
    """analyze(name) with defaults, computed once per test session."""
    from explorer.analysis import analyze

    return analyze(name)
