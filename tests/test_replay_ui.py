"""Scrub and replay in the lab (Pilot, real training), and the pure replay state."""

from __future__ import annotations

import pytest

from tui_echo.app import EchoApp
from tui_echo.core import progress
from tui_echo.core.config import Config
from tui_echo.core.progress import Replay
from tui_echo.core.snapshots import snapshot_epochs
from tui_echo.widgets import EpochLog, LossChart, PredictionTable

from test_app import SIZE, status, wait_for

EPOCHS = 400


def test_replay_state_moves_clamps_plays_and_says_where_it_is() -> None:
    replay = Replay((1, 2, 3, 5, 8, 13), total=13, index=5)
    assert progress.scrubbed(replay, 1).index == 5 and progress.scrubbed(replay, -10).index == 0
    assert progress.scrubbed_to(replay, -1).epoch == 13 and progress.scrubbed_to(replay, 0).epoch == 1
    playing = progress.played(replay)
    assert (playing.index, playing.playing) == (0, True)
    for _ in range(10):
        playing = progress.ticked(playing)
    assert (playing.index, playing.playing) == (5, False)  # stops at the last snapshot
    assert progress.paced(replay, True).pace == 40 and progress.paced(replay, False).pace == 10
    assert progress.replay_status(progress.scrubbed(Replay((120,), 1000), 0)) == ("replay", "epoch 120 of 1,000 (replay)")


async def test_scrub_keys_move_every_pane_and_p_replays() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=EPOCHS, seed=0))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished" and app.lab.replay is not None, timeout=60)
        lab = app.lab
        chart, log, table = lab.query_one(LossChart), lab.query_one(EpochLog), lab.query_one(PredictionTable)
        epochs = snapshot_epochs(EPOCHS)
        assert lab.replay.epochs == tuple(epochs)
        final = [row.predicted for row in table.rows]

        await pilot.press("home")
        assert lab.replay.epoch == 1 and chart.cursor == 0 and table.epoch == 1
        assert log.first_shown == 0  # the first epoch's line is in view
        assert "epoch 1 of 400 (replay)" in status(app)
        early = [row.predicted for row in table.rows]
        assert early != final and early == pytest.approx(lab.replay_predictions[0])

        await pilot.press("right_curly_bracket", "right_square_bracket")
        assert lab.replay.epoch == epochs[11] and chart.cursor == epochs[11] - 1 and table.epoch == epochs[11]
        await pilot.press("end", "left_square_bracket")
        middle = epochs[-2]
        assert table.epoch == middle and chart.cursor == middle - 1
        shown = log.first_shown
        assert shown <= len(log.head) + middle - 1 < shown + log.content_size.height
        assert f"epoch {middle} of 400 (replay)" in status(app)

        await pilot.press("p")
        assert lab.replay.playing and lab.replay.index < 5  # from the start (a frame or two may have passed)
        await pilot.press("plus")
        assert lab.replay.pace == 40
        await wait_for(pilot, lambda: lab.replay.index >= 5, timeout=5)
        await pilot.press("p")
        stopped = lab.replay.index
        await pilot.pause(0.3)
        assert not lab.replay.playing and lab.replay.index == stopped
        assert table.epoch == lab.replay.epoch
        await pilot.press("plus")  # not playing: + is the chart's zoom again
        assert lab.replay.pace == 40 and chart.window is not None

        await pilot.press("i")  # the inside of the cell at the replay's epoch
        await wait_for(pilot, lambda: getattr(app.screen, "found", None) is not None, timeout=30)
        assert app.screen.found.epoch == lab.replay.epoch


async def test_a_reopened_run_scrubs_through_its_saved_snapshots() -> None:
    from tui_echo.core.experiment import run_experiment
    from tui_echo.core.runs import RunStore
    from tui_echo.screens.runs import RunView

    record = run_experiment(Config(topology="many-to-one", epochs=300, seed=1), store=RunStore())
    app = EchoApp(config=Config(topology="many-to-one"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        view = RunView(app.run_store.load(record["id"]))
        await app.push_screen(view)
        await wait_for(pilot, lambda: view.replay is not None, timeout=30)
        chart, table = view.query_one(LossChart), view.query_one(PredictionTable)
        await pilot.press("home", "right_square_bracket")
        assert chart.cursor == 1 and table.epoch == 2 and "epoch 2 of 300 (replay)" in table.border_subtitle
        assert [row.predicted for row in table.rows] == pytest.approx(view.replay_predictions[1])


async def test_n_while_paused_trains_exactly_one_epoch_and_pauses_again() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=1_000_000))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        lab = app.lab
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(lab.history) > 0, timeout=60)
        await pilot.press("space")
        await wait_for(pilot, lambda: lab.phase == "paused")
        await pilot.pause(0.8)  # the chunk under way ends and its batch of epochs arrives
        before = len(lab.history)
        await pilot.press("n")
        await wait_for(pilot, lambda: lab.phase == "paused", timeout=10)
        await pilot.pause(0.8)
        assert len(lab.history) == before + 1 and lab.state.epoch == before + 1
        assert f"paused at epoch {before + 1:,}" in status(app)
        await pilot.press("N")
        await wait_for(pilot, lambda: lab.phase == "paused", timeout=10)
        await pilot.pause(0.8)
        assert len(lab.history) == before + 11
        await pilot.press("escape")
        await wait_for(pilot, lambda: not lab.running, timeout=30)
