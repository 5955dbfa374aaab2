"""The sweep screen (the lab's ``w``): a grid over a few settings, on the lab's other settings.

The values are typed as comma-separated lists and checked as they are typed by
``core.sweep.plan`` (its one-line message shows under the fields). ``ctrl+r`` runs the sweep as a
job of the app's training service: ``core.sweep.run`` trains the trials in local worker
processes and yields each trial as it ends; the screen only renders. The table groups trials over
seeds (``core.sweep.group_rows``: mean ± std, best first) and the parallel-coordinates view draws
one polyline per group; its range filters leave groups out of the table too. A CSV file the plan
needs that ``csvdata`` has not cached (the lab's, or one the fields add) is read by a job first;
the fields are checked again once it is.
"""

from __future__ import annotations

import json
import os
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import DataTable, Input, Static

from ..core import aggregate, csvdata, sweep
from ..core.compare import seeds_for
from ..core.config import Config, ConfigError
from ..messages import JobDone, JobProgress
from ..training import Job, TrainingService, read_files, ready_for_processes
from ..widgets.key_bar import KeyBar
from ..widgets.parallel import ParallelCoordinates, build
from .base import LeanScreen, fit_columns
from .compare import VS_BEST

# The fields, by the sweep's CLI names (``core.sweep.SWEPT``), "seeds" (how many from the lab's seed) and
# "more": any other settings as name=values pairs.
FIELDS = ("topology", "cell", "units", "lr", "seeds", "more")
GRID_FIELDS = FIELDS[:4]
MORE_EXAMPLE = "layers=1,2 epochs=500,1000"
RESULTS = {"final_loss": "loss mean ± std", "final_val_loss": "val mean ± std", "vs_best": "vs best", "seeds": "seeds",
           "max_error": "max err ± std", "best_epoch": "best ep ± std", "final_loss_range": "loss min … max"}
# The UI keeps a core: the workers take the rest.
WORKERS = max(1, (os.cpu_count() or 2) - 1)


def defaults(config: Config) -> dict[str, str]:
    """The fields' first values: the lab's topology, LSTM against GRU, its units, its lr and ten times it, 3 seeds."""
    resolved = config.resolved()
    return {"topology": resolved.topology, "cell": "lstm,gru", "units": str(resolved.units),
            "lr": f"{resolved.lr:g},{resolved.lr * 10:g}", "seeds": "3", "more": ""}


def sort_value(row: dict[str, Any], key: str) -> Any:
    """What a group sorts by in column ``key``: a mean, the lowest loss for the range, the seed count,
    best before ~best before worse, or the setting itself; None (last) when it has none."""
    if key in aggregate.METRICS or key in aggregate.VAL_METRICS:
        return (row.get(key) or {}).get("mean")
    if key == "final_loss_range":
        return (row["final_loss"] or {}).get("min")
    if key == "seeds":
        return len(row["seeds"])
    if key == "vs_best":
        return list(VS_BEST).index(row[key]) if row[key] else None
    return row.get(key)


