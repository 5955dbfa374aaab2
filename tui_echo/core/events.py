"""What a training sends out: plain frozen dataclasses, in this order.

``Started`` → ``Compiling`` → ``Compiled`` → (``Epochs`` | ``Steps`` | ``Predictions``)* → one of
``Finished`` / ``Cancelled`` / ``Failed``. Front ends derive all their state from these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union


@dataclass(frozen=True)
class Started:
    """Training began: the fully resolved settings and where it runs."""

    config: dict
    epochs: int
    device: str
    engine: str


@dataclass(frozen=True)
class Compiling:
    """The training step is being traced/compiled (may take a second)."""

    how: str  # "graph", "xla", "fit", or "cached"


@dataclass(frozen=True)
class Compiled:
    """Compilation done; ``seconds`` is the time it took (0 for a cached program)."""

    seconds: float


@dataclass(frozen=True)
class Epochs:
    """One or more consecutive epochs ended: ``losses[i]`` is epoch ``first + i``'s loss (1-based)."""

    first: int
    losses: tuple[float, ...]
    elapsed: float  # seconds of training so far
    val_losses: tuple[float, ...] = ()  # the same epochs' validation losses, when the run has validation data

    @property
    def last(self) -> int:
        return self.first + len(self.losses) - 1


@dataclass(frozen=True)
class Steps:
    """A chunk of training ended inside an epoch: ``step`` of its ``of`` steps are done (long
    epochs only; an epoch that ends is reported by ``Epochs``)."""

    epoch: int  # the epoch under way (1-based)
    step: int
    of: int


@dataclass(frozen=True)
class Predictions:
    """The model's current outputs for the task's sequences, after ``epoch`` epochs."""

    epoch: int
    values: tuple[float, ...]


SAMPLE_SEQUENCES = 16
"""How many sequences (the first ones) a finished training reports, and a record keeps, the targets
and predictions of: enough to read and compare a run by eye, bounded, so a data set of 100,000 long
sequences does not make an event or a saved run of gigabytes."""


@dataclass(frozen=True)
class Finished:
    """Training ran every epoch."""

    history: tuple[float, ...]
    predictions: tuple[float, ...]
    targets: tuple[float, ...]
    inputs: tuple[float, ...]
    wall_s: float  # whole run, compilation included
    compile_s: float
    epochs_per_s: float  # training epochs per second, compilation excluded
    val_history: tuple[float, ...] = ()  # each epoch's validation loss, when the run has validation data
    # Early stopping (``patience``): the epoch whose weights the model ends with; the run stopped
    # early when ``history`` is shorter than the epochs asked for. None: no early stopping.
    best_epoch: int | None = None


@dataclass(frozen=True)
class Cancelled:
    """Stopped on request after ``epoch`` epochs; what was learned so far is kept."""

    epoch: int
    history: tuple[float, ...]
    val_history: tuple[float, ...] = ()


@dataclass(frozen=True)
class Failed:
    """Training raised; ``message`` is one line fit for a person."""

    message: str
    history: tuple[float, ...] = ()


Event = Union[Started, Compiling, Compiled, Epochs, Steps, Predictions, Finished, Cancelled, Failed]
Listener = Callable[[Event], None]
