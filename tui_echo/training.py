"""The app's one home for background work with Keras: start a job, pause, resume and stop it.

Every screen that trains (the lab, compare) or builds models (the summary, the explainer, script
export) hands the service a function; the service runs it in a thread worker owned by that screen,
holding the core's Keras lock (``runtime.keras_lock``), batches what it reports into
``JobProgress`` messages at most every ``BATCH_SECONDS``, and ends with one ``JobDone`` sent when
the thread has really finished. Screens only render; nothing here knows what a job computes.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from typing import Any, Callable, TypeVar

from textual.app import App
from textual.dom import DOMNode
from textual.worker import Worker

from .core import csvdata, runtime
from .core.config import ConfigError
from .core.runtime import run_in_daemon
from .core.events import Cancelled, Failed, Finished
from .messages import JobDone, JobProgress

T = TypeVar("T")

# At most 2 batches a second, whatever the epoch rate: at 10 a second the lab wrote 75 KB/s to its
# terminal, at 2 under 20 KB/s (benchmarks/terminal_bytes.py).
BATCH_SECONDS = 0.5


class Job:
    """One piece of background work: pause, resume and stop it from the UI thread."""

    def __init__(self, number: int, group: str) -> None:
        self.number = number
        self.group = group
        self.worker: Worker | None = None
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._hold_lock = threading.Lock()
        self._step: int | None = None  # epochs asked for by ``step``, not yet given to the engine
        self._hold: int | None = None  # the epoch the engine trains to before this job pauses again

    def __repr__(self) -> str:
        return f"Job({self.number}, {self.group!r})"

    @property
    def paused(self) -> bool:
        """Held at its next check until resumed."""
        return not self._resume.is_set()

    @property
    def stopping(self) -> bool:
        """Asked to stop (by ``stop``, or by its worker being cancelled, e.g. on quit)."""
        return self._stop.is_set() or (self.worker is not None and self.worker.is_cancelled)

    def pause(self) -> None:
        """Hold the work at its next ``should_stop`` check."""
        self._resume.clear()

    def resume(self) -> None:
        """Let held work carry on (no step pending any more)."""
        with self._hold_lock:
            self._step = self._hold = None
        self._resume.set()

    def step(self, epochs: int) -> None:
        """Train exactly ``epochs`` more epochs, then pause again (a paused training's Step)."""
        with self._hold_lock:
            self._step, self._hold = epochs, None
        self._resume.set()

    def hold_at(self, done: int) -> int | None:
        """The engine's hold check, with ``done`` epochs trained: the epoch to stop at, if a step
        is under way; at it, this job pauses itself (so the engine's next ``should_stop`` waits)."""
        with self._hold_lock:
            if self._step is not None:
                self._hold, self._step = done + self._step, None
            hold = self._hold
            if hold is not None and done >= hold:
                self._hold = None
                self._resume.clear()
        return hold

    def stop(self) -> None:
        """Ask the work to stop at its next check (a paused job is released to see it)."""
        self._stop.set()
        self._resume.set()
        if self.worker is not None:
            self.worker.cancel()

    def should_stop(self) -> bool:
        """The engine's stop check: waits here while paused; True once asked to stop."""
        while not self._resume.is_set() and not self.stopping:
            self._resume.wait(0.05)
        return self.stopping


Work = Callable[[Job, Callable[[Any], None]], T]
"""``work(job, report)``: poll ``job.should_stop``; ``report(item)`` sends an item to the screen."""


class TrainingService:
    """Owned by the App: runs jobs for screens, one per screen and group at a time."""

    def __init__(self, app: App, interval: float = BATCH_SECONDS) -> None:
        self._app = app
        self._interval = interval
        self._numbers = itertools.count(1)

    def start(self, owner: DOMNode, work: Work, *, group: str = "training", keras: bool = True) -> Job:
        """Run ``work`` in a thread worker of ``owner``; a running job of the same group is stopped.

        ``keras``: hold the Keras lock while working (anything that builds a model does: building
        one reseeds Keras' global random state, so a summary built beside a training would change
        that training's initial weights).
        """
        job = Job(next(self._numbers), group)

        def run() -> None:
            batcher = Batcher(lambda items: owner.post_message(JobProgress(job, items)), self._interval)
            result, error = None, None
            saving = threading.Event()  # the engine has stopped: what is left is saving the run

            def report(item: Any) -> None:
                event = item[1] if isinstance(item, tuple) else item  # compare reports (topology, event)
                if isinstance(event, TERMINAL):
                    saving.set()
                batcher(item)

            def locked() -> Any:
                with runtime.keras_lock.held(give_up=lambda: job.stopping) as held:
                    return work(job, report) if held and not job.stopping else None

            try:
                # A stopped job stops waiting on work that cannot be interrupted (a trace or an XLA
                # compile): escape and quit answer within ``grace``; the abandoned work still ends
                # at its next stop check and saves its run as stopped. Once the engine has stopped,
                # the save is waited for, so the screen gets the record; quitting waits for the
                # save itself (``EchoApp.action_quit``), not for what a job does after it.
                quitting = lambda: bool(getattr(self._app, "quitting", False))  # noqa: E731
                result = run_in_daemon(locked if keras else lambda: work(job, report),
                                       give_up=lambda: job.stopping and (quitting() or not saving.is_set()))
            except Exception as exc:  # shown to the user, never raised into Textual
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
            finally:
                batcher.flush()
                owner.post_message(JobDone(job, result, error))

        job.worker = owner.run_worker(
            run, name=f"{group}-{job.number}", group=group, thread=True, exclusive=True, exit_on_error=False
        )
        return job


def read_files(paths: list[str]) -> Work[None]:
    """A job that reads CSV files into ``csvdata``'s cache, so checking a config on them after it
    costs a ``stat`` on the UI thread (a refusal is cached too: that check names it). A stopped
    job stops within a chunk of rows. Start it with ``keras=False``: parsing builds no model."""

    def read(job: Job, report: Callable[[Any], None]) -> None:
        for path in paths:
            try:
                csvdata.read(path, should_stop=lambda: job.stopping)
            except ConfigError:
                pass
            except csvdata.ReadStopped:
                return

    return read


def ready_for_processes() -> None:
    """Start multiprocessing's resource tracker (once per process) with the real stderr; call it on
    the UI thread before a job starts worker processes.

    While the app runs, Textual's capture stands in for ``sys.stderr`` and its ``fileno()`` is -1;
    the tracker, started lazily by the first spawned worker pool, would pass that on and the pool
    fail with "bad value(s) in fds_to_keep".
    """
    from multiprocessing import resource_tracker

    captured, sys.stderr = sys.stderr, sys.__stderr__
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = captured


TERMINAL = (Finished, Cancelled, Failed)  # sent at once, never held


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
