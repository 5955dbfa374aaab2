"""Every screen at 80×24, in colour, with ``NO_COLOR`` and with ``--ascii``.

One real comparison (20 epochs of each topology) and one explainer run are made once per module;
the screens are then shown with those results handed to them in place of their workers, so each
picture needs no training and reads the same on every machine. Review the pictures (``rsvg-convert``
the SVGs in ``__snapshots__/test_80x24``) before ``--snapshot-update``.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import DataTable

from tui_echo.app import EchoApp
from tui_echo.core import engine, explain
from tui_echo.core import sweep as core_sweep
from tui_echo.core.compare import compare, configs_for
from tui_echo.core.config import Config
from tui_echo.core.events import Epochs
from tui_echo.core.runs import RunStore
from tui_echo.core.topologies import TOPOLOGIES
from tui_echo.screens import compare as compare_screen
from tui_echo.screens.compare import CompareScreen
from tui_echo.screens.explain import ExplainScreen
from tui_echo.screens.runs import RunsScreen, RunView
from tui_echo.screens.side_by_side import SideBySide
from tui_echo.screens.sweep import SweepScreen

from test_app import screen_text  # noqa: E402  (tests/ is on sys.path)

SIZE = (80, 24)
CONFIG = Config(topology="many-to-many", epochs=20, seed=0)
MODES = ("colour", "no_color", "ascii")
SCREENS = ("lab", "compare", "compare-seeds", "runs", "run", "side-by-side", "sweep", "parallel", "explainer")
# Keys pressed once a screen shows: run the sweep; and in the parallel view, narrow the lr axis to its top value.
KEYS = {"sweep": ("ctrl+r", "shift+tab"), "parallel": ("ctrl+r", "right", "right", "left_square_bracket")}


@pytest.fixture(scope="module")
def results():
    """Run records of a real 20-epoch comparison, and the explainer's facts for CONFIG."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "XLA", "never")
        patch.setattr(engine, "_loops", type(engine._loops)())
        records = compare(configs_for(CONFIG, TOPOLOGIES))
        config = CONFIG.resolved()
        facts = (explain.shapes(config), explain.timedistributed_equivalence(config))
    return records, facts


