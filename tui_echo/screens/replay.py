"""Scrub and replay a trained run's snapshots: the keys and actions the lab and a reopened run share.

A screen mixes ``ReplayControls`` in, adds ``REPLAY_BINDINGS`` to its own, sets ``replay`` (a
``progress.Replay``) and ``replay_predictions`` (the first sequence at every snapshot, computed
in the training job, so a frame is a lookup), and draws a frame in ``show_replay_frame``.

Which key wins: these are the screen's bindings, so a focused widget's own keys come first.
``home``/``end`` scroll the epoch log while it has focus and move the replay otherwise; ``+``/``-``
change the pace while a replay plays (a priority binding, enabled only then) and zoom the loss
chart otherwise; in a text field every key types.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding

from ..core import progress
from ..core.progress import Replay

REPLAY_BINDINGS = [
    Binding("left_square_bracket", "scrub(-1)", "Scrub", id="replay-back", key_display="[ ]",
            tooltip="Replay: the previous snapshot of the run (] the next); { } ten at a time"),
    Binding("right_square_bracket", "scrub(1)", show=False, id="replay-next"),
    Binding("left_curly_bracket", "scrub(-10)", show=False, id="replay-back-10",
            tooltip="Replay: ten snapshots back"),
    Binding("right_curly_bracket", "scrub(10)", show=False, id="replay-next-10",
            tooltip="Replay: ten snapshots on"),
    Binding("home", "scrub_to(0)", show=False, id="replay-first",
            tooltip="Replay: the first snapshot (the epoch log's own home while it has focus)"),
    Binding("end", "scrub_to(-1)", show=False, id="replay-last",
            tooltip="Replay: the last snapshot (the epoch log's own end while it has focus)"),
    Binding("p", "play", "Replay", id="replay-play",
            tooltip="Replay the run from its first snapshot at 20 snapshots a second; p again stops"),
    Binding("plus,equals_sign", "pace(True)", "Pace", key_display="+/-", id="replay-faster", priority=True,
            tooltip="Replay: faster (- slower) while it plays"),
    Binding("minus", "pace(False)", show=False, id="replay-slower", priority=True),
]
REPLAY_ACTIONS = {"scrub", "scrub_to", "play", "pace"}


class ReplayControls:
    """Actions for ``REPLAY_BINDINGS``; the screen supplies ``replay_ready`` and ``show_replay_frame``."""

    replay: Replay | None = None
    replay_moved = False  # a replay key was pressed since the run ended: the panes show replay.epoch
    replay_predictions: list[tuple[float, ...]] = []
    _replay_timer: Any = None

    def replay_ready(self) -> bool:
        """Whether the replay keys apply now (the screen's own conditions)."""
        raise NotImplementedError

    def show_replay_frame(self) -> None:
        """Move every pane to ``replay.epoch``."""
        raise NotImplementedError

    def replay_allows(self, action: str) -> bool:
        """For the screen's ``check_action``: the pace keys only while playing."""
        if not self.replay_ready() or self.replay is None:
            return False
        return self.replay.playing if action == "pace" else True

    def set_replay(self, epochs: list[int], predictions: list[tuple[float, ...]], total: int) -> None:
        """A run's snapshots are at hand (or none: ``epochs`` empty ends any replay)."""
        self._stop_timer()
        self.replay = Replay(tuple(epochs), total, len(epochs) - 1) if epochs else None
        self.replay_predictions = predictions
        self.replay_moved = False

    def _go(self, replay: Replay) -> None:
        self.replay, self.replay_moved = replay, True
        if not replay.playing:
            self._stop_timer()
        self.show_replay_frame()

    def action_scrub(self, step: int) -> None:
        """``step`` snapshots on or back."""
        if self.replay is not None:
            self._go(progress.scrubbed(self.replay, step))

    def action_scrub_to(self, index: int) -> None:
        """The first (0) or last (-1) snapshot."""
        if self.replay is not None:
            self._go(progress.scrubbed_to(self.replay, index))

    def action_play(self) -> None:
        """Replay from the first snapshot, or stop a replay that plays."""
        if self.replay is None:
            return
        if self.replay.playing:
            self._go(progress.scrubbed(self.replay, 0))
            return
        self._go(progress.played(self.replay))
        self._start_timer()

    def action_pace(self, faster: bool) -> None:
        """Next pace up or down, from the next frame on."""
        if self.replay is not None and self.replay.playing:
            self.replay = progress.paced(self.replay, faster)
            self._start_timer()
            self.show_replay_frame()

    def _start_timer(self) -> None:
        self._stop_timer()
        self._replay_timer = self.set_interval(1 / self.replay.pace, self._tick)  # type: ignore[attr-defined]

    def _stop_timer(self) -> None:
        if self._replay_timer is not None:
            self._replay_timer.stop()
            self._replay_timer = None

    def _tick(self) -> None:
        if self.replay is not None:
            self._go(progress.ticked(self.replay))
