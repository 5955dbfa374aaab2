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
from .chart_base import LABEL_WIDTH, ChartBase, axis_span, bin_columns, columns_of, ema, glyphs_for, monochrome, raster, styled_row, y_labels, y_range


class Series:
    """One curve's values, their log10 (NaN where not > 0), and dot-column bins folded in as values
    arrive, so a frame costs the same after a million epochs as after ten (a full pass over 1M
    losses took ~21 ms a frame); a new width or a longer x axis folds everything in again, once."""

    def __init__(self) -> None:
        self.values = np.empty(1024, dtype=np.float64)
        self.logs = np.empty(1024, dtype=np.float64)
        self.count = 0
        self._bins_for: tuple = ()  # (dot columns, x-axis span) the bins below are for
        self._bins: tuple[np.ndarray, ...] = ()
        self._binned = 0  # values folded into the bins so far

    def clear(self) -> None:
        self.count, self._bins_for = 0, ()

    def extend(self, values: tuple[float, ...] | list[float]) -> None:
        """Append values (None counts as not a number)."""
        needed = self.count + len(values)
        if needed > len(self.values):
            size = max(needed, 2 * len(self.values))
            for name in ("values", "logs"):
                grown = np.empty(size, dtype=np.float64)
                grown[: self.count] = getattr(self, name)[: self.count]
                setattr(self, name, grown)
        new = np.array([np.nan if v is None else v for v in values], dtype=np.float64) if None in values else (
            np.asarray(values, dtype=np.float64))
        self.values[self.count : needed] = new
        with np.errstate(divide="ignore", invalid="ignore"):
            self.logs[self.count : needed] = np.where(np.isfinite(new) & (new > 0), np.log10(new), np.nan)
        self.count = needed

    def columns(self, origin: int, span: int, dot_cols: int, zoomed: bool) -> tuple[np.ndarray, ...]:
        """(used dot columns, min, max, mean log value) for the epochs in view; a zoomed view
        bins its window afresh."""
        logs = self.logs[: self.count]
        if zoomed:
            found = columns_of(logs, origin, span, dot_cols)
            return found.used, found.lo, found.hi, found.mean
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


