"""A real SSH session: the lab through OpenSSH's sshd and ``ssh -tt``, inside tmux, driven by keys."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
import ssh_session  # noqa: E402

missing = ssh_session.available()


@pytest.mark.skipif(missing is not None, reason=f"needs {missing} (.ci/run installs them)")
def test_training_over_ssh_shows_the_finished_predictions() -> None:
    screen = ssh_session.lab_session(timeout=120)
    assert "finished · final loss" in screen
    # the predictions pane: five rows of step, input, target, prediction, error
    rows = re.findall(r"│ +([0-4]) +(0\.[0-9]00) +(0\.[0-9]00) +(-?\d\.\d{3}) +(\d\.\d{3})│", screen)
    assert [(step, x, target) for step, x, target, *_ in rows] == [
        (str(i), f"0.{2 * i}00", f"0.{2 * i}00") for i in range(5)
    ], screen
