"""Parallel coordinates in the terminal: one vertical axis per swept setting plus the final loss,
one polyline per group of a sweep, the best drawn bold (without colour: with marks).

Every axis maps its values to positions 0 (bottom) … 1 (top): a setting's values evenly spaced,
in order (numbers by size, words alphabetically); the loss on a log scale. A range filter per axis
is narrowed and widened from the keyboard in steps (one value of a setting, an eighth of the
loss axis); a group outside any axis' range is not drawn, and the widget posts ``Filtered`` so
the screen can leave it out of its table too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget

from .chart_base import glyphs_for, monochrome, raster

LOSS_AXIS = "final loss"
LOSS_STEPS = 8  # the loss axis' filter moves in eighths
EPSILON = 1e-9


@dataclass(frozen=True)
class Axis:
    """One vertical axis: its name, labelled ticks (position, label) and the filter's step."""

    name: str
    ticks: tuple[tuple[float, str], ...]
    step: float


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def build(rows: list[dict[str, Any]], settings: list[str]) -> tuple[list[Axis], list[list[float | None]]]:
    """The axes for ``settings`` plus the final loss (mean over seeds), and each row's position on
    each axis (None: the row has no loss)."""
    axes, columns = [], []
    for name in settings:
        values = list(dict.fromkeys(row[name] for row in rows))
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        values.sort(key=None if numbers else str)  # (rows come best first: their order would move ticks)
        spread = max(1, len(values) - 1)
        place = {v: (i / spread if len(values) > 1 else 0.5) for i, v in enumerate(values)}
        axes.append(Axis(name, tuple((place[v], _label(v)) for v in values), 1 / spread))
        columns.append([place[row[name]] for row in rows])
    logs = [math.log10(row["final_loss"]["mean"]) if row.get("final_loss") and row["final_loss"]["mean"] > 0 else None
            for row in rows]
    known = [v for v in logs if v is not None]
    low, high = (min(known), max(known)) if known else (0.0, 0.0)
    span = high - low
    axes.append(Axis(LOSS_AXIS, ((0.0, f"{10 ** low:.0e}"), (1.0, f"{10 ** high:.0e}")) if known else (), 1 / LOSS_STEPS))
    columns.append([None if v is None else ((v - low) / span if span else 0.5) for v in logs])
    return axes, [list(points) for points in zip(*columns)] if rows else []