class SweepScreen(LeanScreen):
    """Sweep a few settings over seeds; results grouped, sortable and filtered in parallel coordinates."""

    HELP_TITLE = "sweep keys"
    HELP_NOTES = ("Fields take comma-separated values (e.g. units 3,5,8); more takes any other settings as "
                  f"name=values pairs (e.g. {MORE_EXAMPLE}); the lab's other settings are kept. "
                  "Trials run in worker processes and are saved as runs tagged with the sweep's id "
                  "(tui-echo sweep --resume ID carries on a stopped one). vs best: ~best is within the seeds' "
                  "spread of the best group. Tab reaches the parallel view, where ←/→ choose an axis and "
                  "[ ] { } narrow and widen its range; the table keeps only the groups inside every range.")
    BINDINGS = [
        Binding("ctrl+r", "run", "Run", id="sweep-run", priority=True, tooltip="Run the sweep in worker processes"),
        Binding("escape", "stop", "Stop", id="sweep-stop",
                tooltip="Stop the sweep within a second; finished trials are kept"),
        Binding("escape", "back", "Back", id="sweep-back", tooltip="Back to the lab"),
        Binding("s", "sort(1)", "Sort", id="sweep-sort", key_display="s/S",
                tooltip="Outside the fields: sort the table by the next column shown (S: the previous one); "
                        "best first before the first"),
        Binding("S", "sort(-1)", show=False, id="sweep-sort-back"),
    ]

    running: reactive[bool] = reactive(False, bindings=True, repaint=False)

    def __init__(self, config: Config, training: TrainingService, *, worker_count: int = WORKERS) -> None:
        super().__init__()
        self.config = config
        self.training = training
        self.worker_count = worker_count
        self.plan: sweep.Plan | None = None  # what ctrl+r runs, while the fields are valid
        self.ran: sweep.Plan | None = None  # the sweep the table shows
        self.records: dict[int, dict[str, Any]] = {}  # trial index -> its run record
        self.ended = 0  # trials that have an outcome (a record, or stopped before they started)
        self.sort_key: str | None = None
        self.shown_columns: list[str] = []
        self.job: Job | None = None
        self.error = ""
        self.reading: str | None = None  # a CSV file the plan needs, being read in the background
        self._read: Job | None = None
        self._unreadable: dict[str, str] = {}  # path -> why its read failed (not a refusal of the file)
        self.outcome = ""  # how the last sweep ended

    def compose(self) -> ComposeResult:
        """The fields, a line for what is wrong with them, the table, the parallel view, status and keys."""
        values = defaults(self.config)
        with Horizontal(id="sweep-fields"):
            for name in FIELDS:
                field = Input(values[name], id=f"sweep-{name}", classes="sweep-field",
                              placeholder="e.g. layers=1,2" if name == "more" else "")
                field.border_title = name
                yield field
        yield Static(id="sweep-error")
        yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
        yield ParallelCoordinates(id="sweep-parallel")
        yield Static(id="sweep-status")
        yield KeyBar(id="sweep-keys")

    def on_mount(self) -> None:
        """Check the fields and title the panes."""
        self.query_one("#sweep-table").border_title = "Groups (mean over seeds)"
        self.query_one("#sweep-parallel").border_title = "Parallel coordinates"
        self.check_fields()
        self.refresh_results()

    # ----------------------------------------------------------------- fields

    def on_input_changed(self, event: Input.Changed) -> None:
        """Check the fields as they are typed."""
        event.stop()
        self.check_fields()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a field runs the sweep."""
        event.stop()
        self.action_run()

    def check_fields(self) -> None:
        """The plan of the fields' values, or the first problem as one line naming the field."""
        texts = {name: self.query_one(f"#sweep-{name}", Input).value for name in FIELDS}
        try:
            grid = {name: sweep.split_values(name, texts[name]) for name in GRID_FIELDS if texts[name].strip()}
            more = sweep.grid_from_text(texts["more"])
            twice = next((name for name in more if name in grid), None)
            if twice:
                raise ConfigError(twice, "has its own field; give its values there")
            grid.update(more)
            count = texts["seeds"].strip()
            if not count.isdigit():
                raise ConfigError("seeds", f"must be a whole number from 1 to 100 (got {count!r})")
            base = {k: v for k, v in self.config.to_dict().items() if k not in ("seed",)}
            # Every combination reads its file: each one not cached is read off the UI thread first.
            files = dict.fromkeys([*([self.config.data] if self.config.data else []), *grid.get("data", [])])
            unread = [path for path in files if csvdata.would_parse(path)]
            failed = next((path for path in unread if path in self._unreadable), None)
            if failed:
                raise ConfigError("data", f"{failed}: cannot be read ({self._unreadable[failed]})")
            self._read_files(unread)
            self.plan = None if unread else sweep.plan(grid, base, seeds_for(self.config.seed, int(count)))
            self.error = ""
        except ConfigError as error:
            self._read_files([])
            self.plan, self.error = None, f"{error.field} {error.reason}"
        note = Text(self.error, style="bold") if self.error else Text(f"reading {self.reading}…", style="dim") \
            if self.reading else ""
        self.query_one("#sweep-error", Static).update(note)
        self.refresh_status()
        self.refresh_bindings()

    def _read_files(self, paths: list[str]) -> None:
        """Read ``paths`` in a job (an older read that other fields made stale is stopped)."""
        if paths and self.reading == paths[0]:
            return
        if self._read is not None:
            self._read.stop()
        self._read, self.reading = None, None
        if paths:
            self._read = self.training.start(self, read_files(paths), group="read", keras=False)
            self.reading = paths[0]

    # ----------------------------------------------------------------- keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Run while idle with valid fields; escape stops while running, else goes back."""
        if action == "run":
            return not self.running and self.plan is not None
        if action == "stop":
            return self.running
        if action == "back":
            return not self.running
        return True

    def action_run(self) -> None:
        """Run the sweep of the fields' values."""
        if self.running or self.plan is None:
            return
        plan = self.ran = self.plan
        self.records, self.ended, self.outcome = {}, 0, ""
        self.check_fields()  # a fresh plan (and sweep id) for the next run
        store = getattr(self.app, "run_store", None)
        root, workers = getattr(store, "root", None), self.worker_count

        def work(job: Job, report: Any) -> None:
            """Every trial's outcome, as it ends (``core.sweep.run``)."""
            for outcome in sweep.run(plan, root=root, workers=workers, should_stop=job.should_stop):
                report(outcome)

        ready_for_processes()
        self.running = True
        # keras=False: the trials train in worker processes, not under this process' Keras lock.
        self.job = self.training.start(self, work, group="sweep", keras=False)
        self.refresh_results()
        self.query_one(ParallelCoordinates).focus()

    def action_stop(self) -> None:
        """Stop the sweep; finished trials stay (the workers stop within one engine chunk)."""
        if self.job is not None:
            self.job.stop()
            self.outcome = "stopping…"
            self.refresh_status()

    def action_back(self) -> None:
        """Back to the lab."""
        if self.job is not None:
            self.job.stop()
        self.dismiss(None)

    def action_sort(self, step: int) -> None:
        """Sort by the next (``step`` 1) or previous (-1) column shown; best first between the ends."""
        keys = [None, *self.shown_columns]
        current = keys.index(self.sort_key) if self.sort_key in keys else 0
        self.sort_key = keys[(current + step) % len(keys)]
        self.refresh_results()

    def on_parallel_coordinates_filtered(self, event: ParallelCoordinates.Filtered) -> None:
        """The parallel view's ranges changed: the table keeps the groups inside them."""
        self.refresh_results(redraw=False)

    # ----------------------------------------------------------------- job

    def on_job_progress(self, message: JobProgress) -> None:
        """Trials ended: their records join their groups."""
        if message.job is not self.job:
            return
        for outcome in message.items:
            self.ended += 1
            if outcome.record is not None:
                self.records[outcome.trial.index] = outcome.record
        self.refresh_results()

    def on_job_done(self, message: JobDone) -> None:
        """A file is read (check the fields again), or the sweep has ended (all trials, or
        stopped: the finished ones are kept)."""
        if message.job is self._read:
            if message.error and self.reading:
                self._unreadable[self.reading] = message.error
            self._read, self.reading = None, None
            self.check_fields()
            return
        if message.job is not self.job:
            return
        self.running = False
        plan = self.ran
        finished = sum(1 for r in self.records.values() if r.get("status") in sweep.DONE)
        total = len(plan.trials) if plan else 0
        if message.error:
            self.outcome = f"failed: {message.error}"
            self.notify(f"Sweep failed: {message.error}", severity="error", markup=False)
        elif finished < total:
            self.outcome = f"stopped: {finished} of {total} trials kept · sweep {plan.id}"
        else:
            self.outcome = f"done: {total} trials · sweep {plan.id}"
        self.refresh_results()

    # ----------------------------------------------------------------- panes

    def groups(self) -> list[dict[str, Any]]:
        """The shown sweep's groups, best first (``core.sweep.group_rows``), over the trials that
        ended for good: a stopped trial's loss is not a result."""
        done = {index: r for index, r in self.records.items() if r.get("status") in sweep.DONE}
        return sweep.group_rows(self.ran, done) if self.ran is not None else []

    def visible(self) -> list[dict[str, Any]]:
        """The groups inside every range of the parallel view, in the table's order."""
        rows = self.groups()
        kept = [rows[i] for i in self.query_one(ParallelCoordinates).shown()] if rows else []
        if self.sort_key is not None:
            present = [r for r in kept if sort_value(r, self.sort_key) is not None]
            kept = sorted(present, key=lambda r: sort_value(r, self.sort_key)) + [
                r for r in kept if sort_value(r, self.sort_key) is None]
        return kept

    def refresh_results(self, redraw: bool = True) -> None:
        """The parallel view (unless only its ranges changed), the table and the status line."""
        rows = self.groups()
        settings = sweep.varying(self.ran) if self.ran is not None else []
        if redraw:
            axes, points = build(rows, settings)
            best = 0 if rows and rows[0]["vs_best"] == aggregate.BEST else None
            self.query_one(ParallelCoordinates).show(axes, points, best)
        self._table(settings)
        self.refresh_status()

    def _table(self, settings: list[str]) -> None:
        """The visible groups in the columns that fit, whole."""
        table = self.query_one("#sweep-table", DataTable)
        seeds = len(self.ran.seeds) if self.ran is not None else 0
        validation = sweep.validated(self.groups())  # the val column only when a trial had validation data
        results = {k: h for k, h in RESULTS.items() if k != "final_val_loss" or validation}
        lines = []
        for r in self.visible():
            label = r["vs_best"]
            cells: dict[str, Any] = {name: str(r[name]) for name in settings}
            cells.update({
                "final_loss": aggregate.mean_std_text(r["final_loss"], ".2e"),
                "vs_best": Text(VS_BEST[label], style="bold" if label == aggregate.NOT_SEPARABLE else "") if label else "-",
                "seeds": f"{len(r['seeds'])}/{seeds}",
                "max_error": aggregate.mean_std_text(r["max_error"], ".3f"),
                "best_epoch": aggregate.mean_std_text(r["best_epoch"], ".0f"),
                "final_loss_range": aggregate.range_text(r["final_loss"], ".2e"),
                "final_val_loss": aggregate.mean_std_text(r.get("final_val_loss"), ".2e"),
            })
            lines.append((json.dumps({n: r[n] for n in settings}, sort_keys=True), cells))
        headers = {**{name: name for name in settings}, **results}
        headers = {k: h + (" v" if k == self.sort_key else "") for k, h in headers.items()}
        widths = {k: max([len(h), *(len(str(c[k])) for _, c in lines)]) for k, h in headers.items()}
        room = (table.size.width or self.app.size.width) - 2
        keys = [k for k in headers if k in fit_columns(widths, room, tuple(headers))]
        table.clear(columns=True)
        for key in keys:
            table.add_column(headers[key], key=key, width=widths[key])
        for key, cells in lines:
            table.add_row(*(cells[k] for k in keys), key=key)
        self.shown_columns = keys

    def refresh_status(self) -> None:
        """What runs or ran, the sort and the filters."""
        if self.running:
            total = len(self.ran.trials) if self.ran else 0
            state = self.outcome or f"running: {self.ended} of {total} trials · workers: {self.worker_count} · escape stops"
        elif self.outcome:
            state = self.outcome
        elif self.plan is not None:
            plan = self.plan
            groups = len(plan.trials) // max(1, len(plan.seeds))
            state = f"{len(plan.trials)} trials ({groups} groups × {len(plan.seeds)} seeds) · ctrl+r runs"
        elif self.reading:
            state = f"reading {self.reading}… ctrl+r runs once it is read"
        else:
            state = "fix the fields to run"
        parts = [state]
        if self.sort_key is not None:
            parts.append(f"sorted by {RESULTS.get(self.sort_key, self.sort_key)}")
        ranges = self.query_one(ParallelCoordinates).range_text()
        if ranges:
            parts.append(f"only {ranges}")
        self.query_one("#sweep-status", Static).update(" · ".join(parts))
