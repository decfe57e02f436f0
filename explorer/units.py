"""Units and formatting shared by every output: shapes as CxHxW, counts with k/M/G/T, bytes in KiB/MiB/GiB,
seconds in ms or s; and a shape read back from text (parse_shape), for the CLI's --input-shape and a link's input.

A leaf module (it imports nothing from explorer), so the core, the CLI and the pages format alike.
"""

from __future__ import annotations

from typing import Any, Sequence


def format_shape(shape: Sequence[int] | None, drop_batch: bool = True) -> str:
    """Return a shape as ``CxHxW`` (the batch dimension dropped), or "" for None."""
    if shape is None:
        return ""
    dims = shape[1:] if drop_batch and len(shape) > 1 else shape
    return "x".join(str(d) for d in dims)


def parse_shape(text: str) -> tuple[int, ...]:
    """Return the whole numbers of a shape written as format_shape writes it ("3x224x224") or with commas
    ("3,224,224"); spaces around the numbers and the case of the x do not matter. Callers check the count
    and the bounds, and word the error for what they read.

    Raises:
        ValueError: a part is not a whole number.
    """
    parts = [part for part in str(text).lower().replace(",", "x").split("x") if part.strip()]
    return tuple(int(part) for part in parts)


def format_pair(value: Any) -> str:
    """Return a kernel, stride, padding or field as "3" when its values agree, else "3x5"; "" for None."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        if len(set(value)) == 1:
            return str(value[0])
        return "x".join(str(v) for v in value)
    return str(value)


def human(number: float, unit: str = "") -> str:
    """Return ``number`` with a k/M/G/T suffix, e.g. ``4.09 G``."""
    for threshold, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= threshold:
            return f"{number / threshold:.2f} {suffix}{unit}"
    return f"{number:g} {unit}".rstrip()


def human_bytes(count: int) -> str:
    """Return a byte count in KiB/MiB/GiB."""
    for threshold, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if count >= threshold:
            return f"{count / threshold:.2f} {suffix}"
    return f"{count} B"


def human_seconds(value: float) -> str:
    """Return seconds for people: "30 ms" below a second, "7.5 s" below ten, "75 s" from there."""
    return f"{value * 1000:.3g} ms" if value < 1 else f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def change(value: int) -> str:
    """Return a difference with its sign and thousands separators, "0" for none: "+73,984", "-2", "0"."""
    return f"{value:+,}" if value else "0"


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """Return a count with its noun: "1 file", "2 files", "1,200 images" (``plural`` for irregular nouns)."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"
