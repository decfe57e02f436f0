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


DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def digit_images(digits: tuple[int, ...] = (3, 7), per_class: int = 10, size: int = 64,
                 start: int = 0) -> dict[str, list[tuple[str, bytes]]]:
    """Real handwritten digits (scikit-learn's load_digits, 8x8 scans) as PNGs of dark ink on white paper,
    ``size`` pixels a side: class name ("three") -> [(file name, PNG bytes)], ``per_class`` each from ``start``."""
    import io

    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    data = load_digits()
    classes: dict[str, list[tuple[str, bytes]]] = {}
    for digit in digits:
        scans = data.images[data.target == digit][start: start + per_class]
        files = []
        for index, scan in enumerate(scans):
            ink = Image.fromarray((255 - scan * 255 / 16).astype(np.uint8), "L").resize((size, size), Image.BILINEAR)
            buffer = io.BytesIO()
            ink.convert("RGB").save(buffer, format="PNG")
            files.append((f"{DIGIT_NAMES[digit]}_{start + index}.png", buffer.getvalue()))
        classes[DIGIT_NAMES[digit]] = files
    return classes


def zip_of(classes: dict[str, list[tuple[str, bytes]]], top: str = "") -> bytes:
    """Return a zip in ImageFolder's layout (``top``/class/file) of ``classes`` (class -> [(file name, bytes)])."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, files in classes.items():
            for file_name, data in files:
                archive.writestr(f"{top}{name}/{file_name}", data)
    return buffer.getvalue()
