"""The runs screen: every saved training, reopened read-only or deleted after a confirmation."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ..core.config import Config
from ..core.formatting import format_loss
from ..core.runs import RunError
from ..core.summary import render, summary_from_record
from ..widgets import KeyBar, LossChart, PredictionTable
from .base import LeanScreen


class ConfirmDelete(ModalScreen[bool]):
    """Asks before a run is deleted: y deletes, n or escape keeps it."""

    BINDINGS = [
        Binding("y", "answer(True)", "Delete", id="confirm-yes", tooltip="Delete the run"),
        Binding("n,escape", "answer(False)", "Keep", id="confirm-no", tooltip="Keep the run"),
    ]

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    def compose(self) -> ComposeResult:
        """One question."""
        yield Static(f"Delete run {self.run_id}?\n\n[b]y[/b] delete · [b]n[/b] keep", id="confirm")

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)


class RunView(LeanScreen):
    """One saved run, read-only: summary, loss curve and predictions."""

    HELP_TITLE = "saved run keys"
    BINDINGS = [Binding("escape,q", "close", "Back", id="run-back", tooltip="Back to the list of runs")]

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        """Summary and predictions on top, the curve below."""
        with Horizontal(id="run-top"):
            yield Static(id="run-summary")
            yield PredictionTable(id="run-predictions")
        yield LossChart(id="run-curve")
        yield KeyBar(id="run-keys")

    def on_mount(self) -> None:
        """Fill the panes from the record."""
        record = self.record
        summary = self.query_one("#run-summary", Static)
        summary.border_title = f"Run {record.get('id', '?')} · {record.get('status', '?')}"
        try:
            summary.update(render(summary_from_record(record), formulas=False))
        except (KeyError, TypeError):
            summary.update(Text(f"no summary saved (status {record.get('status')})", style="dim"))
        history = [v for v in record.get("history", []) if v is not None]
        chart = self.query_one(LossChart)
        chart.border_title = "Loss (log scale)"
        chart.reset(len(history))
        chart.extend(history)
        chart.flush()
        table = self.query_one(PredictionTable)
        table.border_title = "Predictions"
        try:
            problem = Config(**record["config"]).problem
            inputs, targets = problem.inputs[0].tolist(), problem.targets[0].tolist()
        except Exception:
            return
        predictions = record.get("predictions") or None
        table.show(inputs, targets, predictions[: len(targets)] if predictions else None, len(history))
        table.border_subtitle = f"{record.get('topology', '')} · epoch {len(history):,}"

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)


class RunsScreen(LeanScreen):
    """Every run in the store, newest first."""

    HELP_TITLE = "runs keys"
    BINDINGS = [
        Binding("enter,o", "open", "Open", id="runs-open", tooltip="Reopen the highlighted run (read-only)"),
        Binding("delete", "delete", "Delete", id="runs-delete", tooltip="Delete the highlighted run (asks first)"),
        Binding("escape", "back", "Back", id="runs-back", tooltip="Back to the lab"),
    ]

    def compose(self) -> ComposeResult:
        """The list and the keys."""
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="runs-status")
        yield KeyBar(id="runs-keys")

    def on_mount(self) -> None:
        """Columns, then the runs."""
        table = self.query_one(DataTable)
        table.border_title = "Runs"
        table.add_columns("id", "when", "topology", "status", "epochs", "final loss")
        self.reload()
        table.focus()

    @property
    def store(self):  # noqa: ANN201
        """The app's run store."""
        return getattr(self.app, "run_store", None)

    def reload(self) -> None:
        """Read the store again; folders that are not readable runs are counted and the first named."""
        table = self.query_one(DataTable)
        table.clear()
        runs, problems = self.store.scan() if self.store is not None else ([], [])
        for run in runs:
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.started))
            table.add_row(run.id, when, run.topology, run.status, f"{run.epochs:,}", format_loss(run.final_loss), key=run.id)
        where = self.store.root if self.store is not None else "nowhere (no run store)"
        status = Text(f"{len(runs)} runs in {where}" if runs
                      else f"no runs yet: each training in the lab (ctrl+r) is saved here · {where}")
        if problems:
            status.append(f" · {len(problems)} skipped: {problems[0]}", style="bold")
        self.query_one("#runs-status", Static).update(status)
        self.refresh_bindings()  # Open and Delete only with a run to act on

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Open and Delete only when there is a run."""
        if action in ("open", "delete"):
            return self.query_one(DataTable).row_count > 0
        return True

    def _highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return str(table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row opens it."""
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        """Reopen the highlighted run."""
        run_id = self._highlighted()
        if run_id is None or self.store is None:
            return
        try:
            record = self.store.load(run_id)
        except KeyError:
            self.notify(f"Run {run_id} is gone", severity="warning")
            self.reload()
            return
        except RunError as error:  # changed on disk since it was listed
            self.notify(f"Run {run_id} cannot be read: {error}", severity="warning", markup=False)
            self.reload()
            return
        self.app.push_screen(RunView(record))

    def action_delete(self) -> None:
        """Ask, then delete the highlighted run."""
        run_id = self._highlighted()
        if run_id is None or self.store is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                try:
                    self.store.remove(run_id)
                except (KeyError, OSError) as error:
                    self.notify(f"Could not delete {run_id}: {error}", severity="error", markup=False)
                else:
                    self.notify(f"Deleted run {run_id}")
                self.reload()

        self.app.push_screen(ConfirmDelete(run_id), answered)

    def action_back(self) -> None:
        """Back to the lab."""
        self.dismiss(None)
