"""Several saved runs side by side (the runs screen's ``c``): curves, settings, results, predictions.

The runs are numbered ``#1`` … in the order they were selected; a line above the table names
each number's run ID in full. Settings that differ between the runs come first in the table,
marked ``*`` and drawn bold and reversed, so the difference reads without colour.
"""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from ..core import aggregate
from ..core.diff import settings_of
from ..core.formatting import format_loss
from ..core.record import first_inputs, first_sequence
from ..widgets.compare_chart import CURVES, CompareChart
from ..widgets.key_bar import KeyBar
from .base import LeanScreen, fit_columns

MAX_RUNS = 6  # one colour (and, without colour, one mark) per run in the chart


def label(index: int) -> str:
    """A run's short name in the table, the chart and the predictions: ``#1``, ``#2`` …"""
    return f"#{index + 1}"


def results_of(record: dict[str, Any], validation: bool = False) -> dict[str, str]:
    """A run's results as the table shows them (an interrupted run may lack some: ``-``), with
    its final validation loss when ``validation`` (some run compared had validation data)."""
    history = record.get("history") or []
    error = aggregate.max_error(record) if "predictions" in record and "targets" in record else None
    best = aggregate.record_best_epoch(record)
    validated = {"final val loss": format_loss(record.get("final_val_loss"))} if validation else {}
    return {
        "status": str(record.get("status", "-")),
        "epochs": f"{len(history):,}",
        "final loss": format_loss(record.get("final_loss")),
        **validated,
        "best epoch": "-" if best is None else f"{best:,}",
        "max abs error": "-" if error is None else f"{error:.3f}",
        "params": "-" if record.get("params") is None else f"{record['params']:,}",
    }


def settings_rows(records: list[dict[str, Any]]) -> list[tuple[str, list[str], bool]]:
    """(setting, each run's value, whether they differ), differing settings first."""
    settings = [settings_of(r) for r in records]
    names = list(dict.fromkeys(name for s in settings for name in s))
    rows = [(name, ["-" if s.get(name) is None else str(s.get(name)) for s in settings],
             len({repr(s.get(name)) for s in settings}) > 1) for name in names]
    return sorted(rows, key=lambda r: not r[2])  # (a stable sort keeps each part's own order)


class SideBySide(LeanScreen):
    """Up to ``MAX_RUNS`` saved runs: overlaid loss curves, a table of settings and results, predictions."""

    HELP_TITLE = "side-by-side keys"
    HELP_NOTES = ("Settings that differ between the runs come first, marked * and drawn reversed. "
                  "Predictions are each run's on the first sequence; input and target are #1's.")
    BINDINGS = [
        Binding("v", "curves", "Val", id="side-curves",
                tooltip="With validation data: draw the validation loss curves, and back to the training loss"),
        Binding("escape,q", "close", "Back", id="side-back", tooltip="Back to the list of runs"),
    ]

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__()
        self.records = records[:MAX_RUNS]
        self.names = [label(i) for i in range(len(self.records))]
        self.validation = any(r.get("val_history") for r in self.records)
        self.curve = "history"  # which curves the chart draws: a key of CURVES

    def compose(self) -> ComposeResult:
        """Which run is which, the table, then curves and predictions."""
        yield Static(id="side-runs")
        yield DataTable(id="side-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="side-bottom"):
            yield CompareChart(self.names, id="side-curve")
            yield DataTable(id="side-predictions", cursor_type="none", zebra_stripes=True)
        yield KeyBar(id="side-keys")

    def on_mount(self) -> None:
        """Fill every pane from the records."""
        self.query_one("#side-runs", Static).update(
            "  ".join(f"{name} {record.get('id', '?')}" for name, record in zip(self.names, self.records)))
        table = self.query_one("#side-table", DataTable)
        table.border_title = "Settings and results"
        table.add_column("setting", key="setting")
        for name in self.names:
            table.add_column(name, key=name)
        results = [results_of(r, self.validation) for r in self.records]
        for key in results[0] if results else ():
            table.add_row(key, *(r[key] for r in results), key=f"result:{key}")
        for name, values, differ in settings_rows(self.records):
            style = "bold reverse" if differ else ""
            table.add_row(Text(("* " if differ else "  ") + name, style=style),
                          *(Text(v, style=style) for v in values), key=f"setting:{name}")
        table.focus()
        self._curves()
        self.query_one("#side-predictions").border_title = "Predictions"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The curve switch only when some run had validation data."""
        return self.validation if action == "curves" else True

    def action_curves(self) -> None:
        """Draw the other kind of curve: training or validation loss."""
        self.curve = "val_history" if self.curve == "history" else "history"
        self._curves()

    def _curves(self) -> None:
        """Each run's curve of the kind chosen (a diverged epoch, saved as null, is not drawn)."""
        chart = self.query_one(CompareChart)
        chart.quantity = CURVES[self.curve]
        histories = [[math.nan if v is None else v for v in r.get(self.curve) or []] for r in self.records]
        chart.reset(self.names, max(map(len, histories), default=0))
        for name, history in zip(self.names, histories):
            chart.extend(name, history)
        chart.flush()

    def on_resize(self) -> None:
        """The prediction columns that fit half the width."""
        self._predictions()

    def _predictions(self) -> None:
        """t, input and target of #1's first sequence, then each run's prediction, as many runs as
        fit whole in half the screen (the subtitle says which are left out)."""
        table = self.query_one("#side-predictions", DataTable)
        sequences = [first_sequence(r) for r in self.records]
        if not sequences:
            return
        targets = sequences[0][0]
        try:
            inputs = first_inputs(self.records[0]) or [math.nan] * len(targets)
        except Exception:  # a record whose config no longer builds: no inputs to show
            inputs = [math.nan] * len(targets)
        columns: dict[str, list[str]] = {
            "t": [str(t) for t in range(len(targets))],
            "input": ["-" if math.isnan(x) else f"{x:.3f}" for x in inputs[: len(targets)]],
            "target": [f"{y:.3f}" for y in targets],
            **{name: [f"{p[t]:.3f}" if t < len(p) else "-" for t in range(len(targets))]
               for name, (_, p) in zip(self.names, sequences)},
        }
        widths = {key: max(len(key), *map(len, cells)) for key, cells in columns.items()}
        keys = fit_columns(widths, self.app.size.width // 2 - 2, tuple(columns))
        table.clear(columns=True)
        for key in keys:
            table.add_column(key, key=key, width=widths[key])
        for t in range(len(targets)):
            table.add_row(*(columns[key][t] for key in keys))
        table.styles.width = sum(widths[key] + 2 for key in keys) + 2  # the border
        left_out = [name for name in self.names if name not in keys]
        table.border_subtitle = f"{', '.join(left_out)}: wider terminal" if left_out else ""

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)
