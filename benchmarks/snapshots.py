"""What recording snapshots costs the fast engine: whole tutorial runs with and without, one process.

    PYTHONPATH=. .venv/bin/python benchmarks/snapshots.py            # ~1 minute on 2 busy cores
    PYTHONPATH=. .venv/bin/python benchmarks/snapshots.py --xla      # also 20,000-epoch runs on XLA

"Without" is the program traced with ``engine.SNAPSHOT_SLOT_BYTES = 0`` (no snapshot buffer in
the compiled loop at all) run without a recorder; "with" is the default program recording its
~200 snapshots. Both programs are traced and instantiated first, so each row times cached whole
runs (call to ``Finished``): the median and the best of ``--repeats`` runs, alternating with and
without. Target: with / without <= 1.10 for every row, on the medians. On a busy machine the
medians move by 10-20% between invocations; the best times are steadier.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.core.events import Finished
from tui_echo.core.snapshots import Snapshots
from tui_echo.core.topologies import TOPOLOGIES


def whole_run(config: Config, record: bool) -> float:
    """Seconds for one ``engine.train`` of ``config`` (model built beforehand, as front ends do)."""
    slot_bytes = engine.SNAPSHOT_SLOT_BYTES
    engine.SNAPSHOT_SLOT_BYTES = slot_bytes if record else 0
    try:
        model = engine.build_model(config)
        kept = Snapshots() if record else None
        began = time.perf_counter()
        final = engine.train(config, model=model, snapshots=kept)
        took = time.perf_counter() - began
    finally:
        engine.SNAPSHOT_SLOT_BYTES = slot_bytes
    if not isinstance(final, Finished):
        raise SystemExit(f"{config.topology}: {final}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--xla", action="store_true", help="also time 20,000-epoch runs (XLA)")
    args = parser.parse_args()
    configs = [Config(topology=name).resolved() for name in TOPOLOGIES]
    if args.xla:
        configs += [replace(Config(topology=name), epochs=20_000).resolved() for name in TOPOLOGIES]
    print(f"{'topology':<20}{'epochs':>8}{'without s':>11}{'with s':>9}{'ratio':>7}{'best ratio':>12}")
    worst = 0.0
    for config in configs:
        for record in (False, True):  # trace, instantiate (or compile XLA) both programs first
            whole_run(config, record)
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for record in (False, True):
                times[record].append(whole_run(config, record))
        without, with_ = statistics.median(times[False]), statistics.median(times[True])
        best = min(times[True]) / min(times[False])
        worst = max(worst, with_ / without)
        print(f"{config.topology:<20}{config.epochs:>8,}{without:>11.3f}{with_:>9.3f}{with_ / without:>7.2f}{best:>12.2f}")
    print(f"worst ratio {worst:.2f}: {'met' if worst <= 1.10 else 'MISSED'} (target <= 1.10)")


if __name__ == "__main__":
    main()