class ParallelCoordinates(Widget, can_focus=True):
    """Polylines across axes; ←/→ choose an axis, ``[``/``]`` narrow its range, ``{``/``}`` widen it."""

    COMPONENT_CLASSES = {"parallel--axis", "parallel--line", "parallel--best", "parallel--focus"}
    BINDINGS = [
        Binding("left", "axis(-1)", "Axis", id="parallel-axis", key_display="←/→",
                tooltip="Parallel view: focus the axis to the left (→: to the right)"),
        Binding("right", "axis(1)", show=False, id="parallel-axis-right"),
        Binding("left_square_bracket", "narrow(0)", "Narrow", id="parallel-narrow", key_display="[ ]",
                tooltip="Parallel view: raise the focused axis' lower bound one step ( ]: lower its upper bound)"),
        Binding("right_square_bracket", "narrow(1)", show=False, id="parallel-narrow-top"),
        Binding("left_curly_bracket", "widen(0)", "Widen", id="parallel-widen", key_display="{ }",
                tooltip="Parallel view: lower the focused axis' lower bound one step ( }: raise its upper bound)"),
        Binding("right_curly_bracket", "widen(1)", show=False, id="parallel-widen-top"),
        Binding("backspace", "clear", "Clear", id="parallel-clear", tooltip="Parallel view: every axis' full range again"),
    ]

    class Filtered(Message):
        """The ranges changed: ``shown`` holds the indexes of the groups inside every range."""

        def __init__(self, shown: list[int]) -> None:
            super().__init__()
            self.shown = shown

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.axes: list[Axis] = []
        self.points: list[list[float | None]] = []
        self.best: int | None = None
        self.focus_axis = 0
        self.ranges: dict[str, tuple[float, float]] = {}  # axis name -> (low, high) positions kept

    def show(self, axes: list[Axis], points: list[list[float | None]], best: int | None) -> None:
        """Draw these groups (``points[g][a]``: group g on axis a); filters on axes kept by name."""
        self.axes, self.points, self.best = axes, points, best
        self.ranges = {name: r for name, r in self.ranges.items() if any(a.name == name for a in axes)}
        self.focus_axis = min(self.focus_axis, max(0, len(axes) - 1))
        self.refresh()

    def shown(self) -> list[int]:
        """The groups inside every axis' range (a group without a loss only while the loss axis is whole)."""
        kept = []
        for index, points in enumerate(self.points):
            inside = True
            for axis, p in zip(self.axes, points):
                low, high = self.ranges.get(axis.name, (0.0, 1.0))
                if p is None:
                    inside = inside and (low, high) == (0.0, 1.0)
                else:
                    inside = inside and low - EPSILON <= p <= high + EPSILON
            if inside:
                kept.append(index)
        return kept

    def range_text(self) -> str:
        """The filters in force: ``cell lstm..lstm · final loss 1e-05..3e-03``."""
        parts = []
        for axis in self.axes:
            if axis.name in self.ranges:
                low, high = self.ranges[axis.name]
                parts.append(f"{axis.name} {self._value_at(axis, low)}..{self._value_at(axis, high)}")
        return " · ".join(parts)

    @staticmethod
    def _value_at(axis: Axis, position: float) -> str:
        """A position on an axis as a reader would say it: the nearest tick's label, or a loss."""
        if axis.name == LOSS_AXIS and len(axis.ticks) == 2:
            low, high = (math.log10(float(label)) for _, label in axis.ticks)
            return f"{10 ** (low + position * (high - low)):.1e}"
        return min(axis.ticks, key=lambda tick: abs(tick[0] - position))[1] if axis.ticks else "-"

    # ----------------------------------------------------------------- keys

    def action_axis(self, step: int) -> None:
        """Focus the next axis to the left or right."""
        if self.axes:
            self.focus_axis = (self.focus_axis + step) % len(self.axes)
            self.refresh()

    def action_narrow(self, end: int) -> None:
        """Move the focused axis' lower (``end`` 0) bound up, or its upper (1) bound down, one step."""
        self._move(end, +1 if end == 0 else -1)

    def action_widen(self, end: int) -> None:
        """Move the focused axis' lower bound down, or its upper bound up, one step."""
        self._move(end, -1 if end == 0 else +1)

    def action_clear(self) -> None:
        """Every axis' full range."""
        self.ranges = {}
        self._changed()

    def _move(self, end: int, direction: int) -> None:
        if not self.axes:
            return
        axis = self.axes[self.focus_axis]
        bounds = list(self.ranges.get(axis.name, (0.0, 1.0)))
        moved = min(1.0, max(0.0, bounds[end] + direction * axis.step))
        bounds[end] = min(moved, bounds[1]) if end == 0 else max(moved, bounds[0])  # never crossing
        if bounds == [0.0, 1.0]:
            self.ranges.pop(axis.name, None)
        else:
            self.ranges[axis.name] = (round(bounds[0], 9), round(bounds[1], 9))
        self._changed()

    def _changed(self) -> None:
        self.refresh()
        self.post_message(self.Filtered(self.shown()))

    # ----------------------------------------------------------------- drawing

    def render(self) -> Text:
        """A legend row, the plot, and the axes' names."""
        width, height = self.content_size
        rows = height - 2
        text = Text(no_wrap=True, overflow="crop")
        if not self.points or rows < 3 or width < 4 * len(self.axes):
            return Text("the groups draw here as trials finish" if not self.points else "too small to draw",
                        style="italic")
        glyphs, mono = glyphs_for(self), monochrome(self)
        slot = width // len(self.axes)
        xs = [i * slot for i in range(len(self.axes))]
        shown = self.shown()
        chars = np.full((rows, width), " ", dtype=object)
        owner = np.zeros((rows, width), dtype=np.int8)  # 0 empty, 1 axis, 2 line, 3 best, 4 focused axis
        order = [g for g in shown if g != self.best] + ([self.best] if self.best in shown else [])
        for group in order:
            used = [(xs[a] * 2, p) for a, p in enumerate(self.points[group]) if p is not None]
            if len(used) < 2:
                continue
            grid = raster([(np.array([u for u, _ in used]), np.array([p for _, p in used]))], 0.0, 1.0, rows, width)
            drawn = grid > 0
            best = group == self.best
            chars[drawn] = glyphs.marks[0] if best and mono else np.array(glyphs.cells, dtype=object)[grid[drawn]]
            owner[drawn] = 3 if best else 2
        for index, (axis, x) in enumerate(zip(self.axes, xs)):
            low, high = self.ranges.get(axis.name, (0.0, 1.0))
            for row in range(rows):
                position = 1 - row / max(1, rows - 1)
                inside = low - 0.5 / rows <= position <= high + 0.5 / rows
                chars[row, x] = glyphs.rule if inside else (":" if glyphs.rule == "|" else "╎")
                owner[row, x] = 4 if index == self.focus_axis else 1
            for position, label in axis.ticks:
                row = int(round((1 - position) * (rows * 4 - 1))) // 4
                room = min(slot - 1, width - x - 1)
                for k, c in enumerate(label[:room]):
                    chars[row, x + 1 + k], owner[row, x + 1 + k] = c, 1
        base = self.rich_style
        styles = [base, base + self.get_component_rich_style("parallel--axis", partial=True),
                  base + self.get_component_rich_style("parallel--line", partial=True),
                  base + self.get_component_rich_style("parallel--best", partial=True) + Style(bold=True),
                  base + self.get_component_rich_style("parallel--focus", partial=True) + Style(bold=True)]
        best_mark = f"{glyphs.marks[0]} best" if mono else f"{glyphs.line} best"
        text.append(f"{best_mark} · {len(shown)} of {len(self.points)} groups"[:width] + "\n",
                    style=styles[3] if self.best in shown else styles[1])
        for row in range(rows):
            for c, o in zip(chars[row].tolist(), owner[row].tolist()):
                text.append(c, style=styles[o])
            text.append("\n")
        column = 0
        for index, (axis, x) in enumerate(zip(self.axes, xs)):
            focused = index == self.focus_axis
            name = (f"[{axis.name}]" if focused else axis.name)[: (slot - 1 if index < len(xs) - 1 else width - x)]
            text.append(" " * (x - column), style=styles[0])
            text.append(name, style=styles[4] + Style(reverse=True) if focused else styles[1])
            column = x + len(name)
        return text
