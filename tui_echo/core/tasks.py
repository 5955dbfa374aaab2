"""Sequence problems: what goes in and what should come out, as plain numpy.

A task makes ``(inputs, targets)``, both shaped ``(sequences, length)``. Topologies
then frame those sequences as Keras tensors (see ``topologies.py``). Adding a task is
one new entry in ``TASKS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Task:
    """One sequence problem and how to make its data."""

    name: str
    description: str
    make: Callable[[int, int, int], tuple[np.ndarray, np.ndarray]]  # (length, sequences, seed)
    default_sequences: int = 1
    random: bool = False  # False: one fixed sequence, whatever ``sequences`` says


def _echo(length: int, sequences: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's ramp 0, 1/length, 2/length, ... which must come back unchanged."""
    ramp = np.arange(length, dtype=np.float32) / np.float32(length)
    seq = ramp.reshape(1, length)
    return seq, seq.copy()


def _random_echo(length: int, sequences: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Echo of many seeded random sequences: the same framing at a size that loads a machine."""
    inputs = np.random.default_rng(seed).random((sequences, length), dtype=np.float32)
    return inputs, inputs.copy()


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("echo", "return the sequence 0, 1/n, 2/n, ... item by item (the tutorial)", _echo),
        Task("random-echo", "return each of many random sequences unchanged", _random_echo, 200, True),
    )
}
