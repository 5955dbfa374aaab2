"""The loss curve: a braille line chart (ASCII with ``--ascii``) with a log-scale y axis, redrawn
at a bounded rate.

Why not textual-plotext: with textual 8.2.8 and plotext 5.3.2, plotext re-applies its log scale
on every rebuild (the second frame raises ``math domain error``), and one 60×16 frame costs
~47 ms on the UI thread, which alone would break the 50 ms key-latency target. This widget draws
the same thing with numpy in well under a millisecond per frame.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from ..core.formatting import format_loss
from .chart_base import LABEL_WIDTH, ChartBase, axis_span, bin_columns, columns_of, ema, glyphs_for, raster, styled_row, y_labels, y_range


class LossChart(ChartBase):
    """Every epoch's loss against its epoch number, y on a log scale by default.

    Each dot column shows the lowest and the highest loss of the epochs it covers, as two lines
    (a noisy tail of a million epochs reads as a band's edges, not a solid block); with smoothing
    on, a moving average is drawn over them and they turn faint.
    """

    COMPONENT_CLASSES = {"loss-chart--curve", "loss-chart--raw", "loss-chart--axis", "loss-chart--empty", "loss-chart--cursor"}
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
        self._bins_for: tuple = ()  # (dot columns, x-axis span) the bins below are for
        self._bins: tuple[np.ndarray, ...] = ()
        self._binned = 0  # losses folded into the bins so far
        self._style = Style()

    # ----------------------------------------------------------------- data

    @property
    def losses(self) -> np.ndarray:
        """The losses held so far (a view, oldest first)."""
        return self._losses[: self._count]

    def epochs(self) -> int:
        return self._count

    def full_span(self) -> int:
        return axis_span(self._count, self._planned)

    def cursor_text(self, epoch: int) -> str:
        return f"epoch {epoch + 1:,}: {format_loss(float(self._losses[epoch]))}" if epoch < self._count else ""

    def reset(self, planned_epochs: int = 0) -> None:
        """Forget the curve (and any zoom or cursor); the x axis will run to ``planned_epochs``."""
        self._count = 0
        self._planned = planned_epochs
        self._bins_for = ()
        self._version += 1
        self.window, self.cursor = None, None
        self.view_changed()

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
        """Draw every row at once when the data, the size or the view changed, then hand out rows."""
        self._style = self.rich_style  # costly to compute: once per frame, not per row
        key = (self._version, self.content_size, self.log, self.smoothing, self.window, self.cursor)
        if self._lines_for != key:
            self._lines = self._draw()
            self._lines_for = key
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """One row of the chart, from the rows drawn for this frame."""
        width = self.content_size.width
        if y < len(self._lines):
            return self._lines[y].crop_extend(0, width, self._style)
        return Strip.blank(width, self._style)

    def _part(self, name: str) -> Style:
        return self._style + self.get_component_rich_style(f"loss-chart--{name}", partial=True)

    def _draw(self) -> list[Strip]:
        """Every row of the chart as strips sized to the content area."""
        width, height = self.content_size
        logs = self._logs[: self._count]
        if width < LABEL_WIDTH + 2 or height < 3 or np.isnan(logs).all():
            message = "the loss curve draws here while training"
            message = message if width >= len(message) + 2 else "loss curve"
            pad = max(0, (width - len(message)) // 2)
            line = Strip([Segment(" " * pad + message[:width], self._part("empty"))])
            return [Strip.blank(width, self._style)] * (height // 2) + [line]
        rows, cols = height - 1, width - LABEL_WIDTH
        origin, span = self.shown()
        used, lo, hi, mean = self._columns(logs, origin, span, cols * 2)
        glyphs = glyphs_for(self)
        axis = self._part("axis")
        if not len(used):  # zoomed to epochs with no finite loss
            return [Strip([Segment(glyphs.gutter(None), axis)])] * rows + [
                Strip([Segment(glyphs.x_axis(origin + 1, origin + span, cols), axis)])]
        if not self.log:
            lo, hi, mean = 10.0**lo, 10.0**hi, 10.0**mean
        low, high = y_range(self.log, [float(lo.min())], [float(hi.max())])
        raw = raster([(used, lo), (used, hi)], low, high, rows, cols)
        smooth = raster([(used, ema(mean, self.smoothing))], low, high, rows, cols) if self.smoothing else None
        styles = [self._style, self._part("curve"), self._part("raw"), self._part("cursor")]
        cursor = self.cursor_column(origin, span, cols)
        labels = y_labels(self.log, low, high, rows)
        lines: list[Strip] = []
        for row in range(rows):
            bits = raw[row] if smooth is None else raw[row] | smooth[row]
            owners = np.where(bits > 0, 1, 0) if smooth is None else np.where(smooth[row] > 0, 1, np.where(raw[row] > 0, 2, 0))
            chars = [glyphs.cells[b] for b in bits.tolist()]
            owners = owners.tolist()
            if cursor is not None:
                chars[cursor] = chars[cursor] if bits[cursor] else glyphs.cursor
                owners[cursor] = 3
            lines.append(Strip([Segment(glyphs.gutter(labels.get(row)), axis), *styled_row(chars, owners, styles)]))
        lines.append(Strip([Segment(glyphs.x_axis(origin + 1, origin + span, cols), axis)]))
        return lines

    def _columns(self, logs: np.ndarray, origin: int, span: int, dot_cols: int) -> tuple[np.ndarray, ...]:
        """(used dot columns, min, max, mean log loss) for the epochs in view.

        Unzoomed, points are folded in as they arrive, so a frame costs the same after a million
        epochs as after ten (a full pass over 1M losses took ~21 ms a frame); a new width or a
        longer x axis folds everything in again, once. A zoomed view bins its window afresh.
        """
        if self.window is not None:
            columns = columns_of(logs, origin, span, dot_cols)
            return columns.used, columns.lo, columns.hi, columns.mean
        if self._bins_for != (dot_cols, span):
            self._bins_for = (dot_cols, span)
            self._bins = (np.full(dot_cols, np.nan), np.full(dot_cols, np.nan), np.zeros(dot_cols), np.zeros(dot_cols))
            self._binned = 0
        low, high, total, count = self._bins
        if self._binned < len(logs):
            used, lo, hi, sums, counts = bin_columns(logs[self._binned :], self._binned, 0, span, dot_cols)
            low[used] = np.fmin(low[used], lo)
            high[used] = np.fmax(high[used], hi)
            total[used] += sums
            count[used] += counts
            self._binned = len(logs)
        used = np.flatnonzero(count)
        return used, low[used], high[used], total[used] / count[used]
