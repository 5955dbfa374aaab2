"""Save SVG screenshots of the lab, taken by the app itself: idle, training, finished.

    .venv/bin/python scripts/screenshots.py [--size 100x30] [--out screenshots]

Writes ``idle.svg``, ``training.svg``, ``finished.svg`` and ``replay.svg`` (real TensorFlow, the
tutorial's many-to-many run; the replay stopped at its 110th snapshot), ``compare.svg`` and
``compare-delay.svg`` (all four topologies compared on the echo and on the delayed echo, 120×40),
``compare-validation.svg`` (compared on random echo with a fifth held out, the validation curves),
``sweep.svg`` and ``parallel.svg`` (a sweep of topology, cell and lr over 3 seeds in worker
processes, its table, then its parallel coordinates with the lr axis narrowed to 0.01; 120×40),
``validation.svg`` (random echo with a fifth of the sequences held out and early stopping: the
validation curve, the kept epoch marked).
Timings and the device are shown as measured, so they change per machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from tui_echo.app import EchoApp
from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.screens.sweep import SweepScreen
from tui_echo.widgets import LossChart, SummaryPane
from tui_echo.widgets.parallel import ParallelCoordinates


async def take(out: Path, size: tuple[int, int]) -> list[Path]:
    """Run the app headless and save the three pictures."""
    saved: list[Path] = []

    async def until(pilot, predicate, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {app.lab.phase}, {len(app.lab.history)} epochs")
            await pilot.pause(0.01)

    def save(name: str) -> None:
        path = out / f"{name}.svg"
        app.save_screenshot(filename=path.name, path=str(out))
        saved.append(path)

    # The tutorial's run: before training, and at the end.
    app = EchoApp(config=Config(topology="many-to-many", epochs=1000, seed=0))
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.tf_ready and app.query_one(SummaryPane).border_subtitle)
        await pilot.pause(0.2)
        save("idle")
        await pilot.press("ctrl+r")
        app.query_one(LossChart).focus()
        await until(pilot, lambda: app.lab.phase == "finished")
        await pilot.pause(0.3)
        save("finished")
        await replay_midway(pilot, app, until)
        save("replay")

    # A long run caught in the middle. It stays on the TF graph (XLA would finish all 100,000
    # epochs in about a second, between two of the lab's half-second batches), is paused as soon
    # as it trains and let through a little at a time until a third is done.
    engine.XLA = "never"
    epochs = 100_000
    app = EchoApp(config=Config(topology="many-to-many", epochs=epochs, seed=0))
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.tf_ready and app.query_one(SummaryPane).border_subtitle)
        await pilot.press("ctrl+r")
        app.query_one(LossChart).focus()
        await until(pilot, lambda: app.lab.phase == "training")
        await pilot.press("space")  # pause
        await until(pilot, lambda: app.lab.phase == "paused")
        while len(app.lab.history) < epochs // 3 and app.lab.running:
            await pilot.press("space")  # resume
            await until(pilot, lambda: app.lab.phase != "paused")
            await pilot.pause(0.02)
            await pilot.press("space")  # pause
            await until(pilot, lambda: app.lab.phase != "training")
        await pilot.pause(0.3)  # the chart's next frame
        await pilot.press("space")  # resume: the status line says training again
        save("training")
        await pilot.press("escape")
        await until(pilot, lambda: not app.lab.running)
    engine.XLA = "auto"
    return saved + [await take_validation(out, size)] + await take_comparisons(out) + await take_sweep(out)


async def take_validation(out: Path, size: tuple[int, int]) -> Path:
    """``validation.svg``: a run with validation data that early stopping ends, once finished."""
    config = Config(topology="many-to-many", task="random-echo", sequences=50, validation=0.2, patience=20,
                    epochs=2000, lr=0.02, seed=0)
    app = EchoApp(config=config)
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 120
        while not (app.tf_ready and app.query_one(SummaryPane).border_subtitle):
            await pilot.pause(0.05)
        await pilot.press("ctrl+r")
        app.query_one(LossChart).focus()
        while app.lab.phase != "finished":
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {app.lab.phase}")
            await pilot.pause(0.05)
        await pilot.pause(0.3)  # the chart's next frame
        app.save_screenshot(filename="validation.svg", path=str(out))
    return out / "validation.svg"


async def replay_midway(pilot, app: EchoApp, until) -> None:  # noqa: ANN001 - Pilot, a coroutine
    """Replay the finished run (p) and stop it at its 110th snapshot (p again)."""
    await until(pilot, lambda: app.lab.replay is not None)
    await pilot.press("p")
    await until(pilot, lambda: app.lab.replay.index >= 109)
    await pilot.press("p")
    await pilot.pause(1.1)  # the status line repaints a changed text at most once a second


async def take_replay(out: Path, size: tuple[int, int]) -> list[Path]:
    """Only ``replay.svg``: the tutorial run, replayed and stopped part-way."""
    app = EchoApp(config=Config(topology="many-to-many", epochs=1000, seed=0))

    async def until(pilot, predicate, timeout: float = 120.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {app.lab.phase}")
            await pilot.pause(0.01)

    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.tf_ready and app.query_one(SummaryPane).border_subtitle)
        await pilot.press("ctrl+r")
        app.query_one(LossChart).focus()
        await until(pilot, lambda: app.lab.phase == "finished")
        await replay_midway(pilot, app, until)
        app.save_screenshot(filename="replay.svg", path=str(out))
    return [out / "replay.svg"]


async def take_comparisons(out: Path) -> list[Path]:
    """All four topologies compared on the tutorial's echo and on the delayed echo."""
    return [
        await take_compare(out, Config(topology="many-to-many", seed=0), "compare.svg"),
        await take_compare(out, Config(topology="many-to-many", task="delay", seed=0), "compare-delay.svg"),
        await take_compare(out, Config(topology="many-to-many", task="random-echo", sequences=50, validation=0.2,
                                       epochs=300, seed=0), "compare-validation.svg", keys=("v",)),
    ]


