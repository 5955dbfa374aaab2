"""The explainer's facts: shapes through the network, parameter counts written out, a live check
that ``TimeDistributed(Dense)`` and ``Dense`` on 3-D input compute the same thing, and for CSV
data how the file became windows and each topology's X and y shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .config import Config
from .engine import build_model
from .summary import summarize
from .tasks import TASKS
from .topologies import TOPOLOGIES


@dataclass(frozen=True)
class Step:
    """One stage of the network: what it is and the tensor shape it produces."""

    name: str
    shape: tuple[int, ...]
    params: int
    formula: str


@dataclass(frozen=True)
class Equivalence:
    """TimeDistributed(Dense) vs Dense on the same weights and inputs."""

    max_difference: float
    outputs: int

    @property
    def same(self) -> bool:
        return self.max_difference <= 1e-6


def shapes(config: Config, model: Any | None = None) -> list[Step]:
    """Input, then every layer: samples × timesteps × features with the real numbers."""
    config = config.resolved()
    model = model if model is not None else build_model(config)
    x_shape, _ = config.shapes
    samples = x_shape[0]
    steps = [Step("input X", x_shape, 0, "")]
    for row in summarize(model).layers:
        shape = (samples, *row.output_shape[1:])
        steps.append(Step(f"{row.name} ({row.type})", shape, row.params, row.formula))
    return steps


def timedistributed_equivalence(config: Config) -> Equivalence:
    """Copy a TimeDistributed(Dense) model's weights into a plain-Dense one and compare outputs
    on the first sequence (the data set itself is not drawn)."""
    base = replace(config, topology="many-to-many").resolved()
    wrapped = build_model(base)
    plain = build_model(replace(base, topology="many-to-many-dense"))
    plain.set_weights(wrapped.get_weights())
    X = base.sequence(0)[0][None]  # (1, timesteps, features)
    a = np.asarray(wrapped(X, training=False))
    b = np.asarray(plain(X, training=False))
    return Equivalence(float(np.max(np.abs(a - b))), int(a.size))


def topology_shapes(config: Config) -> list[tuple[str, tuple[int, ...], tuple[int, ...]]]:
    """Every topology's training X and y shapes for ``config``'s data, by arithmetic."""
    return [(name, *replace(config, topology=name).shapes) for name in TOPOLOGIES]


def data_lines(description: dict[str, Any]) -> list[str]:
    """A csv run's data description (``Config.data_description``, or a record's ``data``) in words."""
    d = description
    train = d["windows"] - d["validation_windows"]
    held = f", the last {d['validation_windows']:,} for validation" if d["validation_windows"] else ""
    left = f"; the last {d['unused_rows']:,} rows make no whole window" if d["unused_rows"] else ""
    stats = ", ".join(f"{name} {d['mean'][name]:.4g} ± {d['std'][name]:.4g}" for name in d["mean"])
    return [
        f"{d['file']}: {d['rows']:,} rows; inputs {', '.join(d['columns'])}; target {d['target']}",
        f"{d['windows']:,} windows of {d['window']:,} rows, in order: {train:,} to train on{held}{left}",
        f"z-scored with the mean ± std of the {d['train_rows']:,} training rows: {stats}",
    ]


def data_facts(config: Config) -> tuple[list[str], list[tuple[str, tuple[int, ...], tuple[int, ...]]]] | None:
    """For the csv task: the data in words and every topology's shapes; None for the other tasks."""
    if not TASKS[config.task].data:
        return None
    return data_lines(config.data_description or {}), topology_shapes(config)


def data_note(config: Config) -> str:
    """One line for the model summary: the CSV data's X and y (training) shapes; "" for other tasks."""
    if not TASKS[config.task].data:
        return ""
    (x_shape, y_shape), held = config.shapes, config.validation_sequences
    times = lambda shape: " × ".join(str(v) for v in shape)  # noqa: E731
    return f"{config.data}: X {times(x_shape)} -> y {times(y_shape)}" + (f", {held} windows held out" if held else "")
