"""The loss curve: a braille line chart (ASCII with ``--ascii``) with a log-scale y axis, redrawn
at a bounded rate.

Why not textual-plotext: with textual 8.2.8 and plotext 5.3.2, plotext re-applies its log scale
on every rebuild (the second frame raises ``math domain error``), and one 60×16 frame costs
~47 ms on the UI thread, which alone would break the 50 ms key-latency target. This widget draws
the same thing with numpy in well under a millisecond per frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

# Braille dot bits, indexed [row 0..3][column 0..1] inside one character cell.
BRAILLE_DOTS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)
LABEL_WIDTH = 6  # "1e-3 ┤"


def _ascii_cell(bits: int) -> str:
    """An ASCII stand-in for a braille cell: where in the cell its dots are, roughly."""
    rows = [row for row in range(4) if bits & int(BRAILLE_DOTS[row, 0] | BRAILLE_DOTS[row, 1])]
    if not rows:
        return " "
    if rows[-1] - rows[0] >= 2:
        return "|"
    middle = sum(rows) / len(rows)
    return "'" if middle < 0.75 else "-" if middle < 2.25 else "."


@dataclass(frozen=True)
class Glyphs:
    """The characters a chart is drawn with: the y axis's tick and rule, its corner, a legend's
    line sample, and one character per braille dot pattern (indexed by its bits)."""

    tick: str
    rule: str
    corner: str
    line: str
    cells: tuple[str, ...]

    def gutter(self, label: str | None) -> str:
        """The y axis's column for one row: a decade label and tick, or the plain rule."""
        return f"{label:>{LABEL_WIDTH - 1}}{self.tick}" if label else " " * (LABEL_WIDTH - 1) + self.rule

    def x_axis(self, total: int, cols: int) -> str:
        """The bottom row: the corner, then epochs 1 to ``total`` under the plot."""
        left, right = "1", f"{total:,}"
        middle = "epoch".center(max(0, cols - len(left) - len(right)))
        return " " * (LABEL_WIDTH - 1) + self.corner + (left + middle + right)[:cols]


UNICODE = Glyphs("┤", "│", "└", "━━", tuple(chr(0x2800 + bits) for bits in range(256)))
ASCII = Glyphs("+", "|", "+", "--", tuple(_ascii_cell(bits) for bits in range(256)))


def glyphs_for(widget: Widget) -> Glyphs:
    """ASCII when the app was started with ``--ascii``."""
    return ASCII if getattr(widget.app, "ascii_only", False) else UNICODE


def curve_dots(
    used: np.ndarray, lo: np.ndarray, hi: np.ndarray, last: np.ndarray,
    low: int, high: int, dot_rows: int, dot_cols: int,
) -> Iterator[tuple[int, np.ndarray]]:
    """The dots of one curve: (dot column, its dot rows) for every column from the first filled
    one to the last. ``used`` are the filled dot columns; ``lo``, ``hi`` and ``last`` their min,
    max and last log10 loss; ``low`` and ``high`` the decades at the bottom and top.

    Gaps between sparse columns are filled by linear interpolation, and each column is stretched
    to the previous column's last value, so a steep fall reads as a line, not loose dots.
    """
    every = np.arange(used[0], used[-1] + 1)
    join_lo = np.interp(every, used, lo)
    join_hi = np.interp(every, used, hi)
    before = np.interp(every - 1, used, last)
    later = every > used[0]
    join_lo = np.where(later, np.minimum(join_lo, before), join_lo)
    join_hi = np.where(later, np.maximum(join_hi, before), join_hi)

    def to_row(v: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((high - v) / (high - low) * (dot_rows - 1)), 0, dot_rows - 1).astype(int)

    for x, r0, r1 in zip(every.tolist(), to_row(join_hi).tolist(), to_row(join_lo).tolist()):
        if x < dot_cols:
            yield x, np.arange(r0, r1 + 1)


def decade_label(k: int) -> str:
    """``1e-3`` style label for 10**k."""
    return f"1e{k}"


