"""Validated experiment settings.

``Config`` holds one experiment. Front ends turn what a person typed into a ``Config`` with
``Config.from_fields``; every refusal is a ``ConfigError`` that names the field and the allowed
range in one line, so the CLI and the TUI can show it as it is. Which settings exist, and how each
is checked, is ``settings.SETTINGS``.

Nothing here draws the data set except ``problem``: sample counts and shapes are arithmetic, so
checking or previewing a config of 100,000 sequences of 1,000 steps costs microseconds, and the
data is made once, by whoever trains.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any, Mapping

import numpy as np

from . import csvdata
from .rules import MAX_SEED, THOUSANDS, Choice, ConfigError, Flag, FloatRange, IntRange, Text  # noqa: F401 (re-exported)
from .settings import BY_NAME, ENGINES, LOSSES, OPTIMIZERS, SETTINGS  # noqa: F401 (re-exported)
from .tasks import TASKS
from .topologies import Problem, Topology, TOPOLOGIES

# Units when none are given on a random task: the tutorial's "units = length" made a 5,009,000-
# parameter LSTM at length 1,000; 64 units learn every random task here at its default sizes.
RANDOM_TASK_UNITS = 64
# Batch size is checked against the problem's sample count, so it has no rule of its own.
RULES: dict[str, IntRange | FloatRange | Choice | Flag | Text] = {s.name: s.rule for s in SETTINGS if s.rule is not None}
OPTIONAL = frozenset(s.name for s in SETTINGS if s.optional)
FILE_SETTINGS = ("data", "columns", "target")  # the csv task's


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
    optimizer: str = "adam"
    lr: float | None = None  # None: the task's default (Adam's 0.001 for echo)
    momentum: float = 0.0  # sgd and rmsprop only
    loss: str = "mse"
    seed: int = 0
    engine: str = "fast"
    shuffle: bool = True
    validation: float | None = None  # the share of sequences held out (the last ones, in order); None: none
    data: str | None = None  # a CSV file's path, for the csv task
    columns: str | None = None  # its input columns (names or 1-based numbers); None: every numeric one
    target: str | None = None  # next (default), same, delay:K or a column
    patience: int | None = None  # early stopping (on val_loss with validation, else loss); None: none

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> "Config":
        """Parse raw values (strings from a form or the command line); raise the first ConfigError.

        Empty or ``None`` values for units, epochs and batch size mean "default".
        """
        parsed: dict[str, Any] = {}
        for name, value in values.items():
            if name not in BY_NAME:
                raise ConfigError(name, "is not a setting")
            if value is None or (name in OPTIONAL and value == ""):
                continue
            parsed[name] = RULES[name].parse(name, value) if name in RULES else value
            if isinstance(RULES.get(name), Text) and not parsed[name]:
                del parsed[name]  # blank text: the default, as an empty field
        if parsed.get("data"):
            parsed.setdefault("task", "csv")  # a file given is a file to train on
        # The file first: every count below (windows, samples) is read from it.
        cls(**{**parsed, "delay": 1, "batch_size": None, "validation": None}).check_data()
        # These ranges depend on other fields, so they are checked once those are known.
        if "delay" in parsed:
            config = cls(**{**parsed, "delay": 1, "batch_size": None})
            parsed["delay"] = config.delay_range.parse("delay", parsed["delay"])
        if "validation" in parsed:
            cls(**{**parsed, "batch_size": None}).check_validation()
        if "batch_size" in parsed:
            config = cls(**{**parsed, "batch_size": None})
            parsed["batch_size"] = IntRange(1, config.samples).parse("batch_size", parsed["batch_size"])
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
            self.check_data()
            self.delay_range.parse("delay", self.delay)
            self.check_validation()
            if self.batch_size is not None:
                IntRange(1, self.samples).parse("batch_size", self.batch_size)
        except ConfigError as error:
            found.append(error)
        return found

    @property
    def delay_range(self) -> IntRange:
        """k must leave at least one step to echo; only the delay task uses it."""
        return IntRange(1, max(1, self.length - 1)) if self.task == "delay" else IntRange(1, 1000)

    def check_data(self) -> None:
        """The csv task needs a readable file whose columns and target make at least one window;
        other tasks take no file."""
        task = TASKS[self.task]
        if not task.data:
            for name in FILE_SETTINGS:
                if getattr(self, name):
                    raise ConfigError(name, f"is read by the csv task only (the task is {self.task})")
        elif not self.data:
            raise ConfigError("data", "is needed by the csv task: the path of a CSV file")
        else:
            self.series  # noqa: B018 - reading and selecting raise the ConfigError

    @property
    def series(self) -> csvdata.Series:
        """The csv task's file, columns and target, checked (the file is parsed once per version)."""
        return csvdata.select(self.data or "", self.columns, self.target, self.length)

    def check_validation(self) -> None:
        """A split needs at least two sequences: one to train on, one to validate on."""
        if self.validation is not None and self.sequence_count < 2:
            raise ConfigError(
                "validation",
                f"must be empty: a split needs 2 or more sequences and the {self.task} task has {self.sequence_count}",
            )

    @property
    def validation_sequences(self) -> int:
        """How many of the task's sequences are held out for validation: the last ones, so with
        sequences in time order (windows of a CSV series) the split is by time. At least one
        sequence stays on each side."""
        if self.validation is None:
            return 0
        count = self.sequence_count
        return min(max(1, round(count * self.validation)), count - 1)

    def check(self) -> "Config":
        """Raise the first error, or return self."""
        errors = self.errors()
        if errors:
            raise errors[0]
        return self

    def resolved(self) -> "Config":
        """The same experiment with every default filled in; ``self`` when it already is, so a
        resolved config keeps the data set it has drawn."""
        topology, task = self.topology_entry, TASKS[self.task]
        samples = self.samples
        if self.batch_size:
            batch = self.batch_size
        elif task.full_batch is None:
            batch = topology.default_batch(samples)
        else:
            batch = samples if task.full_batch else 1
        resolved = replace(
            self,
            sequences=self.sequences or task.default_sequences,
            units=self.units or (min(self.length, RANDOM_TASK_UNITS) if task.many else self.length),
            epochs=self.epochs or task.default_epochs or topology.default_epochs,
            batch_size=batch,
            lr=self.lr or task.default_lr,
        )
        return self if resolved == self else resolved

    def build_model(self, unroll: bool = False) -> Any:
        """A fresh Keras model for this experiment (imports Keras; weights follow Keras' seed)."""
        c = self.resolved()
        return c.topology_entry.build(
            c.shapes[0][1:], c.length, c.units, unroll, cell=c.cell, layers=c.layers, bidirectional=c.bidirectional
        )

    @property
    def sequence_count(self) -> int:
        """How many sequences the task makes (tasks on one fixed sequence ignore ``sequences``; a
        CSV makes one per whole window)."""
        task = TASKS[self.task]
        if task.data:
            return self.series.windows
        return (self.sequences or task.default_sequences) if task.random else 1

    @property
    def features(self) -> int:
        """Input values per timestep: one, or one per chosen CSV column."""
        return len(self.series.inputs) if TASKS[self.task].data else 1

    @property
    def samples(self) -> int:
        """Rows Keras sees, by arithmetic: what batch sizes count."""
        return self.shapes[0][0]

    @property
    def shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """X's and y's training shapes (validation sequences left out), by arithmetic (the data set
        is not drawn)."""
        topology, train = self.topology_entry, self.sequence_count - self.validation_sequences
        return topology.x_shape(train, self.length, self.features), topology.y_shape(train, self.length)

    @cached_property
    def first_sequence(self) -> tuple[np.ndarray, np.ndarray]:
        """The first sequence's inputs (its first feature) and targets, drawn alone (every task
        draws row by row, so it equals ``problem.inputs[0]``, ``problem.targets[0]``; tested)."""
        inputs, targets = self.sequence(0)
        return inputs[:, 0], targets

    def sequence(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Sequence ``index``'s inputs (length, features) and targets (length,), validation ones
        included; the first is drawn alone."""
        if index == 0 and not TASKS[self.task].data:
            inputs, targets = TASKS[self.task].make(self.length, 1, self.seed, self.delay)
            return inputs[0][:, None], targets[0]
        if index == 0 and "windows" not in self.__dict__:  # not framed yet: cut the first window only
            first = csvdata.frame(self.series, self.validation_sequences, first=1)
            return first.inputs[0], first.targets[0]
        inputs, targets = self.sequences_all
        return inputs[index], targets[index]

    @cached_property
    def windows(self) -> csvdata.Windows:
        """The csv task's windows, normalised with its training rows' statistics."""
        return csvdata.frame(self.series, self.validation_sequences)

    @property
    def data_description(self) -> dict[str, Any] | None:
        """How the csv task's data was made (file, columns, target, windows, normalisation), with
        X's and y's shapes; None for the other tasks."""
        if not TASKS[self.task].data:
            return None
        x_shape, y_shape = self.shapes
        return {**self.windows.description, "x_shape": list(x_shape), "y_shape": list(y_shape)}

    @cached_property
    def sequences_all(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sequence's inputs (sequences, length, features) and targets (sequences, length)."""
        if TASKS[self.task].data:
            return self.windows.inputs, self.windows.targets
        inputs, targets = TASKS[self.task].make(self.length, self.sequence_count, self.seed, self.delay)
        return inputs[..., None], targets

    @property
    def topology_entry(self) -> Topology:
        return TOPOLOGIES[self.topology]

    @cached_property
    def problem(self) -> Problem:
        """This config's training tensors (numpy; drawn on first use, then kept)."""
        inputs, targets = self.sequences_all
        held = self.validation_sequences
        if not held:
            return self.topology_entry.problem(inputs, targets)
        train = self.topology_entry.problem(inputs[:-held], targets[:-held])
        validation = self.topology_entry.problem(inputs[-held:], targets[-held:])
        return replace(train, X_val=validation.X, y_val=validation.y)

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for JSON. The csv task's own settings only when set, so other runs'
        records (and every list of their settings) stay as they were."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: v for k, v in values.items() if not (k in FILE_SETTINGS and v is None)}
