"""The lab: settings, model summary, predictions, loss curve and epoch log, and the training worker.

State comes from the engine's events only (``TrainingProgress`` batches and ``TrainingDone``);
the worker thread never touches a widget. The screen owns its trainings so other screens (compare,
runs) can be pushed over it and popped back with everything intact.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Input

from ..core import engine, estimate, explain, progress
from ..core.compare import default_export_folder
from ..core.config import Config
from ..core.events import Cancelled, Compiled, Compiling, Epochs, Failed, Finished, Predictions
from ..core.experiment import run_experiment
from ..core.formatting import format_loss
from ..core.progress import Phase, RunState
from ..core.script import save_script
from ..core.snapshots import Snapshots, first_sequence_predictions
from ..core.summary import summarize
from ..core.topologies import TOPOLOGIES
from ..messages import JobDone, JobProgress
from ..training import Job, TrainingService
from ..widgets import ConfigForm, EpochLog, KeyBar, LossChart, PredictionTable, StatusBar, SummaryPane
from .base import COMPACT_HEIGHT, COMPACT_WIDTH, LeanScreen
from .replay import REPLAY_ACTIONS, REPLAY_BINDINGS, ReplayControls

NAMES = tuple(TOPOLOGIES)


# Live predictions repaint at most this often: at every batch, 20 rows of them took the bytes sent
# to the terminal past 20 KB/s (benchmarks/terminal_bytes.py); the final ones show at once.
PREDICTIONS_EVERY_S = 1.0

NOT_IN_MODEL = {"epochs", "batch_size", "lr", "seed", "engine", "shuffle", "sequences"}


def summary_key(config: Config) -> tuple:
    """What the summary depends on: the framing and the sizes, not epochs, rate or seed."""
    values = config.to_dict()
    values["units"] = config.units or config.length
    return tuple(sorted((k, v) for k, v in values.items() if k not in NOT_IN_MODEL))


class LabScreen(ReplayControls, LeanScreen):
    """The main screen: configure, train, and watch it learn."""

    BINDINGS = [
        Binding("ctrl+r", "train", "Train", id="train", priority=True,
                tooltip="Train with these settings; works whichever field has focus"),
        Binding("escape", "stop", "Stop", id="stop",
                tooltip="Stop training; the epochs so far are kept"),
        Binding("space", "pause", "Pause", id="pause",
                tooltip="Pause training between chunks of epochs"),
        Binding("space", "resume", "Resume", id="resume", tooltip="Carry on training"),
        Binding("n", "step(1)", "Step", id="step", key_display="n/N",
                tooltip="While paused: train exactly one more epoch (N: ten), then pause again"),
        Binding("N", "step(10)", show=False, id="step-10"),
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
        Binding("w", "sweep", "Sweep", id="sweep", show=False,
                tooltip="Sweep topology, cell, units, lr and seeds on these settings, in worker processes"),
        Binding("x", "explain", "Explain", id="explain", show=False,
                tooltip="Shapes through the network, parameter formulas, TimeDistributed vs Dense"),
        Binding("e", "export_script", "Script", id="export-script", show=False,
                tooltip="Save these settings as a standalone plain-Keras script"),
        Binding("i", "inspect", "Inside", id="inspect", show=False,
                tooltip="Inside the cell of the run just trained (at the replay's epoch): gates, states, gradient reach"),
        *REPLAY_BINDINGS,
    ]

    HELP_TITLE = "lab keys"
    HELP_NOTES = ("Settings are checked as you type; training starts only when every field is valid. "
                  "Empty fields use the tutorial's defaults, shown in grey.")

    # repaint=False: a reactive on a Screen repaints the whole screen when it changes
    ALLOW_IN_MAXIMIZED_VIEW = "StatusBar, KeyBar"  # a zoomed pane keeps the status and the keys

    phase: reactive[Phase] = reactive(Phase.IDLE, bindings=True, repaint=False)
    """The current training's phase (``state.phase``), reactive so the footer follows it."""

    compact: reactive[bool] = reactive(False, bindings=True, repaint=False)

    def __init__(self, config: Config, training: TrainingService) -> None:
        super().__init__()
        self.config = config
        self.training = training
        self.state = RunState()
        self.run_config: Config | None = None  # the resolved settings of the current/last run
        self.exported_script: Path | None = None  # the latest script saved with e
        self.history: list[float] = []
        self.last_record: dict | None = None
        self.invalid = ""
        self._job: Job | None = None
        self._summary_job: Job | None = None
        self._summaries: dict[tuple, Any] = {}
        self._summary_timer = None
        self._train_when_read = False  # ctrl+r came while the data file was being read
        self._predicted_epoch: int | None = None
        self._predictions_at = 0.0  # when live predictions were last shown (monotonic)
        self._snapshots: Snapshots | None = None  # the last run's, for the inside-the-cell view

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        """Settings on the left; summary and predictions above the curve and the log."""
        with Horizontal(id="lab"):
            yield ConfigForm(self.config, self.training, id="config")
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
        """A training is waiting, starting, running, paused, stopping or saving."""
        return self.phase.running

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Footer and keys show only what applies now."""
        typing = isinstance(self.focused, Input)
        if action == "train":
            return not self.running and not self.app.tf_failed
        if action == "stop":  # (also cancels a ctrl+r waiting for a file to be read)
            return (self.running and self.phase not in (Phase.STOPPING, Phase.SAVING)) or self._train_when_read
        if action == "pause":
            return self.phase in (Phase.STARTING, Phase.COMPILING, Phase.TRAINING)
        if action == "resume":
            return self.phase == Phase.PAUSED
        if action == "step":
            return self.phase == Phase.PAUSED and self.state.compiled and not typing
        if action == "topology":
            return not self.running and not typing
        if action == "toggle_summary":
            return self.compact
        if action in ("zoom", "runs"):
            return not typing
        if action in ("compare", "explain"):
            return not self.running and not typing
        if action == "inspect":  # the saved model of a run this lab finished or stopped
            record = self.last_record or {}
            return not self.running and not typing and bool(record.get("id")) and record.get("status") in ("finished", "stopped")
        if action == "export_script":  # it builds a model, which waits for a training to end
            return self.app.tf_ready and not self.running and not typing
        if action in REPLAY_ACTIONS:
            return self.replay_allows(action)
        return True

    def replay_ready(self) -> bool:
        """Scrub and replay once a run has ended, unless a text field has focus."""
        return not self.running and not isinstance(self.focused, Input)

    def show_replay_frame(self) -> None:
        """The curve's marker, the log, the predictions and the status line at the replay's epoch."""
        replay = self.replay
        assert replay is not None
        self.query_one(LossChart).point_at(replay.epoch - 1)
        self.query_one(EpochLog).show_epoch(replay.epoch)
        self._show_predictions(self.replay_predictions[replay.index], replay.epoch)
        self.refresh_status()
        self.refresh_bindings()

    def _set_state(self, state: RunState) -> None:
        """Take a new training state: the footer follows its phase, the status line its text."""
        self.state = state
        self.phase = state.phase
        self.refresh_status()

    def action_train(self) -> None:
        """Start training the form's settings (or say why not)."""
        if self.running:
            return
        form = self.query_one(ConfigForm)
        if not form.settled():  # trains once the file is read (escape or a refusal cancels it)
            self._train_when_read = True
            self.refresh_bindings()
            self.notify(f"Reading {form.reading}… training starts once it is read", timeout=3)
            return
        if self._train_when_read:
            self._train_when_read = False
            self.refresh_bindings()
        if form.errors or form.config is None:
            field, message = next(iter(form.errors.items()))
            self.invalid = message
            self.refresh_status()
            self.notify(f"Can't train yet: {message}", severity="error", timeout=4)
            form.focus_field(field)
            return
        config = form.config.resolved()
        self.invalid = estimate.refusal(config, engine.cost(config), estimate.available_memory()) or ""
        if self.invalid:  # the status line says why and what to change
            self.refresh_status()
            return
        self.run_config = config
        self._reset_run(config)
        form.disabled = True
        if self.focused is None:
            self.query_one(LossChart).focus()
        self._set_state(progress.begun(config.epochs, ready=self.app.tf_ready))
        if self.app.tf_ready:
            self._start()  # else from tensorflow_ready()

    def action_stop(self) -> None:
        """Ask the worker to stop at its next check (within a chunk, ~50 ms)."""
        if self._train_when_read:
            self._train_when_read = False
            self.refresh_bindings()
            self.notify("Training after the read cancelled", timeout=3)
        if not self.running or self.phase in (Phase.STOPPING, Phase.SAVING):
            return
        if self._job is not None:
            self._job.stop()
        self._set_state(progress.stopping(self.state))
        if self.phase == Phase.STOPPED:  # it was still waiting for TensorFlow
            self._unlock_form()

    def action_pause(self) -> None:
        """Hold the worker at its next check until resumed."""
        if self._job is not None and self.phase in (Phase.STARTING, Phase.COMPILING, Phase.TRAINING):
            self._job.pause()
            self._set_state(progress.paused(self.state))

    def action_resume(self) -> None:
        """Let a paused worker carry on."""
        if self._job is not None and self.phase == Phase.PAUSED:
            self._job.resume()
            self._set_state(progress.resumed(self.state))

    def action_step(self, epochs: int) -> None:
        """Train ``epochs`` more epochs and pause again (watched every 20 ms until the job has)."""
        if self._job is None or not self.check_action("step", ()):
            return
        job = self._job
        job.step(epochs)
        self._set_state(progress.resumed(self.state))

        def paused_again() -> None:
            if job is not self._job or not self.running:
                timer.stop()
            elif job.paused:
                timer.stop()
                self._set_state(progress.paused(self.state))

        timer = self.set_interval(0.02, paused_again)

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

    def _form_config(self, purpose: str) -> Config | None:
        """The form's settings while no training runs, or None (and a notification) if not."""
        if self.running:
            self.notify("Stop the training first (escape)", severity="warning")
            return None
        form = self.query_one(ConfigForm)
        if not self._settled(form):
            return None
        if form.config is None:
            field, message = next(iter(form.errors.items()), ("", "fix the settings"))
            self.notify(f"Can't {purpose} yet: {message}", severity="error", timeout=4)
            return None
        return form.config

    def _settled(self, form: ConfigForm) -> bool:
        """The form's settings are checked against its data file as it is now; if it is still
        being read, say so (nothing starts on settings not yet known)."""
        if form.settled():
            return True
        self.notify(f"Still reading {form.reading}…", severity="warning", timeout=3)
        return False

    def action_compare(self) -> None:
        """Open the compare screen on the form's settings (every topology, same task and seed)."""
        from .compare import CompareScreen

        config = self._form_config("compare")
        if config is not None:
            self.app.push_screen(CompareScreen(config, self.training))

    def action_sweep(self) -> None:
        """Open the sweep screen on the form's settings."""
        from .sweep import SweepScreen

        config = self._form_config("sweep")
        if config is not None:
            self.app.push_screen(SweepScreen(config, self.training))

    def action_runs(self) -> None:
        """Open the list of saved runs."""
        from .runs import RunsScreen

        self.app.push_screen(RunsScreen())

    def action_explain(self) -> None:
        """Open the explainer for the form's settings."""
        from .explain import ExplainScreen

        config = self._form_config("explain")
        if config is not None:
            self.app.push_screen(ExplainScreen(config.resolved(), self.training))

    def action_export_script(self) -> None:
        """Save the form's settings as a plain-Keras script in the export folder."""
        config = self._form_config("export a script")
        if config is None:
            return

        def export(job: Job, report: Any) -> Path:  # builds the model to read its layers
            return save_script(config, default_export_folder())

        self.training.start(self, export, group="export")

    def action_inspect(self) -> None:
        """Open the inside-the-cell view of the last run's saved model."""
        from .cell import CellScreen

        store = getattr(self.app, "run_store", None)
        if not self.check_action("inspect", ()) or store is None:
            return
        try:
            record = store.load(self.last_record["id"])
        except KeyError:
            self.notify("The run's folder is gone", severity="warning")
            return
        epoch = self.replay.epoch if self.replay is not None and self.replay_moved else None
        self.app.push_screen(CellScreen(record, self.training, epoch, self._snapshots))

    def reset_settings(self) -> None:
        """Put the form back to the tutorial defaults for the chosen topology."""
        if not self.running:
            self.query_one(ConfigForm).reset(Config(topology=self.query_one(ConfigForm).topology))

    # ----------------------------------------------------------------- TensorFlow and summary

    def tensorflow_ready(self) -> None:
        """Called by the app once TensorFlow is loaded: show the summary, start a waiting run."""
        self.request_summary()
        if self.phase == Phase.WAITING:
            self._set_state(progress.started(self.state))
            self._start()
        self.refresh_status()

    def tensorflow_failed(self, reason: str) -> None:
        """Called by the app when TensorFlow cannot be imported."""
        self.query_one(SummaryPane).show_message(f"TensorFlow could not be loaded: {reason}")
        if self.phase == Phase.WAITING:
            self._set_state(progress.ended(self.state, None, f"TensorFlow could not be loaded: {reason}"))
            self._unlock_form()
        self.refresh_status()

    @on(ConfigForm.Changed)
    def _settings_changed(self, event: ConfigForm.Changed) -> None:
        """Refresh the summary shortly after the settings stop changing; train if ctrl+r asked
        while the data file was being read."""
        if not self.running:
            self.invalid = ""
            self._show_sequence()
            self._mark_stale()
            self.refresh_status()
            if self._train_when_read and event.form.settled():
                self.action_train()
        if self._summary_timer is not None:
            self._summary_timer.stop()
        self._summary_timer = self.set_timer(0.12, self.request_summary)

    def request_summary(self) -> None:
        """Show the summary for the form's settings, building the model in a job if needed."""
        if not self.app.tf_ready or not self.is_mounted:
            return
        form = self.query_one(ConfigForm)
        pane = self.query_one(SummaryPane)
        if not form.settled():  # asked again once the file is read
            pane.show_message(f"reading {form.reading}…")
            return
        if form.config is None:
            pane.show_message("fix the settings on the left to see the model")
            return
        key = summary_key(form.config)
        if key in self._summaries:
            pane.show_summary(self._summaries[key], explain.data_note(form.config))
            return
        pane.show_message("building the model…")
        config = form.config.resolved()

        def build(job: Job, report: Any) -> tuple[tuple, Any]:
            return key, summarize(engine.build_model(config))

        self._summary_job = self.training.start(self, build, group="summary")

    # ----------------------------------------------------------------- jobs

    def on_job_progress(self, message: JobProgress) -> None:
        """Apply a batch of the training's engine events; panes redraw once per batch."""
        if message.job is not self._job:
            return
        chart, log = self.query_one(LossChart), self.query_one(EpochLog)
        state, now = self.state, time.monotonic()
        predictions: Predictions | None = None
        deterministic = self.app.deterministic
        for event in message.items:
            state = progress.advance(state, event, now)
            if isinstance(event, Epochs):
                self.history.extend(event.losses)
                chart.extend(event.losses, event.val_losses)
                log.add_epochs(event.losses, event.val_losses)
            elif isinstance(event, Predictions):
                predictions = event
            elif isinstance(event, Compiling):
                log.add_notes([f"compiling ({event.how})…"])
            elif isinstance(event, Compiled):
                log.add_notes(["compiled" if deterministic else f"compiled in {event.seconds:.2f} s"])
            elif isinstance(event, Finished):
                length = self.run_config.length if self.run_config else len(event.targets)
                self._show_predictions(event.predictions[:length], len(event.history))
                early = event.best_epoch is not None and len(event.history) < state.total
                # (the early note fits the log's 21 columns in an 80-column lab up to 9,999 epochs)
                epochs = f"{len(event.history):,}"
                notes = [f"finished early: {epochs}" if early else f"finished: {epochs} epochs"]
                if not deterministic:
                    notes.append(f"{event.wall_s:.2f} s · {event.epochs_per_s:,.0f} epochs/s")
                notes.append(f"final loss {format_loss(event.history[-1])}" if event.history else "no epochs")
                if event.val_history:
                    notes.append(f"final val {format_loss(event.val_history[-1])}")
                if event.best_epoch is not None:  # early stopping: the weights kept are this epoch's
                    notes.append(f"kept epoch {event.best_epoch:,} (best)")
                    chart.mark_best(event.best_epoch)
                    log.mark_best(event.best_epoch)
                log.add_notes(notes)
            elif isinstance(event, Cancelled):
                log.add_notes([f"stopped after {event.epoch:,} epochs"])
            elif isinstance(event, Failed):
                log.add_notes([f"failed: {event.message}"])
        if predictions is not None and state.phase != Phase.SAVING and now - self._predictions_at >= PREDICTIONS_EVERY_S:
            self._predictions_at = now
            self._show_predictions(predictions.values, predictions.epoch)
        chart.flush()  # one frame per batch for everything that changed
        log.flush()
        self._set_state(state)

    def on_job_done(self, message: JobDone) -> None:
        """A job's thread has ended: settle the training, or show a summary or a saved script."""
        job = message.job
        if job is self._job:
            self._training_done(message.result, message.error)
        elif job.group == "summary":
            self._summary_done(message)
        elif job.group == "export":
            if message.error:  # a full disk or a read-only folder: said, not raised
                self.notify(f"Export failed: {message.error}", severity="error")
            elif message.result is not None:
                path = self.exported_script = message.result
                self.notify(f"{path.name}\nin {path.parent}", title="Plain-Keras script saved", timeout=8)

    def _summary_done(self, message: JobDone) -> None:
        """Cache a built summary; show it if it still matches the form."""
        if message.error:
            if message.job is self._summary_job:
                self.query_one(SummaryPane).show_message(f"could not build the model: {message.error}")
            return
        if message.result is None:
            return  # stopped before it was built
        key, summary = message.result
        self._summaries[key] = summary
        form = self.query_one(ConfigForm)
        if form.config is not None and summary_key(form.config) == key:
            self.query_one(SummaryPane).show_summary(summary, explain.data_note(form.config))
        self.refresh_status()

    # ----------------------------------------------------------------- training

    def _reset_run(self, config: Config) -> None:
        """Clear the panes for a new run of ``config``."""
        self.history = []
        self.last_record = None
        self._predicted_epoch = None
        self.set_replay([], [], 0)
        self._snapshots = None
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
        """Start the training job for ``run_config``."""
        config = self.run_config
        assert config is not None
        store = getattr(self.app, "run_store", None)

        def train(job: Job, report: Any) -> tuple[dict, Snapshots, list[tuple[float, ...]]]:
            kept = Snapshots()
            record = run_experiment(config, report, job.should_stop, store=store, snapshots=kept, hold_at=job.hold_at)
            if record["status"] not in ("finished", "stopped") or not kept:
                return record, Snapshots(), []
            # Every snapshot's predictions now, so scrubbing and replay only look them up.
            return record, kept, first_sequence_predictions(config, engine.build_model(config), kept)

        self._job = self.training.start(self, train)

    def _training_done(self, result: tuple | None, error: str | None) -> None:
        """The training thread has ended: settle the final state, take its snapshots for replay,
        and unlock the form."""
        record, self._snapshots, shown = result if result is not None else (None, None, [])
        self.set_replay(self._snapshots.epochs if self._snapshots else [], shown, len(self.history))
        self.last_record = record
        status = record.get("status") if record is not None else None
        failure = error or (str(record.get("error") or "") if record is not None else "")
        state = progress.ended(self.state, status, failure)
        if state.phase == Phase.DIVERGED:
            self.query_one(EpochLog).add_notes([f"diverged: {state.failure}"])
        elif error:
            self.query_one(EpochLog).add_notes([f"failed: {error}"])
        self._set_state(state)
        self._unlock_form()

    def _unlock_form(self) -> None:
        """Let the settings be edited again."""
        self.query_one(ConfigForm).disabled = False

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
            inputs, targets = config.first_sequence
        except Exception:
            return
        self.query_one(PredictionTable).show(inputs.tolist(), targets.tolist(), None)
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
        inputs, targets = (part.tolist() for part in self.run_config.first_sequence)
        table = self.query_one(PredictionTable)
        table.show(inputs, targets, list(values)[: len(targets)], epoch)
        self._predicted_epoch = epoch
        table.border_subtitle = f"{self.run_config.topology} · epoch {epoch:,}"

    @property
    def stale(self) -> bool:
        """The last run's results are on screen, but the form now asks for other settings."""
        if self.run_config is None or self.running or self.phase == Phase.IDLE:
            return False
        form = self.query_one(ConfigForm)
        if not form.settled():  # known once the file is read (the form then says it changed)
            return False
        return form.config is None or form.config.resolved() != self.run_config

    def _mark_stale(self) -> None:
        """Say on the predictions pane when they answer other settings than the form's."""
        table = self.query_one(PredictionTable)
        if self._predicted_epoch is not None and self.run_config is not None:
            mark = " · earlier settings" if self.stale else ""
            table.border_subtitle = f"{self.run_config.topology} · epoch {self._predicted_epoch:,}{mark}"

    def refresh_status(self) -> None:
        """Rewrite the status line from the training state, or from the form when idle."""
        status = self.query_one(StatusBar)
        app = self.app
        if self.replay is not None and self.replay_moved and not self.running:
            status.show(*progress.replay_status(self.replay))
        elif self.phase != Phase.IDLE:
            kind, text = progress.status(self.state, timings=not app.deterministic)
            status.show(kind, f"{text} · settings changed since: ctrl+r trains them" if self.stale else text)
        elif self.invalid:
            status.show("invalid", f"can't train: {self.invalid}")
        elif app.tf_failed:
            status.show("failed", f"TensorFlow could not be loaded: {app.tf_failed}")
        elif not app.tf_ready:
            status.show("loading", "loading TensorFlow… ctrl+r already works: training starts once it is ready")
        else:
            form = self.query_one(ConfigForm)
            if not form.settled():
                status.show("loading", f"reading {form.reading}… ctrl+r trains once it is read")
            elif form.config is None:
                status.show("invalid", "fix the highlighted settings to train")
            else:
                c = form.config.resolved()
                cost = engine.cost(c)  # arithmetic: microseconds, fine on every settings change
                reason = estimate.refusal(c, cost, estimate.available_memory())
                if reason:
                    status.show("invalid", f"can't train: {reason}")
                else:
                    # (a narrow status line drops whole parts from the end: the estimate goes last)
                    status.show("idle", f"ready · ctrl+r trains {c.epochs:,} epochs: {cost.brief()}")
        if app.deterministic:
            device = ""
        elif app.tf_ready:
            device = app.device
        elif app.tf_failed:
            device = "no TensorFlow"
        else:
            device = ""
        params = self.query_one(SummaryPane).border_subtitle or ""
        status.show_device(" · ".join(part for part in (params, device) if part))
