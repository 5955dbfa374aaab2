"""Sequence problems: what goes in and what should come out, as plain numpy.

A task makes ``(inputs, targets)``, both shaped ``(sequences, length)``. Topologies then frame
those sequences as Keras tensors (see ``topologies.py``). The ``csv`` task's sequences come from a
file instead (``data=True``: ``csvdata.py``, through ``Config``), with one feature per chosen column. Adding a task is one new entry in
``TASKS``: its function, and the same computation as numpy statements (``code``), which an
exported script runs instead of embedding the data (tests/test_script.py checks they agree).

Tasks that need memory are posed on many random sequences: on the tutorial's ramp the past can be
computed from the present (x[t-2] = x[t] - 0.4), which would let a model that sees one step cheat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

NOISE = 0.05  # noisy echo's input noise (standard deviation)


@dataclass(frozen=True)
class Task:
    """One sequence problem, how to make its data, and the settings it trains well with."""

    name: str
    description: str
    make: Callable[[int, int, int, int], tuple[np.ndarray, np.ndarray]] | None  # (length, sequences, seed, delay); None: read from --data
    default_sequences: int = 1
    random: bool = False  # False: one fixed sequence, whatever ``sequences`` says
    default_epochs: int | None = None  # None: the topology's tutorial value
    default_lr: float = 0.001
    full_batch: bool | None = None  # None: the topology's tutorial batch
    # ``inputs = ...; targets = ...`` from ``length``, ``sequences``, ``seed``, ``delay`` and ``np``;
    # empty: exported scripts embed the data as literals
    code: str = ""
    data: bool = False  # windows of a CSV file (``--data``), not drawn

    @property
    def many(self) -> bool:
        """Posed on many sequences (drawn or read), so validation and the smaller default units apply."""
        return self.random or self.data


DRAW = "np.random.default_rng(seed).random((sequences, length), dtype=np.float32)"


def _draw(length: int, sequences: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random((sequences, length), dtype=np.float32)


def _echo(length: int, sequences: int, seed: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's ramp 0, 1/length, 2/length, ... which must come back unchanged."""
    seq = (np.arange(length, dtype=np.float32) / np.float32(length)).reshape(1, length)
    return seq, seq.copy()


def _random_echo(length: int, sequences: int, seed: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    inputs = _draw(length, sequences, seed)
    return inputs, inputs.copy()


def _delayed(length: int, sequences: int, seed: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    inputs = _draw(length, sequences, seed)
    targets = np.zeros_like(inputs)
    targets[:, delay:] = inputs[:, : length - delay]
    return inputs, targets


def _reverse(length: int, sequences: int, seed: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    inputs = _draw(length, sequences, seed)
    return inputs, inputs[:, ::-1].copy()


def _cumulative(length: int, sequences: int, seed: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    # Inputs below 1/length keep every running sum below 1, the scale the others use.
    inputs = _draw(length, sequences, seed) / np.float32(length)
    return inputs, np.cumsum(inputs, axis=1, dtype=np.float32)


def _noisy(length: int, sequences: int, seed: int, delay: int) -> tuple[np.ndarray, np.ndarray]:
    clean = _draw(length, sequences, seed)
    noise = np.random.default_rng(seed + 1).normal(0.0, NOISE, clean.shape).astype(np.float32)
    return clean + noise, clean


MEMORY_DEFAULTS = dict(default_sequences=200, random=True, default_epochs=2000, default_lr=0.01, full_batch=True)

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task("echo", "return the sequence 0, 1/n, 2/n, ... item by item (the tutorial)", _echo,
             code="inputs = (np.arange(length, dtype=np.float32) / np.float32(length)).reshape(1, length)\n"
                  "targets = inputs.copy()"),
        Task("random-echo", "return each of many random sequences unchanged", _random_echo, 200, True,
             code=f"inputs = {DRAW}\ntargets = inputs.copy()"),
        Task(
            "delay",
            "output x[t-k] at step t (0 before k): needs memory of k steps",
            _delayed,
            **MEMORY_DEFAULTS,
            code=f"inputs = {DRAW}\ntargets = np.zeros_like(inputs)\n"
                 "targets[:, delay:] = inputs[:, : length - delay]",
        ),
        Task(
            "reverse",
            "output the sequence backwards: step t needs x[n-1-t]",
            _reverse,
            **MEMORY_DEFAULTS,
            code=f"inputs = {DRAW}\ntargets = inputs[:, ::-1].copy()",
        ),
        Task(
            "cumsum",
            "output the running sum x[0] + ... + x[t]",
            _cumulative,
            **MEMORY_DEFAULTS,
            code=f"inputs = {DRAW} / np.float32(length)\ntargets = np.cumsum(inputs, axis=1, dtype=np.float32)",
        ),
        Task(
            "noisy-echo",
            f"input has N(0, {NOISE}) noise added; the target is the clean sequence",
            _noisy,
            **MEMORY_DEFAULTS,
            code=f"targets = {DRAW}\n"
                 f"noise = np.random.default_rng(seed + 1).normal(0.0, {NOISE}, targets.shape).astype(np.float32)\n"
                 "inputs = targets + noise",
        ),
        # A CSV's windows train in one batch each epoch, like the memory tasks, at their learning rate.
        Task("csv", "your own series: consecutive windows of a CSV file's columns (--data), normalised",
             None, default_epochs=500, default_lr=0.01, full_batch=True, data=True),
    )
}
