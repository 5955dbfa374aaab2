"""Recurrent cells: which Keras layer, and how its parameter count comes about.

Adding a cell is one new ``Cell`` entry. ``m`` is the layer's input features, ``u`` its units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Cell:
    """One recurrent layer kind."""

    name: str  # as typed: lstm, gru, simple-rnn
    layer: str  # the Keras class: LSTM, GRU, SimpleRNN
    description: str
    params: Callable[[int, int], int]  # (m, u) -> count
    formula: Callable[[int, int], str]  # (m, u) -> the count written out, without "= N"
    gates: int = 1  # weight blocks per unit: what one timestep's matmuls and activations scale with

    def make(self, keras: Any, units: int, **options: Any) -> Any:
        """A fresh Keras layer of this kind."""
        return getattr(keras.layers, self.layer)(units, **options)


CELLS: dict[str, Cell] = {
    cell.name: cell
    for cell in (
        Cell(
            "lstm",
            "LSTM",
            "4 gates (input, forget, cell, output), each with input, recurrent and bias weights",
            lambda m, u: 4 * ((m + 1) * u + u * u),
            lambda m, u: f"4 × (({m} + 1) × {u} + {u}²)",
            gates=4,
        ),
        Cell(
            "gru",
            "GRU",
            "3 gates; Keras' reset_after=True gives each gate two biases",
            lambda m, u: 3 * ((m + 2) * u + u * u),
            lambda m, u: f"3 × (({m} + 2) × {u} + {u}²)",
            gates=3,
        ),
        Cell(
            "simple-rnn",
            "SimpleRNN",
            "one tanh layer fed its own last output",
            lambda m, u: (m + 1) * u + u * u,
            lambda m, u: f"({m} + 1) × {u} + {u}²",
        ),
    )
}

BY_LAYER = {cell.layer: cell for cell in CELLS.values()}
