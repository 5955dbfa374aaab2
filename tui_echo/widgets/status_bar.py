"""The one-line status: what the lab is doing (left) and where training runs (right).

Drawn by ``render`` and refreshed without a layout pass: it changes with every batch of epochs,
and a ``Static.update`` per batch re-laid-out the whole screen (measured: ~70 ms frames). Its
text is repainted at most once a second while the state stays the same: the line spans the
screen, so a repaint in the panes' frame re-rendered every pane beside it (13-24 ms; it now has a
frame of its own, see ``frames.py``), and a key that lands behind a frame waits for it. A new
state is shown at once.
"""

from __future__ import annotations

import time

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

from .frames import refresh_apart

REPAINT_EVERY_S = 1.0  # the most often a changing text is repainted within one state
STATES = ("idle", "loading", "waiting", "compiling", "training", "paused", "stopping", "saving", "finished", "stopped", "failed", "invalid", "replay")


def fit_parts(text: str, room: int, separator: str = " · ") -> str:
    """``text`` less as many trailing parts as it takes to fit ``room`` cells; a first part too
    long on its own is cut with an ellipsis."""
    parts = text.split(separator)
    while len(parts) > 1 and cell_len(separator.join(parts)) > room:
        parts.pop()
    fitted = separator.join(parts)
    return fitted if cell_len(fitted) <= room else fitted[: max(0, room - 1)] + "…"


class StatusBar(Widget):
    """``state · details`` on the left, the device on the right; colour follows the state."""

    COMPONENT_CLASSES = {"status-bar--right"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state = "idle"
        self._text = ""
        self._right = ""
        self._painted = 0.0  # when the text was last repainted (monotonic)
        self._pending = False  # a repaint is scheduled

    def show(self, state: str, text: str) -> None:
        """Set the state (a CSS class ``-<state>``) and its line."""
        changed_state = state != self._state
        if changed_state:
            for name in STATES:
                self.set_class(name == state, f"-{name}")
            self._state = state
        if text == self._text and not changed_state:
            return
        self._text = text
        wait = self._painted + REPAINT_EVERY_S - time.monotonic()
        if changed_state or wait <= 0:
            self._repaint()
        elif not self._pending:
            self._pending = True
            self.set_timer(wait, self._repaint)

    def _repaint(self) -> None:
        self._pending = False
        self._painted = time.monotonic()
        refresh_apart(self)

    def show_device(self, text: str) -> None:
        """Set the right-hand text (params, device)."""
        if text != self._right:
            self._right = text
            refresh_apart(self)

    @property
    def text(self) -> str:
        """The left-hand line as plain text (for tests)."""
        return self._text

    def render(self) -> Text:
        """Left text, then the right text. What does not fit is dropped a whole `` · ``-separated
        part at a time from the end, so a number is shown whole or not at all."""
        width = self.content_size.width
        right = self._right
        room = max(0, width - cell_len(right) - (2 if right else 0))
        left = fit_parts(self._text, room)
        line = Text(left, no_wrap=True, overflow="crop")
        line.pad_right(max(0, width - cell_len(left) - cell_len(right)))
        line.append(right, self.get_component_rich_style("status-bar--right", partial=True))
        return line
