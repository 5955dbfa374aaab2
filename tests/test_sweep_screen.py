"""The sweep screen: fields checked as typed, a real small sweep in a worker process, the table
grouped over seeds, and the parallel view's range filter narrowing the table."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, Input

from tui_echo.app import EchoApp
from tui_echo.core.config import Config
from tui_echo.core.runs import RunStore
from tui_echo.screens.sweep import SweepScreen
from tui_echo.widgets.parallel import LOSS_AXIS, ParallelCoordinates

from test_app import screen_text, wait_for  # noqa: E402  (tests/ is on sys.path)

CONFIG = Config(topology="many-to-one", epochs=5, seed=0)


@pytest.fixture(autouse=True)
def _runs_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


async def set_field(pilot, name: str, text: str) -> None:
    pilot.app.screen.query_one(f"#sweep-{name}", Input).value = text
    await pilot.pause()


async def test_fields_are_checked_as_typed_with_one_line_naming_the_field() -> None:
    app = EchoApp(config=CONFIG, load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        assert screen.plan is not None and len(screen.plan.trials) == 2 * 2 * 3  # cell × lr × seeds
        await set_field(pilot, "units", "3,0")
        assert screen.plan is None and screen.error.startswith("units must be a whole number from 1 to 1,024 (got '0')")
        assert screen.error in screen_text(app) and not screen.check_action("run", ())
        await set_field(pilot, "units", "3")
        await set_field(pilot, "seeds", "many")
        assert screen.error.startswith("seeds must be a whole number from 1 to 100")
        await set_field(pilot, "seeds", "2")
        assert screen.error == "" and len(screen.plan.trials) == 8
        # Any other setting, by its CLI name, in the "more" field.
        await set_field(pilot, "more", "layers=1,2 --epochs=5,10")
        assert screen.error == "" and len(screen.plan.trials) == 8 * 2 * 2
        assert {t.settings["layers"] for t in screen.plan.trials} == {1, 2}
        await set_field(pilot, "more", "layers")
        assert screen.error.startswith("more takes name=values pairs") and screen.plan is None
        await set_field(pilot, "more", "colour=red")
        assert screen.error == "colour is not a setting a sweep can vary"
        await set_field(pilot, "more", "units=8")
        assert screen.error == "units has its own field; give its values there"
        await set_field(pilot, "more", "layers=1,9")
        assert screen.error.startswith("layers must be a whole number from 1 to 4 (got '9')")
        assert screen.error in screen_text(app)


async def test_a_small_sweep_runs_groups_over_seeds_and_the_parallel_filter_narrows_the_table(tmp_path) -> None:
    app = EchoApp(config=CONFIG, load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(SweepScreen(CONFIG, app.training, worker_count=1))
        screen = app.screen
        await set_field(pilot, "lr", "1e-3,1e-2")
        await set_field(pilot, "seeds", "2")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not screen.running, timeout=120, what="the sweep")
        await pilot.pause()
        assert screen.outcome.startswith("done: 8 trials")
        store = RunStore(tmp_path / "runs")
        assert len([r for r in store.list() if r.status == "finished"]) == 8
        groups = screen.groups()
        assert len(groups) == 4 and all(len(g["seeds"]) == 2 for g in groups)
        means = [g["final_loss"]["mean"] for g in groups]
        assert means == sorted(means) and groups[0]["vs_best"] == "best"  # best first
        table = screen.query_one("#sweep-table", DataTable)
        assert table.row_count == 4 and str(table.get_row_at(0)[list(table.columns).index("vs_best")]) == "best"

        parallel = screen.query_one(ParallelCoordinates)
        assert [a.name for a in parallel.axes] == ["topology", "cell", "lr", LOSS_AXIS]
        parallel.focus()
        await pilot.press("right", "right")  # the lr axis: 0.001 at the bottom, 0.01 at the top
        await pilot.press("left_square_bracket")  # its lower bound up one value: only lr 0.01
        assert table.row_count == 2 and {g["lr"] for g in screen.visible()} == {0.01}
        assert "only lr 0.01..0.01" in screen_text(app)
        await pilot.press("right", "right_square_bracket", "right_square_bracket")  # the loss axis' top quarter off
        assert table.row_count <= 2
        await pilot.press("backspace")
        assert table.row_count == 4

        await pilot.press("s")  # sorted by the first column shown, then back to best first
        assert screen.sort_key == screen.shown_columns[0]


async def test_escape_stops_a_running_sweep_and_marks_its_trials_stopped(tmp_path) -> None:
    app = EchoApp(config=Config(topology="many-to-one", epochs=1_000_000), load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.push_screen(SweepScreen(app.lab.config, app.training, worker_count=1))
        screen = app.screen
        await set_field(pilot, "seeds", "1")
        await pilot.press("ctrl+r")
        store = RunStore(tmp_path / "runs")
        await wait_for(pilot, lambda: any(store.root.glob("2*")), timeout=60, what="the first trial to start")
        await pilot.pause(3)  # past tracing, into its training
        await pilot.press("escape")
        started = time.monotonic()
        await wait_for(pilot, lambda: not screen.running, timeout=10, what="the stop")
        # The core stops within a second whatever the trial is doing (0.2-0.3 s measured, a worker
        # stuck in a compile is ended); the margin is the screen's own round trip on a busy machine.
        assert time.monotonic() - started < 1.5
        assert screen.outcome.startswith("stopped: 0 of 4 trials kept") and app.screen is screen
        assert all(g["final_loss"] is None for g in screen.groups())  # a stopped trial's loss is no result
        await wait_for(pilot, lambda: store.list() and all(r.status == "stopped" for r in store.list()), timeout=5,
                       what="the stopped run saved")
