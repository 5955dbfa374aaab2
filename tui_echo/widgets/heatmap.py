"""One state of a recurrent layer as a heatmap: units down, timesteps across.

In colour, each character is two units: ``▀`` with the upper unit's colour as foreground and the
lower one's as background, so 8 units take 4 rows. Under ``--ascii`` or ``NO_COLOR`` each unit is
one row of the character ramp `` .:-=+*#%@``. Sigmoid gates (0 to 1) use a sequential ramp;
signed states (tanh outputs, the cell state) a diverging one with 0 dark, so what is far from 0
stands out. When the units or timesteps do not fit, the window follows the cursor.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from ..core.inspect import CHARACTER_RAMP, ramp_index

LABEL_WIDTH = 4  # " 12▸"
BARS = " ▁▂▃▄▅▆▇█"


def _ramp(anchors: list[tuple[int, int, int]], steps: int = 32) -> list[Color]:
    """``steps`` colours, linearly between evenly spaced anchors."""
    positions = np.linspace(0, len(anchors) - 1, steps)
    colours = []
    for p in positions:
        low = min(int(p), len(anchors) - 2)
        t = p - low
        rgb = [round(a + (b - a) * t) for a, b in zip(anchors[low], anchors[low + 1])]
        colours.append(Color.from_rgb(*rgb))
    return colours


SEQUENTIAL = _ramp([(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)])  # viridis
DIVERGING = _ramp([(33, 102, 172), (103, 169, 207), (44, 44, 44), (239, 138, 98), (178, 24, 43)])


def plain_for(widget: Widget) -> bool:
    """Characters instead of colours: ``--ascii``, or ``NO_COLOR`` (Textual then drops colours)."""
    return bool(getattr(widget.app, "ascii_only", False) or widget.app.no_color)


def bar_text(values: np.ndarray, width: int, plain: bool, cursor: int | None = None) -> Text:
    """One row of bars, one slot of ``width`` // len(values) columns per value, scaled to the largest."""
    glyphs = CHARACTER_RAMP if plain else BARS
    top = float(np.max(values)) if len(values) else 0.0
    levels = ramp_index(values, 0.0, top or 1.0, len(glyphs))
    slot = max(1, width // max(1, len(values)))
    text = Text(no_wrap=True, overflow="crop")
    for step, level in enumerate(levels.tolist()):
        text.append(glyphs[level] * slot, "bold" if step == cursor else "")
    return text


class Heatmap(Widget):
    """One [timestep][unit] array drawn units down, timesteps across, with a cursor."""

    COMPONENT_CLASSES = {"heatmap--title", "heatmap--cursor"}

    def __init__(self, title: str, values: np.ndarray, low: float, high: float, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.cursor = (0, 0)  # (unit, timestep)
        self.show(values, low, high)

    def show(self, values: np.ndarray, low: float, high: float) -> None:
        """Draw ``values`` (timesteps, units) on the scale ``low`` to ``high``."""
        self.values = np.asarray(values, dtype=np.float64)
        self.low, self.high = low, high
        self.refresh()

    def move(self, unit: int, step: int) -> None:
        """Put the cursor on ``unit`` at ``step``."""
        if (unit, step) != self.cursor:
            self.cursor = (unit, step)
            self.refresh()

    def _window(self, total: int, shown: int, at: int) -> int:
        """The first of ``shown`` items out of ``total`` so that ``at`` is in view."""
        return int(np.clip(at - shown // 2, 0, max(0, total - shown)))

    def render(self) -> Text:
        """Title row, then the units (two per row in colour)."""
        plain = plain_for(self)
        steps, units = self.values.shape
        width, height = self.content_size.width, self.content_size.height
        per_row = 1 if plain else 2
        cols = max(1, width - LABEL_WIDTH)
        slot = max(1, cols // steps)
        shown_steps = min(steps, cols // slot)
        unit, step = self.cursor
        first_step = self._window(steps, shown_steps, step)
        rows = max(0, min(-(-units // per_row), height - 1))
        first_unit = self._window(-(-units // per_row), rows, unit // per_row) * per_row
        title_style = self.get_component_rich_style("heatmap--title", partial=True)
        cursor_style = self.get_component_rich_style("heatmap--cursor", partial=True)

        marker_at = LABEL_WIDTH + (step - first_step) * slot + (slot - 1) // 2
        title = f"{self.title} {self.low:.3g}{'..' if plain else '…'}{self.high:.3g}"[:width]
        # The title sits left, or just right of the cursor's marker when that would fall inside it.
        start = 0 if marker_at > len(title) or marker_at + 2 + len(title) > width else marker_at + 2
        head = (" " * start + title).ljust(width)[:width]
        if marker_at < width:
            head = head[:marker_at] + ("v" if plain else "▼") + head[marker_at + 1:]
        text = Text(head, title_style, no_wrap=True, overflow="crop")
        text.stylize(cursor_style, marker_at, marker_at + 1)

        scale = CHARACTER_RAMP if plain else (SEQUENTIAL if self.low >= 0 else DIVERGING)
        levels = ramp_index(self.values, self.low, self.high, len(scale))  # (steps, units)
        window = range(first_step, first_step + shown_steps)
        for row in range(rows):
            top = first_unit + row * per_row
            if top >= units:
                break
            here = top <= unit < top + per_row
            text.append("\n")
            text.append(f"{top:>3}", cursor_style if here else title_style)
            text.append((">" if plain else "▸") if here else " ", cursor_style)
            for t in window:
                if plain:
                    text.append(CHARACTER_RAMP[levels[t, top]] * slot)
                    continue
                upper = scale[levels[t, top]]
                lower = scale[levels[t, top + 1]] if top + 1 < units else None
                text.append("▀" * slot, Style(color=upper, bgcolor=lower))
        return text
