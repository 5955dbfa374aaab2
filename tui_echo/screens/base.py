"""What every screen of the app shares: repainting only what shows, the help's list of keys,
and the width classes the stylesheet lays narrow terminals out by."""

from __future__ import annotations

from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen, ScreenResultType
from textual.widget import Widget

# Below this size screens fold panes away (the lab its summary, compare its predictions).
COMPACT_WIDTH, COMPACT_HEIGHT = 100, 30


def declared(kind: type) -> list[Binding]:
    """The bindings tui-echo's own classes in ``kind``'s ancestry declare (Textual's are left out)."""
    return [
        binding
        for cls in reversed(kind.__mro__)
        if cls.__module__.startswith("tui_echo.")
        for binding in cls.__dict__.get("BINDINGS", [])
        if isinstance(binding, Binding)
    ]


def fit_columns(widths: dict[str, int], room: int, priority: tuple[str, ...]) -> list[str]:
    """The columns (in ``priority`` order) whose cells fit whole in ``room`` cells, two of
    padding each: a number or an ID is shown whole or not at all. A key without a width (a
    column this table does not have now, such as val loss without validation data) is skipped."""
    chosen, used = [], 0
    for key in priority:
        if key in widths and used + widths[key] + 2 <= room:
            chosen.append(key)
            used += widths[key] + 2
    return chosen


class LeanScreen(Screen[ScreenResultType]):
    """A screen that paints only what shows and what changed.

    Textual's ``Screen.focused`` is a plain reactive, so every focus change (tab, or a pushed
    screen focusing its first widget) repainted the whole screen: for the lab, ~50 widgets and
    10-20 ms of the UI thread while training (measured with ``benchmarks/ui.py``). The widgets
    that gain and lose focus restyle and repaint themselves, which is all a focus change shows.
    """

    focused: reactive[Widget | None] = reactive(None, repaint=False)

    HELP_TITLE = "keys"
    """The help's heading for this screen."""
    HELP_NOTES = ""
    """A few lines under the help's key table."""
    # Width classes for app.tcss: -narrow below 80 columns, -medium below 100, -wide from there.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-medium"), (100, "-wide")]

    def help_bindings(self) -> list[Binding]:
        """This screen's keys, the app's, then those of the screen's own widgets (chart, settings)."""
        bindings = [*declared(type(self)), *declared(type(self.app))]
        seen: set[type] = set()
        for widget in self.query("*"):
            if type(widget) not in seen:
                seen.add(type(widget))
                bindings.extend(declared(type(widget)))
        return bindings

    @property
    def is_current(self) -> bool:
        """Is the screen on show: on top, or seen through the see-through screen on top.

        Textual also counts the screen just below an opaque one, so a lab covered by the help
        kept painting, and each of its changes repainted the whole help (15 KB, 4-7 ms, for each
        batch of epochs while training; measured). It also kept the lab's frame timer on its
        16 ms grid, so closing the help waited for the next tick. A covered screen is repainted
        whole when it shows again.
        """
        top = self.app.screen
        return top is self or (super().is_current and top.styles.background.a < 1)
