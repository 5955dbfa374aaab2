"""The help screen: the keys of the screen it was opened on, and where the command palette is."""

from __future__ import annotations

from rich import box
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from .base import LeanScreen

EXTRA_KEYS = [
    ("tab / shift+tab", "Next / previous", "Move focus between panes (and the fields of the settings)"),
    ("ctrl+p", "Command palette", "Search every action by name"),
    ("up down pgup pgdn", "Scroll", "Move in the focused table or pane; in the log, home and end go to the ends and end follows new epochs"),
]


def key_table(bindings: list[Binding]) -> Table:
    """A table of keys: key, action, description (from each binding's tooltip)."""
    table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False, pad_edge=False)
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Action", no_wrap=True, max_width=28)
    table.add_column("What it does", ratio=1)
    seen: set[str] = set()
    for binding in bindings:
        action = binding.action.split("(")[0]  # topology(0)..topology(3) are one row
        if action in seen and binding.action != "resume" or binding.system:
            continue
        seen.add(action)
        key = binding.key_display or binding.key.replace("question_mark", "?")
        description = binding.description or binding.action
        table.add_row(key, description, Text(binding.tooltip or ""))
    for key, description, tooltip in EXTRA_KEYS:
        table.add_row(key, description, tooltip)
    return table


NOTE = "Keys that do nothing right now are hidden from the footer."


class HelpScreen(LeanScreen[None]):
    """Lists the keys of one screen; escape, q or ? closes it.

    Opaque, not a see-through modal: under a modal, every live update of the lab (twice a second
    while training) re-composited the whole terminal, and keys waited behind it.
    """

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close", id="close-help", tooltip="Back to the screen"),
    ]

    def __init__(self, bindings: list[Binding], title: str, notes: str = "") -> None:
        super().__init__()
        self._keys = bindings
        self._title = title
        self._notes = f"{notes} {NOTE}" if notes else NOTE

    def compose(self) -> ComposeResult:
        """The key table and a few notes."""
        with VerticalScroll(id="help"):
            yield Static(Text(f"tui-echo | {self._title}", style="bold"), id="help-title")
            yield Static(key_table(self._keys))
            yield Static(Text(self._notes, style="dim"), id="help-notes")

    def on_mount(self) -> None:
        """Title the box."""
        self.query_one("#help").border_title = "Help"
        self.query_one("#help").border_subtitle = "escape closes"

    def action_dismiss(self, result: None = None) -> None:  # type: ignore[override]
        """Close the help."""
        self.dismiss(None)
