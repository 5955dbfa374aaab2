"""The run store with real files and real processes: nothing a training produced is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tui_echo.__main__ import main
from tui_echo.core import tasks, topologies
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.runs import RunStore

SHORT = Config(topology="many-to-one", epochs=30)


def test_finished_run_reloads_with_the_same_results(tmp_path: Path) -> None:
    import keras

    store = RunStore(tmp_path)
    record = run_experiment(SHORT, store=store)
    [info] = store.list()
    assert (info.id, info.status, info.epochs) == (record["id"], "finished", 30)
    saved = store.load(info.id)
    assert saved["history"] == record["history"]
    assert saved["predictions"] == record["predictions"]
    assert saved["layers"] == record["layers"]
    model = keras.models.load_model(tmp_path / info.id / "model.keras")
    again = model.predict(SHORT.problem.X, verbose=0).ravel()
    np.testing.assert_allclose(again, record["predictions"], atol=1e-6)


def test_stopped_run_keeps_its_history(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    seen: list = []
    record = run_experiment(replace(SHORT, epochs=100_000), seen.append, lambda: len(seen) > 5, store=store)
    assert record["status"] == "stopped"
    saved = store.load(record["id"])
    assert saved["status"] == "stopped"
    assert 0 < len(saved["history"]) < 100_000
    assert saved["history"] == record["history"]


def test_unwritable_runs_folder_warns_and_still_trains(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    warnings: list[str] = []
    record = run_experiment(SHORT, store=RunStore(blocker / "runs", warn=warnings.append))
    assert record["status"] == "finished" and len(record["predictions"]) == 5
    assert len(warnings) == 1 and "not writable" in warnings[0] and str(blocker) in warnings[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_runs_folder_warns(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    warnings: list[str] = []
    try:
        record = run_experiment(SHORT, store=RunStore(tmp_path / "runs", warn=warnings.append))
    finally:
        tmp_path.chmod(0o700)
    assert record["status"] == "finished" and warnings


def test_corrupt_truncated_and_foreign_files_are_skipped_by_name(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    good = run_experiment(SHORT, store=store)
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "run.json").write_text("{not json")
    (tmp_path / "truncated").mkdir()
    meta = json.loads((tmp_path / good["id"] / "run.json").read_text())
    (tmp_path / "truncated" / "run.json").write_text(json.dumps(meta))
    (tmp_path / "truncated" / "result.json").write_text(json.dumps(good)[:200])
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "run.json").write_text(json.dumps({"hello": "world"}))
    (tmp_path / "stray.txt").write_text("ignored: not a folder")
    warnings: list[str] = []
    listed = RunStore(tmp_path, warn=warnings.append).list()
    assert [r.id for r in listed] == [good["id"]]
    joined = "\n".join(warnings)
    for name in ("corrupt/run.json", "truncated/result.json", "foreign/run.json"):
        assert name in joined
    assert len(warnings) == 3


def test_diverging_loss_stops_and_is_marked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Adam at lr <= 10 keeps this LSTM finite, so the data overflows float32 instead: real NaN/inf.
    def huge(length: int, sequences: int, seed: int, delay: int):
        inputs = np.full((1, length), 3e38, dtype=np.float32)
        return inputs, inputs.copy()

    monkeypatch.setitem(tasks.TASKS, "huge", tasks.Task("huge", "overflows", huge))
    store = RunStore(tmp_path)
    record = run_experiment(Config(task="huge", epochs=1000), store=store)
    assert record["status"] == "diverged"
    assert record["history"][-1] is None and len(record["history"]) < 1000
    assert "lower learning rate" in record["error"]
    assert store.load(record["id"])["status"] == "diverged"


def test_exception_inside_training_marks_the_run_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = replace(topologies.TOPOLOGIES["many-to-one"], name="broken", head=lambda keras, length: [keras.layers.Dense(2)])
    monkeypatch.setitem(topologies.TOPOLOGIES, "broken", broken)
    store = RunStore(tmp_path)
    record = run_experiment(Config(topology="broken", epochs=5), store=store)
    assert record["status"] == "failed"
    assert "\n" not in record["error"] and record["error"]
    assert store.load(record["id"])["status"] == "failed"


def test_kill_9_leaves_an_interrupted_run_with_its_history(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tui_echo", "run", "--epochs", "1000000", "--runs-dir", str(tmp_path), "--json"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            histories = list(tmp_path.glob("*/history.txt"))
            if histories and histories[0].stat().st_size > 100:
                break
            time.sleep(0.2)
        else:
            pytest.fail("no history was flushed within 60 s")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    [info] = RunStore(tmp_path).list()
    assert info.status == "interrupted"
    assert info.epochs > 0


def test_runs_cli_lists_shows_and_removes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = run_experiment(SHORT, store=RunStore(tmp_path))
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(tmp_path), "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["id"] == record["id"] and listed["status"] == "finished"
    assert main(["runs", "show", record["id"], "--runs-dir", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["history"] == record["history"]
    assert main(["runs", "rm", record["id"], "--runs-dir", str(tmp_path)]) == 0
    assert not (tmp_path / record["id"]).exists()
    assert main(["runs", "show", record["id"], "--runs-dir", str(tmp_path)]) == 2
    assert "no run" in capsys.readouterr().err
