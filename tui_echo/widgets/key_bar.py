"""The footer: the keys that apply now, drawn as one line.

Textual's ``Footer`` rebuilds its child widgets whenever the bindings change, which here is on
every pause, resume, start and stop; that re-layout repainted the whole screen (~20 KB written,
50-130 ms after the key, measured while training). This bar reads the same active bindings
(``check_action`` decides what shows) and only redraws its line. Clicking a key presses it.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from .frames import refresh_apart


class KeyBar(Widget):
    """``^r Train  esc Stop  …`` on the left, the command palette key on the right."""

    COMPONENT_CLASSES = {"key-bar--key", "key-bar--description", "key-bar--disabled"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) for clicks
        self._shown: list[tuple[str, str, str, bool]] | None = None  # the entries drawn, or asked for

    def on_mount(self) -> None:
        """Redraw whenever the screen's bindings change."""
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        """Redraw (never recompose) if the keys to show changed: focus moves often leave them as they were."""
        if screen is self.screen and (entries := self.entries()) != self._shown:
            self._shown = entries
            refresh_apart(self)

    def entries(self) -> list[tuple[str, str, str, bool]]:
        """(key, shown key, description, enabled) for each binding to show, one per action.

        The screen's and the app's keys first, then the focused widget's (a chart's six keys
        pushed Stop, Pause and Help off a 60-column footer).
        """
        seen: set[str] = set()
        shown: list[tuple[str, str, str, bool]] = []
        active = self.screen.active_bindings.values()
        mine = (self.screen, self.app)
        for _node, binding, enabled, _tooltip in sorted(active, key=lambda entry: entry[0] not in mine):
            if not binding.show or binding.action in seen or binding.key == self.app.COMMAND_PALETTE_BINDING:
                continue
            seen.add(binding.action)
            shown.append((binding.key, self.app.get_key_display(binding), binding.description, enabled))
        return shown

    def fitting(self, entries: list[tuple[str, str, str, bool]], width: int) -> list[tuple[str, str, str, bool]]:
        """The entries drawn whole in ``width`` columns, in order; when some must go, the help
        key stays (last), so what is left out can still be found."""
        cells = [cell_len(f" {display} {description} ") for _, display, description, _ in entries]
        width += 1  # the last entry's trailing space may be cut
        if sum(cells) <= width:
            return entries
        help_at = next((i for i, entry in enumerate(entries) if self._is_help(entry[0])), None)
        room = width - (0 if help_at is None else cells[help_at])
        kept = []
        for index, (entry, size) in enumerate(zip(entries, cells)):
            if index == help_at:
                continue
            if size > room:
                break
            kept.append(entry)
            room -= size
        return kept + [entries[help_at]] if help_at is not None and room >= 0 else kept

    def _is_help(self, key: str) -> bool:
        """Whether ``key`` opens the key list."""
        active = self.screen.active_bindings.get(key)
        return active is not None and active.binding.action == "help"

    def render(self) -> Text:
        """Keys left, palette right; disabled keys dimmed. Keys that do not fit whole are left out."""
        key_style = self.get_component_rich_style("key-bar--key", partial=True)
        text_style = self.get_component_rich_style("key-bar--description", partial=True)
        off_style = self.get_component_rich_style("key-bar--disabled", partial=True)
        line = Text(no_wrap=True, overflow="crop")
        self._spans = []
        self._shown = self.entries()
        for key, display, description, enabled in self.fitting(self._shown, self.content_size.width):
            start = len(line)
            line.append(f" {display}", key_style if enabled else off_style)
            line.append(f" {description} ", text_style if enabled else off_style)
            self._spans.append((start, len(line), key))
        palette = f"{self._palette_key()} palette " if self.app.ENABLE_COMMAND_PALETTE else ""
        width = self.content_size.width
        if palette and cell_len(line.plain) + cell_len(palette) + 1 <= width:
            line.pad_right(width - cell_len(line.plain) - cell_len(palette))
            start = len(line)
            display, _, rest = palette.partition(" ")
            line.append(display, key_style)
            line.append(f" {rest}", text_style)
            self._spans.append((start, len(line), self.app.COMMAND_PALETTE_BINDING))
        return line

    def _palette_key(self) -> str:
        """How the command palette key is shown (``^p``)."""
        app = self.app
        return app.COMMAND_PALETTE_DISPLAY or app.get_key_display(Binding(app.COMMAND_PALETTE_BINDING, "command_palette"))

    def on_click(self, event: events.Click) -> None:
        """Press the key that was clicked."""
        for start, end, key in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(key)
                return