class LossChart(ChartBase):
    """Every epoch's loss against its epoch number, y on a log scale by default.

    Each dot column shows the lowest and the highest loss of the epochs it covers, as two lines
    (a noisy tail of a million epochs reads as a band's edges, not a solid block); with smoothing
    on, a moving average is drawn over them and they turn faint.

    A run with validation data has a second curve, the validation loss, in its own colour; without
    colour (``NO_COLOR``, ``--ascii``) it is drawn with a mark (``+``) instead of dots. A legend
    row above the plot names both, and the epoch early stopping kept (``mark_best``) is marked on
    the x axis (``▲``, ``^`` in ASCII).
    """

    COMPONENT_CLASSES = {"loss-chart--curve", "loss-chart--raw", "loss-chart--axis", "loss-chart--empty",
                         "loss-chart--cursor", "loss-chart--val", "loss-chart--best"}
    FPS = 10  # redraws per second at most, whatever the epoch rate

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._train = Series()
        self._val = Series()
        self.best_epoch: int | None = None  # 1-based: the epoch early stopping kept
        self._planned = 0
        self._dirty = False
        self._lines: list[Strip] = []
        self._lines_for: tuple = ()
        self._version = 0  # bumped on every change of data
        self._style = Style()

    # ----------------------------------------------------------------- data

    @property
    def losses(self) -> np.ndarray:
        """The losses held so far (a view, oldest first)."""
        return self._train.values[: self._train.count]

    @property
    def val_losses(self) -> np.ndarray:
        """The validation losses held so far (empty for a run without validation data)."""
        return self._val.values[: self._val.count]

    @property
    def _count(self) -> int:
        return self._train.count

    def epochs(self) -> int:
        return self._count

    def full_span(self) -> int:
        return axis_span(self._count, self._planned)

    def cursor_text(self, epoch: int) -> str:
        if epoch >= self._count:
            return ""
        val = f" · val {format_loss(float(self._val.values[epoch]))}" if epoch < self._val.count else ""
        return f"epoch {epoch + 1:,}: {format_loss(float(self._train.values[epoch]))}{val}"

    def reset(self, planned_epochs: int = 0) -> None:
        """Forget the curves (and any zoom, cursor or best epoch); the x axis will run to ``planned_epochs``."""
        self._train.clear()
        self._val.clear()
        self.best_epoch = None
        self._planned = planned_epochs
        self._version += 1
        self.window, self.cursor = None, None
        self.view_changed()

    def extend(self, losses: tuple[float, ...] | list[float], val_losses: tuple[float, ...] | list[float] = ()) -> None:
        """Append epochs' losses (and, with validation data, the same epochs' validation losses);
        the chart redraws on its next tick."""
        self._train.extend(losses)
        if len(val_losses):
            self._val.extend(val_losses)
        self._version += 1
        self._dirty = True

    def mark_best(self, epoch: int | None) -> None:
        """Mark epoch ``epoch`` (1-based) as the one early stopping kept (None: no mark)."""
        self.best_epoch = epoch
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

    def _legend(self, val_mark: str | None) -> Strip:
        """``━━ loss  ━━ val  ▲ best 412``, each sample in its curve's style (the validation one as
        its mark when colour cannot tell the curves apart); tighter where the pane is narrow (the
        lab's chart at 80 columns), so every entry stays in view."""
        glyphs = glyphs_for(self)
        width = self.content_size.width
        for indent, gap, best in ((LABEL_WIDTH, "  ", "best "), (0, "  ", "best "), (0, " ", "")):
            entries = [(glyphs.line, "curve", " loss")]
            if self._val.count:
                entries.append((val_mark or glyphs.line, "val", " val"))
            if self.best_epoch is not None:
                entries.append((glyphs.best, "best", f" {best}{self.best_epoch:,}"))
            if indent + sum(len(sample) + len(label) for sample, _, label in entries) + len(gap) * (len(entries) - 1) <= width:
                break
        segments = [Segment(" " * indent, self._style)]
        for i, (sample, part, label) in enumerate(entries):
            segments += [Segment(sample, self._part(part)), Segment(label + (gap if i < len(entries) - 1 else ""), self._style)]
        return Strip(segments)

    def _draw(self) -> list[Strip]:
        """Every row of the chart as strips sized to the content area."""
        width, height = self.content_size
        logs = self._train.logs[: self._count]
        legend = (self._val.count > 0 or self.best_epoch is not None) and height >= 5
        if legend:
            height -= 1
        if width < LABEL_WIDTH + 2 or height < 3 or np.isnan(logs).all():
            message = "the loss curve draws here while training"
            message = message if width >= len(message) + 2 else "loss curve"
            pad = max(0, (width - len(message)) // 2)
            line = Strip([Segment(" " * pad + message[:width], self._part("empty"))])
            return [Strip.blank(width, self._style)] * (height // 2) + [line]
        rows, cols = height - 1, width - LABEL_WIDTH
        origin, span = self.shown()
        zoomed = self.window is not None
        used, lo, hi, mean = self._train.columns(origin, span, cols * 2, zoomed)
        val = self._val.columns(origin, span, cols * 2, zoomed) if self._val.count else None
        if val is not None and not len(val[0]):
            val = None
        glyphs = glyphs_for(self)
        val_mark = glyphs.marks[1] if monochrome(self) else None  # the shape tells the curves apart
        axis = self._part("axis")
        head = [self._legend(val_mark)] if legend else []
        if not len(used):  # zoomed to epochs with no finite loss
            return head + [Strip([Segment(glyphs.gutter(None), axis)])] * rows + [
                Strip([Segment(glyphs.x_axis(origin + 1, origin + span, cols), axis)])]
        if not self.log:
            lo, hi, mean = 10.0**lo, 10.0**hi, 10.0**mean
            if val is not None:
                val = (val[0], *(10.0**part for part in val[1:]))
        lows, highs = [float(lo.min())], [float(hi.max())]
        if val is not None:
            lows.append(float(val[1].min()))
            highs.append(float(val[2].max()))
        low, high = y_range(self.log, lows, highs)
        raw = raster([(used, lo), (used, hi)], low, high, rows, cols)
        smooth = raster([(used, ema(mean, self.smoothing))], low, high, rows, cols) if self.smoothing else None
        validation = None
        if val is not None:
            val_used, val_lo, val_hi, val_mean = val
            lines = [(val_used, ema(val_mean, self.smoothing))] if self.smoothing else [(val_used, val_lo), (val_used, val_hi)]
            validation = raster(lines, low, high, rows, cols)
        styles = [self._style, self._part("curve"), self._part("raw"), self._part("cursor"), self._part("val")]
        cursor = self.cursor_column(origin, span, cols)
        labels = y_labels(self.log, low, high, rows)
        out: list[Strip] = list(head)
        for row in range(rows):
            bits = raw[row] if smooth is None else raw[row] | smooth[row]
            owners = np.where(bits > 0, 1, 0) if smooth is None else np.where(smooth[row] > 0, 1, np.where(raw[row] > 0, 2, 0))
            chars = [glyphs.cells[b] for b in bits.tolist()]
            owners = owners.tolist()
            if validation is not None:  # drawn over the training curve where they meet
                for col in np.flatnonzero(validation[row]).tolist():
                    chars[col] = val_mark or glyphs.cells[int(validation[row][col])]
                    owners[col] = 4
            if cursor is not None:
                chars[cursor] = chars[cursor] if owners[cursor] else glyphs.cursor
                owners[cursor] = 3
            out.append(Strip([Segment(glyphs.gutter(labels.get(row)), axis), *styled_row(chars, owners, styles)]))
        out.append(self._x_axis(origin, span, cols, glyphs, axis))
        return out

    def _x_axis(self, origin: int, span: int, cols: int, glyphs, axis: Style) -> Strip:  # noqa: ANN001
        """The epochs under the plot, with the best epoch's mark under its column when in view."""
        text = glyphs.x_axis(origin + 1, origin + span, cols)
        if self.best_epoch is None or not origin <= self.best_epoch - 1 < origin + span:
            return Strip([Segment(text, axis)])
        at = LABEL_WIDTH + ((self.best_epoch - 1 - origin) * cols * 2 // span) // 2
        text = text.ljust(at + 1)
        return Strip([Segment(text[:at], axis), Segment(glyphs.best, self._part("best")), Segment(text[at + 1 :], axis)])
