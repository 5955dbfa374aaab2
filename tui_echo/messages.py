"""Textual messages that carry core events to the UI, and the thread-side helpers that send them.

Worker threads talk to the UI only through ``post_message`` (thread-safe, and harmless once the
app has gone). ``Batcher`` collects the engine's events and posts them in batches at a bounded
rate, so a training that reports thousands of epochs a second costs the UI a few messages a
second. ``run_in_daemon`` lets a worker give up waiting on work that cannot be interrupted
(importing TensorFlow, compiling a step) when the app is quitting.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from textual.message import Message

from .core.events import Cancelled, Event, Failed, Finished

T = TypeVar("T")


# --------------------------------------------------------------------------- messages


class TensorFlowReady(Message):
    """TensorFlow finished loading in the background; ``device`` is where training will run."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device


class TensorFlowFailed(Message):
    """TensorFlow could not be imported; ``reason`` is one line for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


@dataclass
class SummaryReady(Message):
    """A model summary was built for the settings identified by ``key``."""

    key: tuple
    summary: Any  # core.summary.Summary


@dataclass
class SummaryFailed(Message):
    """Building the model for a summary raised (e.g. a size too large for memory)."""

    key: tuple
    reason: str


class TrainingProgress(Message):
    """One batch of engine events, in the order the engine sent them."""

    def __init__(self, events: Sequence[Event]) -> None:
        super().__init__()
        self.events = tuple(events)


class TrainingDone(Message):
    """The training thread has really finished: ``record`` is the run record, or ``error`` says why not."""

    def __init__(self, record: dict | None, error: str | None = None) -> None:
        super().__init__()
        self.record = record
        self.error = error


# --------------------------------------------------------------------------- thread side

TERMINAL = (Finished, Cancelled, Failed)


class Batcher:
    """An engine listener that forwards events in batches, at most about once per ``interval``.

    Call it with each event (from the worker thread). Events are held until ``interval`` seconds
    have passed since the last send; a timer sends what is held if no further event comes, so
    nothing waits longer than ``interval``. Terminal events are sent at once. ``flush`` sends the
    rest. ``send`` is called with a list of events, from the worker or the timer thread.
    """

    def __init__(self, send: Callable[[list[Event]], Any], interval: float = 0.05) -> None:
        self._send = send
        self._interval = interval
        self._lock = threading.Lock()
        self._held: list[Event] = []
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self.sent = 0  # batches sent (for tests and benchmarks)

    def __call__(self, event: Event) -> None:
        """Take one event from the engine."""
        with self._lock:
            self._held.append(event)
            due = time.monotonic() - self._last >= self._interval
            if not (due or isinstance(event, TERMINAL)):
                if self._timer is None:
                    wait = max(0.0, self._interval - (time.monotonic() - self._last))
                    self._timer = threading.Timer(wait, self.flush)
                    self._timer.daemon = True
                    self._timer.start()
                return
        self.flush()

    def flush(self) -> None:
        """Send whatever is held now."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            held, self._held = self._held, []
            self._last = time.monotonic()
            if not held:
                return
            self.sent += 1
            # Sent under the lock so batches keep their order across the worker and timer threads.
            self._send(held)


def run_in_daemon(
    work: Callable[[], T], give_up: Callable[[], bool], grace: float = 0.5, poll: float = 0.02
) -> T | None:
    """Run ``work`` in a daemon thread and wait for it; return ``None`` if it is still running
    ``grace`` seconds after ``give_up()`` first says so.

    Textual's thread workers run in the event loop's executor, which the interpreter joins at
    exit: a worker stuck in an uninterruptible call (a TensorFlow import, a graph compile) would
    keep the process alive after the user quit. Waiting here instead lets the worker return soon
    after the app starts quitting, while work that can stop (a training polling its stop flag)
    still gets ``grace`` seconds to finish cleanly. A dropped daemon thread dies with the process.
    """
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # re-raised in the waiting thread
            result["error"] = error

    thread = threading.Thread(target=target, name="tui-echo-work", daemon=True)
    thread.start()
    deadline: float | None = None
    while thread.is_alive():
        thread.join(poll)
        if thread.is_alive() and give_up():
            deadline = deadline or time.monotonic() + grace
            if time.monotonic() >= deadline:
                return None
    if "error" in result:
        raise result["error"]
    return result.get("value")


# --------------------------------------------------------------------------- compare, runs, explainer


class CompareProgress(Message):
    """A batch of ``(topology, event)`` pairs from comparison ``generation``."""

    def __init__(self, generation: int, events: Sequence[tuple[str, Event]]) -> None:
        super().__init__()
        self.generation = generation
        self.events = tuple(events)


class CompareRecord(Message):
    """One topology of comparison ``generation`` has finished training: its run record."""

    def __init__(self, generation: int, record: dict) -> None:
        super().__init__()
        self.generation = generation
        self.record = record


class CompareDone(Message):
    """The comparison thread has ended; ``error`` says why if it failed."""

    def __init__(self, generation: int, error: str | None = None) -> None:
        super().__init__()
        self.generation = generation
        self.error = error


class StoreWarning(Message):
    """The run store could not read or write something (sent from any thread)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ExplainReady(Message):
    """The explainer's facts: ``steps`` (core.explain.Step) and the equivalence check."""

    def __init__(self, steps: list, equivalence: Any) -> None:
        super().__init__()
        self.steps = steps
        self.equivalence = equivalence


class ExplainFailed(Message):
    """Building the models for the explainer raised."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason
