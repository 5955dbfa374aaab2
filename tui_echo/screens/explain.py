"""The explainer: shapes through the network for the lab's settings, and the TimeDistributed check."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static
from textual.worker import get_current_worker

from ..core import explain
from ..core.config import Config
from ..messages import ExplainFailed, ExplainReady
from .base import LeanScreen
from .lab import _keras_lock


def shape_text(shape: tuple[int, ...]) -> str:
    """``5 × 1 × 1``."""
    return " × ".join(str(v) for v in shape)


class ExplainScreen(LeanScreen):
    """Samples × timesteps × features at each layer, parameter formulas, and the Dense check."""

    HELP_TITLE = "explainer keys"
    BINDINGS = [Binding("escape,q,x", "close", "Back", id="explain-back", tooltip="Back to the lab")]

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        self.steps: list[explain.Step] = []
        self.equivalence: explain.Equivalence | None = None

    def compose(self) -> ComposeResult:
        """One scrolling box."""
        with VerticalScroll(id="explain"):
            yield Static(id="explain-body")

    def on_mount(self) -> None:
        """Title, then compute in a thread."""
        box_ = self.query_one("#explain")
        box_.border_title = f"Explainer · {self.config.topology}"
        box_.border_subtitle = "escape closes"
        self.query_one("#explain-body", Static).update(Text("building the models…", style="dim"))
        self.compute(self.config)

    @work(thread=True, exclusive=True, group="explain", exit_on_error=False)
    def compute(self, config: Config) -> None:
        """Build the model, walk its shapes, and run the equivalence check."""
        worker = get_current_worker()
        while not _keras_lock.acquire(timeout=0.05):
            if worker.is_cancelled:
                return
        try:
            steps = explain.shapes(config)
            equivalence = explain.timedistributed_equivalence(config)
        except Exception as error:  # shown on screen, never raised into Textual
            self.post_message(ExplainFailed(f"{type(error).__name__}: {error}"))
            return
        finally:
            _keras_lock.release()
        self.post_message(ExplainReady(steps, equivalence))

    def on_explain_ready(self, message: ExplainReady) -> None:
        """Show the facts."""
        self.steps, self.equivalence = message.steps, message.equivalence
        # The formula goes on a row of its own under its stage, wrapping in the stage's column,
        # so shapes and params keep their whole width at 80 columns.
        table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False)
        table.add_column("stage / formula", ratio=1)
        table.add_column("samples × steps × features", no_wrap=True)
        table.add_column("params", justify="right", no_wrap=True)
        for step in self.steps:
            table.add_row(step.name, shape_text(step.shape), f"{step.params:,}")
            if step.formula:
                table.add_row(Text(f"  {self._plain(step.formula)}", style="dim"), "", "")
        eq = self.equivalence
        verdict = "same" if eq.same else "DIFFERENT"
        check = Text.assemble(
            ("TimeDistributed(Dense(1)) vs Dense(1) on 3-D input: ", "bold"),
            (verdict, "bold green" if eq.same else "bold red"),
            self._plain(f" — weights copied across, {eq.outputs} outputs, max |difference| {eq.max_difference:.2e} (≤ 1e-6 is the same)"),
        )
        note = Text("Dense on a 3-D tensor applies the same kernel to every timestep, which is exactly "
                    "what TimeDistributed does.", style="dim")
        self.query_one("#explain-body", Static).update(Group(table, Text(""), check, note))

    def _plain(self, text: str) -> str:
        """With ``--ascii``, the signs the line filter cannot write in one cell, written out."""
        if not getattr(self.app, "ascii_only", False):
            return text
        return text.replace("²", "^2").replace("≤", "<=").replace(" — ", " - ")

    def on_explain_failed(self, message: ExplainFailed) -> None:
        """Say why."""
        self.query_one("#explain-body", Static).update(Text(f"could not explain: {message.reason}", style="red"))

    def action_close(self) -> None:
        """Back to the lab."""
        self.dismiss(None)