@pytest.fixture
def open_screen(results, monkeypatch, tmp_path):
    """``open_screen(name, mode)`` -> (app, run_before): the app, and what shows screen ``name``."""
    records, facts = results

    by_topology = {record["topology"]: record for record in records}

    def fake_experiment(config, on_event, should_stop, **kwargs):  # the real results, at once
        record = by_topology[config.topology]
        if config.seed != CONFIG.seed:  # another seed: the same run, its losses scaled, so seeds spread
            scale = 1 + 0.5 * (config.seed - CONFIG.seed)
            record = {**record, "config": {**record["config"], "seed": config.seed},
                      "final_loss": record["final_loss"] * scale, "history": [v * scale for v in record["history"]]}
        on_event(Epochs(1, tuple(record["history"]), 0.0))
        return record

    def fake_sweep(plan, *, should_stop=lambda: False, **kwargs):  # every trial at once: a real run, rescaled
        for trial in plan.trials:
            config = trial.config
            scale = (3.0 if config.cell == "gru" else 1.0) * (0.2 if config.lr > 0.005 else 1.0) * (1 + 0.3 * config.seed)
            record = by_topology[config.topology]
            yield core_sweep.Outcome(trial, {
                **record, "id": f"20260101-000000-{trial.index:04x}", "config": config.to_dict(), "status": "finished",
                "final_loss": record["final_loss"] * scale, "history": [v * scale for v in record["history"]]})

    monkeypatch.setattr(compare_screen, "run_experiment", fake_experiment)
    monkeypatch.setattr(core_sweep, "run", fake_sweep)
    monkeypatch.setattr(core_sweep, "new_id", lambda: "20260101-000000-5eed")
    monkeypatch.setattr(explain, "shapes", lambda config: facts[0])
    monkeypatch.setattr(explain, "timedistributed_equivalence", lambda config: facts[1])
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(tmp_path / "runs"))  # an empty store
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    def seeded(screen: CompareScreen) -> CompareScreen:
        screen.seeds = 3  # its first run trains three seeds
        return screen

    def make(name: str, mode: str, *, help: bool = False):
        if mode == "no_color":
            monkeypatch.setenv("NO_COLOR", "1")  # App.__init__ reads (and removes) it
        app = EchoApp(config=CONFIG, deterministic=True, load_tensorflow=False, ascii_only=mode == "ascii")
        screens = {
            "lab": lambda: None,
            "compare": lambda: CompareScreen(CONFIG, app.training),
            "compare-seeds": lambda: seeded(CompareScreen(CONFIG, app.training)),
            "runs": RunsScreen,
            "run": lambda: RunView(records[2]),
            "side-by-side": lambda: SideBySide([{**r, "id": f"20260101-000000-000{i}"} for i, r in enumerate(records[1:])]),
            "sweep": lambda: SweepScreen(CONFIG, app.training),
            "parallel": lambda: SweepScreen(CONFIG, app.training),
            "explainer": lambda: ExplainScreen(CONFIG.resolved(), app.training),
        }

        async def run_before(pilot) -> None:
            screen = screens[name]()
            if screen is not None:
                await app.push_screen(screen)
            await pilot.press(*KEYS.get(name, ()))
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.3)  # the charts draw on their 10 Hz tick
            if help:
                await pilot.press("question_mark")
            await pilot.pause()

        return app, run_before

    return make


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", SCREENS)
def test_screen(snap_compare, open_screen, name: str, mode: str) -> None:
    app, run_before = open_screen(name, mode)
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["lab", "compare", "runs", "sweep", "explainer"])
def test_help(snap_compare, open_screen, name: str, mode: str) -> None:
    app, run_before = open_screen(name, mode, help=True)
    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


NUMBER = re.compile(r"^-?[\d,]*\.?\d+(e[-+]?\d+)?$")


def cut_cells(app: EchoApp) -> list[str]:
    """Numbers in the screen's tables shown in part: cut by a column, or by the table's edge."""
    lines = screen_text(app).splitlines()
    cut = [line.strip() for line in lines if re.search(r"\d[…~]", line)]
    for table in app.screen.query(DataTable):
        region = table.content_region
        for index, row_key in enumerate(table.rows):
            y = region.y + table.header_height + index - int(table.scroll_y)
            if not region.y <= y < region.bottom:
                continue
            shown = lines[y][region.x : region.right].rstrip(" |│#▁▂▃▄▅▆▇█")
            for cell in map(str, table.get_row(row_key)):
                if NUMBER.match(cell) and cell not in shown:
                    cut += [cell for k in range(1, len(cell)) if shown.endswith(cell[:k])][:1]
    return cut


@pytest.mark.parametrize("name", SCREENS)
async def test_no_number_in_a_table_is_cut(open_screen, name: str) -> None:
    app, run_before = open_screen(name, "colour")
    async with app.run_test(size=SIZE) as pilot:
        await run_before(pilot)
        assert cut_cells(app) == []
        if name == "compare":
            for _ in range(12):  # sorted by each column in turn
                await pilot.press("s")
                assert cut_cells(app) == []


@pytest.mark.parametrize("size", [(80, 24), (60, 18)], ids=["80x24", "60x18"])
async def test_the_runs_list_shows_ids_and_numbers_whole(results, monkeypatch, tmp_path, size) -> None:
    records, _ = results
    store = RunStore(tmp_path / "runs")
    for record in records:
        store.start(record["config"]).finish(dict(record))
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(store.root))
    app = EchoApp(config=CONFIG, deterministic=True, load_tensorflow=False)
    async with app.run_test(size=size) as pilot:
        await app.push_screen(RunsScreen())
        await pilot.pause()
        shown = screen_text(app)
        ids = [run.id for run in store.list()]
        assert len(ids) == 4 and all(run_id in shown for run_id in ids)
        assert cut_cells(app) == []
