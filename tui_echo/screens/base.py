"""What every screen of the app shares."""

from __future__ import annotations

from textual.reactive import reactive
from textual.screen import Screen, ScreenResultType
from textual.widget import Widget


class QuietFocusScreen(Screen[ScreenResultType]):
    """A screen that does not repaint all of itself when focus moves.

    Textual's ``Screen.focused`` is a plain reactive, so every focus change (tab, or a pushed
    screen focusing its first widget) repainted the whole screen: for the lab, ~50 widgets and
    10-20 ms of the UI thread while training (measured with ``benchmarks/ui.py``). The widgets
    that gain and lose focus restyle and repaint themselves, which is all a focus change shows.
    """

    focused: reactive[Widget | None] = reactive(None, repaint=False)
