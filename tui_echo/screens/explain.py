"""The explainer: shapes through the network for the lab's settings, and the TimeDistributed check."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..core import explain
from ..core.config import Config
from ..messages import JobDone
from ..training import Job, TrainingService
from .base import LeanScreen


def shape_text(shape: tuple[int, ...]) -> str:
    """``5 × 1 × 1``."""
    return " × ".join(str(v) for v in shape)


class ExplainScreen(LeanScreen):
    """Samples × timesteps × features at each layer, parameter formulas, and the Dense check."""

    HELP_TITLE = "explainer keys"
    BINDINGS = [Binding("escape,q,x", "close", "Back", id="explain-back", tooltip="Back to the lab")]

    def __init__(self, config: Config, training: TrainingService) -> None:
        super().__init__()
        self.config = config
        self.training = training
        self.job: Job | None = None
        self.steps: list[explain.Step] = []
        self.equivalence: explain.Equivalence | None = None
        self.data: tuple[list[str], list] | None = None

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
        config = self.config

        def compute(job: Job, report: Any) -> tuple[list[explain.Step], explain.Equivalence, Any]:
            """Build the model, walk its shapes, run the equivalence check, describe CSV data."""
            return explain.shapes(config), explain.timedistributed_equivalence(config), explain.data_facts(config)

        self.job = self.training.start(self, compute, group="explain")

    def on_job_done(self, message: JobDone) -> None:
        """Show the facts, or why there are none."""
        if message.job is not self.job or message.result is None and not message.error:
            return
        if message.error:
            self.query_one("#explain-body", Static).update(Text(f"could not explain: {message.error}", style="red"))
            return
        self.steps, self.equivalence, self.data = message.result
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
        self.query_one("#explain-body", Static).update(Group(*self._data(), table, Text(""), check, note))

    def _data(self) -> list[Any]:
        """For CSV data: how the file became windows, and X and y for every topology."""
        if self.data is None:
            return []
        lines, shapes = self.data
        table = Table(box=box.SIMPLE_HEAD, expand=True, show_edge=False)
        table.add_column("topology", ratio=1)
        table.add_column("X", no_wrap=True)
        table.add_column("y", no_wrap=True)
        for name, x_shape, y_shape in shapes:
            style = "bold" if name == self.config.topology else ""
            table.add_row(Text(name, style=style), shape_text(x_shape), shape_text(y_shape))
        words = [Text(self._plain(line), style="dim" if index else "") for index, line in enumerate(lines)]
        return [Text("Data", style="bold"), *words, table, Text("")]

    def _plain(self, text: str) -> str:
        """With ``--ascii``, the signs the line filter cannot write in one cell, written out."""
        if not getattr(self.app, "ascii_only", False):
            return text
        return text.replace("²", "^2").replace("≤", "<=").replace(" — ", " - ").replace("±", "+-")

    def action_close(self) -> None:
        """Back to the lab."""
        self.dismiss(None)
