"""The explainer's facts: shapes through the network, parameter counts written out, and a live
check that ``TimeDistributed(Dense)`` and ``Dense`` on 3-D input compute the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .config import Config
from .engine import build_model
from .summary import summarize


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
    X = base.first_sequence[0].reshape(1, -1, 1)
    a = np.asarray(wrapped(X, training=False))
    b = np.asarray(plain(X, training=False))
    return Equivalence(float(np.max(np.abs(a - b))), int(a.size))
