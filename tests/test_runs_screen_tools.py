"""The runs screen's tools: space selects, d diffs two runs, e exports one to TensorBoard."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.widgets import DataTable

from tui_echo.app import EchoApp
from tui_echo.core.config import Config
from tui_echo.core.runs import RunStore
from tui_echo.screens.runs import DiffView, RunsScreen

from test_app import screen_text, wait_for  # noqa: E402  (tests/ is on sys.path)

LAYERS = [{"name": "lstm", "type": "LSTM", "output_shape": [None, 5], "params": 140, "formula": ""},
          {"name": "dense", "type": "Dense", "output_shape": [None, 5], "params": 30, "formula": ""}]


def save(store: RunStore, config: Config, history: list[float], predictions: list[float]) -> str:
    """A finished run saved through the store, as a training would leave it."""
    config = config.resolved()
    writer = store.start(config.to_dict())
    writer.finish({"topology": config.topology, "status": "finished", "layers": LAYERS, "params": 170,
                   "history": history, "final_loss": history[-1], "predictions": predictions,
                   "targets": [0.0, 0.2, 0.4, 0.6, 0.8], "sample_sequences": 1, "wall_s": 1.5})
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
