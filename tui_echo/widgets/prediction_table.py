"""Per-timestep input, target, prediction and error, coloured by how far off the prediction is.

A light table drawn row by row: a ``DataTable`` re-rendered all its cells through rich on every
update (~30 ms each, measured), which key presses had to wait behind while training.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

GOOD, CLOSE = 0.02, 0.1  # |error| below GOOD is green, below CLOSE yellow, else red
COLUMNS = (("t", 3), ("input", 7), ("target", 7), ("pred", 7), ("|err|", 7))  # heading, width


def error_class(error: float) -> str:
    """The component class that colours an absolute error."""
    if error != error:  # NaN
        return "prediction-table--bad"
    if error < GOOD:
        return "prediction-table--good"
    if error < CLOSE:
        return "prediction-table--close"
    return "prediction-table--bad"


def number(value: float | None, digits: int = 3) -> str:
    """``0.123``; ``–`` for no value; never ``-0.000``."""
    if value is None:
        return "–"
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


class Row(NamedTuple):
    """One timestep as shown."""

    t: int
    input: float
    target: float
    predicted: float | None

    @property
    def error(self) -> float | None:
        """|predicted - target|, or None before any prediction."""
        return None if self.predicted is None else abs(self.predicted - self.target)

    def cells(self) -> tuple[str, ...]:
        """The five cells as text."""
        return (str(self.t), number(self.input), number(self.target), number(self.predicted), number(self.error))


class PredictionTable(ScrollView, can_focus=True):
    """One row per timestep of the first sequence: t, input, target, predicted, |error|."""

    COMPONENT_CLASSES = {
        "prediction-table--header",
        "prediction-table--stripe",
        "prediction-table--good",
        "prediction-table--close",
        "prediction-table--bad",
        "prediction-table--none",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[Row] = []
        self.epoch: int | None = None  # the epoch the shown predictions come from
        self._styles: dict[str, Style] = {}

    @property
    def row_count(self) -> int:
        """Timesteps shown."""
        return len(self.rows)

    def show(
        self,
        inputs: Sequence[float],
        targets: Sequence[float],
        predictions: Sequence[float] | None = None,
        epoch: int | None = None,
    ) -> None:
        """Show one sequence; ``predictions`` ``None`` leaves the predicted column empty."""
        rows = [
            Row(t, float(x), float(y), None if predictions is None or t >= len(predictions) else float(predictions[t]))
            for t, (x, y) in enumerate(zip(inputs, targets))
        ]
        self.epoch = epoch if predictions is not None else None
        if len(rows) != len(self.rows):
            self.virtual_size = Size(sum(w for _, w in COLUMNS), len(rows) + 1)
        if rows != self.rows:
            self.rows = rows
            self.refresh()

    def cell_text(self, t: int, column: str) -> str:
        """The text shown in a cell (``column`` is a heading: t, input, target, pred, |err|)."""
        index = [name for name, _ in COLUMNS].index(column)
        return self.rows[t].cells()[index]

    def render_lines(self, crop):  # noqa: ANN001, ANN201 - Textual's signature
        """Resolve the styles once per frame."""
        self._styles = {"": self.rich_style}
        for name in self.COMPONENT_CLASSES:
            self._styles[name] = self.get_component_rich_style(name, partial=True)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """The header (row 0 stays put) or one timestep."""
        width = self.scrollable_content_region.width
        styles = self._styles or {"": self.rich_style}
        base = styles[""]
        plain = Style()
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            header = base + styles.get("prediction-table--header", plain)
            segments = [Segment(f"{name:>{w}}", header) for name, w in COLUMNS]
            segments.append(Segment(" " * max(0, width - sum(w for _, w in COLUMNS)), header))
        else:
            index = scroll_y + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, base)
            row = self.rows[index]
            line = base + styles.get("prediction-table--stripe", plain) if index % 2 else base
            kind = "prediction-table--none" if row.error is None else error_class(row.error)
            coloured = line + styles.get(kind, plain)
            segments = [
                Segment(f"{text:>{w}}", coloured if i >= 3 else line)
                for i, (text, (_, w)) in enumerate(zip(row.cells(), COLUMNS))
            ]
            segments.append(Segment(" " * max(0, width - sum(w for _, w in COLUMNS)), line))
        strip = Strip(segments).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, base)
