"""Validation end to end, with the engine reporting validation losses: a real training with
``--validation`` fills the record, the run store, compare and sweep JSON, and the lab's log and
second curve; ``--patience`` stops early, keeps the best epoch and says so."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tui_echo.__main__ import main
from tui_echo.core import progress
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.runs import RunStore

from test_app import wait_for  # noqa: E402  (tests/ is on sys.path)

VALIDATED = Config(topology="many-to-many", task="random-echo", sequences=20, length=5, validation=0.2, epochs=6)
ARGS = ["--task", "random-echo", "--sequences", "20", "--validation", "0.2", "--epochs", "4"]


def test_a_validated_run_records_every_epochs_val_loss_and_reloads_it(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    record = run_experiment(VALIDATED, store=store)
    assert record["status"] == "finished" and len(record["val_history"]) == len(record["history"]) == 6
    assert record["final_val_loss"] == record["val_history"][-1]
    loaded = store.load(record["id"])
    assert loaded["val_history"] == pytest.approx(record["val_history"], rel=1e-6)
    assert store.list()[0].final_val_loss == pytest.approx(record["final_val_loss"], rel=1e-6)


def test_compare_and_sweep_json_hold_the_val_loss(capsys, tmp_path: Path) -> None:
    runs = ["--runs-dir", str(tmp_path)]
    assert main(["compare", "--topologies", "many-to-many,many-to-many-dense", *ARGS, *runs, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(isinstance(row["final_val_loss"], float) for row in data["rows"])
    assert all(row["settings"]["validation"] == 0.2 for row in data["rows"])
    assert main(["compare", "--topologies", "many-to-many,many-to-many-dense", *ARGS, *runs, "--markdown"]) == 0
    assert "final val loss" in capsys.readouterr().out
    assert main(["sweep", "--topology", "many-to-many", "--lr", "1e-3,1e-2", *ARGS, "--workers", "1", *runs, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert all(isinstance(t["final_val_loss"], float) and isinstance(t["best_val_loss"], float) for t in data["trials"])
    assert all(g["final_val_loss"]["n"] == 1 for g in data["groups"])


def test_patience_stops_early_with_the_best_epoch_kept(tmp_path: Path) -> None:
    # A high learning rate on few sequences: the validation loss stops improving long before 3,000 epochs.
    config = Config(topology="many-to-many", task="random-echo", sequences=20, validation=0.25, epochs=3000,
                    lr=0.05, patience=5)
    events = []
    record = run_experiment(config, events.append, store=RunStore(tmp_path))
    epochs, best = len(record["history"]), record["best_epoch"]
    assert record["status"] == "finished" and epochs < 3000
    validation = record["val_history"]
    assert best == min(range(1, epochs + 1), key=lambda e: validation[e - 1])
    assert epochs - best == 5  # patience epochs without a better val loss, then the stop
    state = progress.begun(3000, ready=True)
    for event in events:
        state = progress.advance(state, event, time.monotonic())
    state = progress.ended(state, record["status"])
    assert progress.status(state, timings=False)[1].startswith(f"finished early at epoch {epochs:,} (best {best:,})")
    assert RunStore(tmp_path).load(record["id"])["best_epoch"] == best


async def test_the_lab_shows_a_real_validation_series() -> None:
    from tui_echo.app import EchoApp
    from tui_echo.widgets import EpochLog, LossChart

    app = EchoApp(config=VALIDATED, deterministic=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, 60, "TensorFlow")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.lab.phase == "finished", 60, "the end of the training")
        await pilot.pause(0.3)
        assert len(app.query_one(LossChart).val_losses) == 6
        lines = [line for line in app.query_one(EpochLog).lines if re.fullmatch(r" *\d+ \S+e-?\d+ \S+e-?\d+", line)]
        assert len(lines) == 6
        assert app.lab.last_record["val_history"][-1] == pytest.approx(float(lines[-1].split()[2]), rel=1e-3)
