"""The runs screen: every saved training, reopened read-only, compared, loaded back into the lab's
form, or deleted after a confirmation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ..core import csvdata, diff, progress
from ..core.inspect import load_run_model
from ..core.compare import default_export_folder
from ..core.config import Config, ConfigError
from ..core.record import first_inputs, first_sequence
from ..core.runs import SNAPSHOTS, RunError
from ..core.snapshots import first_sequence_predictions
from ..core.summary import summary_from_record
from ..messages import JobDone
from ..training import Job, read_files
from ..widgets import ConfigForm, KeyBar, LossChart, PredictionTable
from ..widgets.summary_pane import summary_renderable
from .base import LeanScreen, fit_columns
from .side_by_side import MAX_RUNS, SideBySide
from .replay import REPLAY_ACTIONS, REPLAY_BINDINGS, ReplayControls


RUN_COLUMNS = ("id", "status", "final loss", "val loss", "topology", "epochs", "task", "cell", "lr", "seed", "started")


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


class RunView(ReplayControls, LeanScreen):
    """One saved run, read-only: summary, loss curve and predictions; scrubbed and replayed
    through its snapshots once they are loaded."""

    HELP_TITLE = "saved run keys"
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="run-back", tooltip="Back to the list of runs"),
        Binding("i", "inspect", "Inside", id="run-inspect",
                tooltip="Inside the cell (at the replay's epoch): gates and states per timestep, gradient reach"),
        *REPLAY_BINDINGS,
    ]

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record
        self._snapshots = None
        self._replay_job = None
        self._inputs: list[float] = []
        self._targets: list[float] = []

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
            # The lab's compact table: Keras' own layout cut the shapes at 80 columns.
            summary.update(summary_renderable(summary_from_record(record), ascii_only=self.app.ascii_only))
        except (KeyError, TypeError):
            summary.update(Text(f"no summary saved (status {record.get('status')})", style="dim"))
        history = [v for v in record.get("history", []) if v is not None]
        chart = self.query_one(LossChart)
        chart.border_title = "Loss (log scale)"
        chart.reset(len(history))
        chart.extend(history, record.get("val_history") or ())
        chart.mark_best(record.get("best_epoch"))
        chart.flush()
        table = self.query_one(PredictionTable)
        table.border_title = "Predictions"
        targets, predictions = first_sequence(record)
        try:
            inputs = first_inputs(record) or [math.nan] * len(targets)  # a callback's sample may have many features
        except Exception:
            return
        table.show(inputs, targets, predictions or None, len(history))
        table.border_subtitle = f"{record.get('topology', '')} · epoch {len(history):,}"
        self._inputs, self._targets = inputs, targets
        self._load_replay()

    def _load_replay(self) -> None:
        """Read the snapshots and compute their predictions in a job (the model loads there)."""
        folder = Path(self.record.get("path", ""))
        store = getattr(self.app, "run_store", None)
        if store is None or not (folder / "model.keras").is_file() or not (folder / SNAPSHOTS).is_file():
            return
        record = self.record

        def work(job: Any, report: Any) -> tuple:
            snapshots = store.snapshots(record["id"])
            model, config, _ = load_run_model(record)
            return snapshots, first_sequence_predictions(config, model, snapshots)

        self._replay_job = self.app.training.start(self, work, group="replay")

    def on_job_done(self, message: JobDone) -> None:
        """The snapshots are loaded: the replay keys apply (a run that cannot be read says so)."""
        if message.job is not self._replay_job:
            return
        if message.error or message.result is None:
            self.notify(f"No replay: {message.error or 'stopped'}", severity="warning")
            return
        self._snapshots, shown = message.result
        self.set_replay(self._snapshots.epochs, shown, len(self.record.get("history", [])))
        self.refresh_bindings()

    def replay_ready(self) -> bool:
        """Once the snapshots are loaded."""
        return True

    def show_replay_frame(self) -> None:
        """The curve's marker and the predictions at the replay's epoch; the table says where."""
        replay = self.replay
        self.query_one(LossChart).point_at(replay.epoch - 1)
        table = self.query_one(PredictionTable)
        table.show(self._inputs, self._targets, list(self.replay_predictions[replay.index]), replay.epoch)
        table.border_subtitle = progress.replay_status(replay)[1]
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``i`` only for a run whose model was saved; the replay keys once its snapshots are loaded."""
        if action == "inspect":
            return (Path(self.record.get("path", "")) / "model.keras").is_file()
        if action in REPLAY_ACTIONS:
            return self.replay_allows(action)
        return True

    def action_inspect(self) -> None:
        """Open the inside-the-cell view of this run (at the replay's epoch once one was moved to)."""
        from .cell import CellScreen

        if self.check_action("inspect", ()):
            epoch = self.replay.epoch if self.replay is not None and self.replay_moved else None
            self.app.push_screen(CellScreen(self.record, self.app.training, epoch, self._snapshots))

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)


