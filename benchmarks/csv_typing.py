"""The lab's longest UI-thread stall while a 20 MB CSV path is typed into the data field.

    .venv/bin/python benchmarks/csv_typing.py [--rows 999999]

Writes a CSV just under ``csvdata.MAX_BYTES`` (the lab's own limit) into a temporary folder, runs
the lab headless (Pilot), chooses the csv task and types the file's path into the data field one
key at a time, as a terminal sends them, then waits until the form has checked the file. Meanwhile
a ticker on the event loop wakes every 5 ms and records how late it woke: its longest lateness is
the longest time the UI thread could not answer anything. Each key's round trip (sent until the
field shows it) is timed too. Prints both; not a pass/fail test. Run it with PYTHONPATH pointing at
another checkout to compare versions (it uses only the form's public fields).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

import numpy as np


def write_csv(folder: str, rows: int) -> str:
    """``rows`` rows of three numbers, cut to stay under the size limit."""
    from tui_echo.core import csvdata

    values = np.random.default_rng(0).normal((50, 1000, 0), (10, 40, 1), (rows, 3))
    lines = [f"{a:.3f},{b:.2f},{c:.2f}" for a, b, c in values]
    text = "price,volume,change\n" + "\n".join(lines) + "\n"
    while len(text) > csvdata.MAX_BYTES:
        lines = lines[: int(len(lines) * csvdata.MAX_BYTES / len(text)) - 1]
        text = "price,volume,change\n" + "\n".join(lines) + "\n"
    path = os.path.join(folder, "series.csv")
    with open(path, "w") as file:
        file.write(text)
    return path


async def measure(path: str) -> tuple[float, list[float], float]:
    """(longest stall, key round trips, seconds until the form had checked the file)."""
    from textual import events
    from textual.widgets import Input

    from tui_echo.app import EchoApp
    from tui_echo.core.config import Config
    from tui_echo.widgets import ConfigForm

    app = EchoApp(config=Config(task="csv"), load_tensorflow=False)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        form, field = app.query_one(ConfigForm), app.query_one("#field-data", Input)
        field.focus()
        await pilot.pause()
        stalls: list[float] = []
        running = True

        async def ticker() -> None:
            while running:
                before = time.perf_counter()
                await asyncio.sleep(0.005)
                stalls.append(time.perf_counter() - before - 0.005)

        task = asyncio.create_task(ticker())
        trips = []
        started = time.perf_counter()
        for character in path:
            key = events.Key(character if character.isalnum() else {"/": "slash", ".": "full_stop",
                             "_": "underscore", "-": "minus"}.get(character, character), character)
            key.set_sender(app)
            sent = time.perf_counter()
            app.post_message(key)
            while not field.value.endswith(character) or len(field.value) < len(trips) + 1:
                await asyncio.sleep(0.001)
            trips.append(time.perf_counter() - sent)
        def checked_it() -> bool:  # the form's answer is about the whole path (not a prefix of it)
            if getattr(form, "reading", None) is not None:
                return False
            return (form.config is not None and form.config.data == path) or any(
                message.endswith(f"{path}: " + message.split(f"{path}: ", 1)[-1]) for message in form.errors.values())

        while not checked_it():
            await asyncio.sleep(0.01)
        checked = time.perf_counter() - started
        await asyncio.sleep(0.05)
        running = False
        await task
        assert field.value == path and form.errors == {} and form.config is not None, form.errors
        return max(stalls), trips, checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=999_999)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(folder, args.rows)
        size = os.path.getsize(path)
        stall, trips, checked = asyncio.run(measure(path))
    print(f"file: {size / 1e6:.1f} MB, path typed: {len(trips)} keys")
    print(f"longest UI-thread stall: {stall * 1000:.0f} ms")
    print(f"key round trip: median {statistics.median(trips) * 1000:.1f} ms, max {max(trips) * 1000:.0f} ms")
    print(f"path typed and file checked in {checked:.2f} s")


if __name__ == "__main__":
    main()
