"""The runs screen's tools: space selects, d diffs two runs, e exports one to TensorBoard."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import DataTable

from tui_echo.app import EchoApp
from tui_echo.core.config import Config
from tui_echo.core.formatting import format_loss
from tui_echo.core.runs import RunStore
from tui_echo.screens.runs import DiffView, RunsScreen
from tui_echo.screens.side_by_side import SideBySide
from tui_echo.widgets import ConfigForm

from test_app import screen_text, wait_for  # noqa: E402  (tests/ is on sys.path)

LAYERS = [{"name": "lstm", "type": "LSTM", "output_shape": [None, 5], "params": 140, "formula": ""},
          {"name": "dense", "type": "Dense", "output_shape": [None, 5], "params": 30, "formula": ""}]


def save(store: RunStore, config: Config, history: list[float], predictions: list[float],
         val_history: list[float] | None = None) -> str:
    """A finished run saved through the store, as a training would leave it."""
    config = config.resolved()
    writer = store.start(config.to_dict())
    validated = {"val_history": val_history, "final_val_loss": val_history[-1]} if val_history else {}
    writer.finish({"topology": config.topology, "status": "finished", "layers": LAYERS, "params": 170,
                   "history": history, "final_loss": history[-1], "predictions": predictions,
                   "targets": [0.0, 0.2, 0.4, 0.6, 0.8], "sample_sequences": 1, "wall_s": 1.5, **validated})
    return writer.meta["id"]


@pytest.fixture
def store(tmp_path, monkeypatch) -> RunStore:
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    store = RunStore(tmp_path / "runs")
    base = Config(topology="many-to-one", epochs=3)
    save(store, base, [0.3, 0.2, 0.1], [0.0, 0.2, 0.4, 0.6, 0.8])
    save(store, replace(base, lr=0.01), [0.3, 0.05, 0.08], [0.1, 0.2, 0.3, 0.6, 0.9])
    return store


async def open_runs(pilot) -> RunsScreen:
    await pilot.press("h")
    await pilot.pause()
    assert isinstance(pilot.app.screen, RunsScreen)
    return pilot.app.screen


async def test_space_selects_two_runs_and_d_shows_their_diff(store) -> None:
    app = EchoApp(config=Config(), load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_runs(pilot)
        newest, oldest = (r.id for r in store.list())
        assert not screen.check_action("diff", ())
        await pilot.press("space", "down", "space")
        assert screen.selected == [newest, oldest]
        assert screen.query_one(DataTable).get_cell(newest, "id").style == "reverse"
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, DiffView)
        text = screen_text(app)
        assert "lr" in text and "0.01" in text and "best epoch" in text and "B - A" in text
        for key, run_id in zip("ab", screen.selected):  # the lr 0.01 run was best at epoch 2, the other at 3
            best_epoch = 2 if store.load(run_id)["config"]["lr"] == 0.01 else 3
            assert app.screen.result["runs"][key]["best_epoch"] == best_epoch
        await pilot.press("escape")
        await pilot.press("space")  # unselects the highlighted (older) run
        assert screen.selected == [newest] and not screen.check_action("diff", ())


async def test_e_exports_the_highlighted_run_and_says_where(store, tmp_path) -> None:
    pytest.importorskip("tensorboard")
    app = EchoApp(config=Config(), load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_runs(pilot)
        newest = store.list()[0].id
        await pilot.press("e")
        folder = tmp_path / "data" / "tui-echo" / "exports" / "tensorboard" / newest
        await wait_for(pilot, lambda: any("TensorBoard logs" in (n.title or "") for n in app._notifications),
                       timeout=60, what="the export's toast")
        [toast] = [n for n in app._notifications if n.title == "TensorBoard logs written"]
        assert str(folder) in toast.message and "tensorboard --logdir" in toast.message
        assert list(folder.glob("events.out.tfevents.*"))


async def test_c_shows_three_selected_runs_side_by_side_with_differing_settings_marked(store) -> None:
    save(store, replace(Config(topology="many-to-one", epochs=3), lr=0.01, seed=7), [0.4, 0.1, 0.02],
         [0.0, 0.1, 0.4, 0.7, 0.8])
    app = EchoApp(config=Config(), load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_runs(pilot)
        ids = [r.id for r in store.list()]
        await pilot.press("space", "down", "space")
        assert screen.check_action("compare", ()) and screen.check_action("diff", ())
        await pilot.press("down", "space")
        assert screen.selected == ids and not screen.check_action("diff", ())
        await pilot.press("c")
        await pilot.pause()
        side = app.screen
        assert isinstance(side, SideBySide) and [r["id"] for r in side.records] == ids
        assert all(f"#{i} {run_id}" in screen_text(app) for i, run_id in enumerate(ids, 1))
        table = side.query_one("#side-table", DataTable)
        marked = {str(k.value).removeprefix("setting:"): table.get_row(k) for k in table.rows
                  if str(table.get_row(k)[0]).startswith("* ")}
        assert set(marked) == {"lr", "seed"}  # the three runs differ in these only
        records = [store.load(run_id) for run_id in ids]  # in the order selected: #1, #2, #3
        assert [str(c) for c in marked["lr"][1:]] == [str(r["config"]["lr"]) for r in records]
        assert sorted(str(c) for c in marked["lr"][1:]) == ["0.001", "0.01", "0.01"]
        assert all("reverse" in str(cell.style) for cell in marked["seed"])
        assert str(table.get_row("setting:topology")[0]) == "  topology"  # the same in all three: unmarked
        assert [str(c) for c in table.get_row("result:final loss")[1:]] == [format_loss(r["final_loss"]) for r in records]
        predictions = side.query_one("#side-predictions", DataTable)
        assert predictions.row_count == 5
        assert [str(c) for c in predictions.get_row_at(1)[3:]] == [f"{r['predictions'][1]:.3f}" for r in records]
        assert list(side.query_one("#side-curve").series) == ["#1", "#2", "#3"]
        assert not side.check_action("curves", ()) and "result:final val loss" not in table.rows  # no validation data
        await pilot.press("escape")
        assert app.screen is screen


async def test_side_by_side_runs_with_validation_show_either_curve(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(tmp_path / "runs"))
    store = RunStore(tmp_path / "runs")
    base = Config(topology="many-to-one", task="random-echo", sequences=10, validation=0.2, epochs=3)
    validations = {0.001: [0.5, 0.4, 0.35], 0.01: [0.5, 0.2, 0.25]}
    for lr, val in validations.items():
        save(store, replace(base, lr=lr), [0.3, 0.2, 0.1], [0.0, 0.2, 0.4, 0.6, 0.8], val)
    app = EchoApp(config=Config(), load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_runs(pilot)
        await pilot.press("space", "down", "space", "c")
        await pilot.pause()
        side = app.screen
        assert isinstance(side, SideBySide)
        expected = [validations[r["config"]["lr"]] for r in side.records]
        table = side.query_one("#side-table", DataTable)
        assert [str(c) for c in table.get_row("result:final val loss")[1:]] == [format_loss(v[-1]) for v in expected]
        # the lowest validation loss's epoch (the training loss is lowest at epoch 3 in both)
        assert [str(c) for c in table.get_row("result:best epoch")[1:]] == [str(v.index(min(v)) + 1) for v in expected]
        chart = side.query_one("#side-curve")
        assert chart.series == {"#1": pytest.approx([0.3, 0.2, 0.1]), "#2": pytest.approx([0.3, 0.2, 0.1])}
        await pilot.press("v")
        assert chart.border_title == "Validation loss (log scale)"
        assert list(chart.series.values()) == [pytest.approx(v) for v in expected]
        await pilot.press("v")
        assert chart.border_title == "Loss (log scale)" and chart.series["#2"] == pytest.approx([0.3, 0.2, 0.1])


async def test_l_loads_a_runs_settings_into_the_lab_form(store) -> None:
    app = EchoApp(config=Config(topology="one-to-one"), load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_runs(pilot)
        record = store.load(store.list()[0].id)  # the highlighted run (same-second IDs sort either way)
        await pilot.press("l")
        await pilot.pause()
        assert app.screen is app.lab
        form = app.lab.query_one(ConfigForm)
        assert form.config is not None and form.config.resolved() == Config(**record["config"]).resolved()
        assert (form.topology, form.config.lr) == ("many-to-one", record["config"]["lr"])  # the lab had one-to-one


async def test_l_refuses_a_callback_run_and_says_why(tmp_path, monkeypatch) -> None:
    store = RunStore(tmp_path / "runs")
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(store.root))
    writer = store.start({"epochs": 3, "batch_size": 4, "engine": "fit", "cell": "lstm", "units": 5}, tags={"source": "callback"})
    writer.finish({"topology": "my-fit", "status": "finished", "layers": LAYERS, "params": 170, "history": [0.3, 0.2, 0.1],
                   "final_loss": 0.1, "predictions": [0.1], "targets": [0.0], "sample_sequences": 1})
    app = EchoApp(config=Config(topology="one-to-one"), load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_runs(pilot)
        await pilot.press("l")
        await pilot.pause()
        assert app.screen is screen and app.lab.query_one(ConfigForm).topology == "one-to-one"
        assert any("cannot be loaded" in str(n.message) and "callback" in str(n.message) for n in app._notifications)
