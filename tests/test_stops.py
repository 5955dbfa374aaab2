"""Every way of stopping saves the run: signals to the headless command, ctrl+q and SIGTERM in the lab."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import pytest

from conftest import child_env, start_cli, tui_echo_command
from tui_echo.core.config import Config
from tui_echo.core.runs import RunStore


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s")
        time.sleep(0.1)


def training(runs: Path) -> bool:
    """A run in ``runs`` has flushed some epochs (history.f32 is flushed every second)."""
    return any(p.stat().st_size > 100 for p in runs.glob("*/history.f32"))


def assert_saved_stopped_with_model(runs: Path) -> None:
    [info] = RunStore(runs).list()
    assert info.status == "stopped" and 0 < info.epochs < 1_000_000
    assert (info.path / "model.keras").is_file() and (info.path / "result.json").is_file()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_a_headless_run_and_save_it(tmp_path: Path, signum: int) -> None:
    process = start_cli("run", "--epochs", "1000000", "--runs-dir", str(tmp_path), "--json")
    try:
        wait_until(lambda: training(tmp_path), "training")
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 128 + signum, err
    record = json.loads(out)
    assert record["status"] == "stopped"
    assert_saved_stopped_with_model(tmp_path)
    assert len(RunStore(tmp_path).load(record["id"])["history"]) == len(record["history"])


def test_ctrl_c_while_tensorflow_loads_is_one_line(tmp_path: Path) -> None:
    process = start_cli("run", "--epochs", "5", "--runs-dir", str(tmp_path))
    time.sleep(1.5)  # importing TensorFlow takes seconds
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err


async def test_ctrl_q_on_a_million_epoch_lab_run_waits_for_the_save(tmp_path: Path) -> None:
    from test_app import wait_for
    from tui_echo.app import EchoApp

    app = EchoApp(config=Config(topology="many-to-one", epochs=1_000_000))
    app.run_store = RunStore(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, 90, "TensorFlow")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(app.lab.history) > 1000, 90, "training")
        await pilot.press("ctrl+q")
    assert_saved_stopped_with_model(tmp_path)


def _tmux(socket: Path, *args: str) -> str:
    return subprocess.run(["tmux", "-S", str(socket), *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_to_the_lab_saves_the_run_and_restores_the_terminal(tmp_path: Path, signum: int) -> None:
    socket, runs, status = tmp_path / "tmux", tmp_path / "runs", tmp_path / "status"
    lab = " ".join([*tui_echo_command(), "--topology", "many-to-one", "--epochs", "1000000", "--runs-dir", str(runs)])
    env = [f"-e{k}={v}" for k, v in child_env().items() if k in ("PATH", "PYTHONPATH", "HOME")]
    # The pane outlives the lab, so its terminal modes can be read after the lab has exited.
    _tmux(socket, "new-session", "-d", "-x", "100", "-y", "30", *env, f"{lab}; echo $? > {status}; sleep 600")
    try:
        wait_until(lambda: "many-to-one" in _tmux(socket, "capture-pane", "-p"), "lab", 60)
        _tmux(socket, "send-keys", "C-r")  # before TensorFlow is ready, the run waits for it
        wait_until(lambda: training(runs), "training", 90)
        [meta] = [json.loads(p.read_text()) for p in runs.glob("*/run.json")]
        os.kill(meta["pid"], signum)
        wait_until(status.exists, "exit", 60)
        modes = _tmux(socket, "display-message", "-p", "#{alternate_on} #{cursor_flag} #{mouse_any_flag}").split()
    finally:
        subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True)
    assert modes == ["0", "1", "0"]  # main screen, cursor shown, mouse reporting off
    assert_saved_stopped_with_model(runs)
