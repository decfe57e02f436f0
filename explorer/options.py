"""A typed parameter a person may set (an architecture's option, an augmentation's setting, a Cost lab
size): its type, default, bounds and help, and how a typed-in value is converted and checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explorer.errors import InvalidOptionError

QUOTED = 60  # characters of a person's value (a link's, a command line's) that a message quotes back
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def quoted(value: Any) -> str:
    """Return ``value`` as a message quotes it: text in quotes cut to QUOTED characters, "…" after a cut."""
    text = value if isinstance(value, str) else repr(value)
    shown = repr(text[:QUOTED]) if isinstance(value, str) else text[:QUOTED]
    return shown + ("…" if len(text) > QUOTED else "")


@dataclass(frozen=True)
class Option:
    """One argument a person may set: its type, default, bounds or choices, and a line of help.

    A default of None leaves the value to the code it is passed to; ``none_means`` says what that does
    (the Cost lab's inception padding: "'same' padding"), and a form shows it as a checkbox.
    """

    value_type: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    help: str = ""
    none_means: str = ""

    def describe(self) -> str:
        """Return a short human description such as ``float in [0.25, 1.0], default 1.0``."""
        default = self.none_means if self.default is None and self.none_means else self.default
        if self.choices is not None:
            allowed = " | ".join(str(c) for c in self.choices)
            return f"one of {allowed} (default {default})"
        bounds = ""
        if self.low is not None and self.high is not None:
            bounds = f" in [{self.low}, {self.high}]"
        elif self.low is not None:
            bounds = f" >= {self.low}"
        elif self.high is not None:
            bounds = f" <= {self.high}"
        return f"{self.value_type.__name__}{bounds} (default {default})"

    def parse(self, name: str, value: Any) -> Any:
        """Return ``value`` converted to this option's type and checked against its bounds.

        Raises:
            InvalidOptionError: the value has the wrong type or lies outside the bounds/choices.
        """
        try:
            converted = self._convert(value)
        except (TypeError, ValueError):
            raise InvalidOptionError(
                f"Option {name!r} must be {self.describe()}, but got {quoted(value)}.") from None
        if self.choices is not None and converted not in self.choices:
            raise InvalidOptionError(
                f"Option {name!r} must be {self.describe()}, but got {quoted(value)}.")
        if self.low is not None and converted < self.low or self.high is not None and converted > self.high:
            raise InvalidOptionError(
                f"Option {name!r} must be {self.describe()}, but got {quoted(value)}.")
        return converted

    def _convert(self, value: Any) -> Any:
        if self.value_type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(value)
        if self.value_type is int:
            if isinstance(value, bool):
                raise TypeError(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                return int(value)
            return int(str(value).strip())
        if self.value_type is float:
            if isinstance(value, bool):
                raise TypeError(value)
            number = float(value)
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError(value)
            return number
        return self.value_type(value)
