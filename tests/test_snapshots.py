"""Snapshot tests of a finished, seeded run at 80×24 and 120×40.

The app runs in ``deterministic`` mode, which leaves out what differs run to run (wall seconds,
epochs per second, compile time, the device); everything else on screen comes from a seeded
training. Review ``snapshot_report.html`` before accepting a change with ``--snapshot-update``.

The engine chooses graph or XLA from the config alone, so a seeded run repeats exactly; the
snapshot runs also pin ``engine.XLA = "never"`` and start from an empty program cache, so the
picture does not depend on that choice (XLA rounds differently from the graph in the last digits:
8.7929e-03 against 8.7930e-03 at one epoch). If the engine's arithmetic changes, the losses shown
change with it: check the new picture and update.
"""

from __future__ import annotations

import time

import pytest

from tui_echo.app import EchoApp
from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.widgets import LossChart, SummaryPane

EPOCHS = 200


def finished_app() -> EchoApp:
    """The lab after a 200-epoch many-to-many run with seed 0."""
    return EchoApp(config=Config(topology="many-to-many", epochs=EPOCHS, seed=0), deterministic=True)


async def train_to_the_end(pilot) -> None:
    """Wait for TensorFlow, train, wait for the end and for the chart's next frame."""
    app = pilot.app

    async def until(predicate, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "snapshot run did not settle"
            await pilot.pause(0.02)

    await until(lambda: app.tf_ready and app.query_one(SummaryPane).border_subtitle == "146 params")
    await pilot.press("ctrl+r")
    await until(lambda: app.lab.phase == "finished")
    app.query_one(LossChart).focus()
    await pilot.pause(0.3)  # the chart redraws on its 10 Hz tick
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_finished_run(snap_compare, monkeypatch, size: tuple[int, int]) -> None:
    monkeypatch.setattr(engine, "XLA", "never")
    monkeypatch.setattr(engine, "_loops", type(engine._loops)())
    assert snap_compare(finished_app(), run_before=train_to_the_end, terminal_size=size)