class LossChart(Widget, can_focus=True):
    """Every epoch's loss against its epoch number, y on a log scale, x up to the planned epochs."""

    COMPONENT_CLASSES = {"loss-chart--curve", "loss-chart--axis", "loss-chart--empty"}
    FPS = 10  # redraws per second at most, whatever the epoch rate

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._losses = np.empty(1024, dtype=np.float64)
        self._logs = np.empty(1024, dtype=np.float64)  # log10 of each loss, NaN where not > 0
        self._count = 0
        self._planned = 0
        self._dirty = False
        self._lines: list[Strip] = []
        self._lines_for: tuple = ()
        self._version = 0  # bumped on every change of data
        self._bins_for: tuple = ()  # (dot columns, x-axis length) the bins below are for
        self._bins: tuple[np.ndarray, ...] = ()
        self._binned = 0  # losses folded into the bins so far
        self._style = Style()

    # ----------------------------------------------------------------- data

    @property
    def losses(self) -> np.ndarray:
        """The losses held so far (a view, oldest first)."""
        return self._losses[: self._count]

    def reset(self, planned_epochs: int = 0) -> None:
        """Forget the curve; the x axis will run to ``planned_epochs``."""
        self._count = 0
        self._planned = planned_epochs
        self._bins_for = ()
        self._version += 1
        self.refresh()

    def extend(self, losses: tuple[float, ...] | list[float]) -> None:
        """Append epochs' losses; the chart redraws on its next tick."""
        needed = self._count + len(losses)
        if needed > len(self._losses):
            size = max(needed, 2 * len(self._losses))
            for name in ("_losses", "_logs"):
                grown = np.empty(size, dtype=np.float64)
                grown[: self._count] = getattr(self, name)[: self._count]
                setattr(self, name, grown)
        new = np.asarray(losses, dtype=np.float64)
        self._losses[self._count : needed] = new
        with np.errstate(divide="ignore", invalid="ignore"):
            self._logs[self._count : needed] = np.where(np.isfinite(new) & (new > 0), np.log10(new), np.nan)
        self._count = needed
        self._version += 1
        self._dirty = True

    def on_mount(self) -> None:
        """Redraw at most ``FPS`` times a second, and only when something changed."""
        self.set_interval(1 / self.FPS, self._tick)

    def _tick(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Redraw now if data arrived (callers applying a batch call this once per batch)."""
        if self._dirty:
            self._dirty = False
            self.refresh()

    # ----------------------------------------------------------------- drawing

    def render_lines(self, crop):  # noqa: ANN001, ANN201 - Textual's signature
        """Draw every row at once when the data or the size changed, then hand out rows."""
        self._style = self.rich_style  # costly to compute: once per frame, not per row
        if self._lines_for != (self._version, self.content_size):
            self._lines = self._draw()
            self._lines_for = (self._version, self.content_size)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """One row of the chart, from the rows drawn for this frame."""
        width = self.content_size.width
        if y < len(self._lines):
            return self._lines[y].crop_extend(0, width, self._style)
        return Strip.blank(width, self._style)

    def _draw(self) -> list[Strip]:
        """Every row of the chart as strips sized to the content area."""
        width, height = self.content_size
        logs = self._logs[: self._count]
        if width < LABEL_WIDTH + 4 or height < 3 or np.isnan(logs).all():
            style = self._style + self.get_component_rich_style("loss-chart--empty", partial=True)
            message = "the loss curve draws here while training"
            message = message if width >= len(message) + 2 else "loss curve"
            pad = max(0, (width - len(message)) // 2)
            line = Strip([Segment(" " * pad + message[:width], style)])
            return [Strip.blank(width, self._style)] * (height // 2) + [line]
        curve = self._style + self.get_component_rich_style("loss-chart--curve", partial=True)
        axis = self._style + self.get_component_rich_style("loss-chart--axis", partial=True)
        rows, cols = height - 1, width - LABEL_WIDTH
        grid, low, high = self._raster(logs, rows, cols)
        labels = self._labels(low, high, rows)
        glyphs = glyphs_for(self)
        lines: list[Strip] = []
        for row in range(rows):
            dots = "".join([glyphs.cells[bits] for bits in grid[row].tolist()])
            lines.append(Strip([Segment(glyphs.gutter(labels.get(row)), axis), Segment(dots, curve)]))
        lines.append(Strip([Segment(glyphs.x_axis(max(self._planned, self._count), cols), axis)]))
        return lines

    def _columns(self, logs: np.ndarray, dot_cols: int, total: int) -> tuple[np.ndarray, ...]:
        """Min, max and last log loss per dot column (NaN where empty), kept up to date in place.

        Points are folded in as they arrive, so a frame costs the same after a million epochs
        as after ten (a full pass over 1M losses took ~21 ms a frame); a new width or a longer
        x axis folds everything in again, once.
        """
        if self._bins_for != (dot_cols, total):
            self._bins_for = (dot_cols, total)
            self._bins = tuple(np.full(dot_cols, np.nan) for _ in range(3))
            self._binned = 0
        low, high, last = self._bins
        new = logs[self._binned :]
        if len(new):
            column = ((np.arange(len(new)) + self._binned) * dot_cols) // total
            keep = ~np.isnan(new)
            column, kept = column[keep], new[keep]
            if len(kept):
                starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
                used = column[starts]
                chunk_lo = np.minimum.reduceat(kept, starts)
                chunk_hi = np.maximum.reduceat(kept, starts)
                low[used] = np.fmin(low[used], chunk_lo)
                high[used] = np.fmax(high[used], chunk_hi)
                last[used] = kept[np.r_[starts[1:] - 1, len(kept) - 1]]
            self._binned = len(logs)
        return low, high, last

    def _raster(self, logs: np.ndarray, rows: int, cols: int) -> tuple[np.ndarray, int, int]:
        """Braille bits per cell for the curve of log10 losses, and the decades spanned (low, high)."""
        total = max(self._planned, len(logs))
        dot_rows, dot_cols = rows * 4, cols * 2
        col_lo, col_hi, col_last = self._columns(logs, dot_cols, total)
        filled = ~np.isnan(col_lo)
        used = np.flatnonzero(filled)
        lo, hi, last = col_lo[used], col_hi[used], col_last[used]
        low, high = math.floor(lo.min()), math.ceil(hi.max())
        if high == low:
            high = low + 1

        grid = np.zeros((rows, cols), dtype=np.uint8)
        for x, r in curve_dots(used, lo, hi, last, low, high, dot_rows, dot_cols):
            np.bitwise_or.at(grid, (r // 4, np.full(len(r), x // 2)), BRAILLE_DOTS[r % 4, x % 2])
        return grid, low, high

    @staticmethod
    def _labels(low: int, high: int, rows: int) -> dict[int, str]:
        """Text row -> decade label, thinned so labels never touch."""
        span = high - low
        step = max(1, math.ceil((span + 1) / max(1, rows // 2)))
        labels: dict[int, str] = {}
        for k in range(high, low - 1, -step):
            row = round((high - k) / span * (rows * 4 - 1)) // 4
            labels.setdefault(row, decade_label(k))
        return labels
