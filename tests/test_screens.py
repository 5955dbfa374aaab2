"""Pilot tests of the compare, runs and explainer screens, with real Keras and short trainings."""

from __future__ import annotations

import csv
import json
from typing import Callable

import numpy as np
import pytest
from textual.widgets import DataTable

from tui_echo.app import EchoApp
from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.core.topologies import TOPOLOGIES
from tui_echo.screens.compare import CompareScreen
from tui_echo.screens.explain import ExplainScreen
from tui_echo.screens.runs import RunsScreen, RunView
from tui_echo.widgets.compare_chart import CompareChart
from tui_echo.widgets import ConfigForm, PredictionTable, SummaryPane

from test_app import screen_text, wait_for as lab_wait_for  # noqa: E402  (tests/ is on sys.path)

SIZE = (120, 40)
EPOCHS = 20


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    """The lab tests' wait, with longer patience: comparisons train four models."""
    await lab_wait_for(pilot, predicate, timeout, what)


async def finish_comparison(pilot) -> CompareScreen:
    """Wait for the compare screen's worker to end."""
    screen = pilot.app.screen
    assert isinstance(screen, CompareScreen)
    await wait_for(pilot, lambda: not screen.running, what="comparison")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return screen


def table_column(screen: CompareScreen, key: str) -> dict[str, str]:
    """Topology -> the text of one column of the comparison table."""
    table = screen.query_one("#compare-table", DataTable)
    return {str(k.value): str(table.get_cell(k, key)) for k in table.rows}


@pytest.fixture(autouse=True)
def _exports_in_tmp(tmp_path, monkeypatch):
    """Exports go to the test's folder, never the home folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


async def test_compare_all_four_then_toggle_one_out_export_and_go_back(tmp_path) -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=EPOCHS, seed=3))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("c")
        screen = await finish_comparison(pilot)
        rows = screen.rows()
        assert [r["topology"] for r in rows] == list(TOPOLOGIES)
        assert [r["params"] for r in rows] == [146, 170, 146, 146]
        assert [len(screen.records[n][0]["history"]) for n in TOPOLOGIES] == [EPOCHS] * 4
        assert table_column(screen, "params") == dict(zip(TOPOLOGIES, ["146", "170", "146", "146"]))
        predictions = screen.query_one("#compare-predictions", DataTable)
        assert predictions.row_count == 5 and len(predictions.columns) == 3 + 4
        assert "-" not in predictions.get_row_at(4)

        # the highlighted row is one-to-one: toggle it out and rerun
        await pilot.press("space")
        assert "one-to-one" not in screen.selected
        await pilot.press("ctrl+r")
        await finish_comparison(pilot)
        assert list(screen.records) == ["many-to-one", "many-to-many", "many-to-many-dense"]
        assert screen.trained == ["many-to-one", "many-to-many", "many-to-many-dense"]

        await pilot.press("s")
        assert screen.sort_key == "topology"
        await pilot.press("e")
        await pilot.pause()
        paths = screen.exported
        assert [p.suffix for p in paths] == [".md", ".csv", ".json"]
        assert all(p.is_file() and str(p).startswith(str(tmp_path)) for p in paths)
        data = json.loads(paths[2].read_text())
        assert [r["topology"] for r in data["rows"]] == screen.trained
        assert len(list(csv.DictReader(paths[1].open()))) == 3
        assert "| many-to-one |" in paths[0].read_text()

        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.lab
        form = app.query_one(ConfigForm)
        assert form.topology == "many-to-many"
        assert form.config is not None and (form.config.epochs, form.config.seed) == (EPOCHS, 3)


async def test_compare_over_seeds_shows_mean_std_and_the_spread() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=EPOCHS, seed=3))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("c")
        screen = await finish_comparison(pilot)
        await pilot.press("n", "n")
        assert screen.seeds == 3 and "seeds 3..5" in str(screen.query_one("#compare-status").render())
        await pilot.press("ctrl+r")
        await finish_comparison(pilot)
        assert {n: [r["config"]["seed"] for r in runs] for n, runs in screen.records.items()} == {
            n: [3, 4, 5] for n in TOPOLOGIES}
        rows = {r["topology"]: r for r in screen.rows()}
        for name in TOPOLOGIES:  # the row's numbers are the seeds' own, aggregated
            losses = [r["final_loss"] for r in screen.records[name]]
            assert rows[name]["final_loss"]["mean"] == pytest.approx(sum(losses) / 3)
            assert (rows[name]["final_loss"]["min"], rows[name]["final_loss"]["max"]) == (min(losses), max(losses))
        loss = table_column(screen, "final_loss")
        assert all(" ± " in text for text in loss.values())
        marks = table_column(screen, "vs_best")
        best = min(rows, key=lambda n: rows[n]["final_loss"]["mean"])
        assert marks[best] == "best" and set(marks.values()) <= {"best", "~best", "worse"}
        assert all(marks[n] == {"not separable": "~best", "separable": "worse"}[rows[n]["vs_best"]]
                   for n in TOPOLOGIES if n != best)
        chart = screen.query_one("#compare-curve")
        low, high = chart.bands["many-to-one"]
        assert len(low) == EPOCHS and all(lo <= m <= hi for lo, m, hi in zip(low, chart.series["many-to-one"], high))
        await pilot.press("N", "N", "N")  # not below one seed
        assert screen.seeds == 1


async def test_escape_stops_a_comparison_in_progress() -> None:
    app = EchoApp(config=Config(topology="many-to-one", epochs=1_000_000))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("c")
        screen = app.screen
        await wait_for(pilot, lambda: any(s.epoch > 0 for s in screen.progress.values()), what="training")
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is app.lab and not app.lab.running


async def test_runs_screen_lists_a_lab_training_and_reopens_it() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=EPOCHS))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        assert app.run_store is not None
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished", what="finished")
        run_id = app.lab.last_record["id"]
        lab_predictions = [app.lab.query_one(PredictionTable).cell_text(t, "pred") for t in range(5)]
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        table = app.screen.query_one(DataTable)
        assert str(table.coordinate_to_cell_key((0, 0)).row_key.value) == run_id  # newest first
        assert str(table.get_cell(run_id, "status")) == "finished"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunView)
        shown = app.screen.query_one(PredictionTable)
        assert [shown.cell_text(t, "pred") for t in range(5)] == lab_predictions
        await pilot.press("escape")
        await pilot.press("delete")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert run_id not in [r.id for r in app.run_store.list()]
        await pilot.press("escape")
        assert app.screen is app.lab


async def test_store_warnings_become_notifications(tmp_path) -> None:
    app = EchoApp(config=Config(epochs=EPOCHS), load_tensorflow=False)
    async with app.run_test(size=SIZE) as pilot:
        app.run_store.warn("skipped /x/run.json: bad")
        await pilot.pause()
        assert any("skipped /x/run.json" in n.message and n.severity == "warning" for n in app._notifications)


async def test_explainer_shows_shapes_and_same() -> None:
    app = EchoApp(config=Config(topology="many-to-many"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("x")
        screen = app.screen
        assert isinstance(screen, ExplainScreen)
        await wait_for(pilot, lambda: screen.equivalence is not None, what="explainer")
        assert [s.shape for s in screen.steps] == [(1, 5, 1), (1, 5, 5), (1, 5, 1)]
        assert screen.equivalence.same
        text = screen_text(app)
        assert "1 × 5 × 5" in text and "same" in text
        await pilot.press("escape")
        assert app.screen is app.lab


async def test_e_saves_the_settings_as_a_plain_keras_script(tmp_path) -> None:
    app = EchoApp(config=Config(topology="many-to-one", task="delay", delay=1, length=4, epochs=7, seed=5))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("e")
        await wait_for(pilot, lambda: app.lab.exported_script is not None, what="the script")
        path = app.lab.exported_script
        assert path.parent == tmp_path / "data" / "tui-echo" / "exports"
        text = path.read_text()
        compile(text, str(path), "exec")  # a whole, valid Python file
        assert "--topology many-to-one --task delay --delay 1" in text and "--length 4" in text
        assert "epochs=7" in text and "keras.utils.set_random_seed(5)" in text
        assert "tui_echo" not in text.replace("tui-echo", "")  # runs without tui-echo installed
        assert any(path.name in n.message and str(path.parent) in n.message for n in app._notifications)


# ----------------------------------------------------------------------------- snapshot


async def _finished_comparison(pilot) -> None:
    """Wait for TensorFlow and the summary, compare, wait for the end and the chart's frame."""
    app = pilot.app
    await wait_for(pilot, lambda: app.tf_ready and app.query_one(SummaryPane).border_subtitle == "146 params")
    await pilot.press("c")
    await finish_comparison(pilot)
    await pilot.pause(0.3)
    await pilot.pause()


