"""Validated experiment settings.

``Config`` holds one experiment. Front ends turn what a person typed into a ``Config`` with
``parse_field`` / ``Config.from_fields``; every refusal is a ``ConfigError`` that names the field
and the allowed range in one line, so the CLI and the TUI can show it as it is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any, Mapping

from .cells import CELLS
from .tasks import TASKS
from .topologies import TOPOLOGIES, Problem, Topology

ENGINES = ("fast", "fit")
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
            raise ConfigError(field, f"{allowed} (got {_shown(value)})")
        return number


@dataclass(frozen=True)
class FloatRange:
    """A float in (low, high]: zero and negatives are refused for rates."""

    low: float
    high: float

    def parse(self, field: str, value: Any) -> float:
        allowed = f"must be a number greater than {self.low:g} and at most {self.high:g}"
        number: float | None = None
        try:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                number = float(value)
            elif isinstance(value, str):
                number = float(value.strip())
        except (ValueError, OverflowError):
            number = None
        if number is None or not math.isfinite(number) or not self.low < number <= self.high:
            raise ConfigError(field, f"{allowed} (got {_shown(value)})")
        return number


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    def parse(self, field: str, value: Any) -> str:
        text = value.strip() if isinstance(value, str) else value
        if text not in self.options:
            raise ConfigError(field, f"must be one of {', '.join(self.options)} (got {_shown(value)})")
        return text


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 24 else text[:21] + "..."


# Batch size is checked against the problem's sample count, so it is not listed here.
RULES: dict[str, IntRange | FloatRange | Choice] = {
    "topology": Choice(tuple(TOPOLOGIES)),
    "task": Choice(tuple(TASKS)),
    "cell": Choice(tuple(CELLS)),
    "layers": IntRange(1, 4),
    "length": IntRange(1, 1000),
    "units": IntRange(1, 1024),
    "sequences": IntRange(1, 100_000),
    "epochs": IntRange(1, 1_000_000),
    "lr": FloatRange(0.0, 10.0),
    "seed": IntRange(0, MAX_SEED),
    "engine": Choice(ENGINES),
}


@dataclass(frozen=True)
class Config:
    """One experiment. ``None`` sizes mean "the tutorial's value for this topology"."""

    topology: str = "many-to-many"
    task: str = "echo"
    length: int = 5
    sequences: int | None = None  # how many random sequences, for tasks that draw them
    delay: int = 2  # k, for the delay task
    cell: str = "lstm"
    layers: int = 1
    bidirectional: bool = False
    units: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None  # None: the task's default (Adam's 0.001 for echo)
    seed: int = 0
    engine: str = "fast"
    shuffle: bool = True

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> "Config":
        """Parse raw values (strings from a form or the command line); raise the first ConfigError.

        Empty or ``None`` values for units, epochs and batch size mean "default".
        """
        parsed: dict[str, Any] = {}
        for name, value in values.items():
            if name not in {f.name for f in fields(cls)}:
                raise ConfigError(name, "is not a setting")
            if value is None or (name in {"units", "sequences", "epochs", "batch_size", "lr"} and value == ""):
                continue
            parsed[name] = RULES[name].parse(name, value) if name in RULES else value
        # These ranges depend on other fields, so they are checked once those are known.
        if "delay" in parsed:
            config = cls(**{**parsed, "delay": 1, "batch_size": None})
            parsed["delay"] = config.delay_range.parse("delay", parsed["delay"])
        if "batch_size" in parsed:
            config = cls(**{**parsed, "batch_size": None})
            parsed["batch_size"] = IntRange(1, config.problem.samples).parse("batch_size", parsed["batch_size"])
        for flag in ("shuffle", "bidirectional"):
            if flag in parsed and not isinstance(parsed[flag], bool):
                raise ConfigError(flag, f"must be true or false (got {_shown(parsed[flag])})")
        config = cls(**parsed)
        config.check()
        return config

    def errors(self) -> list[ConfigError]:
        """Every refused value in this config, in field order."""
        found = []
        for name, rule in RULES.items():
            value = getattr(self, name)
            if value is None:
                continue
            try:
                rule.parse(name, value)
            except ConfigError as error:
                found.append(error)
        if found:
            return found
        try:
            self.delay_range.parse("delay", self.delay)
            if self.batch_size is not None:
                IntRange(1, self.problem.samples).parse("batch_size", self.batch_size)
        except ConfigError as error:
            found.append(error)
        return found

    @property
    def delay_range(self) -> IntRange:
        """k must leave at least one step to echo; only the delay task uses it."""
        return IntRange(1, max(1, self.length - 1)) if self.task == "delay" else IntRange(1, 1000)

    def check(self) -> "Config":
        """Raise the first error, or return self."""
        errors = self.errors()
        if errors:
            raise errors[0]
        return self

    def resolved(self) -> "Config":
        """The same experiment with every default filled in."""
        topology, task = self.topology_entry, TASKS[self.task]
        samples = self.problem.samples
        if self.batch_size:
            batch = self.batch_size
        elif task.full_batch is None:
            batch = topology.default_batch(samples)
        else:
            batch = samples if task.full_batch else 1
        return replace(
            self,
            sequences=self.sequences or task.default_sequences,
            units=self.units or self.length,
            epochs=self.epochs or task.default_epochs or topology.default_epochs,
            batch_size=batch,
            lr=self.lr or task.default_lr,
        )

    def build_model(self, unroll: bool = False) -> Any:
        """A fresh Keras model for this experiment (imports Keras; weights follow Keras' seed)."""
        c = self.resolved()
        return c.topology_entry.build(
            c.problem, c.units, unroll, cell=c.cell, layers=c.layers, bidirectional=c.bidirectional
        )

    @property
    def topology_entry(self) -> Topology:
        return TOPOLOGIES[self.topology]

    @cached_property
    def problem(self) -> Problem:
        """This config's training tensors (numpy; cached because tasks may draw random data)."""
        task = TASKS[self.task]
        inputs, targets = task.make(self.length, self.sequences or task.default_sequences, self.seed, self.delay)
        return self.topology_entry.problem(inputs, targets)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
