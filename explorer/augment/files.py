"""Pipelines saved and loaded as JSON: ``{"pipeline": [steps]}``, read strictly and within bounds."""

from __future__ import annotations

import json
import math
from typing import Any

from explorer.augment.operations import MAX_DIGITS, MAX_STEPS, SHOWN, STEP_KEYS, show, validate_steps
from explorer.errors import AugmentError

MAX_JSON_BYTES = 64 * 1024
"""The largest pipeline file read, checked before parsing: 32 steps as :func:`to_json` writes them take
under 8 KB."""


def to_json(steps: list[dict[str, Any]]) -> str:
    """Return the pipeline as JSON: {"pipeline": [steps]}.

    Raises:
        AugmentError: more than :data:`MAX_STEPS` steps, or a step is invalid.
    """
    return json.dumps({"pipeline": validate_steps(steps)}, indent=2) + "\n"


# json's own messages, in words that do not read like a parser's
_JSON_PROBLEMS = {
    "Expecting value": "a value is missing",
    "Extra data": "there is more text after the end",
    "Unterminated string starting at": "a string is not closed",
    "Invalid control character at": "a string holds a line break or control character",
    "Expecting property name enclosed in double quotes": "a name in double quotes is missing",
}


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:  # Python refuses to convert more than 4,300 digits, and none is ever needed
        raise AugmentError(f"The pipeline file holds a number with {digits} digits, far beyond any setting.")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise AugmentError(f"The pipeline file holds the number {text[:SHOWN]}{'…' if len(text) > SHOWN else ''}, "
                           f"too large to use.")
    return value


def _json_constant(name: str) -> None:
    raise AugmentError(f"The pipeline file holds {name}; every number in it must be finite.")


def from_json(text: str | bytes) -> list[dict[str, Any]]:
    """Return the steps of a pipeline saved by :func:`to_json`.

    The text is checked before it is parsed (at most :data:`MAX_JSON_BYTES`) and strictly after: only
    ``{"pipeline": [steps]}`` (or the bare list), each step only "op", "params" and "p", numbers finite,
    at most :data:`MAX_STEPS` steps.

    Raises:
        AugmentError: the text is too large, not UTF-8, not JSON, too deeply nested, holds a number that is
            not finite or too long, has no pipeline list or other keys, too many steps, or an invalid step.
        TypeError: ``text`` is neither text nor bytes (a programming error, not a person's).
    """
    if isinstance(text, (bytes, bytearray)):
        size = len(text)
    elif isinstance(text, str):
        size = len(text) if len(text) > MAX_JSON_BYTES else len(text.encode("utf-8", "surrogatepass"))
        text = text.removeprefix("\ufeff")  # a byte-order mark that an editor wrote, already decoded
    else:
        raise TypeError(f"from_json takes text or bytes, not {type(text).__name__}")
    if size > MAX_JSON_BYTES:
        raise AugmentError(f"The pipeline file is larger than {MAX_JSON_BYTES // 1024} KB ({size:,} bytes); "
                           f"a saved pipeline of {MAX_STEPS} steps takes under 8 KB.")
    try:
        data = json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except json.JSONDecodeError as error:
        problem = _JSON_PROBLEMS.get(error.msg, error.msg.removesuffix(" at").lower())
        raise AugmentError(f"The pipeline file is not valid JSON (line {error.lineno}, column {error.colno}: "
                           f"{problem}).") from None
    except UnicodeDecodeError:
        raise AugmentError("The pipeline file is not UTF-8 text.") from None
    except RecursionError:
        raise AugmentError("The pipeline file nests lists or objects too deeply.") from None
    if isinstance(data, dict):
        other = [key for key in data if key != "pipeline"]
        if other:
            raise AugmentError(f"The pipeline file has an unknown key {show(other[0])}; "
                               f"it holds only {{\"pipeline\": [steps]}}.")
        data = data.get("pipeline")
    if not isinstance(data, list):
        raise AugmentError("The pipeline file must hold {\"pipeline\": [steps]}.")
    if len(data) <= MAX_STEPS:
        for step in data:
            other = [key for key in step if key not in STEP_KEYS] if isinstance(step, dict) else []
            if other:
                raise AugmentError(f"A step of the pipeline has an unknown key {show(other[0])}; "
                                   f"a step holds only \"op\", \"params\" and \"p\".")
    return validate_steps(data)
