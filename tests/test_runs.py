"""The run store with real files and real processes: nothing a training produced is lost."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tui_echo.__main__ import main
from tui_echo.core import tasks, topologies
from tui_echo.core.compare import row
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.formatting import format_loss
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
    assert len(warnings) == 1 and "Not a directory" in warnings[0] and str(blocker) in warnings[0]


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
    meta = json.loads((tmp_path / good["id"] / "run.json").read_text())
    corrupt, truncated, foreign = "20000101-000000-0001", "20000101-000000-0002", "20000101-000000-0003"
    for name in (corrupt, truncated, foreign):
        (tmp_path / name).mkdir()
    (tmp_path / corrupt / "run.json").write_text("{not json")
    (tmp_path / truncated / "run.json").write_text(json.dumps({**meta, "id": truncated}))
    (tmp_path / truncated / "result.json").write_text(json.dumps(good)[:200])
    (tmp_path / foreign / "run.json").write_text(json.dumps({"hello": "world"}))
    (tmp_path / "stray.txt").write_text("ignored: not a folder")
    warnings: list[str] = []
    listed = RunStore(tmp_path, warn=warnings.append).list()
    assert [r.id for r in listed] == [good["id"]]
    assert len(warnings) == 3
    for (name, what), warning in zip([(corrupt, "run.json"), (truncated, "result.json"), (foreign, "run.json")],
                                     sorted(warnings)):
        assert f"{tmp_path / name}: {what}" in warning


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
    assert row(record)["final_loss"] is None  # compare tabulates a diverged run too


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
            histories = list(tmp_path.glob("*/history.f32"))
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


def _one_line(text: str) -> bool:
    return text.count("\n") == 1 and "Traceback" not in text


def test_rm_removes_only_real_run_folders_directly_inside_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_store_hostile import good_run

    runs = tmp_path / "runs"
    runs.mkdir()
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("precious")
    plain, nested, linked = "20240102-030405-0001", "20240102-030405-0002", "20240102-030405-0003"
    good_run(runs, plain)
    (good_run(runs, nested) / "sub" / "deeper").mkdir(parents=True)
    (runs / linked).symlink_to(victim)
    for bad in ("../victim", str(victim), "..", ".", "", f"{plain}/..", f"{plain}/run.json", "x" * 250):
        assert main(["runs", "rm", bad, "--runs-dir", str(runs)]) == 2
        assert _one_line(capsys.readouterr().err)
        assert main(["runs", "show", bad, "--runs-dir", str(runs)]) == 2
        assert _one_line(capsys.readouterr().err)
    assert main(["runs", "rm", linked, "--runs-dir", str(runs)]) == 2
    assert "no run" in capsys.readouterr().err
    assert (victim / "keep").read_text() == "precious" and (runs / linked).is_symlink()
    assert main(["runs", "rm", plain, nested, "--runs-dir", str(runs)]) == 0
    assert capsys.readouterr().out.split("\n")[:2] == [f"removed run {plain}", f"removed run {nested}"]
    assert sorted(p.name for p in runs.iterdir()) == [linked]  # nothing left aside either


def test_two_runs_in_the_same_second_get_different_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_echo.core import runs

    monkeypatch.setattr(runs.time, "strftime", lambda pattern: "20240102-030405-")
    suffixes = iter(["abcd", "abcd", "abce"])  # the second run draws the first one's suffix first
    monkeypatch.setattr(runs.secrets, "token_hex", lambda n: next(suffixes))
    store = RunStore(tmp_path)
    first, second = store.start({}), store.start({})
    assert first is not None and second is not None
    assert [first.meta["id"], second.meta["id"]] == ["20240102-030405-abcd", "20240102-030405-abce"]
    assert json.loads((tmp_path / second.meta["id"] / "run.json").read_text())["id"] == second.meta["id"]

    monkeypatch.setattr(runs.secrets, "token_hex", lambda n: "abcd")  # every ID taken
    warnings: list[str] = []
    assert RunStore(tmp_path, warn=warnings.append).start({}) is None
    assert warnings == [f"this run will not be saved: 8 new run IDs in a row were taken in {tmp_path}"]


def test_a_write_failing_while_saving_marks_the_run_failed_and_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui_echo.core import runs

    earlier = run_experiment(SHORT, store=RunStore(tmp_path))
    before = {p.name: p.read_bytes() for p in (tmp_path / earlier["id"]).iterdir()}
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:  # the disk fills up as result.json is written
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".result.json.partial"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(runs.os, "fsync", full_disk)
    capsys.readouterr()
    assert main(["run", "--topology", "many-to-one", "--epochs", "30", "--runs-dir", str(tmp_path), "--json"]) == 1
    err = capsys.readouterr().err
    assert "could not save the run: result.json: No space left on device" in err
    monkeypatch.undo()
    assert not list(tmp_path.rglob("*partial*"))
    [failed] = [r for r in RunStore(tmp_path).list() if r.id != earlier["id"]]
    assert failed.status == "failed" and failed.epochs == 30
    assert "No space left" in RunStore(tmp_path).load(failed.id)["error"]
    assert {p.name: p.read_bytes() for p in (tmp_path / earlier["id"]).iterdir()} == before


def test_a_history_write_failing_mid_training_stops_it_and_keeps_whole_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui_echo.core import runs

    class FillingUp:
        """history.f32 on a disk with room for 1,002 more bytes: the last write is cut short."""

        def __init__(self, file) -> None:  # noqa: ANN001
            self.file, self.room = file, 1002

        def write(self, data: bytes) -> int:
            if len(data) > self.room:
                self.file.write(data[: self.room])
                self.file.flush()
                self.room = 0
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.room -= len(data)
            return self.file.write(data)

        def flush(self) -> None:
            self.file.flush()

        def close(self) -> None:
            self.file.close()

    def opening(path, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202
        file = open(path, mode, *args, **kwargs)
        return FillingUp(file) if str(path).endswith(runs.HISTORY) and "a" in mode else file

    monkeypatch.setattr(runs, "open", opening, raising=False)
    args = ["run", "--topology", "many-to-one", "--epochs", "1000000", "--runs-dir", str(tmp_path), "--json"]
    assert main(args) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "failed" and len(record["history"]) < 1_000_000
    [saved] = RunStore(tmp_path).list()
    assert saved.status == "failed" and saved.epochs == 250  # 1,000 whole bytes; the torn 2 are dropped
    assert RunStore(tmp_path).load(saved.id)["history"] == pytest.approx(record["history"][:250], rel=1e-6)
    assert not list(tmp_path.rglob("*partial*"))


def test_a_million_epoch_history_round_trips_in_4_mb(tmp_path: Path) -> None:
    from test_store_hostile import CONFIG, finished_record
    from tui_echo.core.events import Epochs

    losses = np.float32(np.random.default_rng(0).random(1_000_000)).tolist()
    store = RunStore(tmp_path)
    writer = store.start(CONFIG)
    for first in range(0, len(losses), 50_000):
        writer(Epochs(first + 1, tuple(losses[first : first + 50_000]), 0.0))
    writer.finish({**finished_record(writer.meta["id"], losses), "status": "stopped"})
    folder = tmp_path / writer.meta["id"]
    assert (folder / "history.f32").stat().st_size == 4_000_000
    assert sum(p.stat().st_size for p in folder.iterdir()) < 4_100_000
    assert store.load(writer.meta["id"])["history"] == losses
    [info] = store.list()
    assert (info.epochs, info.final_loss, info.status) == (1_000_000, losses[-1], "stopped")


def test_records_keep_a_bounded_sample_of_sequences() -> None:
    from tui_echo.core.record import SAMPLE_SEQUENCES

    record = run_experiment(Config(task="random-echo", sequences=40, length=5, epochs=2))
    assert record["sample_sequences"] == SAMPLE_SEQUENCES == 16
    assert len(record["targets"]) == len(record["predictions"]) == 16 * 5


def test_prune_lists_by_default_and_removes_with_yes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from test_store_hostile import good_run

    now = time.time()
    ages = {"0001": (10, "finished"), "0002": (3 * 86400, "stopped"), "0003": (8 * 86400, "failed"),
            "0004": (9 * 86400, "finished"), "0005": (30 * 86400, "running")}
    for suffix, (age, status) in ages.items():
        folder = good_run(tmp_path, f"20240102-030405-{suffix}")
        meta = json.loads((folder / "run.json").read_text())
        meta.update(started=now - age, status=status, host=socket.gethostname(), pid=os.getpid())
        (folder / "run.json").write_text(json.dumps(meta))
    prune = ["runs", "prune", "--runs-dir", str(tmp_path)]

    def pruned(*args: str) -> set[str]:
        assert main([*prune, *args]) == 0
        return set(re.findall(r"20240102-030405-(\d{4})", capsys.readouterr().out))

    assert pruned("--older-than", "7d") == {"0003", "0004"}  # never the running one
    assert pruned("--status", "stopped,failed") == {"0002", "0003"}
    assert pruned("--keep", "3") == {"0004"}
    assert pruned("--keep", "1", "--older-than", "5d", "--status", "finished") == {"0004"}
    assert len(list(tmp_path.iterdir())) == 5  # a dry run removes nothing
    assert pruned("--older-than", "7d", "--yes") == {"0003", "0004"}
    assert sorted(p.name[-4:] for p in tmp_path.iterdir()) == ["0001", "0002", "0005"]
    for bad in (["--older-than", "7 days"], ["--status", "great"], ["--keep", "-1"], []):
        assert main([*prune, *bad]) == 2
        assert _one_line(capsys.readouterr().err)


def test_device_with_a_trailing_newline_is_refused(cli_run) -> None:  # noqa: ANN001
    done = cli_run("runs", "--device", "cpu\n")  # a child: this process has TensorFlow loaded
    assert done.returncode == 2 and "device must be" in done.stderr and _one_line(done.stderr)


def test_quitting_waits_for_a_save_in_progress_and_saves_a_stuck_training_as_it_stands(tmp_path: Path) -> None:
    import threading

    from test_store_hostile import CONFIG, finished_record
    from tui_echo.core.events import Epochs

    class SlowModel:
        def save(self, path: Path) -> None:  # a slow disk
            time.sleep(0.5)
            Path(path).write_bytes(b"model")

    store = RunStore(tmp_path)
    stuck, saving = store.start(CONFIG), store.start(CONFIG)
    stuck(Epochs(1, (0.5, 0.25), 0.0))  # then an uninterruptible compile, say: it never finishes
    threading.Thread(target=saving.finish, args=(finished_record(saving.meta["id"], [0.1]), SlowModel())).start()
    began = time.monotonic()
    store.wait_saved(grace=0.1)
    assert time.monotonic() - began >= 0.5
    found = {r.id: (r.status, r.epochs) for r in store.list()}
    assert found == {stuck.meta["id"]: ("stopped", 2), saving.meta["id"]: ("finished", 1)}
    assert (tmp_path / saving.meta["id"] / "model.keras").read_bytes() == b"model"


def test_runs_list_keeps_ids_and_losses_whole_at_80_columns(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    record = run_experiment(Config(topology="many-to-many-dense", epochs=3), store=store)
    result = subprocess.run(
        [sys.executable, "-m", "tui_echo", "runs", "--runs-dir", str(tmp_path)],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert record["id"] in result.stdout  # whole, so it can be passed to runs show
    assert format_loss(record["final_loss"]) in result.stdout
    assert "…" not in result.stdout and max(len(line) for line in result.stdout.splitlines()) <= 80
