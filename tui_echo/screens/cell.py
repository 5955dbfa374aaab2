"""Inside the cell: a finished run's gates and states as heatmaps, with a cursor, the check
against Keras and the gradient reach. Computed by ``core.inspect`` in a job of the training service.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Static

from ..core.inspect import Inspection, LayerInside, inspect, load_run_model, value_range
from ..core.snapshots import Snapshots
from ..messages import JobDone
from ..training import Job, TrainingService
from ..widgets import KeyBar
from ..widgets.heatmap import Heatmap, bar_text, plain_for
from .base import LeanScreen

SHORT = {"input": "i", "forget": "f", "candidate": "g", "output": "o", "update": "z", "reset": "r", "c": "c", "h": "h"}


class CellScreen(LeanScreen):
    """Every gate and state of one layer on one sequence; ``l`` walks the layers."""

    BINDINGS = [
        Binding("escape,q,i", "close", "Back", id="cell-back", tooltip="Back to where you came from"),
        Binding("left", "move(0,-1)", "Cursor", key_display="←↑↓→", id="cell-cursor",
                tooltip="Move the cursor over timesteps (← →) and units (↑ ↓); its values show below"),
        Binding("right", "move(0,1)", show=False, id="cell-right"),
        Binding("up", "move(-1,0)", show=False, id="cell-up"),
        Binding("down", "move(1,0)", show=False, id="cell-down"),
        Binding("less_than_sign", "sequence(-1)", "Sequence", key_display="< >", id="cell-sequence",
                tooltip="The previous or next sequence of the task"),
        Binding("greater_than_sign", "sequence(1)", show=False, id="cell-next-sequence"),
        Binding("l", "layer", "Layer", id="cell-layer",
                tooltip="The next recurrent layer (stacked layers, both directions of Bidirectional)"),
    ]

    def __init__(
        self, record: dict[str, Any], training: TrainingService, epoch: int | None = None,
        snapshots: Snapshots | None = None,
    ) -> None:
        """``record``'s model at ``epoch`` (a replay's; from ``snapshots``), else at its last epoch."""
        super().__init__()
        self.record = record
        self.epoch, self.snapshots = epoch, snapshots
        self.training = training
        self.sequences = 1
        self.sequence = 0
        self.layer_index = 0
        self.cursor = (0, 0)  # (unit, timestep)
        self.found: Inspection | None = None
        self.job: Job | None = None
        self._loaded: tuple[Any, Any, int] | None = None  # (model, config, epoch): loaded once, in the first job

    def compose(self) -> ComposeResult:
        """Heatmaps above the gradient reach, the cursor's values and the check."""
        with Vertical(id="cell"):
            yield Grid(id="cell-maps")
            yield Static(id="cell-reach")
            yield Static(id="cell-values")
            yield Static(id="cell-check")
        yield KeyBar(id="cell-keys")

    def on_mount(self) -> None:
        """Compute the first sequence."""
        self.query_one("#cell").border_subtitle = "escape closes"
        self._compute()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Sequence keys only for tasks with many sequences; the layer key only for several layers."""
        if action == "sequence":
            return self.sequences > 1
        if action == "layer":
            return self.found is not None and len(self.found.layers) > 1
        return True

    def _compute(self) -> None:
        """Inspect ``sequence`` in a job (the model is loaded in the first)."""
        record, sequence, known = self.record, self.sequence, self._loaded
        epoch, snapshots = self.epoch, self.snapshots
        self.query_one("#cell-check", Static).update(Text(f"inspecting sequence {sequence}…", style="dim"))

        def work(job: Job, report: Any) -> tuple[Any, Inspection]:
            model, config, epochs = known if known is not None else load_run_model(record, epoch, snapshots)
            return (model, config, epochs), inspect(model, config, sequence, epoch=epochs)

        self.job = self.training.start(self, work, group="inspect")

    def on_job_done(self, message: JobDone) -> None:
        """Draw what came back, or say why nothing did."""
        if message.job is not self.job:
            return
        if message.error or message.result is None:
            reason = message.error or "stopped"
            self.query_one("#cell-check", Static).update(Text(f"could not inspect: {reason}", style="red"))
            return
        self._loaded, self.found = message.result
        self.sequences = self._loaded[1].resolved().sequence_count
        self.layer_index = min(self.layer_index, len(self.found.layers) - 1)
        self.refresh_bindings()
        self._show_layer()

    @property
    def current(self) -> LayerInside | None:
        """The layer on show."""
        return self.found.layers[self.layer_index] if self.found is not None else None

    def _show_layer(self) -> None:
        """One heatmap per gate and state of the current layer."""
        layer, found = self.current, self.found
        if layer is None or found is None:
            return
        box = self.query_one("#cell")
        which = f" ({self.layer_index + 1}/{len(found.layers)})" if len(found.layers) > 1 else ""
        box.border_title = (f"Inside the cell · {layer.name}{which} · epoch {found.epoch:,} · "
                            f"sequence {found.sequence + 1}/{self.sequences:,}")
        grid = self.query_one("#cell-maps", Grid)
        states = layer.states
        maps = list(self.query(Heatmap))
        if [heatmap.title for heatmap in maps] == list(states):  # same cell: redraw in place
            for heatmap in maps:
                heatmap.show(states[heatmap.title], *value_range(heatmap.title, states[heatmap.title]))
        else:
            grid.remove_children()
            grid.set_class(len(states) == 1, "-single")
            grid.mount(*(Heatmap(state, values, *value_range(state, values)) for state, values in states.items()))
        check = found.max_abs_diff
        self.query_one("#cell-check", Static).update(Text.assemble(
            ("matches Keras" if check <= 1e-5 else "DIFFERS from Keras", "bold green" if check <= 1e-5 else "bold red"),
            f": max |diff| {check:.1e} · loss on this sequence {found.loss:.4g}",
        ))
        self._show_cursor()

    def _show_cursor(self) -> None:
        """Move every heatmap's cursor; write its values and the gradient-reach row."""
        layer, found = self.current, self.found
        if layer is None or found is None:
            return
        steps, units = layer.h.shape
        unit, step = min(self.cursor[0], units - 1), min(self.cursor[1], steps - 1)
        self.cursor = (unit, step)
        for heatmap in self.query(Heatmap):
            heatmap.move(unit, step)
        states = " ".join(f"{SHORT.get(s, s)} {v[step, unit]:+.3f}" for s, v in layer.states.items())
        plain = plain_for(self)
        where = f" · x {found.inputs[step]:.3f} {'->' if plain else '→'} target {found.targets[step]:.3f}"
        if len(found.predictions) == steps:  # many-to-one predicts all steps at the last one
            where += f" · predicted {found.predictions[step]:.3f}"
        self.query_one("#cell-values", Static).update(
            Text.assemble((f"step {step} · unit {unit}", "bold"), where, f"\n{states}")
        )
        reach = found.gradient_reach
        width = max(10, self.query_one("#cell-reach").content_size.width - 16)
        self.query_one("#cell-reach", Static).update(Text.assemble(
            ("|dloss/dh_t| " if plain else "|∂loss/∂h_t| ", "bold"),
            bar_text(reach, width, plain, cursor=step),
            f" {reach[step]:.1e}",
        ))

    def action_move(self, units: int, steps: int) -> None:
        """Move the cursor by ``units`` and ``steps``, staying inside the layer."""
        if self.current is None:
            return
        total_steps, total_units = self.current.h.shape
        self.cursor = (max(0, min(total_units - 1, self.cursor[0] + units)),
                       max(0, min(total_steps - 1, self.cursor[1] + steps)))
        self._show_cursor()

    def action_sequence(self, delta: int) -> None:
        """Inspect the previous or next sequence."""
        if self.sequences > 1:
            self.sequence = (self.sequence + delta) % self.sequences
            self._compute()

    def action_layer(self) -> None:
        """Show the next recurrent layer (or direction)."""
        if self.found is not None and len(self.found.layers) > 1:
            self.layer_index = (self.layer_index + 1) % len(self.found.layers)
            self._show_layer()

    def action_close(self) -> None:
        """Back."""
        self.dismiss(None)