def test_finished_comparison_snapshot(snap_compare, monkeypatch) -> None:
    monkeypatch.setattr(engine, "XLA", "never")
    monkeypatch.setattr(engine, "_loops", type(engine._loops)())
    app = EchoApp(config=Config(topology="many-to-many", epochs=100, seed=0), deterministic=True)
    assert snap_compare(app, run_before=_finished_comparison, terminal_size=SIZE)


async def test_compare_with_validation_draws_either_curve() -> None:
    config = Config(topology="many-to-many", task="random-echo", sequences=20, validation=0.2, epochs=EPOCHS, seed=3)
    app = EchoApp(config=config)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("c")
        screen = await finish_comparison(pilot)
        chart = screen.query_one(CompareChart)
        assert {n: chart.series[n] for n in TOPOLOGIES} == {
            n: pytest.approx(screen.records[n][0]["history"], rel=1e-6) for n in TOPOLOGIES}
        await pilot.press("v")  # the validation curves, from what was trained
        assert chart.border_title == "Validation loss (log scale)"
        assert {n: chart.series[n] for n in TOPOLOGIES} == {
            n: pytest.approx(screen.records[n][0]["val_history"], rel=1e-6) for n in TOPOLOGIES}
        await pilot.press("n", "ctrl+r")  # two seeds: the mean validation curve over them
        await finish_comparison(pilot)
        for name in TOPOLOGIES:
            seeds = np.array([r["val_history"] for r in screen.records[name]])
            np.testing.assert_allclose(chart.series[name], seeds.mean(0), rtol=1e-6)
            np.testing.assert_allclose(chart.bands[name][1], seeds.max(0), rtol=1e-6)
        await pilot.press("v")
        assert chart.border_title == "Loss (log scale)"
        np.testing.assert_allclose(chart.series["one-to-one"],
                                   np.mean([r["history"] for r in screen.records["one-to-one"]], 0), rtol=1e-6)


async def test_compare_without_validation_has_no_curve_switch() -> None:
    app = EchoApp(config=Config(topology="many-to-many", epochs=2))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
        await pilot.press("c")
        screen = await finish_comparison(pilot)
        assert screen.check_action("curves", ()) is False
        await pilot.press("v")
        assert screen.curve == "history"  # still the training loss
