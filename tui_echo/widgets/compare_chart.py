"""Several loss curves on one braille chart, one colour (or, without colour, one mark) per series, with a legend.

The lab's ``LossChart`` draws one long curve incrementally; a comparison holds a few short ones,
so this widget simply re-bins every series per frame (a few thousand points at most) and redraws
at a bounded rate.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from ..core.formatting import format_loss
from .chart_base import LABEL_WIDTH, ChartBase, columns_of, ema, glyphs_for, monochrome, raster, styled_row, y_labels, y_range

# The curves a run record holds, by key, and what the y axis shows for each (v switches them).
CURVES = {"history": "Loss", "val_history": "Validation loss"}
# One colour per topology, in registry order (readable on dark and light themes).
PALETTE = ("#f0a35e", "#6cb6ff", "#7ee787", "#d2a8ff", "#ff7b72", "#e3b341")


class CompareChart(ChartBase):
    """Loss against epoch for several named series; y on a log scale, a legend on the first row.

    In colour each series has its colour; without colour (``NO_COLOR`` or ``--ascii``) each is
    drawn with its own mark (``*``, ``+``, ``o``, ``x`` in ASCII), which the legend shows.
    """

    COMPONENT_CLASSES = {"compare-chart--axis", "compare-chart--empty", "compare-chart--cursor"}
    FPS = 10

    def __init__(self, names: list[str], *, labels: dict[str, str] | None = None, id: str | None = None) -> None:
        """``labels`` gives a shorter legend entry per name, used when the full names do not fit."""
        super().__init__(id=id)
        self.names = list(names)
        self.labels = labels or {}
        self.colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(self.names)}
        self.series: dict[str, list[float]] = {}
        self.bands: dict[str, tuple[list[float], list[float]]] = {}  # name -> (lowest, highest) curve over seeds
        self.planned = 0
        self._dirty = False

    def epochs(self) -> int:
        return max((len(v) for v in self.series.values()), default=0)

    def full_span(self) -> int:
        return max(self.planned, self.epochs(), 1)

    def cursor_text(self, epoch: int) -> str:
        readings = [
            f"{self.labels.get(name, name)} {format_loss(values[epoch])}"
            for name, values in self.series.items() if epoch < len(values)
        ]
        return f"ep {epoch + 1:,}: " + ", ".join(readings)

    def reset(self, names: list[str], planned_epochs: int) -> None:
        """Forget every curve (and any zoom or cursor); ``names`` will be drawn, the x axis runs to ``planned_epochs``."""
        self.series = {name: [] for name in names}
        self.bands = {}
        self.planned = planned_epochs
        self.window, self.cursor = None, None
        self.view_changed()

    def extend(self, name: str, losses: tuple[float, ...] | list[float]) -> None:
        """Append epochs' losses to one series; drawn on the next tick."""
        self.series.setdefault(name, []).extend(losses)
        self._dirty = True

    def spread(self, name: str, mean: list[float], low: list[float], high: list[float]) -> None:
        """Show one series as its mean curve over seeds, with the seeds' lowest and highest loss
        per epoch drawn faint around it; drawn on the next tick."""
        self.series[name] = list(mean)
        self.bands[name] = (list(low), list(high))
        self._dirty = True

    def on_mount(self) -> None:
        """Redraw at most ``FPS`` times a second, only when data arrived."""
        self.set_interval(1 / self.FPS, self.flush)

    def flush(self) -> None:
        """Redraw now if data arrived."""
        if self._dirty:
            self._dirty = False
            if self.cursor is not None:
                self.border_subtitle = self.view_text()
            self.refresh()

    def render_lines(self, crop):  # noqa: ANN001, ANN201 - Textual's signature
        """Draw every row at once per frame, then hand out rows."""
        self._lines = self._draw()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """One row of the rows drawn for this frame."""
        width = self.content_size.width
        lines = getattr(self, "_lines", [])
        base = self.rich_style
        return lines[y].crop_extend(0, width, base) if y < len(lines) else Strip.blank(width, base)

    def _marks(self) -> dict[str, str] | None:
        """Each series' mark when colour cannot tell them apart, else None."""
        if not monochrome(self):
            return None
        marks = glyphs_for(self).marks
        return {name: marks[i % len(marks)] for i, name in enumerate(self.names)}

    def _legend(self, base: Style) -> Strip:
        """``━━ one-to-one  ━━ many-to-one …`` in each series' colour, or ``* 1:1  + n:1 …``."""
        segments = [Segment(" " * LABEL_WIDTH, base)]
        names = list(self.series)
        if sum(len(n) + 5 for n in names) > self.content_size.width - LABEL_WIDTH:
            shown = [self.labels.get(n, n) for n in names]
        else:
            shown = names
        marks = self._marks()
        line = glyphs_for(self).line
        for name, label in zip(names, shown):
            sample = f"{marks.get(name, '?')} " if marks else f"{line} "
            segments.append(Segment(sample, base + Style(color=self.colours.get(name, PALETTE[0]))))
            segments.append(Segment(f"{label}  ", base))
        return Strip(segments)

    def _draw(self) -> list[Strip]:
        """Legend, plot rows and the x axis."""
        width, height = self.content_size
        base = self.rich_style
        axis = base + self.get_component_rich_style("compare-chart--axis", partial=True)
        rows, cols = height - 2, width - LABEL_WIDTH
        origin, span = self.shown()
        def binned(losses: list[float]):  # noqa: ANN202 - a chart_base.Columns, or None when nothing shows
            values = np.asarray(losses, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                logs = np.where(np.isfinite(values) & (values > 0), np.log10(values), np.nan)
            found = columns_of(logs, origin, span, max(1, cols) * 2)
            if not len(found.used):
                return None
            return found if self.log else type(found)(found.used, 10**found.lo, 10**found.hi, 10**found.mean)

        columns = {name: c for name, losses in self.series.items() if (c := binned(losses)) is not None}
        # A band's faint lines: the lowest curve's per-column minimum, the highest curve's maximum.
        bands = {}
        for name, (low_curve, high_curve) in self.bands.items():
            low_cols, high_cols = binned(low_curve), binned(high_curve)
            if low_cols is not None and high_cols is not None:
                bands[name] = [(low_cols.used, low_cols.lo), (high_cols.used, high_cols.hi)]
        if not columns or rows < 2 or cols < 4:
            empty = base + self.get_component_rich_style("compare-chart--empty", partial=True)
            message = "the loss curves draw here while training"
            pad = max(0, (width - len(message)) // 2)
            return [self._legend(base)] + [Strip.blank(width, base)] * max(0, height // 2 - 1) + [
                Strip([Segment(" " * pad + message[:width], empty)])]
        lows = [float(c.lo.min()) for c in columns.values()] + [float(b[0][1].min()) for b in bands.values()]
        highs = [float(c.hi.max()) for c in columns.values()] + [float(b[1][1].max()) for b in bands.values()]
        low, high = y_range(self.log, lows, highs)
        glyphs = glyphs_for(self)
        marks = self._marks()
        names = list(self.series)
        cells = np.array(glyphs.cells, dtype=object)
        chars = np.full((rows, cols), " ", dtype=object)
        # Which style each cell takes: 0 empty, 1 + i series i, 1 + n + i series i's faint raw curve
        # (under smoothing) or its seeds' band; a cell two series share shows the one drawn last.
        owner = np.zeros((rows, cols), dtype=np.int16)
        count = len(names)
        for index, name in enumerate(names):
            if name in bands:
                grid = raster(bands[name], low, high, rows, cols)
                drawn = grid > 0
                chars[drawn], owner[drawn] = cells[grid[drawn]], 1 + count + index
        if self.smoothing:
            for index, name in enumerate(names):
                if name in columns:
                    c = columns[name]
                    grid = raster([(c.used, c.lo), (c.used, c.hi)], low, high, rows, cols)
                    drawn = grid > 0
                    chars[drawn], owner[drawn] = cells[grid[drawn]], 1 + count + index
        for index, name in enumerate(names):
            if name not in columns:
                continue
            c = columns[name]
            lines = [(c.used, ema(c.mean, self.smoothing))] if self.smoothing else [(c.used, c.lo), (c.used, c.hi)]
            grid = raster(lines, low, high, rows, cols)
            drawn = grid > 0
            chars[drawn] = marks[name] if marks else cells[grid[drawn]]  # marks: the shape tells series apart
            owner[drawn] = 1 + index
        colours = [Style(color=self.colours.get(name, PALETTE[0])) for name in names]
        styles = [base, *(base + colour for colour in colours), *(base + colour + Style(dim=True) for colour in colours),
                  base + self.get_component_rich_style("compare-chart--cursor", partial=True)]
        cursor = self.cursor_column(origin, span, cols)
        labels = y_labels(self.log, low, high, rows)
        out = [self._legend(base)]
        for row in range(rows):
            row_chars, row_owners = chars[row].tolist(), owner[row].tolist()
            if cursor is not None:
                row_chars[cursor] = row_chars[cursor] if row_owners[cursor] else glyphs.cursor
                row_owners[cursor] = len(styles) - 1
            out.append(Strip([Segment(glyphs.gutter(labels.get(row)), axis), *styled_row(row_chars, row_owners, styles)]))
        out.append(Strip([Segment(glyphs.x_axis(origin + 1, origin + span, cols), axis)]))
        return out
