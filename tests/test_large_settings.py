"""The lab at the largest problem its settings allow (100,000 sequences of 1,000 steps): typing
into a field and the first frame stay quick, because nothing but training draws the data set."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from textual.widgets import Input

from tui_echo.app import EchoApp
from tui_echo.core import tasks
from tui_echo.core.config import Config
from tui_echo.screens.lab import LabScreen
from tui_echo.widgets import ConfigForm

LARGEST = Config(task="random-echo", sequences=100_000, length=1000)
# What runs on the UI thread for each keystroke: the form's check, then the lab's response to it.
PER_KEY = [(ConfigForm, "_check"), (LabScreen, "_show_sequence"), (LabScreen, "refresh_status"),
           (LabScreen, "request_summary")]


@pytest.fixture
def draws(monkeypatch) -> list[int]:
    """Sequence counts of every data set the random-echo task draws."""
    counts: list[int] = []
    task = tasks.TASKS["random-echo"]

    def make(length: int, sequences: int, seed: int, delay: int):
        counts.append(sequences)
        return task.make(length, sequences, seed, delay)

    monkeypatch.setitem(tasks.TASKS, "random-echo", replace(task, make=make))
    return counts


async def test_typing_at_the_largest_problem_draws_nothing_and_stays_under_50_ms(monkeypatch, draws) -> None:
    spent: list[float] = []

    def timed(method):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent.append(time.perf_counter() - start)
        return wrapper

    for owner, name in PER_KEY:
        monkeypatch.setattr(owner, name, timed(getattr(owner, name)))
    started = time.perf_counter()
    app = EchoApp(config=LARGEST, load_tensorflow=False)
    async with app.run_test(size=(100, 30)) as pilot:
        opened = time.perf_counter() - started
        field = app.query_one("#field-seed", Input)
        field.focus()
        await pilot.pause()
        per_key = []
        for key in "1234567":
            spent.clear()
            await pilot.press(key)
            await pilot.pause(0.15)  # the summary's debounce timer fires too
            per_key.append(sum(spent))
        assert field.value == "1234567" and app.lab.query_one(ConfigForm).config.seed == 1234567
    assert max(per_key) < 0.05, f"per keystroke on the UI thread: {[f'{t * 1e3:.1f} ms' for t in per_key]}"
    assert opened < 1.0, f"the lab took {opened:.2f} s to open"
    assert all(count == 1 for count in draws), f"data sets drawn while typing: {draws}"  # first sequences only
