"""The runs screen: every saved training, reopened read-only or deleted after a confirmation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ..core.config import Config
from ..core.formatting import format_loss
from ..core.runs import RunError, RunInfo
from ..core.summary import render, summary_from_record
from ..widgets import KeyBar, LossChart, PredictionTable
from .base import LeanScreen, fit_columns


RUN_COLUMNS = ("id", "status", "final loss", "topology", "epochs", "task", "cell", "lr", "seed", "started")


def run_cells(run: RunInfo) -> dict[str, str]:
    """One run's cells, by column."""
    return {
        "id": run.id, "status": run.status, "final loss": format_loss(run.final_loss), "topology": run.topology,
        "epochs": f"{run.epochs:,}", "task": run.task, "cell": run.cell,
        "lr": "-" if run.lr is None else f"{run.lr:g}", "seed": "-" if run.seed is None else str(run.seed),
        "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started)),
    }


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
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="run-back", tooltip="Back to the list of runs"),
        Binding("i", "inspect", "Inside", id="run-inspect",
                tooltip="Inside the cell: gates and states per timestep, gradient reach (runs with a saved model)"),
    ]

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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``i`` only for a run whose model was saved."""
        if action == "inspect":
            return (Path(self.record.get("path", "")) / "model.keras").is_file()
        return True

    def action_inspect(self) -> None:
        """Open the inside-the-cell view of this run."""
        from .cell import CellScreen

        if self.check_action("inspect", ()):
            self.app.push_screen(CellScreen(self.record, self.app.training))

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
        """The runs, in the columns that fit."""
        table = self.query_one(DataTable)
        table.border_title = "Runs"
        self.reload()
        table.focus()

    def on_resize(self) -> None:
        """Choose the columns again for the new width."""
        self.reload()

    @property
    def store(self):  # noqa: ANN201
        """The app's run store."""
        return getattr(self.app, "run_store", None)

    def reload(self) -> None:
        """Read the store again; folders that are not readable runs are counted and the first named.

        Columns join in ``RUN_COLUMNS`` order while they fit whole: the ID (what ``runs show``
        takes) and the final loss first, the start time (which the ID also holds) last.
        """
        table = self.query_one(DataTable)
        current = self._highlighted()
        runs, problems = self.store.scan() if self.store is not None else ([], [])
        rows = [run_cells(run) for run in runs]
        widths = {key: max([len(key), *(len(row[key]) for row in rows)]) for key in RUN_COLUMNS}
        keys = fit_columns(widths, (table.size.width or self.app.size.width) - 2, RUN_COLUMNS)
        table.clear(columns=True)
        for key in keys:
            table.add_column(key, key=key, width=widths[key])
        for run, row in zip(runs, rows):
            table.add_row(*(row[key] for key in keys), key=run.id)
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current), animate=False)
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