async def take_compare(out: Path, config: Config, name: str, keys: tuple[str, ...] = ()) -> Path:
    """The comparison of all four topologies on ``config`` (their default epochs), 120×40, after ``keys``."""
    app = EchoApp(config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 120
        while not (app.tf_ready and app.query_one(SummaryPane).border_subtitle):
            if time.monotonic() > deadline:
                raise SystemExit("timed out loading TensorFlow")
            await pilot.pause(0.05)
        await pilot.press("c")
        deadline = time.monotonic() + 600
        while getattr(app.screen, "running", True):
            if time.monotonic() > deadline:
                raise SystemExit("timed out comparing")
            await pilot.pause(0.05)
        await pilot.press(*keys)
        await pilot.pause(0.3)
        app.save_screenshot(filename=name, path=str(out))
    return out / name


async def take_sweep(out: Path) -> list[Path]:
    """The sweep screen once its sweep is done, then its parallel view with one axis narrowed."""
    app = EchoApp(config=Config(topology="many-to-many", seed=0), load_tensorflow=False)
    fields = {"topology": "many-to-many,many-to-one", "cell": "lstm,gru", "units": "5", "lr": "1e-3,1e-2", "seeds": "3"}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("w")
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        for name, value in fields.items():
            screen.query_one(f"#sweep-{name}").value = value
        await pilot.pause()
        await pilot.press("ctrl+r")
        deadline = time.monotonic() + 600
        while screen.running:
            if time.monotonic() > deadline:
                raise SystemExit("timed out sweeping")
            await pilot.pause(0.05)
        screen.query_one("#sweep-table").focus()
        await pilot.pause(0.3)
        app.save_screenshot(filename="sweep.svg", path=str(out))
        screen.query_one(ParallelCoordinates).focus()
        await pilot.press("right", "right", "left_square_bracket")  # the lr axis: 0.01 only
        await pilot.pause(0.3)
        app.save_screenshot(filename="parallel.svg", path=str(out))
    return [out / "sweep.svg", out / "parallel.svg"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100x30", help="terminal size, WIDTHxHEIGHT (default 100x30)")
    parser.add_argument("--compare-only", action="store_true", help="only the comparisons")
    parser.add_argument("--sweep-only", action="store_true", help="only the sweep and its parallel coordinates")
    parser.add_argument("--replay-only", action="store_true", help="only replay.svg")
    parser.add_argument("--validation-only", action="store_true", help="only validation.svg")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "screenshots"))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.compare_only:
        job = take_comparisons(out)
    elif args.sweep_only:
        job = take_sweep(out)
    elif args.validation_only:
        job = take_validation(out, (width, height))
    else:
        job = take_replay(out, (width, height)) if args.replay_only else take(out, (width, height))
    result = asyncio.run(job)
    for path in result if isinstance(result, list) else [result]:
        print(path)


if __name__ == "__main__":
    main()
