"""The lab: settings, model summary, predictions, loss curve and epoch log, and the training worker.

State comes from the engine's events only (``TrainingProgress`` batches and ``TrainingDone``);
the worker thread never touches a widget. The screen owns its trainings so other screens (compare,
runs) can be pushed over it and popped back with everything intact.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Input
from textual.worker import get_current_worker

from ..core import engine
from ..core.config import Config
from ..core.events import Cancelled, Compiled, Compiling, Epochs, Failed, Finished, Predictions, Started
from ..core.experiment import run_experiment
from ..core.compare import default_export_folder
from ..core.script import save_script
from ..core.summary import summarize
from ..core.topologies import TOPOLOGIES
from ..messages import Batcher, SummaryFailed, SummaryReady, TrainingDone, TrainingProgress, run_in_daemon
from ..widgets import ConfigForm, EpochLog, KeyBar, LossChart, PredictionTable, StatusBar, SummaryPane
from .base import LeanScreen

RUNNING = ("waiting", "starting", "compiling", "training", "paused", "stopping", "saving")
NAMES = tuple(TOPOLOGIES)
COMPACT_WIDTH, COMPACT_HEIGHT = 100, 30
BATCH_SECONDS = 0.5  # at most 2 batches a second, whatever the epoch rate: at 10 a second the lab wrote 75 KB/s to its terminal, at 2 under 20 KB/s (benchmarks/terminal_bytes.py)

# Building a Keras model seeds Keras' global random state: a summary built while a training is
# building its model would change that training's initial weights. One lock keeps them apart.
_keras_lock = threading.Lock()


NOT_IN_MODEL = {"epochs", "batch_size", "lr", "seed", "engine", "shuffle", "sequences"}


def summary_key(config: Config) -> tuple:
    """What the summary depends on: the framing and the sizes, not epochs, rate or seed."""
    values = config.to_dict()
    values["units"] = config.units or config.length
    return tuple(sorted((k, v) for k, v in values.items() if k not in NOT_IN_MODEL))


class LabScreen(LeanScreen):
    """The main screen: configure, train, and watch it learn."""

    BINDINGS = [
        Binding("ctrl+r", "train", "Train", id="train", priority=True,
                tooltip="Train with these settings; works whichever field has focus"),
        Binding("escape", "stop", "Stop", id="stop",
                tooltip="Stop training; the epochs so far are kept"),
        Binding("space", "pause", "Pause", id="pause",
                tooltip="Pause training between chunks of epochs"),
        Binding("space", "resume", "Resume", id="resume", tooltip="Carry on training"),
        Binding("1", "topology(0)", "Topology", key_display="1-4", id="topology-1",
                tooltip="Choose a topology: 1 one-to-one, 2 many-to-one, 3 many-to-many, 4 many-to-many-dense"),
        Binding("2", "topology(1)", show=False, id="topology-2"),
        Binding("3", "topology(2)", show=False, id="topology-3"),
        Binding("4", "topology(3)", show=False, id="topology-4"),
        Binding("m", "toggle_summary", "Summary", id="summary",
                tooltip="Show the model summary in place of the predictions (narrow terminals)"),
        Binding("z", "zoom", "Zoom", id="zoom", tooltip="Fill the screen with the focused pane; z again to restore"),
        Binding("c", "compare", "Compare", id="compare", show=False,
                tooltip="Train every topology on these settings and compare them side by side"),
        Binding("h", "runs", "Runs", id="runs", show=False, tooltip="Saved runs: reopen or delete them"),
        Binding("x", "explain", "Explain", id="explain", show=False,
                tooltip="Shapes through the network, parameter formulas, TimeDistributed vs Dense"),
        Binding("e", "export_script", "Script", id="export-script", show=False,
                tooltip="Save these settings as a standalone plain-Keras script"),
    ]

    HELP_TITLE = "lab keys"
    HELP_NOTES = ("Settings are checked as you type; training starts only when every field is valid. "
                  "Empty fields use the tutorial's defaults, shown in grey.")

    # repaint=False: a reactive on a Screen repaints the whole screen when it changes
    ALLOW_IN_MAXIMIZED_VIEW = "StatusBar, KeyBar"  # a zoomed pane keeps the status and the keys

    phase: reactive[str] = reactive("idle", bindings=True, repaint=False)
    """idle | waiting | starting | compiling | training | paused | stopping | saving | finished | stopped | failed | diverged"""

    compact: reactive[bool] = reactive(False, bindings=True, repaint=False)

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.run_config: Config | None = None  # the resolved settings of the current/last run
        self.exported_script: Path | None = None  # the latest script saved with e
        self.history: list[float] = []
        self.last_record: dict | None = None
        self.final: Finished | Cancelled | Failed | None = None
        self.failure = ""
        self.invalid = ""
        self._resume = threading.Event()
        self._resume.set()
        self._compiled = False
        self._rate_marks: deque[tuple[float, int]] = deque()
        self._rate = 0.0
        self._compile_s = 0.0
        self._summaries: dict[tuple, Any] = {}
        self._summary_timer = None
        self._predicted_epoch: int | None = None

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Settings on the left; summary and predictions above the curve and the log."""
        with Horizontal(id="lab"):
            yield ConfigForm(self.config, id="config")
            with Vertical(id="right"):
                with Horizontal(id="top"):
                    yield SummaryPane(id="summary")
                    yield PredictionTable(id="predictions")
                with Horizontal(id="bottom"):
                    yield LossChart(id="curve")
                    yield EpochLog(id="log")
        yield StatusBar(id="status")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        """Show the idle state, the sequence to learn, and wait for TensorFlow."""
        self.query_one("#predictions").border_title = "Predictions"
        self.query_one("#curve").border_title = "Loss (log scale)"
        self._show_sequence()
        self.query_one(SummaryPane).show_message("the model appears here once TensorFlow has loaded…")
        self._layout_for(self.app.size.width, self.app.size.height)
        self.refresh_status()
        if self.app.tf_ready:
            self.request_summary()

    def on_resize(self, event: Resize) -> None:
        """Switch between the full and the compact layout."""
        self._layout_for(event.size.width, event.size.height)

    def _layout_for(self, width: int, height: int) -> None:
        """Below 100×30 the summary folds behind ``m`` so the curve keeps its room."""
        self.compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        self.set_class(self.compact, "-compact")

    # ----------------------------------------------------------------- key actions

    @property
    def running(self) -> bool:
        """A training is waiting, starting, running, paused or stopping."""
        return self.phase in RUNNING

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Footer and keys show only what applies now."""
        if action == "train":
            return not self.running and not self.app.tf_failed
        if action == "stop":
            return self.running and self.phase not in ("stopping", "saving")
        if action == "pause":
            return self.phase in ("starting", "compiling", "training")
        if action == "resume":
            return self.phase == "paused"
        if action == "topology":
            return not self.running and not isinstance(self.focused, Input)
        if action == "toggle_summary":
            return self.compact
        if action in ("zoom", "runs"):
            return not isinstance(self.focused, Input)
        if action in ("compare", "explain"):
            return not self.running and not isinstance(self.focused, Input)
        if action == "export_script":
            return self.app.tf_ready and not isinstance(self.focused, Input)
        return True

    def action_train(self) -> None:
        """Start training the form's settings (or say why not)."""
        if self.running:
            return
        form = self.query_one(ConfigForm)
        if form.errors or form.config is None:
            field, message = next(iter(form.errors.items()))
            self.invalid = message
            self.refresh_status()
            self.notify(f"Can't train yet: {message}", severity="error", timeout=4)
            form.focus_field(field)
            return
        self.invalid = ""
        config = form.config.resolved()
        self.run_config = config
        self._reset_run(config)
        form.disabled = True
        if self.focused is None:
            self.query_one(LossChart).focus()
        if not self.app.tf_ready:
            self.phase = "waiting"  # starts from tensorflow_ready()
            return
        self._start()

    def action_stop(self) -> None:
        """Ask the worker to stop at its next check (within a chunk, ~50 ms)."""
        if self.phase == "waiting":
            self._finish_run("stopped")
            return
        if self.running and self.phase != "saving":
            self.phase = "stopping"
            self._resume.set()
            self.workers.cancel_group(self, "training")
            self.refresh_status()

    def action_pause(self) -> None:
        """Hold the worker at its next check until resumed."""
        if self.phase in ("starting", "compiling", "training"):
            self._resume.clear()
            self.phase = "paused"
            self.refresh_status()

    def action_resume(self) -> None:
        """Let a paused worker carry on."""
        if self.phase == "paused":
            self._resume.set()
            self.phase = "training" if self._compiled else "compiling"
            self.refresh_status()

    def action_topology(self, index: int) -> None:
        """Choose topology ``index`` (0-based) in the form."""
        if not self.running:
            self.query_one(ConfigForm).select_topology(NAMES[index])

    def action_toggle_summary(self) -> None:
        """In the compact layout, swap the predictions pane for the model summary and back."""
        self.toggle_class("-show-summary")

    def action_zoom(self) -> None:
        """Maximize the pane that has focus, or restore it."""
        if self.maximized is not None:
            self.minimize()
            return
        widget = self.focused
        if widget is None:
            self.query_one(LossChart).focus()
            widget = self.query_one(LossChart)
        for node in (widget, *widget.ancestors):
            if node.id in ("config", "summary", "predictions", "curve", "log"):
                self.maximize(node, container=False)
                return

    def _form_config(self, purpose: str, *, idle: bool = False) -> Config | None:
        """The form's settings, or None (and a notification) while they are invalid, or, with
        ``idle``, while a training runs."""
        if idle and self.running:
            self.notify("Stop the training first (escape)", severity="warning")
            return None
        form = self.query_one(ConfigForm)
        if form.config is None:
            field, message = next(iter(form.errors.items()), ("", "fix the settings"))
            self.notify(f"Can't {purpose} yet: {message}", severity="error", timeout=4)
            return None
        return form.config

    def action_compare(self) -> None:
        """Open the compare screen on the form's settings (every topology, same task and seed)."""
        from .compare import CompareScreen

        config = self._form_config("compare", idle=True)
        if config is not None:
            self.app.push_screen(CompareScreen(config))

    def action_runs(self) -> None:
        """Open the list of saved runs."""
        from .runs import RunsScreen

        self.app.push_screen(RunsScreen())

    def action_explain(self) -> None:
        """Open the explainer for the form's settings."""
        from .explain import ExplainScreen

        config = self._form_config("explain", idle=True)
        if config is not None:
            self.app.push_screen(ExplainScreen(config.resolved()))

    def action_export_script(self) -> None:
        """Save the form's settings as a plain-Keras script in the export folder."""
        config = self._form_config("export a script")
        if config is not None:
            self.save_script(config)

    @work(thread=True, group="export", exit_on_error=False)
    def save_script(self, config: Config) -> None:
        """Write the script (building the model to read its layers) and say where it went."""
        with _keras_lock:
            try:
                path = save_script(config, default_export_folder())
            except Exception as error:  # a full disk or a read-only folder: said, not raised
                self.app.call_from_thread(self.notify, f"Export failed: {error}", severity="error")
                return
        self.app.call_from_thread(
            self.notify, f"{path.name}\nin {path.parent}", title="Plain-Keras script saved", timeout=8
        )
        self.exported_script = path

    def reset_settings(self) -> None:
        """Put the form back to the tutorial defaults for the chosen topology."""
        if not self.running:
            self.query_one(ConfigForm).reset(Config(topology=self.query_one(ConfigForm).topology))

    # ----------------------------------------------------------------- TensorFlow and summary

    def tensorflow_ready(self) -> None:
        """Called by the app once TensorFlow is loaded: show the summary, start a waiting run."""
        self.request_summary()
        if self.phase == "waiting":
            self._start()
        self.refresh_status()

    def tensorflow_failed(self, reason: str) -> None:
        """Called by the app when TensorFlow cannot be imported."""
        self.query_one(SummaryPane).show_message(f"TensorFlow could not be loaded: {reason}")
        if self.phase == "waiting":
            self.failure = f"TensorFlow could not be loaded: {reason}"
            self._finish_run("failed")
        self.refresh_status()

    @on(ConfigForm.Changed)
    def _settings_changed(self, event: ConfigForm.Changed) -> None:
        """Refresh the summary shortly after the settings stop changing."""
        if not self.running:
            self.invalid = ""
            self._show_sequence()
            self.refresh_status()
        if self._summary_timer is not None:
            self._summary_timer.stop()
        self._summary_timer = self.set_timer(0.12, self.request_summary)

    def request_summary(self) -> None:
        """Show the summary for the form's settings, building the model in a worker if needed."""
        if not self.app.tf_ready or not self.is_mounted:
            return
        form = self.query_one(ConfigForm)
        pane = self.query_one(SummaryPane)
        if form.config is None:
            pane.show_message("fix the settings on the left to see the model")
            return
        key = summary_key(form.config)
        if key in self._summaries:
            pane.show_summary(self._summaries[key])
        else:
            pane.show_message("building the model…")
            self.build_summary(form.config.resolved(), key)

    @work(thread=True, exclusive=True, group="summary", exit_on_error=False)
    def build_summary(self, config: Config, key: tuple) -> None:
        """Build the model (not trained) and post its summary."""
        worker = get_current_worker()
        while not _keras_lock.acquire(timeout=0.05):
            if worker.is_cancelled:
                return
        try:
            summary = summarize(engine.build_model(config))
        except Exception as error:  # shown in the pane; the app stays up
            self.post_message(SummaryFailed(key, f"{type(error).__name__}: {error}"))
            return
        finally:
            _keras_lock.release()
        self.post_message(SummaryReady(key, summary))

    def on_summary_ready(self, message: SummaryReady) -> None:
        """Cache a built summary; show it if it still matches the form."""
        self._summaries[message.key] = message.summary
        form = self.query_one(ConfigForm)
        if form.config is not None and summary_key(form.config) == message.key:
            self.query_one(SummaryPane).show_summary(message.summary)
        self.refresh_status()

    def on_summary_failed(self, message: SummaryFailed) -> None:
        """Say why the model could not be built."""
        self.query_one(SummaryPane).show_message(f"could not build the model: {message.reason}")

    # ----------------------------------------------------------------- training

    def _reset_run(self, config: Config) -> None:
        """Clear the panes for a new run of ``config``."""
        self.history = []
        self.final = None
        self.failure = ""
        self.last_record = None
        self._compiled = False
        self._rate_marks.clear()
        self._rate = 0.0
        self._compile_s = 0.0
        self._predicted_epoch = None
        self._resume.set()
        self.query_one(LossChart).reset(config.epochs)
        log = self.query_one(EpochLog)
        log.clear()
        log.add_notes([
            f"{config.topology} · {config.engine}",
            f"{config.epochs:,} epochs · batch {config.batch_size}",
            f"lr {config.lr:g} · seed {config.seed}",
            *([] if self.app.deterministic else [f"on {self.app.device}"]),
        ])
        self._show_sequence(config)

    def _start(self) -> None:
        """Start the training worker for ``run_config``."""
        assert self.run_config is not None
        self.phase = "starting"
        self.refresh_status()
        self.run_training(self.run_config)

    @work(thread=True, exclusive=True, group="training", exit_on_error=False)
    def run_training(self, config: Config) -> None:
        """Train in this thread; events reach the UI in batches; TrainingDone when really done."""
        worker = get_current_worker()
        batcher = Batcher(lambda events: self.post_message(TrainingProgress(events)), interval=BATCH_SECONDS)
        resume = self._resume

        def should_stop() -> bool:
            while not resume.is_set() and not worker.is_cancelled:  # paused: hold the engine here
                resume.wait(0.05)
            return worker.is_cancelled

        store = getattr(self.app, "run_store", None)  # the run store (issue 6) plugs in here
        extra = {"store": store} if store is not None else {}

        def experiment() -> dict | None:
            with _keras_lock:
                if should_stop():
                    return None
                return run_experiment(config, batcher, should_stop, **extra)

        record, error = None, None
        try:
            # If the app is quitting, stop waiting on a compile that cannot be interrupted.
            record = run_in_daemon(experiment, give_up=lambda: worker.is_cancelled and self.app.quitting)
        except Exception as exc:  # shown to the user, never raised into Textual
            error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
        finally:
            batcher.flush()
            self.post_message(TrainingDone(record, error))

    def on_training_progress(self, message: TrainingProgress) -> None:
        """Apply a batch of engine events; panes redraw on their own ticks, not per event."""
        chart, log = self.query_one(LossChart), self.query_one(EpochLog)
        predictions: Predictions | None = None
        deterministic = self.app.deterministic
        for event in message.events:
            if isinstance(event, Epochs):
                self.history.extend(event.losses)
                chart.extend(event.losses)
                log.add_epochs(event.losses)
                if self._compiled:
                    self._rate_marks.append((time.monotonic(), event.last))
            elif isinstance(event, Predictions):
                predictions = event
            elif isinstance(event, Started):
                if self.phase == "starting":
                    self.phase = "compiling"
            elif isinstance(event, Compiling):
                log.add_notes([f"compiling ({event.how})…"])
                if self.phase == "starting":
                    self.phase = "compiling"
            elif isinstance(event, Compiled):
                self._compiled = True
                self._compile_s = event.seconds
                self._rate_marks.append((time.monotonic(), len(self.history)))
                log.add_notes(["compiled" if deterministic else f"compiled in {event.seconds:.2f} s"])
                if self.phase in ("starting", "compiling"):
                    self.phase = "training"
            elif isinstance(event, Finished):
                self.final = event
                self.phase = "saving"  # the worker ends once the run store has the record and model
                length = len(self.run_config.problem.targets[0]) if self.run_config else len(event.targets)
                self._show_predictions(event.predictions[:length], len(event.history))
                notes = [f"finished: {len(event.history):,} epochs"]
                if not deterministic:
                    notes.append(f"{event.wall_s:.2f} s · {event.epochs_per_s:,.0f} epochs/s")
                notes.append(f"final loss {event.history[-1]:.4e}" if event.history else "no epochs")
                log.add_notes(notes)
            elif isinstance(event, Cancelled):
                self.final = event
                log.add_notes([f"stopped after {event.epoch:,} epochs"])
            elif isinstance(event, Failed):
                self.final = event
                self.failure = event.message
                log.add_notes([f"failed: {event.message}"])
        if predictions is not None and not isinstance(self.final, Finished):
            self._show_predictions(predictions.values, predictions.epoch)
        chart.flush()  # one frame per batch for everything that changed
        log.flush()
        self._update_rate()
        self.refresh_status()

    def on_training_done(self, message: TrainingDone) -> None:
        """The worker thread has ended: settle the final state and unlock the form."""
        self.last_record = record = message.record
        if message.error:
            self.failure = message.error
            self.query_one(EpochLog).add_notes([f"failed: {message.error}"])
            self._finish_run("failed")
        elif record is not None and record.get("status") == "diverged":
            self.failure = str(record.get("error") or "the loss is no longer a finite number")
            self.query_one(EpochLog).add_notes([f"diverged: {self.failure}"])
            self._finish_run("diverged")
        elif isinstance(self.final, Finished):
            self._finish_run("finished")
        elif isinstance(self.final, Failed):
            self._finish_run("failed")
        else:
            self._finish_run("stopped")

    def _finish_run(self, phase: str) -> None:
        """Settle on a final phase and unlock the form."""
        self._resume.set()
        self.phase = phase
        form = self.query_one(ConfigForm)
        form.disabled = False
        self.refresh_status()

    def _update_rate(self) -> None:
        """Epochs per second over about the last second of training."""
        marks = self._rate_marks
        if len(marks) < 2:
            return
        now = marks[-1][0]
        while len(marks) > 2 and now - marks[1][0] >= 1.0:
            marks.popleft()
        (t0, e0), (t1, e1) = marks[0], marks[-1]
        if t1 > t0:
            self._rate = (e1 - e0) / (t1 - t0)

    # ----------------------------------------------------------------- panes

    def _show_sequence(self, config: Config | None = None) -> None:
        """Show the first sequence's inputs and targets, predictions empty."""
        if config is None:
            form = self.query_one(ConfigForm)
            if self.running or form.config is None:
                return
            if self._predicted_epoch is not None and self.run_config and self._same_problem(self.run_config):
                return  # the last run's predictions still answer this sequence: keep them
            config = form.config
        try:
            problem = config.problem
        except Exception:
            return
        inputs, targets = problem.inputs[0].tolist(), problem.targets[0].tolist()
        self.query_one(PredictionTable).show(inputs, targets, None)
        self._predicted_epoch = None
        self.query_one(PredictionTable).border_subtitle = ""

    def _same_problem(self, config: Config) -> bool:
        """Whether the form still asks for the sequence ``config`` was trained on."""
        form = self.query_one(ConfigForm)
        mine = form.config.resolved() if form.config is not None else None
        return mine is not None and (mine.task, mine.length, mine.seed, mine.sequences) == (
            config.task, config.length, config.seed, config.sequences)

    def _show_predictions(self, values: tuple[float, ...] | list[float], epoch: int) -> None:
        """Show predictions after ``epoch`` beside the run's inputs and targets."""
        if self.run_config is None:
            return
        problem = self.run_config.problem
        inputs, targets = problem.inputs[0].tolist(), problem.targets[0].tolist()
        table = self.query_one(PredictionTable)
        table.show(inputs, targets, list(values)[: len(targets)], epoch)
        self._predicted_epoch = epoch
        table.border_subtitle = f"{self.run_config.topology} · epoch {epoch:,}"

    def refresh_status(self) -> None:
        """Rewrite the status line from the current state."""
        status = self.query_one(StatusBar)
        app = self.app
        deterministic = app.deterministic
        config = self.run_config
        total = config.epochs if config else 0
        epoch = len(self.history)
        loss = f" · loss {self.history[-1]:.4e}" if self.history else ""
        phase = self.phase
        if phase == "idle":
            if self.invalid:
                status.show("invalid", f"can't train: {self.invalid}")
            elif app.tf_failed:
                status.show("failed", f"TensorFlow could not be loaded: {app.tf_failed}")
            elif not app.tf_ready:
                status.show("loading", "loading TensorFlow… ctrl+r already works: training starts once it is ready")
            else:
                form = self.query_one(ConfigForm)
                if form.config is None:
                    status.show("invalid", "fix the highlighted settings to train")
                else:
                    c = form.config.resolved()
                    status.show("idle", f"ready · ctrl+r trains {c.topology} for {c.epochs:,} epochs")
        elif phase == "waiting":
            status.show("waiting", "loading TensorFlow… training starts as soon as it is ready")
        elif phase in ("starting", "compiling"):
            status.show("compiling", "compiling the training step…")
        elif phase == "training":
            rate = "" if deterministic or not self._rate else f" · {self._rate:,.0f} epochs/s"
            status.show("training", f"training epoch {epoch:,} of {total:,}{rate}{loss}")
        elif phase == "paused":
            status.show("paused", f"paused at epoch {epoch:,} of {total:,}{loss} · space resumes")
        elif phase == "stopping":
            status.show("stopping", f"stopping at epoch {epoch:,} of {total:,}…")
        elif phase == "saving":
            status.show("saving", f"trained {epoch:,} epochs{loss} · saving the run…")
        elif phase == "finished":
            final = self.final
            timing = ""
            if isinstance(final, Finished) and not deterministic:
                timing = f" · {final.wall_s:.2f} s · {final.epochs_per_s:,.0f} epochs/s"
            final_loss = f"{self.history[-1]:.4e}" if self.history else "n/a"
            status.show("finished", f"finished · final loss {final_loss} · {epoch:,} epochs{timing}")
        elif phase == "stopped":
            status.show("stopped", f"stopped at epoch {epoch:,} of {total:,}{loss}")
        elif phase == "failed":
            status.show("failed", f"failed: {self.failure}")
        elif phase == "diverged":
            status.show("failed", f"diverged: {self.failure}")
        if deterministic:
            device = ""
        elif app.tf_ready:
            device = app.device
        elif app.tf_failed:
            device = "no TensorFlow"
        else:
            device = ""
        summary = self.query_one(SummaryPane)
        params = summary.border_subtitle or ""
        status.show_device(" · ".join(part for part in (params, device) if part))

    def watch_phase(self, phase: str) -> None:
        """Keep the status line in step with the phase."""
        if self.is_mounted:
            self.refresh_status()
