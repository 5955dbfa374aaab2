"""Shared helpers: how to start the real ``tui-echo`` command in a child process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# As runtime.load() does, for the tests that import Keras before anything has loaded TensorFlow
# through it: its oneDNN kernels would make reruns differ in the last bits (1 process in 20).
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# Environment variables that would make rich draw colours into a pipe, or that would set
# TensorFlow up for the program instead of the program doing it itself.
_NOT_INHERITED = (
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "TF_CPP_MIN_LOG_LEVEL",
    "TF_CPP_MAX_VLOG_LEVEL",
    "TF_ENABLE_ONEDNN_OPTS",
    "COLUMNS",
    "LINES",
)


def tui_echo_command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m tui_echo``."""
    script = Path(sys.executable).with_name("tui-echo")
    if script.exists():
        return [str(script)]
    found = shutil.which("tui-echo")
    return [found] if found else [sys.executable, "-m", "tui_echo"]


def child_env() -> dict[str, str]:
    """The test's environment, less what would hide colour codes or TensorFlow's log lines."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_cli(*args: str) -> subprocess.Popen:
    """Start ``tui-echo ARGS`` with stdout and stderr piped (so stdout is not a terminal)."""
    return subprocess.Popen(
        [*tui_echo_command(), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )


def run_cli(*args: str, timeout: float = 180, as_module: bool = False) -> subprocess.CompletedProcess:
    """Run ``tui-echo ARGS`` (or ``python -m tui_echo ARGS``) to completion, output captured as text."""
    command = [sys.executable, "-m", "tui_echo"] if as_module else tui_echo_command()
    return subprocess.run(
        [*command, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=timeout,
    )


@pytest.fixture(scope="session", autouse=True)
def _runs_outside_home(tmp_path_factory):
    """Runs that tests save (in-process or in child processes) go to a temporary folder."""
    previous = os.environ.get("TUI_ECHO_RUNS_DIR")
    os.environ["TUI_ECHO_RUNS_DIR"] = str(tmp_path_factory.mktemp("runs"))
    yield
    if previous is None:
        os.environ.pop("TUI_ECHO_RUNS_DIR", None)
    else:
        os.environ["TUI_ECHO_RUNS_DIR"] = previous


@pytest.fixture(scope="session")
def cli_start():
    """``cli_start(*args)`` starts the real command; see ``start_cli``."""
    return start_cli


@pytest.fixture(scope="session")
def cli_run():
    """``cli_run(*args)`` runs the real command to completion; see ``run_cli``."""
    return run_cli
