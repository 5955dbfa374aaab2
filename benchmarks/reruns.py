"""Exact reruns across processes: one config trained in many fresh processes at once, per kernel set.

    PYTHONPATH=. .venv/bin/python benchmarks/reruns.py                   # 40 runs each, 6 at a time: ~3 minutes
    PYTHONPATH=. .venv/bin/python benchmarks/reruns.py --runs 100 --parallel 6 --kernels eigen

Each run is a new Python process training the tutorial's many-to-one for 300 epochs on the graph
(the config of ``tests/test_engine.py``'s cross-process test), started ``--parallel`` at a time so
the 2 cores are busy, as on a shared machine. For TensorFlow's Eigen CPU kernels (the lab's
default, ``TF_ENABLE_ONEDNN_OPTS=0``) and its oneDNN ones (``=1``) it prints how many runs'
histories or predictions differ, bit for bit, from the result most runs gave. Target: none with Eigen.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys

CHILD = """
import json
from tui_echo.core import engine
from tui_echo.core.config import Config
config = Config(topology="many-to-one", epochs=300)
final = engine.train(config, model=engine.build_model(config))
print(json.dumps([final.history, final.predictions]))
"""
KERNELS = {"eigen": "0", "onednn": "1"}


def one(setting: str) -> list:
    """One fresh process's [history, predictions]."""
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": setting}
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="processes per kernel set (default 40)")
    parser.add_argument("--parallel", type=int, default=6, help="processes at a time (default 6)")
    parser.add_argument("--kernels", choices=[*KERNELS, "both"], default="both")
    args = parser.parse_args()
    print(f"# Reruns across processes: many-to-one, 300 epochs, {args.runs} processes, {args.parallel} at a time, "
          f"{os.cpu_count()} CPUs")
    for name, setting in KERNELS.items():
        if args.kernels not in (name, "both"):
            continue
        with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
            results = list(pool.map(one, [setting] * args.runs))
        outcomes = collections.Counter(json.dumps(result) for result in results)
        differ = args.runs - outcomes.most_common(1)[0][1]
        verdict = ("met" if not differ else "MISSED") if name == "eigen" else "(for comparison)"
        print(f"{name:7} TF_ENABLE_ONEDNN_OPTS={setting}: {differ} of {args.runs} differ from the most common "
              f"result ({len(outcomes)} distinct) {verdict}")


if __name__ == "__main__":
    main()
