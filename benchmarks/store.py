"""How big a 1,000,000-epoch run is on disk and how long saving and reading it take.

Run: ``python benchmarks/store.py``. Times the run store's own code (no training): appending the
history as the engine reports it, the final save (history, result, a real tiny Keras model,
run.json, each fsynced), listing and loading. Prints the numbers; asserts nothing.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from tui_echo.core import runtime
from tui_echo.core.config import Config
from tui_echo.core.events import Epochs
from tui_echo.core.runs import RunStore

EPOCHS = 1_000_000
CHUNK = 2_000  # epochs per Epochs event, about what the compiled engine sends


def main() -> None:
    runtime.load()
    config = Config(topology="many-to-one", epochs=EPOCHS).resolved()
    model = config.build_model()
    losses = np.float32(np.random.default_rng(0).random(EPOCHS)).tolist()
    with tempfile.TemporaryDirectory() as root:
        store = RunStore(Path(root))
        writer = store.start(config.to_dict())
        began = time.perf_counter()
        for first in range(0, EPOCHS, CHUNK):
            writer(Epochs(first + 1, tuple(losses[first : first + CHUNK]), 0.0))
        appending = time.perf_counter() - began
        record = {"topology": config.topology, "status": "stopped", "config": config.to_dict(), "history": losses,
                  "final_loss": losses[-1], "layers": [], "params": 0, "predictions": [], "targets": []}
        began = time.perf_counter()
        writer.finish(record, model)
        saving = time.perf_counter() - began
        folder = Path(root) / writer.meta["id"]
        sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
        began = time.perf_counter()
        store.list()
        listing = time.perf_counter() - began
        began = time.perf_counter()
        assert store.load(writer.meta["id"])["history"] == losses
        loading = time.perf_counter() - began
    print(f"{EPOCHS:,} epochs")
    print(f"on disk      {sum(sizes.values()) / 1e6:.2f} MB  ({', '.join(f'{k} {v / 1e6:.3f}' for k, v in sizes.items())})")
    print(f"appending    {appending:.3f} s in all while training ({EPOCHS // CHUNK} events)")
    print(f"final save   {saving:.3f} s  (history, result, model, run.json; fsynced)")
    print(f"list         {listing:.3f} s")
    print(f"load         {loading:.3f} s")


if __name__ == "__main__":
    main()
