"""A training's progress as a pure reducer: engine events in, a frozen ``RunState`` out.

The lab and the compare screen keep one ``RunState`` per training and replace it with
``advance(state, event, now)`` for every engine event, and with ``paused``/``resumed``/
``stopping``/``ended`` for what the person or the worker's end decide. ``status`` writes the
status line from a state alone, so everything a screen says about a run is tested here, without
Textual or Keras.

Throughput has one definition: training progress (epochs, counting the steps of an epoch under
way as its fraction) per second of training time over about the last second, compilation and
pauses left out (a resume starts a fresh window); steps/s is that times the steps per epoch, and
the ETA is the epochs left over it. Compilation is shown apart, as ``compile_s``.

With validation data the state keeps the latest validation loss and the lowest so far with its
epoch; the series itself lives in the widgets' arrays (a tuple in a frozen state, copied on every
event, would cost a copy of every epoch per batch). A run that early stopping ended (``Finished``
with a ``best_epoch`` and fewer epochs than asked) finished early: it is not a stopped run.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace
from typing import Any

from .formatting import format_duration, format_loss
from .events import Cancelled, Compiled, Compiling, Epochs, Failed, Finished, Started, Steps

RATE_WINDOW_S = 1.0


class Phase(str, enum.Enum):
    """Where a training is; compares equal to its name (``Phase.TRAINING == "training"``)."""

    IDLE = "idle"
    WAITING = "waiting"  # for TensorFlow to load
    STARTING = "starting"
    COMPILING = "compiling"
    TRAINING = "training"
    PAUSED = "paused"
    STOPPING = "stopping"
    SAVING = "saving"  # every epoch ran; the run store is writing the record and model
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    DIVERGED = "diverged"

    def __str__(self) -> str:
        return self.value

    @property
    def running(self) -> bool:
        """A training is waiting, starting, running, paused, stopping or saving."""
        return self in RUNNING

    @property
    def ended(self) -> bool:
        """A training has come to an end of some kind."""
        return self in ENDED


RUNNING = frozenset({Phase.WAITING, Phase.STARTING, Phase.COMPILING, Phase.TRAINING, Phase.PAUSED,
                     Phase.STOPPING, Phase.SAVING})
ENDED = frozenset({Phase.FINISHED, Phase.STOPPED, Phase.FAILED, Phase.DIVERGED})


@dataclass(frozen=True)
class RunState:
    """One training as the UI sees it."""

    phase: Phase = Phase.IDLE
    total: int = 0  # epochs asked for
    epoch: int = 0  # epochs done
    loss: float | None = None  # the last epoch's loss
    compiled: bool = False
    compile_s: float = 0.0
    rate: float = 0.0  # epochs per second of training, over about the last second
    window: tuple[tuple[float, float], ...] = ()  # (time, epochs done with fractions) marks the rate is taken over
    step: int = 0  # steps done of the epoch under way (long epochs report them)
    steps_per_epoch: int = 0  # 0 until a long epoch says
    wall_s: float | None = None  # the whole run, compilation included (once finished)
    epochs_per_s: float | None = None  # over the whole run's training time (once finished)
    failure: str = ""
    val_loss: float | None = None  # the last epoch's validation loss (runs with validation data)
    best_val: float | None = None  # the lowest validation loss so far
    best_val_epoch: int | None = None  # its epoch (1-based)
    best_epoch: int | None = None  # early stopping: the epoch whose weights the model ends with

    @property
    def stopped_early(self) -> bool:
        """Early stopping ended the run before the epochs asked for."""
        return self.best_epoch is not None and 0 < self.epoch < self.total

    @property
    def running(self) -> bool:
        return self.phase.running

    @property
    def done(self) -> float:
        """Epochs done, the one under way counted by its steps."""
        return self.epoch + (self.step / self.steps_per_epoch if self.steps_per_epoch else 0.0)

    @property
    def steps_per_s(self) -> float | None:
        """Training steps per second (known once a long epoch has said its steps)."""
        return self.rate * self.steps_per_epoch if self.steps_per_epoch else None

    @property
    def eta_s(self) -> float | None:
        """Seconds of training left at the current rate."""
        return (self.total - self.done) / self.rate if self.rate > 0 else None


def begun(total: int, *, ready: bool) -> RunState:
    """A new training of ``total`` epochs: starting, or waiting for TensorFlow when not ``ready``."""
    return RunState(phase=Phase.STARTING if ready else Phase.WAITING, total=total)


def started(state: RunState) -> RunState:
    """TensorFlow is ready: a waiting training starts."""
    return replace(state, phase=Phase.STARTING) if state.phase == Phase.WAITING else state


def _mark(state: RunState, now: float, epoch: float) -> tuple[tuple[tuple[float, float], ...], float]:
    """The rate window with a new mark, trimmed to about ``RATE_WINDOW_S``, and its rate."""
    marks = [*state.window, (now, epoch)]
    while len(marks) > 2 and now - marks[1][0] >= RATE_WINDOW_S:
        marks.pop(0)
    (t0, e0), (t1, e1) = marks[0], marks[-1]
    rate = (e1 - e0) / (t1 - t0) if len(marks) > 1 and t1 > t0 else state.rate
    return tuple(marks), rate


def _validated(state: RunState, first: int, losses: tuple[float, ...] | list[float]) -> dict[str, Any]:
    """The validation fields after epochs ``first``, ``first + 1``, … had validation losses ``losses``."""
    best, epoch = state.best_val, state.best_val_epoch
    for offset, loss in enumerate(losses):
        if loss is not None and math.isfinite(loss) and (best is None or loss < best):
            best, epoch = loss, first + offset
    return {"val_loss": losses[-1], "best_val": best, "best_val_epoch": epoch}


def _final_validation(state: RunState, history: tuple[float, ...]) -> dict[str, Any]:
    """The validation fields from a run's whole validation history (its epochs' events already
    gave the best so far, unless they carried none)."""
    if not history:
        return {}
    if state.best_val is None:
        return _validated(state, 1, history)
    return {"val_loss": history[-1]}


def advance(state: RunState, event: Any, now: float) -> RunState:
    """The state after one engine event, received at ``now`` (seconds, any monotonic clock)."""
    busy = state.phase in (Phase.STARTING, Phase.COMPILING)
    if isinstance(event, Started):
        return replace(state, total=event.epochs, phase=Phase.COMPILING if busy else state.phase)
    if isinstance(event, Compiling):
        return replace(state, phase=Phase.COMPILING) if busy else state
    if isinstance(event, Compiled):
        window = () if state.phase == Phase.PAUSED else ((now, state.epoch),)
        return replace(state, compiled=True, compile_s=event.seconds, window=window,
                       phase=Phase.TRAINING if busy else state.phase)
    if isinstance(event, (Epochs, Steps)):
        if isinstance(event, Epochs):
            changes: dict[str, Any] = {"epoch": event.last, "step": 0,
                                       "loss": event.losses[-1] if event.losses else state.loss}
            if event.val_losses:
                changes.update(_validated(state, event.first, event.val_losses))
        else:
            changes = {"epoch": event.epoch - 1, "step": event.step, "steps_per_epoch": event.of}
        moved = replace(state, **changes)
        if state.compiled and state.phase == Phase.TRAINING:
            moved = replace(moved, **dict(zip(("window", "rate"), _mark(state, now, moved.done))))
        return moved
    if isinstance(event, Finished):
        phase = Phase.SAVING if state.phase != Phase.STOPPING else state.phase
        validation = _final_validation(state, event.val_history)
        return replace(state, phase=phase, epoch=len(event.history), wall_s=event.wall_s,
                       epochs_per_s=event.epochs_per_s, best_epoch=event.best_epoch,
                       loss=event.history[-1] if event.history else state.loss, **validation)
    if isinstance(event, Cancelled):
        return replace(state, epoch=event.epoch, **_final_validation(state, event.val_history))
    if isinstance(event, Failed):
        return replace(state, failure=event.message)
    return state


def paused(state: RunState) -> RunState:
    """The person paused (only while starting, compiling or training)."""
    if state.phase in (Phase.STARTING, Phase.COMPILING, Phase.TRAINING):
        return replace(state, phase=Phase.PAUSED, window=())
    return state


def resumed(state: RunState) -> RunState:
    """The person resumed a paused training; its rate window starts afresh."""
    if state.phase != Phase.PAUSED:
        return state
    return replace(state, phase=Phase.TRAINING if state.compiled else Phase.COMPILING, window=())


def stopping(state: RunState) -> RunState:
    """The person asked to stop; a training still waiting for TensorFlow stops at once."""
    if state.phase == Phase.WAITING:
        return replace(state, phase=Phase.STOPPED)
    if state.running and state.phase != Phase.SAVING:
        return replace(state, phase=Phase.STOPPING)
    return state


def ended(state: RunState, status: str | None, failure: str = "") -> RunState:
    """The worker has ended. ``status`` is its run record's ("finished", "stopped", "diverged",
    "failed"), or None when it returned no record; ``failure`` says what went wrong, if anything."""
    if status is None and failure:
        return replace(state, phase=Phase.FAILED, failure=failure)
    if status == "diverged":
        return replace(state, phase=Phase.DIVERGED,
                       failure=failure or state.failure or "the loss is no longer a finite number")
    if status in ("finished", "failed"):
        return replace(state, phase=Phase(status), failure=failure or state.failure)
    if state.phase == Phase.SAVING:  # every epoch ran, but no record came back (quitting)
        return replace(state, phase=Phase.FINISHED)
    return replace(state, phase=Phase.STOPPED)


def status(state: RunState, *, timings: bool = True) -> tuple[str, str]:
    """``(kind, text)`` for the status line of a training (``timings=False`` leaves out what
    differs run to run: rates and seconds)."""
    epoch, total, phase = f"{state.epoch:,}", f"{state.total:,}", state.phase
    loss = f" · loss {format_loss(state.loss)}" if state.loss is not None else ""
    val = f" · val {format_loss(state.val_loss)}" if state.val_loss is not None else ""
    loss += val
    if phase == Phase.WAITING:
        return "waiting", "loading TensorFlow… training starts as soon as it is ready"
    if phase in (Phase.STARTING, Phase.COMPILING):
        return "compiling", "compiling the training step…"
    if phase == Phase.TRAINING:
        where = f"epoch {epoch} of {total}"
        if state.step:  # inside a long epoch: the one under way and its steps
            where = f"epoch {state.epoch + 1:,} of {total} · step {state.step:,} of {state.steps_per_epoch:,}"
        if state.steps_per_epoch:  # long epochs: steps/s reads better than a fraction of an epoch
            rate = f" · {state.steps_per_s:,.0f} steps/s" if timings and state.rate else ""
        else:
            rate = f" · {state.rate:,.0f} epochs/s" if timings and state.rate else ""
        eta = f" · ETA {format_duration(state.eta_s)}" if timings and state.eta_s is not None else ""
        return "training", f"training {where}{rate}{eta}{loss}"
    if phase == Phase.PAUSED:
        return "paused", f"paused at epoch {epoch} of {total}{loss} · space resumes"
    if phase == Phase.STOPPING:
        return "stopping", f"stopping at epoch {epoch} of {total}…"
    if phase == Phase.SAVING:
        return "saving", f"trained {epoch} epochs{loss} · saving the run…"
    if phase == Phase.FINISHED:
        timing = ""
        if timings and state.wall_s is not None:
            timing = f" · {state.wall_s:.2f} s · {state.epochs_per_s or 0:,.0f} epochs/s"
        if state.stopped_early:  # early stopping: not a stopped run, and its weights are the best epoch's
            return "finished", (f"finished early at epoch {epoch} (best {state.best_epoch:,}) · "
                                f"final loss {format_loss(state.loss)}{val}{timing}")
        return "finished", f"finished · final loss {format_loss(state.loss)}{val} · {epoch} epochs{timing}"
    if phase == Phase.STOPPED:
        return "stopped", f"stopped at epoch {epoch} of {total}{loss}"
    if phase == Phase.FAILED:
        return "failed", f"failed: {state.failure}"
    if phase == Phase.DIVERGED:
        return "failed", f"diverged: {state.failure}"
    return "idle", "idle"


def brief(state: RunState) -> str:
    """One or two words for a table cell (compare): queued, compiling, epoch 1,234, done…"""
    phase = state.phase
    if phase == Phase.IDLE:
        return "queued"
    if phase in (Phase.WAITING, Phase.STARTING, Phase.COMPILING):
        return "compiling"
    if phase in (Phase.TRAINING, Phase.PAUSED, Phase.STOPPING, Phase.SAVING):
        return f"epoch {state.epoch:,}"
    if phase == Phase.FINISHED:
        return f"early {state.epoch:,}" if state.stopped_early else "done"
    return str(phase)


# --------------------------------------------------------------------------- replay

PACES = (5.0, 10.0, 20.0, 40.0, 80.0)  # snapshots a second; + and - step through them


@dataclass(frozen=True)
class Replay:
    """Where scrubbing or replaying a finished run stands: an index into its snapshot epochs."""

    epochs: tuple[int, ...]  # the snapshot epochs, ascending
    total: int  # epochs the run trained
    index: int = 0
    playing: bool = False
    pace: float = 20.0

    @property
    def epoch(self) -> int:
        return self.epochs[self.index]

    @property
    def at_end(self) -> bool:
        return self.index == len(self.epochs) - 1


def scrubbed(replay: Replay, step: int) -> Replay:
    """``step`` snapshots on (or back), held at either end; a person's scrub stops playing."""
    return replace(replay, index=max(0, min(len(replay.epochs) - 1, replay.index + step)), playing=False)


