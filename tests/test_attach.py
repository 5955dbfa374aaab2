"""tui-echo attach: another process's run followed as it grows, stopped from the attached lab."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import start_cli
from tui_echo.app import EchoApp
from tui_echo.core.runs import PROGRESS, RunStore
from tui_echo.screens.attach import AttachScreen
from tui_echo.widgets import LossChart


async def wait_for(pilot, predicate, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        await pilot.pause(0.1)


async def test_attach_follows_a_headless_run_stops_it_and_sees_it_end(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TUI_ECHO_RUNS_DIR", str(tmp_path))
    process = start_cli("run", "--epochs", "1000000", "--runs-dir", str(tmp_path), "--json")
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*/run.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        [folder] = [p.parent for p in tmp_path.glob("*/run.json")]
        app = EchoApp(load_tensorflow=False, attach=folder.name)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = app.screen
            assert isinstance(screen, AttachScreen)
            await wait_for(pilot, lambda: screen.epochs > 1000, "epochs followed", 60)
            assert screen.query_one(LossChart).epochs() == screen.epochs
            assert json.loads((folder / PROGRESS).read_text())["phase"] == "training"  # the heartbeat
            await pilot.press("escape")
            await pilot.press("y")  # confirmed: the training is asked to stop through its folder
            await wait_for(pilot, lambda: screen.status != "running", "end of the run", 20)
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
    assert info.status == "stopped" and info.epochs == screen.epochs


def test_attach_without_a_running_run_is_one_line(tmp_path: Path, capsys) -> None:
    from tui_echo.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["attach", "--runs-dir", str(tmp_path)])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tui-echo attach: error: no running run in ")
