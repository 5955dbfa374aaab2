"""Inside the cell in the app: ``i`` after a training opens the heatmaps with the Keras check."""

from __future__ import annotations

import pytest

from tui_echo.app import EchoApp
from tui_echo.core.config import Config
from tui_echo.screens.cell import CellScreen
from tui_echo.widgets.heatmap import Heatmap

from test_app import wait_for


async def open_cell(app, pilot) -> CellScreen:
    """Train the lab's settings, press i, wait for the heatmaps."""
    await wait_for(pilot, lambda: app.tf_ready, what="TensorFlow")
    assert not app.lab.check_action("inspect", ())  # nothing trained yet
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: app.lab.phase == "finished", what="finished")
    await pilot.press("i")
    screen = app.screen
    assert isinstance(screen, CellScreen)
    await wait_for(pilot, lambda: screen.found is not None, what="the inspection")
    await pilot.pause(0.1)
    return screen


@pytest.mark.parametrize("ascii_only", [False, True], ids=["colour", "ascii"])
async def test_i_opens_the_cell_after_training(ascii_only: bool) -> None:
    app = EchoApp(config=Config(task="delay", cell="lstm", length=8, epochs=40), ascii_only=ascii_only)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_cell(app, pilot)
        maps = {heatmap.title: heatmap for heatmap in screen.query(Heatmap)}
        assert list(maps) == ["input", "forget", "candidate", "output", "c", "h"]
        check = str(screen.query_one("#cell-check").render())
        assert check.startswith("matches Keras: max |diff| ") and float(check.split()[4]) <= 1e-5
        await pilot.press("right", "right", "down")
        assert screen.cursor == (1, 2) and maps["h"].cursor == (1, 2)
        values = str(screen.query_one("#cell-values").render())
        assert values.startswith("step 2 · unit 1") and f"h {screen.found.layers[0].h[2, 1]:+.3f}" in values
        await pilot.press("greater_than_sign")
        await wait_for(pilot, lambda: screen.found.sequence == 1, what="sequence 1")
        drawn = "".join(str(heatmap.render()) for heatmap in maps.values())
        assert drawn.strip()
        if ascii_only:
            assert drawn.isascii() and "▀" not in drawn
        else:
            assert "▀" in drawn
        await pilot.press("escape")
        assert app.screen is app.lab
