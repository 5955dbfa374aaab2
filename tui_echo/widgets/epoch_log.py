"""Every epoch's loss as a line, plus the run's notes before and after: a log that never drops one.

The compiled engine reports up to ~100,000 epochs a second. A ``Log`` formats, measures and
stores each line as it arrives, and every write changes its virtual size, which makes Textual
lay out and repaint the whole screen (measured here: 50-80 ms a frame, several times a second,
which is what key presses waited behind). This pane keeps the losses in one growing array,
formats only the rows on screen, and never changes its size: while following the end it draws
the last rows; scrolled up (↑ ↓ pgup pgdn home, or the mouse wheel) it stays put, and ``end``
follows again. Every epoch stays readable.

With validation data each line has the validation loss after the loss; lines keep as many
digits as the pane's width allows (the compact lab's log is 21 columns wide), and the epoch
that early stopping kept is marked ``← best``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.strip import Strip
from textual.widget import Widget

LINE_WIDTH = 17  # "999999 1.2345e-03"


def epoch_line(epoch: int, loss: float, val: float | None = None, width: int = LINE_WIDTH, digits: int = 6) -> str:
    """``  1000 1.2602e-03``: 17 columns, so it fits the narrow pane of an 80-column terminal.

    With a validation loss, ``  1000 1.2602e-03 1.3105e-03`` when ``width`` allows, else with
    fewer decimals (down to one) and the epoch column only as wide as ``digits``."""
    if val is None:
        return f"{epoch:>6} {loss:.4e}"
    for decimals in (4, 3, 2, 1):
        for column in (6, digits):
            line = f"{epoch:>{column}} {loss:.{decimals}e} {val:.{decimals}e}"
            if len(line) <= width:
                return line
    return line


def _room(values: np.ndarray, count: int, needed: int) -> np.ndarray:
    """``values`` (its first ``count`` kept), grown if it holds fewer than ``needed``."""
    if needed <= len(values):
        return values
    grown = np.empty(max(needed, 2 * len(values), 1024), dtype=np.float64)
    grown[:count] = values[:count]
    return grown


class EpochLog(Widget, can_focus=True):
    """Notes, then one line per epoch (``epoch loss``), then notes; follows the end like a Log."""

    BINDINGS = [
        Binding("up", "scroll_lines(-1)", "Up", show=False),
        Binding("down", "scroll_lines(1)", "Down", show=False),
        Binding("pageup", "scroll_pages(-1)", "Page up", show=False),
        Binding("pagedown", "scroll_pages(1)", "Page down", show=False),
        Binding("home", "scroll_home", "First line", show=False),
        Binding("end", "follow", "Follow the end", show=False),
    ]
    FPS = 10  # redraws per second at most

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.head: list[str] = []  # notes before the first epoch
        self.tail: list[str] = []  # notes after the last
        self._losses = np.empty(1024, dtype=np.float64)
        self._val = np.empty(0, dtype=np.float64)  # validation losses, when the run has them
        self._count = 0
        self._val_count = 0
        self.best_epoch: int | None = None  # the epoch early stopping kept, marked
        self._dirty = False
        self.top: int | None = None  # first line shown while scrolled up; None follows the end
        self._style = Style()

    def on_mount(self) -> None:
        """Redraw at most FPS times a second."""
        self.border_title = "Epochs · loss"
        self.set_interval(1 / self.FPS, self._tick)

    # ----------------------------------------------------------------- content

    @property
    def line_count(self) -> int:
        """Lines in the log: notes and epochs."""
        return len(self.head) + self._count + len(self.tail)

    @property
    def lines(self) -> list[str]:
        """Every line as text (formats them all: for tests and copying, not for drawing)."""
        return [self._text(i) for i in range(self.line_count)]

    def clear(self) -> None:
        """Empty the log and follow the end again."""
        self.head, self.tail, self._count, self.top = [], [], 0, None
        self._val_count, self.best_epoch = 0, None
        self.border_title = "Epochs · loss"
        self._changed()

    def mark_best(self, epoch: int | None) -> None:
        """Mark epoch ``epoch`` (1-based) as the one early stopping kept."""
        self.best_epoch = epoch
        self._changed()

    def add_notes(self, notes: Sequence[str]) -> None:
        """Append notes: before the epochs if none has come yet, else after them."""
        if notes:
            (self.tail if self._count else self.head).extend(notes)
            self._changed()

    def add_epochs(self, losses: Sequence[float], val_losses: Sequence[float] = ()) -> None:
        """Append epochs' losses, and with validation data the same epochs' validation losses
        (epoch numbers continue from the last; validation losses may come later than their
        epochs' losses, as an attached run's file has them)."""
        if not len(losses) and not len(val_losses):
            return
        needed = self._count + len(losses)
        self._losses = _room(self._losses, self._count, needed)
        self._losses[self._count : needed] = losses
        if len(val_losses):
            if not self._val_count:
                self.border_title = "Epoch · loss · val"  # fits the compact lab's log
            self._val = _room(self._val, self._val_count, self._val_count + len(val_losses))
            self._val[self._val_count : self._val_count + len(val_losses)] = [
                np.nan if v is None else v for v in val_losses]
            self._val_count += len(val_losses)
        self._count = needed
        self._changed()

    def _changed(self) -> None:
        self._dirty = True

    def _tick(self) -> None:
        self.flush()

    def flush(self) -> None:
        """Redraw now if lines arrived (callers applying a batch call this once per batch)."""
        if self._dirty:
            self._dirty = False
            self._show_position()
            self.refresh()

    # ----------------------------------------------------------------- scrolling

    @property
    def _height(self) -> int:
        return max(1, self.content_size.height)

    @property
    def first_shown(self) -> int:
        """Index of the top line on screen."""
        bottom = max(0, self.line_count - self._height)
        return bottom if self.top is None else min(self.top, bottom)

    def _scroll_to(self, top: int) -> None:
        """Show lines from ``top`` (clamped); at the end, follow again."""
        bottom = max(0, self.line_count - self._height)
        top = max(0, min(top, bottom))
        self.top = None if top >= bottom else top
        self._show_position()
        self.refresh()

    def _show_position(self) -> None:
        """Say where the view is while scrolled up."""
        if self.top is None:
            self.border_subtitle = ""
        else:
            first = self.first_shown + 1
            last = min(self.line_count, first + self._height - 1)
            self.border_subtitle = f"{first:,}–{last:,} of {self.line_count:,} · end follows"

    def show_epoch(self, epoch: int) -> None:
        """Scroll so epoch ``epoch`` (1-based) is in the middle of the pane (a replay's position)."""
        self._scroll_to(len(self.head) + epoch - 1 - self._height // 2)

    def action_scroll_lines(self, lines: int) -> None:
        """Move by lines."""
        self._scroll_to(self.first_shown + lines)

    def action_scroll_pages(self, pages: int) -> None:
        """Move by screens."""
        self._scroll_to(self.first_shown + pages * max(1, self._height - 1))

    def action_scroll_home(self) -> None:
        """Show the first line."""
        self._scroll_to(0)

    def action_follow(self) -> None:
        """Show the end and keep showing it as lines arrive."""
        self._scroll_to(self.line_count)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        """Wheel up: three lines."""
        event.stop()
        self._scroll_to(self.first_shown - 3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        """Wheel down: three lines."""
        event.stop()
        self._scroll_to(self.first_shown + 3)

    # ----------------------------------------------------------------- drawing

    def _text(self, index: int) -> str:
        """The text of line ``index``: a note or an epoch."""
        head, count = len(self.head), self._count
        if index < head:
            return self.head[index]
        if index < head + count:
            epoch = index - head + 1
            val = float(self._val[epoch - 1]) if epoch <= self._val_count else None
            width = self.content_size.width or LINE_WIDTH
            line = epoch_line(epoch, float(self._losses[epoch - 1]), val, width, len(f"{count}"))
            if epoch == self.best_epoch:
                line += next((mark for mark in (" ← best", " ←") if len(line) + len(mark) <= width), "")
            return line
        index -= head + count
        return self.tail[index] if index < len(self.tail) else ""

    def render_lines(self, crop):  # noqa: ANN001, ANN201 - Textual's signature
        """Take the style once per frame, not once per line (it is costly to compute)."""
        self._style = self.rich_style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Format only the line at this row of the pane."""
        width = self.content_size.width
        index = self.first_shown + y
        if index >= self.line_count:
            return Strip.blank(width, self._style)
        text = self._text(index)
        if cell_len(text) > width:
            text = text[: max(0, width - 1)] + "…"
        return Strip([Segment(text, self._style)]).extend_cell_length(width, self._style)
