"""The topology registry: how each framing shapes X and y, builds its model, and trains by default.

Every topology sees the same sequences (from a task) and frames them its own way, exactly as
the TimeDistributed tutorial does. Adding a topology is one new ``Topology`` entry.
Keras is imported only inside ``build`` so the registry stays cheap to import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .cells import CELLS

if TYPE_CHECKING:  # pragma: no cover
    import keras


@dataclass(frozen=True)
class Problem:
    """Training tensors for one topology, and the plain sequences they came from."""

    X: np.ndarray
    y: np.ndarray
    inputs: np.ndarray  # (sequences, length): the first feature, one value a step, as tables show it
    targets: np.ndarray  # (sequences, length)
    # Validation tensors framed like X and y (the last sequences, in order), or None without a split.
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def samples(self) -> int:
        """Rows Keras sees: what batch sizes count."""
        return int(self.X.shape[0])

    def as_sequences(self, predictions: np.ndarray) -> np.ndarray:
        """Map model outputs back onto (sequences, length); every framing is sample-major."""
        return np.asarray(predictions, dtype=np.float32).reshape(self.targets.shape)


@dataclass(frozen=True)
class Topology:
    """One way to frame a sequence problem for an LSTM, with the tutorial's defaults."""

    name: str
    explanation: str
    x_shape: Callable[..., tuple[int, ...]]  # (sequences, length, features=1) -> X's shape
    y_shape: Callable[[int, int], tuple[int, ...]]  # (sequences, length) -> y's shape
    returns_sequences: bool
    head: Callable[[Any, int], list]  # (keras, length) -> layers after the LSTM
    default_epochs: int
    full_batch: bool  # tutorial batch = every sample (else 1)

    def problem(self, inputs: np.ndarray, targets: np.ndarray) -> Problem:
        """Shape a task's sequences the way this topology wants them (views, not copies).

        ``inputs`` is (sequences, length), or (sequences, length, features) for several input
        columns; ``targets`` is (sequences, length) either way.
        """
        x = inputs.reshape(self.x_shape(*inputs.shape)).astype(np.float32, copy=False)
        y = targets.reshape(self.y_shape(*targets.shape)).astype(np.float32, copy=False)
        return Problem(x, y, inputs[..., 0] if inputs.ndim == 3 else inputs, targets)

    def default_batch(self, samples: int) -> int:
        """The tutorial's batch size for this framing."""
        return samples if self.full_batch else 1

    def build(
        self,
        input_shape: tuple[int, ...],
        length: int,
        units: int,
        unroll: bool = False,
        *,
        cell: str = "lstm",
        layers: int = 1,
        bidirectional: bool = False,
    ) -> "keras.Model":
        """A fresh, uncompiled Keras model for one sample of ``input_shape`` (timesteps, features)
        and sequences of ``length`` (weights drawn from Keras' seed).

        ``layers`` recurrent layers of ``cell`` are stacked (all but the last return sequences),
        each optionally wrapped in ``Bidirectional``. ``unroll`` unrolls them over time: the same
        math, but a straight-line graph that traces and compiles faster for short sequences.
        """
        import keras

        recurrent = []
        for index in range(layers):
            # Fixed layer names: Keras' own counters would make them differ on every rebuild.
            name = CELLS[cell].name.replace("-", "_") + (f"_{index + 1}" if layers > 1 else "")
            sequences = self.returns_sequences or index < layers - 1
            layer = CELLS[cell].make(keras, units, return_sequences=sequences, unroll=unroll, name=name)
            recurrent.append(keras.layers.Bidirectional(layer, name=f"bidirectional_{name}") if bidirectional else layer)
        return keras.Sequential(
            [keras.Input(input_shape), *recurrent, *self.head(keras, length)],
            name=self.name,
        )


def _per_step(sequences: int, length: int, features: int = 1) -> tuple[int, ...]:
    return (sequences * length, 1, features)


def _sequence(sequences: int, length: int, features: int = 1) -> tuple[int, ...]:
    return (sequences, length, features)


TOPOLOGIES: dict[str, Topology] = {
    t.name: t
    for t in (
        Topology(
            "one-to-one",
            "each timestep is its own 1-step sample: X (5, 1, 1) -> y (5, 1); no memory needed",
            _per_step,
            lambda sequences, length: (sequences * length, 1),
            False,
            lambda keras, length: [keras.layers.Dense(1, name="dense")],
            1000,
            True,
        ),
        Topology(
            "many-to-one",
            "the whole sequence in, one vector out: the LSTM's last state feeds Dense(5)",
            _sequence,
            lambda sequences, length: (sequences, length),
            False,
            lambda keras, length: [keras.layers.Dense(length, name="dense")],
            500,
            False,
        ),
        Topology(
            "many-to-many",
            "an output per timestep: one Dense(1), wrapped in TimeDistributed, shared across steps",
            _sequence,
            _sequence,
            True,
            lambda keras, length: [keras.layers.TimeDistributed(keras.layers.Dense(1), name="time_distributed")],
            1000,
            False,
        ),
        Topology(
            "many-to-many-dense",
            "the 2019 note: a plain Dense(1) on the 3-D output is the same computation",
            _sequence,
            _sequence,
            True,
            lambda keras, length: [keras.layers.Dense(1, name="dense")],
            1000,
            False,
        ),
    )
}
