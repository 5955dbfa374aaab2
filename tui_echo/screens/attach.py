"""Attach: watch, read-only, a run that another process trains (``tui-echo attach [RUN_ID]``).

Polls the run's folder every ``POLL_S``: the new part of ``history.f32`` (and of
``val_history.f32``, for a run with validation data) feeds the loss curve and the log,
``progress.json`` (the training's heartbeat) the status line, ``run.json`` says when the run has
ended, and then its saved predictions fill the predictions pane. Escape, confirmed with y,
asks the training to stop through the run's ``stop-requested`` file (``runs.request_stop``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ..core.config import Config
from ..core.record import first_inputs, first_sequence
from ..core.runs import RunError, RunFollower, RunStore, request_stop
from ..widgets import EpochLog, KeyBar, LossChart, PredictionTable, StatusBar
from .base import LeanScreen

POLL_S = 0.5  # how often the run's folder is read: cheap (a stat, a few small files)


class ConfirmStop(ModalScreen[bool]):
    """Asks before an attached run is stopped: y stops it, n or escape leaves it running."""

    BINDINGS = [
        Binding("y", "answer(True)", "Stop", id="stop-yes", tooltip="Ask the training to stop and save"),
        Binding("n,escape", "answer(False)", "Keep", id="stop-no", tooltip="Leave it training"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        """One question."""
        yield Static(f"Stop run {self.run_id}? It is saved as stopped.\n\n[b]y[/b] stop · [b]n[/b] keep training",
                     id="confirm")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)


class AttachScreen(LeanScreen):
    """Another process's run as it trains: loss curve, log, progress, and predictions at the end."""

    HELP_TITLE = "attached run keys"
    BINDINGS = [
        Binding("escape", "stop", "Stop run", id="attach-stop", tooltip="Ask the training process to stop (asks first)"),
        Binding("q", "app.quit", "Detach", id="attach-quit", tooltip="Leave; the training goes on"),
    ]

    def __init__(self, store: RunStore, run_id: str) -> None:
        super().__init__()
        self.store, self.run_id = store, run_id
        self.follower = RunFollower(store.root / run_id)
        self.status = "running"
        self.epochs = 0
        self.stop_asked = False
        self.planned = 0  # epochs the run was started for

    def compose(self) -> ComposeResult:
        """Predictions above the curve and the log; the status line and the keys."""
        with Vertical(id="attach"):
            yield PredictionTable(id="predictions")
            with Horizontal(id="bottom"):
                yield LossChart(id="curve")
                yield EpochLog(id="log")
        yield StatusBar(id="status")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        """Show what is there already, then follow the folder."""
        self.query_one("#predictions").border_title = "Predictions (when the run finishes)"
        self.query_one("#curve").border_title = "Loss (log scale)"
        config = self.follower.meta().get("config") or {}
        self.planned = int(config.get("epochs") or 0)
        self.query_one(LossChart).reset(self.planned)
        with contextlib.suppress(TypeError, ValueError):  # a config this version cannot read: no sequence
            inputs, targets = Config(**config).first_sequence  # one sequence, drawn alone
            self.query_one(PredictionTable).show(inputs.tolist(), targets.tolist())
        self.query_one(EpochLog).add_notes([f"attached to run {self.run_id}", "read-only: q detaches"])
        self.poll()
        self.set_interval(POLL_S, self.poll)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stop applies only while the run trains and no stop was asked yet."""
        if action == "stop":
            return self.status == "running" and not self.stop_asked
        return True

    def poll(self) -> None:
        """Read what the training wrote since the last poll."""
        if self.status != "running":
            return
        chart, log = self.query_one(LossChart), self.query_one(EpochLog)
        # Status first: run.json is written last, so once it says the run ended, the files read
        # below are complete.
        status = self.follower.meta().get("status", "running")
        losses, val_losses, restart = self.follower.new_losses()
        if restart:
            chart.reset(self.planned)
            log.clear()
            self.epochs = 0
        if losses or val_losses:
            shown = [float("nan") if v is None else v for v in losses]
            # The epoch log and chart take validation losses along with their epochs' losses; the
            # reader never hands out more of them than losses, so this run's lag is caught up here.
            val = [float("nan") if v is None else v for v in val_losses]
            chart.extend(shown, val)
            log.add_epochs(shown, val)
            self.epochs += len(losses)
        chart.flush()
        log.flush()
        if status != "running":
            self._ended(status)
            return
        beat = self.follower.heartbeat()
        text = beat.get("text") or f"training · {self.epochs:,} epochs so far"
        asked = " · stop asked, waiting for the training…" if self.stop_asked else ""
        self.query_one(StatusBar).show("stopping" if self.stop_asked else "training",
                                       f"attached to {self.run_id} · {text}{asked}")

    def _ended(self, status: str) -> None:
        """The run has ended: say how, and show its saved predictions."""
        self.status = status
        self.refresh_bindings()
        record: dict[str, Any] = {}
        try:
            record = self.store.load(self.run_id)
        except (KeyError, RunError):
            pass
        epochs = len(record.get("history") or []) or self.epochs
        if record.get("best_epoch"):  # early stopping kept this epoch's weights
            for widget in (self.query_one(LossChart), self.query_one(EpochLog)):
                widget.mark_best(record["best_epoch"])
        if record.get("predictions"):  # a finished run's (a stopped one saves none)
            targets, predictions = first_sequence(record)
            inputs = first_inputs(record) or [0.0] * len(targets)
            self.query_one(PredictionTable).show(inputs, targets, predictions, epochs)
        kind = "finished" if status == "finished" else "failed" if status in ("failed", "diverged") else "stopped"
        self.query_one(EpochLog).add_notes([f"the run ended: {status} after {epochs:,} epochs"])
        self.query_one(EpochLog).flush()
        self.query_one(StatusBar).show(kind, f"run {self.run_id} ended: {status} after {epochs:,} epochs · q leaves")

    def action_stop(self) -> None:
        """Ask first, then ask the training process to stop (through the run's folder)."""
        def answered(yes: bool | None) -> None:
            if yes and self.status == "running":
                request_stop(Path(self.follower.folder))
                self.stop_asked = True
                self.refresh_bindings()
                self.poll()

        self.app.push_screen(ConfirmStop(self.run_id), answered)
