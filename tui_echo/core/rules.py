"""How one setting's raw value is checked: whole numbers, rates and choices, with one-line refusals.

A refusal is a ``ConfigError`` naming the field and the allowed range, so the CLI and the TUI show
the same sentence. Ranges that depend on other settings (batch size, delay) are checked by
``Config`` once those are known.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")
MAX_SEED = 2**31 - 1


class ConfigError(ValueError):
    """A refused value: ``field`` is the setting, ``reason`` says what is allowed."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int

    def parse(self, field: str, value: Any) -> int:
        allowed = f"must be a whole number from {self.low:,} to {self.high:,}"
        number: int | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str):
            try:
                text = value.strip()
                # "1,000" is a thousand; "1,5" is a typo, not fifteen
                number = int(text.replace(",", "") if THOUSANDS.match(text) else text)
            except ValueError:
                number = None
        if number is None or not self.low <= number <= self.high:
            raise ConfigError(field, f"{allowed} (got {shown(value)})")
        return number


@dataclass(frozen=True)
class FloatRange:
    """A float in (low, high]: zero and negatives are refused for rates. With ``low_allowed``, in
    [low, high] (a momentum of 0 is plain SGD)."""

    low: float
    high: float
    low_allowed: bool = False

    def parse(self, field: str, value: Any) -> float:
        if self.low_allowed:
            allowed = f"must be a number from {self.low:g} to {self.high:g}"
        else:
            allowed = f"must be a number greater than {self.low:g} and at most {self.high:g}"
        number: float | None = None
        try:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                number = float(value)
            elif isinstance(value, str):
                number = float(value.strip())
        except (ValueError, OverflowError):
            number = None
        if number is None or not math.isfinite(number) or not self._within(number):
            raise ConfigError(field, f"{allowed} (got {shown(value)})")
        return number

    def _within(self, number: float) -> bool:
        above = self.low <= number if self.low_allowed else self.low < number
        return above and number <= self.high


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    def parse(self, field: str, value: Any) -> str:
        text = value.strip() if isinstance(value, str) else value
        if text not in self.options:
            raise ConfigError(field, f"must be one of {', '.join(self.options)} (got {shown(value)})")
        return text


def shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


@dataclass(frozen=True)
class Text:
    """A line of text (a path, a list of names): what it means is checked where it is used."""

    max_length: int = 4096

    def parse(self, field: str, value: Any) -> str:
        text = value.strip() if isinstance(value, str) else None
        if text is None or not text.isprintable() or len(text) > self.max_length:
            raise ConfigError(field, f"must be one line of printable text, at most {self.max_length:,} characters (got {shown(value)})")
        return text


@dataclass(frozen=True)
class Flag:
    """On or off: only a real bool is taken (the CLI and the form hand over bools)."""

    options: tuple[bool, ...] = (False, True)

    def parse(self, field: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(field, f"must be true or false (got {shown(value)})")
        return value
