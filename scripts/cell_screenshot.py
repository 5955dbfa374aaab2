"""Save an SVG of the inside-the-cell view, taken by the app itself: an LSTM trained on the delay task.

    .venv/bin/python scripts/cell_screenshot.py [--size 80x24] [--out screenshots] [--ascii]

Writes ``cell.svg`` (``cell-ascii.svg`` with ``--ascii``): the tutorial-sized delay task (length 8,
k = 2, its 2,000 default epochs), the cursor on the forget gate's row at step 2.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from tui_echo.app import EchoApp
from tui_echo.core.config import Config


async def take(out: Path, size: tuple[int, int], ascii_only: bool) -> Path:
    """Train, open the cell view, move the cursor, save."""
    app = EchoApp(config=Config(task="delay", cell="lstm", length=8, seed=0), ascii_only=ascii_only)
    async with app.run_test(size=size) as pilot:

        async def until(predicate, timeout: float = 180.0) -> None:
            deadline = time.monotonic() + timeout
            while not predicate():
                if time.monotonic() > deadline:
                    raise SystemExit(f"timed out: {app.lab.phase}")
                await pilot.pause(0.02)

        await until(lambda: app.tf_ready)
        await pilot.press("ctrl+r")
        await until(lambda: app.lab.phase == "finished")
        await pilot.press("i")
        await until(lambda: getattr(app.screen, "found", None) is not None)
        await pilot.press("right", "right")
        await pilot.pause(0.3)
        name = "cell-ascii.svg" if ascii_only else "cell.svg"
        app.save_screenshot(filename=name, path=str(out))
        return out / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--out", default="screenshots")
    parser.add_argument("--ascii", action="store_true")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    print(asyncio.run(take(Path(args.out), (width, height), args.ascii)))


if __name__ == "__main__":
    main()