class DiffView(LeanScreen):
    """Two saved runs side by side (``tui-echo diff`` in a screen)."""

    HELP_TITLE = "diff keys"
    BINDINGS = [Binding("escape,q", "close", "Back", id="diff-back", tooltip="Back to the list of runs")]

    def __init__(self, result: dict[str, Any]) -> None:
        super().__init__()
        self.result = result

    def compose(self) -> ComposeResult:
        """The tables, scrollable."""
        with VerticalScroll(id="diff"):
            for table in diff.render(self.result):
                yield Static(table)
        yield KeyBar(id="diff-keys")

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)


class RunsScreen(LeanScreen):
    """Every run in the store, newest first."""

    HELP_TITLE = "runs keys"
    BINDINGS = [
        Binding("enter,o", "open", "Open", id="runs-open", tooltip="Reopen the highlighted run (read-only)"),
        Binding("delete", "delete", "Delete", id="runs-delete", tooltip="Delete the highlighted run (asks first)"),
        Binding("space", "select", "Select", id="runs-select",
                tooltip=f"Select or unselect the highlighted run (up to {MAX_RUNS})"),
        Binding("c", "compare", "Compare", id="runs-compare",
                tooltip="The selected runs side by side: curves, settings (differences marked), results, predictions"),
        Binding("d", "diff", "Diff", id="runs-diff", tooltip="What differs between the two selected runs"),
        Binding("l", "load", "Load", id="runs-load", tooltip="Load the highlighted run's settings into the lab's form"),
        Binding("e", "export", "TensorBoard", id="runs-export",
                tooltip="Write the highlighted run as TensorBoard logs in the exports folder"),
        Binding("escape", "back", "Back", id="runs-back", tooltip="Back to the lab"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []  # run IDs, in the order they were selected
        self._loading: tuple[Job, str] | None = None  # reading a run's CSV file before loading it
        self._listed: tuple[int, list[str]] = (0, [])  # runs listed, folders skipped

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
        self.selected = [run_id for run_id in self.selected if any(run.id == run_id for run in runs)]
        rows = [run.cells() for run in runs]
        validated = any(run.final_val_loss is not None for run in runs)
        columns = tuple(key for key in RUN_COLUMNS if key != "val loss" or validated)  # only when a run has it
        widths = {key: max([len(key), *(len(row[key]) for row in rows)]) for key in columns}
        keys = fit_columns(widths, (table.size.width or self.app.size.width) - 2, columns)
        table.clear(columns=True)
        for key in keys:
            table.add_column(key, key=key, width=widths[key])
        for run, row in zip(runs, rows):
            table.add_row(*(self._id_cell(run.id) if key == "id" else row[key] for key in keys), key=run.id)
        if current is not None and current in table.rows:
            table.move_cursor(row=table.get_row_index(current), animate=False)
        self._listed = (len(runs), problems)
        self._show_status()

    def _show_status(self) -> None:
        """How many runs, where, which are selected and which folders were skipped."""
        count, problems = self._listed
        where = self.store.root if self.store is not None else "nowhere (no run store)"
        status = Text(f"{count} runs in {where}" if count
                      else f"no runs yet: each training in the lab (ctrl+r) is saved here · {where}")
        if self.selected:
            status.append(f" · selected {', '.join(self.selected)}" + (" · c: compare" if len(self.selected) >= 2 else "")
                          + (" · d: diff" if len(self.selected) == 2 else ""))
        if problems:
            status.append(f" · {len(problems)} skipped: {problems[0]}", style="bold")
        self.query_one("#runs-status", Static).update(status)
        self.refresh_bindings()  # Open, Delete and Export with a run to act on, Diff with two selected

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Open, Delete and Export only when there is a run."""
        if action in ("open", "delete", "export", "select", "load"):
            return self.query_one(DataTable).row_count > 0
        if action == "diff":
            return len(self.selected) == 2
        if action == "compare":
            return len(self.selected) >= 2
        return True

    def _id_cell(self, run_id: str) -> Text:
        """A selected run's ID shows reversed (the row keeps its width)."""
        return Text(run_id, style="reverse" if run_id in self.selected else "")

    def action_select(self) -> None:
        """Select the highlighted run (one past ``MAX_RUNS`` drops the first), or unselect it."""
        run_id = self._highlighted()
        if run_id is None:
            return
        before = set(self.selected)
        if run_id in self.selected:
            self.selected.remove(run_id)
        else:
            self.selected = [*self.selected, run_id][-MAX_RUNS:]
        table = self.query_one(DataTable)
        for changed in before ^ set(self.selected):
            table.update_cell(changed, "id", self._id_cell(changed))
        self._show_status()

    def action_diff(self) -> None:
        """What differs between the two selected runs."""
        if len(self.selected) != 2:
            return
        records = self._load_selected("diff")
        if records is not None:
            self.app.push_screen(DiffView(diff.diff(*records)))

    def action_compare(self) -> None:
        """The selected runs side by side."""
        if len(self.selected) < 2:
            return
        records = self._load_selected("compare")
        if records is not None:
            self.app.push_screen(SideBySide(records))

    def _load_selected(self, what: str) -> list[dict[str, Any]] | None:
        """The selected runs' records, or None (and a warning) when one cannot be read."""
        if self.store is None:
            return None
        try:
            return [self.store.load(run_id) for run_id in self.selected]
        except (KeyError, RunError) as error:
            self.notify(f"Cannot {what}: {error}", severity="warning", markup=False)
            self.reload()
            return None

    def action_load(self) -> None:
        """Put the highlighted run's settings in the lab's form and go back to the lab."""
        run_id = self._highlighted()
        if run_id is not None:
            self._load(run_id)

    def _load(self, run_id: str) -> None:
        """Load run ``run_id``'s settings into the lab; a CSV file not cached is read in a job first."""
        lab = getattr(self.app, "lab", None)
        if self.store is None or lab is None:
            return
        if lab.running:
            self.notify("Stop the lab's training first (escape in the lab)", severity="warning")
            return
        try:
            record = self.store.load(run_id)
            if record.get("source", "lab") != "lab":  # a Keras callback's run: its model is not one the lab builds
                raise ConfigError("config", f"is a {record.get('source')} run's, not one the lab can build")
            config = Config(**record["config"])
            if config.data and csvdata.would_parse(str(config.data)):  # checked once read
                job = self.app.training.start(self, read_files([str(config.data)]), group="read", keras=False)
                self._loading = (job, run_id)
                self.notify(f"Reading {config.data}…", markup=False)
                return
            config.check()
        except (KeyError, RunError, TypeError, ConfigError) as error:
            reason = error.reason if isinstance(error, ConfigError) else str(error)
            self.notify(f"Run {run_id}'s settings cannot be loaded: {reason}", severity="warning", markup=False)
            return
        lab.query_one(ConfigForm).reset(config)
        self.notify(f"Loaded the settings of run {run_id}")
        self.dismiss(None)

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

    def action_export(self) -> None:
        """Write the highlighted run as TensorBoard logs, in the background (TensorFlow writes them)."""
        from ..core import tensorboard

        run_id, training = self._highlighted(), getattr(self.app, "training", None)
        if run_id is None or self.store is None or training is None:
            return
        try:
            tensorboard.check_available()
            record = self.store.load(run_id)
        except (tensorboard.TensorBoardMissing, KeyError, RunError) as error:
            self.notify(str(error) if not isinstance(error, KeyError) else f"Run {run_id} is gone",
                        severity="warning", markup=False)
            return
        folder = default_export_folder() / "tensorboard"
        training.start(self, lambda job, report: tensorboard.export([record], folder), group="export", keras=False)

    def on_job_done(self, message: JobDone) -> None:
        """A run's file is read (load it now), or an export has ended: say where it went, or why not."""
        if self._loading is not None and message.job is self._loading[0]:
            run_id, self._loading = self._loading[1], None
            if message.error:
                self.notify(f"Run {run_id}'s settings cannot be loaded: {message.error}", severity="warning",
                            markup=False)
            else:
                self._load(run_id)
            return
        if message.job.group != "export":
            return
        if message.error:
            self.notify(f"TensorBoard export failed: {message.error}", severity="error", markup=False)
        elif message.result:
            [path] = message.result
            self.notify(f"{path}\nview: tensorboard --logdir {path.parent}", title="TensorBoard logs written",
                        timeout=10, markup=False)

    def action_back(self) -> None:
        """Back to the lab."""
        self.dismiss(None)
