"""tui-echo attach: another process's run followed as it grows, stopped from the attached lab."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import start_cli
from test_app import wait_for  # noqa: E402  (tests/ is on sys.path)
from tui_echo.app import EchoApp
from tui_echo.core.runs import HISTORY, PROGRESS, VAL_HISTORY, RunFollower, RunStore
from tui_echo.screens.attach import AttachScreen
from tui_echo.widgets import LossChart


async def test_attach_follows_a_headless_run_stops_it_and_sees_it_end(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(tmp_path))
    process = start_cli("run", "--epochs", "1000000", "--task", "random-echo", "--sequences", "10",
                        "--validation", "0.2", "--runs-dir", str(tmp_path), "--json")
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*/run.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        [folder] = [p.parent for p in tmp_path.glob("*/run.json")]
        app = EchoApp(load_tensorflow=False, attach=folder.name)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, AttachScreen)
            await wait_for(pilot, lambda: screen.epochs > 1000, 60, "epochs followed")
            chart = screen.query_one(LossChart)
            assert chart.epochs() == screen.epochs
            assert 0 < len(chart.val_losses) <= screen.epochs  # the validation curve, live
            assert json.loads((folder / PROGRESS).read_text())["phase"] == "training"  # the heartbeat
            await pilot.press("escape")
            await pilot.press("y")  # confirmed: the training is asked to stop through its folder
            await wait_for(pilot, lambda: screen.status != "running", 20, "the end of the run")
            assert screen.status == "stopped"
            status = screen.query_one("#status")
            assert f"run {folder.name} ended: stopped after" in status._text
            table = screen.query_one("#predictions")
            assert len(table.rows) == 5 and table.epoch is None  # the sequence; a stopped run saves no predictions
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert json.loads(out)["status"] == "stopped", err
    [info] = RunStore(tmp_path).list()
    assert info.status == "stopped" and info.epochs == screen.epochs == len(chart.val_losses)
    saved = RunStore(tmp_path).load(folder.name)
    np.testing.assert_array_equal(chart.val_losses, np.array(saved["val_history"], dtype=np.float32))


def test_follower_never_hands_out_validation_losses_ahead_of_losses(tmp_path: Path) -> None:
    losses = np.arange(1, 6, dtype="<f4")
    (tmp_path / HISTORY).write_bytes(losses[:3].tobytes() + b"\x01")  # a torn last record
    (tmp_path / VAL_HISTORY).write_bytes((losses * 10).tobytes())
    follower = RunFollower(tmp_path)
    assert follower.new_losses() == ([1, 2, 3], [10, 20, 30], False)
    (tmp_path / HISTORY).write_bytes(losses.tobytes())
    assert follower.new_losses() == ([4, 5], [40, 50], False)
    assert follower.new_losses() == ([], [], False)
    (tmp_path / HISTORY).write_bytes(losses[:2].tobytes())  # the final save trimmed a diverged run
    assert follower.new_losses() == ([1, 2], [10, 20], True)


def test_attach_without_a_running_run_is_one_line(tmp_path: Path, capsys) -> None:
    from tui_echo.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["attach", "--runs-dir", str(tmp_path)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tui-echo attach: error: no running run in ")
