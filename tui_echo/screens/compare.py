"""The compare screen: the lab's problem framed by several topologies, trained one after another.

One job of the app's training service trains the selected topologies (``core.compare``), each
on ``seeds`` seeds from the lab's (``n``/``N``), reporting ``(topology, event)`` pairs and each
finished training's run record; every topology's progress is a ``core.progress.RunState``. The
screen shows the overlaid loss curves, the comparison table (``core.compare.COLUMNS``; over
several seeds ``core.compare.seeded_rows``: mean ± std, min … max and whether a row can be told
from the best) and every topology's predictions beside the targets. It is pushed over the lab
and popped back, lab untouched.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import replace
from typing import Any

import numpy as np

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from ..core import aggregate, progress
from ..core.compare import (
    COLUMNS, DEFAULT_THRESHOLD, VAL_COLUMNS, cell_text, columns, configs_for, default_export_folder, export, row,
    seeded_rows, seeds_for, short_header,
)
from ..core.config import Config, ConfigError
from ..core.events import Epochs, Finished, Predictions
from ..core.experiment import run_experiment
from ..core.formatting import format_loss
from ..core.progress import RunState
from ..core.topologies import TOPOLOGIES
from ..messages import JobDone, JobProgress
from ..training import Job, TrainingService
from ..widgets.compare_chart import CURVES, CompareChart
from ..widgets.key_bar import KeyBar
from .base import COMPACT_WIDTH, LeanScreen, fit_columns

NAMES = tuple(TOPOLOGIES)
SHORT = {"one-to-one": "1:1", "many-to-one": "n:1", "many-to-many": "n:n", "many-to-many-dense": "n:n dense"}
TIMINGS = ("wall_s", "epochs_per_s")
# Which columns a narrow table keeps, most wanted first; the rest join as the width allows.
PRIORITY = ("in", "state", "topology", "final_loss", "final_val_loss", "best_epoch", "params", "max_error", "epoch_below",
            "epochs_per_s", "wall_s", "lstm_params", "head_params", "x_shape", "y_shape")
# Over several seeds: each result as mean ± std (``_range``: min … max), and how the row stands
# against the best; headers, then which columns a narrow table keeps first.
SEEDED_HEADERS = {"final_loss": "loss mean ± std", "final_val_loss": "val mean ± std", "vs_best": "vs best",
                  "max_error": "max err ± std", "best_epoch": "best ep ± std", "final_loss_range": "loss min … max",
                  "params": "params"}
SEEDED_PRIORITY = ("in", "state", "topology", "final_loss", "final_val_loss", "vs_best", "max_error", "best_epoch",
                   "final_loss_range", "params")
# Words, not colours, so NO_COLOR and --ascii keep them: "~best" is within the seeds' spread of
# the best row (``aggregate.separability``: not separable).
VS_BEST = {aggregate.BEST: "best", aggregate.NOT_SEPARABLE: "~best", aggregate.SEPARABLE: "worse"}


class CompareScreen(LeanScreen):
    """Train the chosen topologies on the lab's settings and compare them side by side."""

    HELP_TITLE = "compare keys"
    HELP_NOTES = ("With several seeds each row shows mean ± std over them and the chart each topology's "
                  "mean curve inside the seeds' lowest and highest loss (faint). vs best: ~best is within "
                  "the seeds' spread of the best row (not separable), worse is not.")
    BINDINGS = [
        Binding("ctrl+r", "rerun", "Rerun", id="compare-rerun", priority=True,
                tooltip="Train the selected topologies again"),
        Binding("space", "toggle", "Toggle", id="compare-toggle",
                tooltip="Put the highlighted topology in or out of the comparison"),
        Binding("s", "sort(1)", "Sort", id="compare-sort", key_display="s/S",
                tooltip="Sort the table by the next column shown (S: the previous one)"),
        Binding("S", "sort(-1)", show=False, id="compare-sort-back"),
        Binding("n", "seeds(1)", "Seeds", id="compare-seeds", key_display="n/N",
                tooltip="One seed more (N: one fewer) for the next run: each topology trains on seed .. seed + n - 1"),
        Binding("N", "seeds(-1)", show=False, id="compare-seeds-fewer"),
        Binding("v", "curves", "Val", id="compare-curves",
                tooltip="With validation data: draw the validation loss curves, and back to the training loss"),
        Binding("p", "toggle_predictions", "Preds", id="compare-predictions",
                tooltip="Below 100 columns: show the predictions in place of the curves, and back"),
        Binding("e", "export", "Export", id="compare-export",
                tooltip="Write the comparison as Markdown, CSV and JSON"),
        Binding("escape", "back", "Back", id="compare-back",
                tooltip="Back to the lab (stops a comparison in progress)"),
    ]

    running: reactive[bool] = reactive(False, bindings=True, repaint=False)

    def __init__(self, config: Config, training: TrainingService, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        super().__init__()
        self.config = config
        self.training = training
        self.threshold = threshold
        self.selected: list[str] = list(NAMES)
        self.seeds = 1  # seeds the next run trains each topology on
        self.run_seeds = 1  # seeds of the last run
        self.records: dict[str, list[dict[str, Any]]] = {}  # topology -> its run records, one per seed
        self.progress: dict[str, RunState] = {}
        self.predictions: dict[str, list[float]] = {}
        self.trained: list[str] = []  # topologies the last run trained, in order
        self.curve = "history"  # which curves the chart draws: a key of CURVES
        self.live: dict[str, dict[str, list[float]]] = {}  # one seed: curve -> topology -> losses so far
        self.sort_key: str | None = None
        self.shown_columns: list[str] = []  # the table's columns that fit the width, registry order
        self.job: Job | None = None
        self.error = ""
        self._layout: tuple = ()  # the table's (key, header, width) columns as last built

    def compose(self) -> ComposeResult:
        """Table on top; curves and predictions below; a status line and the keys."""
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="compare-bottom"):
            yield CompareChart(list(NAMES), labels=SHORT, id="compare-curve")
            yield DataTable(id="compare-predictions", cursor_type="none", zebra_stripes=True)
        yield Static(id="compare-status")
        yield KeyBar(id="compare-keys")

    def on_mount(self) -> None:
        """Title the panes and start the comparison."""
        table = self.query_one("#compare-table", DataTable)
        table.border_title = "Comparison"
        self.query_one("#compare-curve").border_title = "Loss (log scale)"
        self.query_one("#compare-predictions").border_title = "Predictions"
        table.focus()
        self.refresh_table()
        self.refresh_predictions()
        self.action_rerun()

    # ----------------------------------------------------------------- keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Rerun and toggle while idle; export once there are results."""
        if action in ("rerun", "toggle", "seeds"):
            return not self.running
        if action == "export":
            return not self.running and bool(self.records)
        if action == "toggle_predictions":
            return self.app.size.width < COMPACT_WIDTH
        if action == "curves":
            return self.config.validation is not None
        return True

    def action_rerun(self) -> None:
        """Train the selected topologies on the lab's settings."""
        if self.running:
            return
        names = [n for n in NAMES if n in self.selected]
        if not names:
            self.notify("Select at least one topology (space)", severity="warning")
            return
        try:
            configs = [c.resolved() for c in configs_for(self.config, names)]
        except ConfigError as error:
            self.error = f"can't compare: {error.reason}"
            self.notify(self.error, severity="error")
            self.refresh_status()
            return
        self.records, self.predictions, self.error = {}, {}, ""
        self.trained, self.run_seeds = names, self.seeds
        every = SEEDED_HEADERS if self.seeds > 1 else {**COLUMNS, **VAL_COLUMNS}
        if self.sort_key not in every:  # a column of the other table (one seed / several)
            self.sort_key = None
        seeds = [seeds_for(c.seed, self.seeds) for c in configs]  # (the seed count is checked in action_seeds)
        self.progress = {c.topology: RunState(total=c.epochs) for c in configs}
        self.live = {curve: {name: [] for name in names} for curve in CURVES}
        self.query_one(CompareChart).reset(names, max(c.epochs for c in configs))
        self.running = True
        self.refresh_table()
        self.refresh_predictions()
        self.refresh_status()
        store = getattr(self.app, "run_store", None)

        def train_each(job: Job, report: Any) -> None:
            """Each topology in turn, seed by seed: its events as (topology, event) pairs, then its record."""
            for config, its_seeds in zip(configs, seeds):
                for seed in its_seeds:
                    if job.should_stop():
                        return
                    relay = lambda event, name=config.topology: report((name, event))  # noqa: E731
                    report(run_experiment(replace(config, seed=seed), relay, job.should_stop, store=store))

        self.job = self.training.start(self, train_each)

    def action_toggle(self) -> None:
        """Put the highlighted topology in or out."""
        if self.running:
            return
        name = self._highlighted()
        if name is None:
            return
        if name in self.selected:
            self.selected.remove(name)
        else:
            self.selected.append(name)
        self.refresh_table()
        self.refresh_status()

    def action_sort(self, step: int) -> None:
        """Sort by the next (``step`` 1) or previous (-1) column shown; unsorted between the ends."""
        keys = [None, *(key for key in self._headers() if key in self.shown_columns)]
        current = keys.index(self.sort_key) if self.sort_key in keys else 0
        self.sort_key = keys[(current + step) % len(keys)]
        self.refresh_table()
        self.refresh_status()

    def action_seeds(self, step: int) -> None:
        """One seed more or fewer for the next run, within what ``seeds_for`` accepts."""
        if self.running:
            return
        count = self.seeds + step
        try:
            seeds_for(self.config.seed, count)
        except ConfigError as error:
            self.notify(f"seeds {error.reason}", severity="warning")
            return
        self.seeds = count
        self.refresh_status()

    def action_curves(self) -> None:
        """Draw the other kind of curve (training or validation loss), from what is held."""
        self.curve = "val_history" if self.curve == "history" else "history"
        chart = self.query_one(CompareChart)
        chart.quantity = CURVES[self.curve]
        chart.reset(self.trained, chart.planned)  # (keeps the scale; titles the border)
        if self.run_seeds > 1:
            for name, runs in self.records.items():
                self._spread(name, runs)
        else:
            for name, losses in self.live.get(self.curve, {}).items():
                chart.extend(name, losses)
        chart.flush()

    def action_toggle_predictions(self) -> None:
        """In a narrow terminal, swap the curves for the predictions and back."""
        self.toggle_class("-show-predictions")

    def on_resize(self) -> None:
        """Choose the columns that fit the new width."""
        self.refresh_table()

    def action_export(self) -> None:
        """Write Markdown, CSV and JSON into the export folder and say where."""
        if not self.records:
            self.notify("Nothing to export yet", severity="warning")
            return
        records = [r for n in self.trained for r in self.records.get(n, [])]
        try:
            paths = export(records, default_export_folder(), self.threshold, seeded=self.run_seeds > 1)
        except OSError as error:
            self.notify(f"Export failed: {error}", severity="error")
            return
        self.exported = paths
        names = ", ".join(p.name for p in paths)
        self.notify(f"Exported {names}\nto {paths[0].parent}", title="Comparison", timeout=8)

    def action_back(self) -> None:
        """Stop any training and return to the lab."""
        if self.job is not None:
            self.job.stop()
        self.dismiss(None)

    def _highlighted(self) -> str | None:
        """The topology on the table's cursor row."""
        table = self.query_one("#compare-table", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key
        return str(key.value)

    # ----------------------------------------------------------------- job

    def on_job_progress(self, message: JobProgress) -> None:
        """Apply a batch: curves, each topology's state, live predictions, finished records."""
        if message.job is not self.job:
            return
        chart, now = self.query_one(CompareChart), time.monotonic()
        predictions_changed = False
        for item in message.items:
            if isinstance(item, dict):  # one topology's run record
                self._record(item)
                predictions_changed = True
                continue
            name, event = item
            self.progress[name] = progress.advance(self.progress[name], event, now)
            if isinstance(event, Epochs) and self.run_seeds == 1:  # over seeds: each seed's end redraws
                for curve, losses in (("history", event.losses), ("val_history", event.val_losses)):
                    self.live[curve][name].extend(losses)
                chart.extend(name, event.losses if self.curve == "history" else event.val_losses)
            elif isinstance(event, (Predictions, Finished)):
                self.predictions[name] = list(event.values if isinstance(event, Predictions) else event.predictions)
                predictions_changed = True
        chart.flush()
        self.refresh_table()
        if predictions_changed:
            self.refresh_predictions()
        self.refresh_status()

    def _record(self, record: dict[str, Any]) -> None:
        """One training is done: its topology's row fills in (over seeds, once the last seed is done)."""
        name = record["topology"]
        runs = self.records.setdefault(name, [])
        runs.append(record)
        if record.get("predictions") and len(runs) == 1:  # the first seed's: the lab's seed
            self.predictions[name] = list(record["predictions"])
        if self.run_seeds > 1:
            self._spread(name, runs)
            if len(runs) < self.run_seeds and record["status"] == "finished":
                self.progress[name] = RunState(total=self.progress[name].total)  # the next seed starts
                return
        self.progress[name] = progress.ended(self.progress[name], record["status"], str(record.get("error") or ""))

    def _spread(self, name: str, runs: list[dict[str, Any]]) -> None:
        """The chart's curve for ``name``: the mean over its seeds so far, in their lowest and highest loss
        (training or validation loss, as the chart shows)."""
        histories = [r.get(self.curve) or [] for r in runs]
        length = max(len(h) for h in histories)
        if not length:
            return
        curves = np.full((len(runs), length), np.nan)
        for i, history in enumerate(histories):
            curves[i, : len(history)] = [np.nan if v is None else v for v in history]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an epoch no seed reached (stopped early)
            mean, low, high = np.nanmean(curves, 0), np.nanmin(curves, 0), np.nanmax(curves, 0)
        self.query_one(CompareChart).spread(name, mean.tolist(), low.tolist(), high.tolist())

    def on_job_done(self, message: JobDone) -> None:
        """The job's thread has ended: whatever did not finish was stopped."""
        if message.job is not self.job:
            return
        self.running = False
        if message.error:
            self.error = message.error
            self.notify(f"Comparison failed: {message.error}", severity="error")
        for name, state in self.progress.items():
            if not state.phase.ended:
                self.progress[name] = progress.ended(state, "stopped")
        self.refresh_table()
        self.refresh_status()

    # ----------------------------------------------------------------- panes

    def rows(self) -> list[dict[str, Any]]:
        """The comparison rows of the finished topologies (over several seeds: ``seeded_rows``)."""
        if self.run_seeds > 1:
            return seeded_rows([r for n in self.trained for r in self.records.get(n, [])])
        return [row(self.records[n][0], self.threshold) for n in self.trained if n in self.records]

    def refresh_table(self) -> None:
        """Rebuild the table (four rows) with the columns that fit, keeping the cursor on the same topology."""
        table = self.query_one("#compare-table", DataTable)
        current = self._highlighted() if table.row_count else None
        seeded = self.run_seeds > 1
        by_name = {r["topology"]: r for r in self.rows()} if seeded else {}
        lines = []
        for name in NAMES:
            # The selection (what the next run trains) and the state (what this run did) apart:
            # "✓ queued" read as done.
            chosen = name in self.selected
            state = progress.brief(self.progress[name]) if name in self.progress else ""
            cells = {"in": Text("[x]" if chosen else "[ ]"), "state": state or ("ready" if chosen else "off")}
            values = self._seeded_cells(name, by_name.get(name), cells) if seeded else self._cells(name, cells)
            lines.append((name, values, cells))
        if self.sort_key is not None:
            key = self.sort_key
            present = [item for item in lines if item[1].get(key) is not None]
            absent = [item for item in lines if item[1].get(key) is None]
            lines = sorted(present, key=lambda item: item[1][key]) + absent
        names = self._headers()
        headers = {"in": "in", "state": "state", "topology": "topology",
                   **{k: h + (" v" if k == self.sort_key else "") for k, h in names.items()}}
        widths = {k: max(len(str(headers[k])), *(len(str(c[k])) for _, _, c in lines)) for k in headers}
        room = (table.size.width or self.app.size.width) - 2  # less the border
        keys = [k for k in headers if k in fit_columns(widths, room, SEEDED_PRIORITY if seeded else PRIORITY)]
        layout = tuple((key, headers[key], widths[key]) for key in keys)
        if layout != self._layout:
            # Fixed widths, rebuilt when they change: left to size itself from its rows, the table
            # could paint a frame with the last layout's widths and cut a number short.
            table.clear(columns=True)
            for key, header, width in layout:
                table.add_column(header, key=key, width=width)
            self.shown_columns, self._layout = keys, layout
        else:
            table.clear()
        for name, _, cells in lines:
            table.add_row(*(cells[k] for k in keys), key=name)
        if current is not None:
            table.move_cursor(row=table.get_row_index(current), animate=False)

    def _headers(self) -> dict[str, str]:
        """The result columns' headers: over seeds, or of one seed; the validation ones only when
        a run had validation data (so the table without them keeps its columns)."""
        records = [r for n in self.trained for r in self.records.get(n, [])]
        if self.run_seeds > 1:
            validation = any(r.get("val_history") for r in records)
            return {k: h for k, h in SEEDED_HEADERS.items() if k != "final_val_loss" or validation}
        rows = [row(r, self.threshold) for r in records if r.get("layers")]
        return {k: short_header(k) for k in columns(rows)}

    def _cells(self, name: str, cells: dict[str, Any]) -> dict[str, Any]:
        """One seed: the row's cells by ``COLUMNS`` into ``cells``; returns its values (to sort by)."""
        record = (self.records.get(name) or [None])[0]
        values = row(record, self.threshold) if record and record.get("layers") else {"topology": name}
        deterministic = getattr(self.app, "deterministic", False)
        for key in self._headers():
            if key in TIMINGS and deterministic and key in values:
                cells[key] = "-"
            elif key in ("final_loss", "final_val_loss"):  # as the lab and the CLI write it: 1.1102e-17, never 0.000
                cells[key] = format_loss(values.get(key))
            else:
                cells[key] = cell_text(key, values.get(key))
        return values

    def _seeded_cells(self, name: str, seeded: dict[str, Any] | None, cells: dict[str, Any]) -> dict[str, Any]:
        """Over seeds: mean ± std, min … max and vs best into ``cells``; returns the means (to sort by)."""
        seeded = seeded or {}
        entry = lambda metric: seeded.get(metric)  # noqa: E731
        cells["topology"] = name
        cells["final_loss"] = aggregate.mean_std_text(entry("final_loss"), ".2e")
        cells["final_loss_range"] = aggregate.range_text(entry("final_loss"), ".2e")
        cells["final_val_loss"] = aggregate.mean_std_text(entry("final_val_loss"), ".2e")
        cells["max_error"] = aggregate.mean_std_text(entry("max_error"), ".3f")
        cells["best_epoch"] = aggregate.mean_std_text(entry("best_epoch"), ".0f")
        cells["params"] = str(seeded.get("params", "-"))
        label = seeded.get("vs_best")
        cells["vs_best"] = Text(VS_BEST[label], style="bold" if label == aggregate.NOT_SEPARABLE else "") if label else "-"
        order = {aggregate.BEST: 0, aggregate.NOT_SEPARABLE: 1, aggregate.SEPARABLE: 2}
        values = {m: (entry(m) or {}).get("mean") for m in (*aggregate.METRICS, *aggregate.VAL_METRICS)}
        return {**values, "final_loss_range": values["final_loss"], "params": seeded.get("params"),
                "vs_best": order.get(label), "topology": cells["topology"]}

    def refresh_predictions(self) -> None:
        """t, input, target, then each trained topology's prediction."""
        table = self.query_one("#compare-predictions", DataTable)
        try:
            inputs, targets = (part.tolist() for part in self.config.first_sequence)
        except Exception:
            return
        table.clear(columns=True)
        table.add_columns("t", "input", "target", *[SHORT.get(n, n) for n in self.trained])
        for t, (x, y) in enumerate(zip(inputs, targets)):
            cells = [str(t), f"{x:.3f}", f"{y:.3f}"]
            for name in self.trained:
                values = self.predictions.get(name)
                cells.append(f"{values[t]:.3f}" if values and t < len(values) else "-")
            table.add_row(*cells)

    def refresh_status(self) -> None:
        """One line: what is happening, what is selected, how the table is sorted."""
        selected = ", ".join(SHORT.get(n, n) for n in NAMES if n in self.selected) or "none"
        if self.error:
            state = self.error
        elif self.running:
            done = sum(map(len, self.records.values()))
            state = f"training {done + 1} of {len(self.trained) * self.run_seeds}…"
        elif self.records:
            state = f"done: {len(self.records)} topologies · e exports"
        else:
            state = "idle"
        sort = f" · sorted by {self._headers()[self.sort_key]}" if self.sort_key in self._headers() else ""
        seeds = f"seeds {self.seeds} (n/N)" if self.seeds == 1 else f"seeds {self.config.seed}..{self.config.seed + self.seeds - 1} (n/N)"
        self.query_one("#compare-status", Static).update(
            f"{state}{sort} · {seeds} · threshold {self.threshold:g} · selected: {selected}")