def scrubbed_to(replay: Replay, index: int) -> Replay:
    """Snapshot ``index`` (negative counts from the end), not playing."""
    return scrubbed(replace(replay, index=0), index % len(replay.epochs))


def played(replay: Replay) -> Replay:
    """Replay from the first snapshot."""
    return replace(replay, index=0, playing=True)


def ticked(replay: Replay) -> Replay:
    """One frame of playing: the next snapshot; playing ends at the last."""
    if not replay.playing:
        return replay
    index = min(len(replay.epochs) - 1, replay.index + 1)
    return replace(replay, index=index, playing=index < len(replay.epochs) - 1)


def paced(replay: Replay, faster: bool) -> Replay:
    """The next pace up or down in ``PACES``."""
    slower = [p for p in PACES if p < replay.pace]
    quicker = [p for p in PACES if p > replay.pace]
    pace = (quicker[0] if quicker else replay.pace) if faster else (slower[-1] if slower else replay.pace)
    return replace(replay, pace=pace)


def replay_status(replay: Replay) -> tuple[str, str]:
    """``(kind, text)`` for the status line while a run is scrubbed or replayed."""
    how = f"replay, {replay.pace:g} snapshots/s" if replay.playing else "replay"
    return "replay", f"epoch {replay.epoch:,} of {replay.total:,} ({how})"
