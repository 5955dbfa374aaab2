"""The model summary: Keras' columns (layer, type, output shape, params), totals, and the counts written out."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..core.summary import Summary, shape_text


ASCII_HEAD = box.Box("    \n    \n -- \n    \n    \n    \n    \n    \n", ascii=True)  # SIMPLE_HEAD in ASCII


def summary_renderable(summary: Summary, *, ascii_only: bool = False) -> Group:
    """A compact Keras-style table, then totals and each layer's parameter count written out.

    The layer column shows the type; formulas use the layer's name, which the topology fixes
    (``lstm``, or ``lstm_1``, ``lstm_2`` when stacked), so the pane reads the same in every run.
    """
    table = Table(box=ASCII_HEAD if ascii_only else box.SIMPLE_HEAD, expand=True, padding=(0, 0), pad_edge=False, show_edge=False)
    table.add_column("Layer (type)", ratio=1, overflow="fold")
    table.add_column("Output Shape", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    for row in summary.layers:
        # "TimeDistributed (Dense)": a narrow pane wraps it at the space, not mid-word
        table.add_row(row.type.replace("(", " ("), shape_text(row.output_shape), f"{row.params:,}")
    lines = [Text.assemble(("Total params ", "bold"), f"{summary.total:,}", ("  trainable ", "dim"), f"{summary.trainable:,}")]
    for row in summary.layers:
        if row.formula:
            lines.append(Text.assemble((f"{row.name}: ", "dim"), row.formula))
    return Group(table, *lines)


class SummaryPane(VerticalScroll):
    """Shows the model for the current settings; updated before any training."""

    def compose(self):
        """One Static holds the table."""
        yield Static("", id="summary-body")

    def on_mount(self) -> None:
        """Title the pane."""
        self.border_title = "Model summary"

    def show_summary(self, summary: Summary, note: str = "") -> None:
        """Show a built model's summary, under a line about its data when there is one (CSV)."""
        self.border_title = f"Model · {summary.model}"
        self.border_subtitle = f"{summary.total:,} params"
        ascii_only = getattr(self.app, "ascii_only", False)
        body = summary_renderable(summary, ascii_only=ascii_only)
        self.query_one("#summary-body", Static).update(Group(Text(note, style="dim"), body) if note else body)

    def show_message(self, text: str) -> None:
        """Show a line in place of the table (loading, invalid settings, errors)."""
        self.border_subtitle = ""
        self.query_one("#summary-body", Static).update(Text(text, style="dim italic"))
