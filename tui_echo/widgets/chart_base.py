"""What the loss charts share: the keys TensorBoard users expect, the view they change, and the
arithmetic that turns epochs into dot columns and rows.

Keys act on the focused chart: ``l`` log/linear, ``.`` smoothing, ``+``/``-`` zoom the epoch
axis, left/right move a cursor that reads the value at an epoch, ``0`` resets the view. None of
them clashes with the lab's keys (1-4, c, h, x, e, m, z, space, escape, ctrl+r, ?).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.widget import Widget

from ..core.formatting import short_number

SMOOTHING = (0.0, 0.6, 0.9)  # EMA weights ``.`` steps through (TensorBoard's default is 0.6)
NICE = (1, 2, 5)
LABEL_WIDTH = 6  # "1e-3 ┤"
# Braille dot bits, indexed [row 0..3][column 0..1] inside one character cell.
DOTS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)


def _ascii_cell(bits: int) -> str:
    """An ASCII stand-in for a braille cell: where in the cell its dots are, roughly."""
    rows = [row for row in range(4) if bits & int(DOTS[row, 0] | DOTS[row, 1])]
    if not rows:
        return " "
    if rows[-1] - rows[0] >= 2:
        return "|"
    middle = sum(rows) / len(rows)
    return "'" if middle < 0.75 else "-" if middle < 2.25 else "."


@dataclass(frozen=True)
class Glyphs:
    """The characters a chart is drawn with: the y axis's tick and rule, its corner, a legend's
    line sample, one character per braille dot pattern (indexed by its bits), the cursor's
    column, and the marks that tell curves apart without colour."""

    tick: str
    rule: str
    corner: str
    line: str
    cells: tuple[str, ...]
    cursor: str
    marks: tuple[str, ...]
    best: str  # the x axis' mark under the epoch early stopping kept

    def gutter(self, label: str | None) -> str:
        """The y axis's column for one row: a label and tick, or the plain rule."""
        return f"{label:>{LABEL_WIDTH - 1}}{self.tick}" if label else " " * (LABEL_WIDTH - 1) + self.rule

    def x_axis(self, first: int, last: int, cols: int) -> str:
        """The bottom row: the corner, then epochs ``first`` to ``last`` under the plot."""
        left, right = f"{first:,}", f"{last:,}"
        middle = "epoch".center(max(0, cols - len(left) - len(right)))
        return " " * (LABEL_WIDTH - 1) + self.corner + (left + middle + right)[:cols]


UNICODE = Glyphs("┤", "│", "└", "━━", tuple(chr(0x2800 + bits) for bits in range(256)), "│", ("●", "+", "○", "×", "■", "◇"), "▲")
ASCII = Glyphs("+", "|", "+", "--", tuple(_ascii_cell(bits) for bits in range(256)), ":", ("*", "+", "o", "x", "#", "%"), "^")


def glyphs_for(widget: Widget) -> Glyphs:
    """ASCII when the app was started with ``--ascii``."""
    return ASCII if getattr(widget.app, "ascii_only", False) else UNICODE


def monochrome(widget: Widget) -> bool:
    """Colour tells nothing apart: ``NO_COLOR`` is set, or ``--ascii`` was asked for."""
    return bool(getattr(widget.app, "no_color", False) or getattr(widget.app, "ascii_only", False))


