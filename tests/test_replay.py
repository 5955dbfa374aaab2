"""Snapshots: which epochs are kept, that recording them changes nothing, and that a snapshot is
the model a shorter run of the same seed ends with. Real Keras on the graph executable."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.runs import SNAPSHOTS, RunError, RunStore
from tui_echo.core.snapshots import (
    MAX_SNAPSHOTS,
    SNAPSHOT_BYTES,
    Snapshots,
    first_sequence_predictions,
    snapshot_count,
    snapshot_epochs,
)

# 5 samples in batches of 2: 3 steps an epoch, so snapshot epochs fall inside and at chunk ends.
MINIBATCHES = Config(topology="one-to-one", batch_size=2, shuffle=True, epochs=400).resolved()


@pytest.fixture(autouse=True)
def graph_only(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine, "XLA", "never")


def test_snapshot_epochs_keep_the_first_20_then_log_spaced_and_the_last() -> None:
    for total in (1_000, 12_345, 1_000_000):
        epochs = snapshot_epochs(total)
        assert len(epochs) == MAX_SNAPSHOTS
        assert epochs[:20] == list(range(1, 21)) and epochs[-1] == total
        assert all(b > a for a, b in zip(epochs, epochs[1:]))
        gaps = np.diff(epochs[20:])
        assert gaps[-1] > gaps[0]  # spaced wider as the run goes on
    assert snapshot_epochs(150) == list(range(1, 151))
    assert snapshot_epochs(1) == [1] and snapshot_epochs(0) == []
    assert snapshot_epochs(1_000, count=1) == [1_000]


def test_snapshots_of_a_big_model_stay_within_the_byte_budget() -> None:
    assert snapshot_count(1_000) == MAX_SNAPSHOTS
    weights = 1_000_000  # 4 MB a snapshot
    assert snapshot_count(weights) * 4 * weights <= SNAPSHOT_BYTES
    assert snapshot_count(10**9) == 1  # over the budget on its own: only the last


def test_recording_does_not_change_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    config = MINIBATCHES
    kept = Snapshots()
    recorded = engine.train(config, model=engine.build_model(config), snapshots=kept)
    unasked = engine.train(config, model=engine.build_model(config))
    monkeypatch.setattr(engine, "SNAPSHOT_SLOT_BYTES", 0)  # a program without the copying at all
    plain = engine.train(config, model=engine.build_model(config))
    assert recorded.history == unasked.history == plain.history
    assert recorded.predictions == plain.predictions
    assert kept.epochs == snapshot_epochs(config.epochs)


def test_a_snapshot_is_the_model_a_shorter_run_of_the_same_seed_ends_with(monkeypatch: pytest.MonkeyPatch) -> None:
    # Few slots per call, so chunks are also cut at snapshot epochs.
    monkeypatch.setattr(engine, "MAX_SNAPSHOT_SLOTS", 4)
    config = MINIBATCHES
    model, kept = engine.build_model(config), Snapshots()
    engine.train(config, model=model, snapshots=kept)
    shown = first_sequence_predictions(config, model, kept)
    for epoch in (7, kept.epochs[120]):
        index = kept.epochs.index(epoch)
        short = replace(config, epochs=epoch)
        fresh = engine.build_model(short)
        final = engine.train(short, model=fresh)
        np.testing.assert_allclose(shown[index], final.predictions[: len(shown[index])], atol=1e-6)
        flat = np.concatenate([w.ravel() for w in fresh.get_weights()])
        np.testing.assert_allclose(kept.weights[index], flat, atol=1e-6)


def test_fit_records_the_same_epochs() -> None:
    config = replace(MINIBATCHES, engine="fit", epochs=25)
    kept = Snapshots()
    engine.train(config, model=engine.build_model(config), snapshots=kept)
    assert kept.epochs == snapshot_epochs(25)


def test_snapshots_are_saved_with_the_run_and_read_back_checked(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    config = replace(MINIBATCHES, epochs=300)
    record = run_experiment(config, store=store)
    read = store.snapshots(record["id"])
    assert read.epochs == snapshot_epochs(300)
    path = tmp_path / record["id"] / SNAPSHOTS
    path.write_bytes(path.read_bytes()[:100])  # cut short
    with pytest.raises(RunError, match="snapshots.npz"):
        store.snapshots(record["id"])
    buffer = io.BytesIO()  # objects would need pickle: refused
    np.savez(buffer, epochs=np.array([1]), weights=np.array([object()], dtype=object))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(RunError):
        store.snapshots(record["id"])
    buffer = io.BytesIO()  # epochs out of order
    np.savez(buffer, epochs=np.array([2, 1]), weights=np.zeros((2, 3), np.float32))
    path.write_bytes(buffer.getvalue())
    with pytest.raises(RunError, match="ascending"):
        store.snapshots(record["id"])
    path.unlink()
    assert store.snapshots(record["id"]) is None


def test_runs_show_and_inspect_at_an_earlier_epoch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui_echo.__main__ import main

    config = replace(MINIBATCHES, epochs=300)
    record = run_experiment(config, store=RunStore(tmp_path))
    kept = RunStore(tmp_path).snapshots(record["id"])
    between = kept.epochs[-5] + 1  # no snapshot here: the one before it is used
    assert between not in kept.epochs
    assert main(["runs", "show", record["id"], "--epoch", str(between), "--json", "--runs-dir", str(tmp_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["epoch"] == kept.epochs[-5] and shown["loss"] == record["history"][kept.epochs[-5] - 1]
    fresh = engine.train(replace(config, epochs=kept.epochs[-5]), model=engine.build_model(config))
    np.testing.assert_allclose(shown["predictions"], fresh.predictions[: len(shown["predictions"])], atol=1e-6)

    assert main(["runs", "show", record["id"], "--epoch", "300", "--runs-dir", str(tmp_path)]) == 0
    assert "epoch 300 of 300" in capsys.readouterr().out
    assert main(["runs", "show", record["id"], "--epoch", "301", "--runs-dir", str(tmp_path)]) == 2
    assert "has 300 epochs" in capsys.readouterr().err

    assert main(["inspect", record["id"], "--epoch", "7", "--json", "--runs-dir", str(tmp_path)]) == 0
    early = json.loads(capsys.readouterr().out)
    assert early["epoch"] == 7 and early["check"]["max_abs_diff"] < 1e-5
    assert main(["inspect", record["id"], "--json", "--runs-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["h"] != early["layers"][0]["h"]


def test_step_trains_exactly_one_more_epoch_then_ten_and_pauses_again() -> None:
    import threading
    import time

    from tui_echo.core.events import Epochs
    from tui_echo.training import Job

    config = replace(MINIBATCHES, epochs=100_000)  # 3 steps an epoch: the first chunk ends mid-epoch
    job, events = Job(1, "training"), []
    job.pause()
    done: list = []
    worker = threading.Thread(
        target=lambda: done.append(engine.train(config, events.append, job.should_stop,
                                                model=engine.build_model(config), hold_at=job.hold_at))
    )
    worker.start()

    def epochs_after_step(count: int) -> int:
        job.step(count)
        deadline = time.monotonic() + 30
        while not job.paused:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(0.2)  # the engine waits at its hold: nothing more arrives
        return sum(len(e.losses) for e in events if isinstance(e, Epochs))

    try:
        time.sleep(0.5)
        before = sum(len(e.losses) for e in events if isinstance(e, Epochs))
        assert epochs_after_step(1) == before + 1  # held after the first chunk, maybe inside an epoch
        assert epochs_after_step(1) == before + 2
        assert epochs_after_step(10) == before + 12
    finally:
        job.stop()
        worker.join(30)
    stepped = done[0].history
    assert len(stepped) == before + 12
    plain = engine.train(replace(config, epochs=before + 12), model=engine.build_model(config))
    assert stepped == plain.history  # stepping changes when training waits, not what it computes
