"""Large shapes: the estimate (core/estimate.py) against the measured run, and stop latency.

    PYTHONPATH=. .venv/bin/python benchmarks/large.py     # ~3 minutes on 2 CPU cores

Each size trains in a fresh process (peak RSS is per process) on the graph, from the call to
``Finished``: tracing, every step and the final predictions. It prints estimated against actual
seconds and peak RSS (target: within 2x), and the RSS factor: the peak above the loaded runtime
over data + model + optimizer state (what the issue asks to bound), and over that plus the
compiled loop's activations (what the estimate models). Then ``tui-echo run`` is stopped with
SIGINT during XLA's compile and during training, and the time to exit is printed (target <= 1 s).
"""

from __future__ import annotations

import glob
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

# (length, units, sequences, batch, epochs): the largest took ~2 minutes and ~6 GB here
SIZES = [(20, 32, 256, 32, 100), (100, 128, 1024, 64, 4), (200, 128, 512, 128, 10), (300, 256, 512, 128, 2)]
STOP_ARGS = ["--task", "random-echo", "--sequences", "1024", "--length", "100", "--units", "128", "--batch-size", "64"]


def config_for(length: int, units: int, sequences: int, batch: int, epochs: int):
    from tui_echo.core.config import Config

    return Config(task="random-echo", length=length, units=units, sequences=sequences, batch_size=batch, epochs=epochs)


def one(size: list[int]) -> None:
    """In a child: train one size and print its measurements as JSON."""
    from tui_echo.core import engine, runtime

    runtime.load()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    config = config_for(*size).resolved()
    began = time.perf_counter()
    final = engine.train(config)
    took = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": took, "compile": getattr(final, "compile_s", None), "base": base, "peak": peak}))


def stop_latency(extra: list[str], ready: str) -> float:
    """Seconds from SIGINT to exit of ``tui-echo run``, sent once ``ready`` says the phase began."""
    with tempfile.TemporaryDirectory() as runs:
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        process = subprocess.Popen([sys.executable, "-m", "tui_echo", "run", "--runs-dir", runs, "--json", *extra],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        while not glob.glob(f"{runs}/*/run.json"):
            time.sleep(0.05)
        if ready == "compile":
            time.sleep(2.0)  # tracing ~1 s, then XLA compiles for ~8 s
        else:
            while not any(os.path.getsize(p) > 0 for p in glob.glob(f"{runs}/*/history.f32")):
                time.sleep(0.05)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
        return time.monotonic() - sent


def main() -> None:
    from tui_echo.core import estimate

    print("| length | units | batch | steps | est. s | actual s | ratio | est. peak | actual peak | ratio "
          "| RSS factor (data+model+Adam) | RSS factor (+activations) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in SIZES:
        cost = estimate.estimate(config_for(*size))
        out = subprocess.run([sys.executable, __file__, "--one", *map(str, size)], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=os.getcwd()), check=True).stdout
        got = json.loads(out.strip().splitlines()[-1])
        above = got["peak"] - got["base"]
        state = cost.data_bytes + cost.model_bytes
        print(f"| {size[0]} | {size[1]} | {size[3]} | {cost.steps:,} | {cost.estimated_seconds:.1f} | {got['seconds']:.1f} "
              f"| {got['seconds'] / cost.estimated_seconds:.2f} | {cost.estimated_peak_bytes / 1e9:.2f} GB "
              f"| {got['peak'] / 1e9:.2f} GB | {got['peak'] / cost.estimated_peak_bytes:.2f} "
              f"| {above / state:,.0f} | {above / (state + cost.activation_bytes):,.0f} |", flush=True)
    compile_s = stop_latency([*STOP_ARGS, "--epochs", "2000"], "compile")
    training_s = stop_latency([*STOP_ARGS, "--epochs", "20"], "training")
    print(f"stop latency (SIGINT to exit): during XLA's compile {compile_s:.2f} s, during training {training_s:.2f} s")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        one([int(v) for v in sys.argv[2:]])
    else:
        main()