def nice_ceiling(count: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``count``."""
    if count <= 1:
        return 1
    power = 10 ** int(math.floor(math.log10(count)))
    for step in (*NICE, 10):
        if step * power >= count:
            return step * power
    return 10 * power


def axis_span(count: int, planned: int) -> int:
    """How many epochs the x axis spans: the planned epochs once reached, before that a round
    number just above the epochs seen, so the first epochs of a long run are not squeezed into
    the left edge (and the columns are re-binned only a few times per decade)."""
    if count >= planned:
        return max(count, 1)
    return min(planned, nice_ceiling(count))


@dataclass(frozen=True)
class Columns:
    """Per dot column: which columns hold points, and their min, max and mean value."""

    used: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    mean: np.ndarray


def bin_columns(values: np.ndarray, first: int, origin: int, span: int, dot_cols: int) -> tuple[np.ndarray, ...]:
    """Fold ``values`` (epoch indices ``first``, ``first + 1``, …; NaN skipped) into ``dot_cols``
    columns for an axis from epoch index ``origin`` spanning ``span`` epochs.

    Returns (columns, min, max, sum, count) for the columns touched, in column order.
    """
    column = ((np.arange(len(values)) + first - origin) * dot_cols) // span
    keep = ~np.isnan(values) & (column >= 0) & (column < dot_cols)
    column, kept = column[keep], values[keep]
    if not len(kept):
        empty = np.empty(0)
        return np.empty(0, dtype=int), empty, empty, empty, empty
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    return (
        column[starts],
        np.minimum.reduceat(kept, starts),
        np.maximum.reduceat(kept, starts),
        np.add.reduceat(kept, starts),
        np.diff(np.r_[starts, len(kept)]).astype(np.float64),
    )


def columns_of(values: np.ndarray, origin: int, span: int, dot_cols: int) -> Columns:
    """Every point of ``values`` (all epochs from index 0) in the window ``origin``..``origin + span``."""
    used, lo, hi, total, count = bin_columns(values[origin : origin + span], origin, origin, span, dot_cols)
    return Columns(used, lo, hi, total / np.maximum(count, 1))


def ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's debiased exponential moving average."""
    out = np.empty_like(values)
    acc, norm = 0.0, 0.0
    for i, v in enumerate(values.tolist()):
        acc = acc * weight + (1 - weight) * v
        norm = norm * weight + (1 - weight)
        out[i] = acc / norm
    return out


def line_dots(
    used: np.ndarray, values: np.ndarray, low: float, high: float, dot_rows: int, dot_cols: int,
) -> Iterator[tuple[int, np.ndarray]]:
    """The dots of a line through one value per used column: (dot column, its dot rows).

    Gaps between sparse columns are filled by linear interpolation and each column stretches to
    the previous column's value, so a steep fall reads as a line, not loose dots.
    """
    if not len(used):
        return
    every = np.arange(used[0], used[-1] + 1)
    here = np.interp(every, used, values)
    before = np.r_[here[0], here[:-1]]
    span = (high - low) or 1.0

    def to_row(v: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((high - v) / span * (dot_rows - 1)), 0, dot_rows - 1).astype(int)

    top, bottom = to_row(np.maximum(here, before)), to_row(np.minimum(here, before))
    for x, r0, r1 in zip(every.tolist(), top.tolist(), bottom.tolist()):
        if 0 <= x < dot_cols:
            yield x, np.arange(r0, r1 + 1)


def y_range(log: bool, lows: list[float], highs: list[float]) -> tuple[float, float]:
    """The plot's bottom and top: whole decades on a log axis, 0 to the largest value on a linear one."""
    low, high = min(lows), max(highs)
    if log:
        low, high = math.floor(low), math.ceil(high)
        return (low, high) if high > low else (low, low + 1)
    return (0.0, high) if high > 0 else (0.0, 1.0)


def y_labels(log: bool, low: float, high: float, rows: int) -> dict[int, str]:
    """Text row -> label, thinned so labels never touch: decades (``1e-3``) or round values."""
    labels: dict[int, str] = {}
    if log:
        span = int(high - low)
        step = max(1, math.ceil((span + 1) / max(1, rows // 2)))
        ticks = [(float(k), f"1e{k}") for k in range(int(high), int(low) - 1, -step)]
    else:
        count = max(1, min(4, rows // 2))
        ticks = [(high * i / count, short_number(high * i / count)) for i in range(count, -1, -1)]
    for value, text in ticks:
        row = round((high - value) / ((high - low) or 1.0) * (rows * 4 - 1)) // 4
        labels.setdefault(row, text)
    return labels


class ChartBase(Widget, can_focus=True):
    """A focusable chart with a view the keys change: scale, smoothing, epoch window, cursor."""

    BINDINGS = [
        Binding("l", "scale", "Log/lin", id="chart-scale", tooltip="Chart: switch the loss axis between log and linear"),
        Binding("full_stop", "smooth", "Smooth", id="chart-smooth", key_display=".",
                tooltip="Chart: smoothing off, 0.6, 0.9 (moving average; the raw curve stays, faint)"),
        Binding("plus,equals_sign", "zoom_epochs(0.5)", "Zoom", id="chart-zoom-in", key_display="+/-",
                tooltip="Chart: + shows half the epochs (around the cursor, else the latest), - twice as many"),
        Binding("minus", "zoom_epochs(2)", show=False, id="chart-zoom-out"),
        Binding("left", "cursor(-1)", "Cursor", id="chart-cursor-left", key_display="<-/->",
                tooltip="Chart: move the cursor that reads the loss at an epoch"),
        Binding("right", "cursor(1)", show=False, id="chart-cursor-right"),
        Binding("0", "reset_view", "Reset view", show=False, id="chart-reset",
                tooltip="Chart: back to all epochs, log scale, no smoothing, no cursor"),
    ]

    quantity: str = "Loss"  # what the y axis shows, for the border's title
    log: bool = True
    smoothing: float = 0.0
    window: tuple[int, int] | None = None  # epoch indices [start, end) shown; None: all, following
    cursor: int | None = None  # epoch index the cursor reads

    def epochs(self) -> int:
        """How many epochs the data holds (the longest series)."""
        raise NotImplementedError

    def full_span(self) -> int:
        """How many epochs the unzoomed x axis spans."""
        raise NotImplementedError

    def view_changed(self) -> None:
        """Redraw for a new view and say what it is in the border."""
        self.refresh()
        self.border_title = f"{self.quantity} ({'log' if self.log else 'linear'} scale)"
        self.border_subtitle = self.view_text()

    def view_text(self) -> str:
        """The border's subtitle: the cursor's reading, smoothing and zoom, when set."""
        parts = []
        if self.cursor is not None:
            parts.append(self.cursor_text(self.cursor))
        if self.smoothing:
            parts.append(f"smooth {self.smoothing:g}")
        if self.window is not None:
            parts.append(f"ep {self.window[0] + 1:,}-{self.window[1]:,}")
        return " | ".join(parts)

    def cursor_text(self, epoch: int) -> str:
        """What the cursor reads at epoch index ``epoch``."""
        raise NotImplementedError

    def shown(self) -> tuple[int, int]:
        """The epoch indices [origin, origin + span) the x axis covers now."""
        if self.window is not None:
            return self.window[0], self.window[1] - self.window[0]
        return 0, self.full_span()

    def action_scale(self) -> None:
        """Log or linear loss axis."""
        self.log = not self.log
        self.view_changed()

    def action_smooth(self) -> None:
        """Next smoothing weight."""
        self.smoothing = SMOOTHING[(SMOOTHING.index(self.smoothing) + 1) % len(SMOOTHING)]
        self.view_changed()

    def action_zoom_epochs(self, factor: float) -> None:
        """Show ``factor`` times as many epochs, around the cursor (else ending at the latest)."""
        total = self.full_span()
        origin, span = self.shown()
        new = max(4, min(total, round(span * factor)))
        if new >= total:
            self.window = None
        else:
            centre = self.cursor if self.cursor is not None else max(0, self.epochs() - new // 2)
            start = max(0, min(total - new, centre - new // 2))
            self.window = (start, start + new)
        self.view_changed()

    def action_cursor(self, step: int) -> None:
        """Move the cursor one text column (appearing at the latest epoch)."""
        count = self.epochs()
        if not count:
            return
        origin, span = self.shown()
        if self.cursor is None:
            self.cursor = min(count, origin + span) - 1
        else:
            per_cell = max(1, span // max(1, self.plot_columns()))
            self.cursor = max(origin, min(min(count, origin + span) - 1, self.cursor + step * per_cell))
        self.view_changed()

    def point_at(self, epoch: int) -> None:
        """Put the cursor on epoch index ``epoch`` (a replay's marker); a zoomed view moves with it."""
        self.cursor = max(0, min(self.epochs() - 1, epoch))
        if self.window is not None and not self.window[0] <= self.cursor < self.window[1]:
            span = self.window[1] - self.window[0]
            start = max(0, min(self.full_span() - span, self.cursor - span // 2))
            self.window = (start, start + span)
        self.view_changed()

    def action_reset_view(self) -> None:
        """All epochs, log scale, raw curve, no cursor."""
        self.log, self.smoothing, self.window, self.cursor = True, 0.0, None, None
        self.view_changed()

    def plot_columns(self) -> int:
        """Text columns the plot has (right of the y axis)."""
        return max(1, self.content_size.width - LABEL_WIDTH)

    def cursor_column(self, origin: int, span: int, cols: int) -> int | None:
        """The text column of the cursor, if it is in view."""
        if self.cursor is None or not origin <= self.cursor < origin + span:
            return None
        return ((self.cursor - origin) * cols * 2 // span) // 2


def raster(lines: list[tuple[np.ndarray, np.ndarray]], low: float, high: float, rows: int, cols: int) -> np.ndarray:
    """Braille bits per text cell for lines given as (used dot columns, value per column)."""
    grid = np.zeros((rows, cols), dtype=np.uint8)
    for used, values in lines:
        for x, r in line_dots(used, values, low, high, rows * 4, cols * 2):
            np.bitwise_or.at(grid, (r // 4, np.full(len(r), x // 2)), DOTS[r % 4, x % 2])
    return grid


def styled_row(chars: list[str], owners: list[int], styles: list[Style]) -> list[Segment]:
    """One row of plot cells as segments, one per run of cells drawn in the same style."""
    segments: list[Segment] = []
    start = 0
    for i in range(1, len(chars) + 1):
        if i == len(chars) or owners[i] != owners[start]:
            segments.append(Segment("".join(chars[start:i]), styles[owners[start]]))
            start = i
    return segments
