"""The settings spec: every experiment setting once, from which the CLI, the form and checks are made.

A ``Setting`` names its ``Config`` field, how a raw value is checked (``rule``), its label in the
settings pane, its one-line help (CLI help and the field's tooltip alike), its command-line
option, how the form shows it, and which tasks use it. Adding a setting is one entry here plus
its ``Config`` field; the CLI options, the form's rows and the refusal messages follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .cells import CELLS
from .csvdata import MAX_BYTES, MAX_ROWS
from .rules import MAX_SEED, Choice, Flag, FloatRange, IntRange, Text
from .tasks import TASKS, Task
from .topologies import TOPOLOGIES

ENGINES = ("fast", "fit")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")  # Keras' optimizers, at Keras' defaults but lr and momentum
LOSSES = ("mse", "mae", "huber")  # Keras' MeanSquaredError, MeanAbsoluteError, Huber (delta 1)


@dataclass(frozen=True)
class Setting:
    """One experiment setting."""

    name: str  # the Config field
    label: str  # in the settings pane (8 columns)
    help: str  # one line: CLI help and tooltip
    rule: IntRange | FloatRange | Choice | Flag | Text | None  # None: its range depends on other settings
    form: str | None  # "radio", "choice", "input", "flag", or None (not in the form)
    option: str | None  # on the command line; None: not there
    title: str = ""  # how messages name it, when not the label
    optional: bool = False  # empty means "the default"
    negated: bool = False  # a flag given as --no-<name> that turns it off
    used_by: Callable[[Task], bool] = lambda task: True  # tasks that read it
    aliases: tuple[str, ...] = ()  # other spellings of ``option``
    when: tuple[str, tuple[str, ...]] | None = None  # read only while that setting has one of these values

    def applies(self, task: Task, values: Mapping[str, Any]) -> bool:
        """Whether a run of ``task`` with these (raw) values reads this setting: the form hides it when not."""
        return self.used_by(task) and (self.when is None or str(values.get(self.when[0])) in self.when[1])

    @property
    def message_name(self) -> str:
        """How a refusal in the form names it."""
        return self.title or self.label


SETTINGS: tuple[Setting, ...] = (
    Setting("topology", "topology", f"how the sequences are framed: {', '.join(TOPOLOGIES)}",
            Choice(tuple(TOPOLOGIES)), "radio", "--topology"),
    Setting("task", "task", f"the sequence problem: {', '.join(TASKS)} (default echo)",
            Choice(tuple(TASKS)), "choice", "--task"),
    Setting("data", "data", f"a CSV file: one row per time step, numeric columns (header optional), at most "
            f"{MAX_BYTES / 1e6:g} MB and {MAX_ROWS:,} rows; selects the csv task",
            Text(), "input", "--data", optional=True, used_by=lambda task: task.data),
    Setting("columns", "columns", "the CSV's input columns: comma-separated names or 1-based numbers (default: every numeric one)",
            Text(), "input", "--columns", optional=True, used_by=lambda task: task.data),
    Setting("target", "target", "what to predict at each step: next (the next row's value, default), same (echo), "
            "delay:K (the value K rows back) or a column; next, same and delay read the first input column",
            Text(), "input", "--target", optional=True, used_by=lambda task: task.data),
    Setting("delay", "delay", "k for the delay task: output x[t-k], 1 to length - 1 (default 2)",
            IntRange(1, 1000), "input", "--delay", used_by=lambda task: task.name == "delay"),
    Setting("sequences", "seqs", "random sequences to train on, 1 to 100,000 (random tasks only)",
            IntRange(1, 100_000), "input", "--sequences", title="sequences", optional=True,
            used_by=lambda task: task.random),
    Setting("length", "length", "sequence length, 1 to 1,000 (default 5); for CSV data the rows per window (--window)",
            IntRange(1, 1000), "input", "--length", aliases=("--window",)),
    Setting("units", "units", "units per recurrent layer, 1 to 1,024 (default: the length for echo, min(length, 64) for random tasks)",
            IntRange(1, 1024), "input", "--units", optional=True),
    Setting("cell", "cell", f"the recurrent cell: {', '.join(CELLS)} (default lstm)",
            Choice(tuple(CELLS)), "choice", "--cell"),
    Setting("layers", "layers", "stacked recurrent layers, 1 to 4 (default 1)", IntRange(1, 4), "input", "--layers"),
    Setting("bidirectional", "bidir", "wrap each recurrent layer in Bidirectional",
            Flag(), "flag", "--bidirectional", title="bidirectional"),
    Setting("epochs", "epochs", "1 to 1,000,000 (default: the task's or the topology's tutorial value)",
            IntRange(1, 1_000_000), "input", "--epochs", optional=True),
    Setting("batch_size", "batch", "1 to the number of samples (default: the tutorial's)",
            None, "input", "--batch-size", title="batch size", optional=True),
    Setting("optimizer", "optim", f"the Keras optimizer: {', '.join(OPTIMIZERS)} (default adam)",
            Choice(OPTIMIZERS), "choice", "--optimizer", title="optimizer"),
    Setting("lr", "lr", "the optimizer's learning rate, above 0 and at most 10 (default: the task's, 0.001 for echo)",
            FloatRange(0.0, 10.0), "input", "--lr", title="learning rate", optional=True),
    Setting("momentum", "momentum", "momentum for sgd and rmsprop, 0 to 0.99 (default 0, as Keras)",
            FloatRange(0.0, 0.99, low_allowed=True), "input", "--momentum", when=("optimizer", ("sgd", "rmsprop"))),
    Setting("loss", "loss", f"the loss: {', '.join(LOSSES)} (default mse)", Choice(LOSSES), "choice", "--loss"),
    Setting("seed", "seed", f"0 to {MAX_SEED:,} (default 0)", IntRange(0, MAX_SEED), "input", "--seed"),
    Setting("engine", "engine", "fast (many epochs per compiled call, default) or fit (Keras' model.fit)",
            Choice(ENGINES), "choice", "--engine"),
    Setting("validation", "val", "share of the sequences held out for validation, the last ones (above 0, at most 0.5)",
            FloatRange(0.0, 0.5), "input", "--validation", title="validation", optional=True,
            used_by=lambda task: task.many),
    Setting("patience", "patience", "early stopping: stop after this many epochs without a better validation loss "
            "(training loss without validation) and keep the best epoch's weights, 1 to 1,000,000 (default: none)",
            IntRange(1, 1_000_000), "input", "--patience", title="patience", optional=True),
    Setting("shuffle", "shuffle", "keep batch order fixed", Flag(), None, "--no-shuffle", negated=True),
)

BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}


def option_name(field: str) -> str:
    """The command-line option for a Config field (the field itself if it has none)."""
    setting = BY_NAME.get(field)
    return setting.option if setting is not None and setting.option else field


def by_option(values: dict[str, Any]) -> dict[str, Any]:
    """Every setting of a config (``Config.to_dict()``) keyed by its command-line name without the
    dashes, for exports: ``{"topology": ..., "batch-size": 5, "no-shuffle": False, ...}``. A
    negated flag reads as its option: whether ``--no-shuffle`` was given. A field without an
    option keeps its own name."""
    named: dict[str, Any] = {}
    for field, value in values.items():
        setting = BY_NAME.get(field)
        if setting is None or setting.option is None:
            named[field] = value
        else:
            named[setting.option.removeprefix("--")] = (not value) if setting.negated else value
    return named


def shared_settings(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """Settings (``by_option`` dicts, one a row) that every row has alike, and the names of those
    that differ between rows, in spec order."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    shared = {n: rows[0].get(n) for n in names if rows and all(row.get(n) == rows[0].get(n) for row in rows)}
    return shared, [n for n in names if n not in shared]


def settings_line(shared: dict[str, Any]) -> str:
    """``Settings: task echo · length 5 · … · validation -`` (a Markdown export's first line)."""
    return "Settings: " + " · ".join(f"{name} {setting_text(value)}" for name, value in shared.items())


def setting_text(value: Any) -> str:
    """A setting's value in a table: ``-`` for none (the default), ``true``/``false`` for a flag."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)
