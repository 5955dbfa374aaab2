"""Several loss curves on one log-scale braille chart, one colour per series, with a legend.

The lab's ``LossChart`` draws one long curve incrementally; a comparison holds a few short ones,
so this widget simply re-bins every series per frame (a few thousand points at most) and redraws
at a bounded rate.
"""

from __future__ import annotations

import math

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from .loss_chart import BRAILLE_DOTS, LABEL_WIDTH, LossChart, curve_dots, glyphs_for

# One colour per topology, in registry order (readable on dark and light themes).
PALETTE = ("#f0a35e", "#6cb6ff", "#7ee787", "#d2a8ff", "#ff7b72", "#e3b341")


class CompareChart(Widget, can_focus=True):
    """Loss against epoch for several named series; y on a log scale, a legend on the first row."""

    COMPONENT_CLASSES = {"compare-chart--axis", "compare-chart--empty"}
    FPS = 10

    def __init__(self, names: list[str], *, labels: dict[str, str] | None = None, id: str | None = None) -> None:
        """``labels`` gives a shorter legend entry per name, used when the full names do not fit."""
        super().__init__(id=id)
        self.names = list(names)
        self.labels = labels or {}
        self.colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(self.names)}
        self.series: dict[str, list[float]] = {}
        self.planned = 0
        self._dirty = False

    def reset(self, names: list[str], planned_epochs: int) -> None:
        """Forget every curve; ``names`` will be drawn, the x axis runs to ``planned_epochs``."""
        self.series = {name: [] for name in names}
        self.planned = planned_epochs
        self.refresh()

    def extend(self, name: str, losses: tuple[float, ...] | list[float]) -> None:
        """Append epochs' losses to one series; drawn on the next tick."""
        self.series.setdefault(name, []).extend(losses)
        self._dirty = True

    def on_mount(self) -> None:
        """Redraw at most ``FPS`` times a second, only when data arrived."""
        self.set_interval(1 / self.FPS, self.flush)

    def flush(self) -> None:
        """Redraw now if data arrived."""
        if self._dirty:
            self._dirty = False
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

    def _legend(self, base: Style) -> Strip:
        """``━━ one-to-one  ━━ many-to-one …`` in each series' colour."""
        segments = [Segment(" " * LABEL_WIDTH, base)]
        names = list(self.series)
        if sum(len(n) + 5 for n in names) > self.content_size.width - LABEL_WIDTH:
            shown = [self.labels.get(n, n) for n in names]
        else:
            shown = names
        line = glyphs_for(self).line
        for name, label in zip(names, shown):
            segments.append(Segment(f"{line} ", base + Style(color=self.colours.get(name, PALETTE[0]))))
            segments.append(Segment(f"{label}  ", base))
        return Strip(segments)

    def _draw(self) -> list[Strip]:
        """Legend, plot rows and the x axis."""
        width, height = self.content_size
        base = self.rich_style
        axis = base + self.get_component_rich_style("compare-chart--axis", partial=True)
        logs = {}
        for name, losses in self.series.items():
            values = np.asarray(losses, dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                logs[name] = np.where(np.isfinite(values) & (values > 0), np.log10(values), np.nan)
        finite = [v[~np.isnan(v)] for v in logs.values()]
        finite = [v for v in finite if len(v)]
        rows, cols = height - 2, width - LABEL_WIDTH
        if not finite or rows < 2 or cols < 4:
            empty = base + self.get_component_rich_style("compare-chart--empty", partial=True)
            message = "the loss curves draw here while training"
            pad = max(0, (width - len(message)) // 2)
            return [self._legend(base)] + [Strip.blank(width, base)] * max(0, height // 2 - 1) + [
                Strip([Segment(" " * pad + message[:width], empty)])]
        low = math.floor(min(v.min() for v in finite))
        high = math.ceil(max(v.max() for v in finite))
        if high == low:
            high = low + 1
        total = max(self.planned, max(len(v) for v in logs.values()), 1)
        dot_rows, dot_cols = rows * 4, cols * 2
        grid = np.zeros((rows, cols), dtype=np.uint8)
        owner = np.full((rows, cols), -1, dtype=np.int16)
        names = list(logs)
        for index, name in enumerate(names):
            values = logs[name]
            if not len(values) or np.isnan(values).all():
                continue
            column = (np.arange(len(values)) * dot_cols) // total
            keep = ~np.isnan(values)
            column, kept = column[keep], values[keep]
            starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
            used = column[starts]
            lo = np.minimum.reduceat(kept, starts)
            hi = np.maximum.reduceat(kept, starts)
            last = kept[np.r_[starts[1:] - 1, len(kept) - 1]]
            for x, r in curve_dots(used, lo, hi, last, low, high, dot_rows, dot_cols):
                cells_r, cell_c = r // 4, x // 2
                np.bitwise_or.at(grid, (cells_r, np.full(len(r), cell_c)), BRAILLE_DOTS[r % 4, x % 2])
                owner[cells_r, cell_c] = index  # a shared cell takes the colour drawn last
        labels = LossChart._labels(low, high, rows)
        styles = [base + Style(color=self.colours.get(name, PALETTE[0])) for name in names]
        glyphs = glyphs_for(self)
        lines = [self._legend(base)]
        for row in range(rows):
            segments = [Segment(glyphs.gutter(labels.get(row)), axis)]
            run, run_owner = [], None
            for c in range(cols):
                o = int(owner[row, c])
                if o != run_owner and run:
                    segments.append(Segment("".join(run), styles[run_owner] if run_owner >= 0 else base))
                    run = []
                run_owner = o
                run.append(glyphs.cells[int(grid[row, c])])
            if run:
                segments.append(Segment("".join(run), styles[run_owner] if run_owner >= 0 else base))
            lines.append(Strip(segments))
        lines.append(Strip([Segment(glyphs.x_axis(total, cols), axis)]))
        return lines
