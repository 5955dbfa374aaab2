"""Headless compare of the four tutorial trainings: fast engine vs ``--engine fit``, side by side.

Target (issue 5): the fast compare finishes in under 1/10 of the fit compare's time.
Run: ``python benchmarks/compare.py`` (about three minutes on 2 cores; fit dominates).
"""

from __future__ import annotations

import time
from dataclasses import replace

from tui_echo.core import runtime
from tui_echo.core.compare import compare, configs_for
from tui_echo.core.config import Config
from tui_echo.core.topologies import TOPOLOGIES


def timed(engine: str) -> tuple[float, list[dict]]:
    started = time.perf_counter()
    records = compare(configs_for(replace(Config(), engine=engine), TOPOLOGIES))
    return time.perf_counter() - started, records


def main() -> None:
    runtime.load()  # import time is the same for both; keep it out of the comparison
    fast_s, fast = timed("fast")
    fit_s, fit = timed("fit")
    print(f"{'topology':<20} {'epochs':>7} {'fast s':>8} {'fit s':>8} {'ratio':>7}  final loss fast / fit")
    for a, b in zip(fast, fit):
        print(
            f"{a['topology']:<20} {len(a['history']):>7} {a['wall_s']:>8.2f} {b['wall_s']:>8.2f} "
            f"{b['wall_s'] / a['wall_s']:>6.1f}x  {a['final_loss']:.2e} / {b['final_loss']:.2e}"
        )
    ratio = fast_s / fit_s
    verdict = "met" if ratio < 0.1 else "MISSED"
    print(f"whole compare: fast {fast_s:.2f} s, fit {fit_s:.2f} s -> fast takes {ratio:.3f} of fit's time "
          f"({fit_s / fast_s:.1f}x faster; target < 0.1: {verdict})")


if __name__ == "__main__":
    main()
