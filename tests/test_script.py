"""The exported script: its data made with the task's own numpy code (not literals), its header, and
the Keras choices, validation and early stopping it trains with."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import child_env
from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.core.script import DATA_BEGINS, DATA_ENDS, experiment_script
from tui_echo.core.tasks import TASKS

DRAWN = [name for name, task in TASKS.items() if not task.data]  # the csv task reads a file: test_csv_data.py


def data_part(script: str) -> dict:
    """Run the script's data section (between its markers) alone; its variables."""
    start = script.index(DATA_BEGINS)
    namespace = {"np": np}
    exec(script[start : script.index(DATA_ENDS, start)], namespace)  # noqa: S102 - our own generated code
    return namespace


@pytest.mark.parametrize("task", DRAWN)
def test_each_tasks_code_makes_what_the_lab_trains_on(task: str) -> None:
    for length, sequences, seed, delay in ((5, 3, 0, 2), (7, 40, 123, 6)):
        namespace = {"np": np, "length": length, "sequences": sequences, "seed": seed, "delay": delay}
        exec(TASKS[task].code, namespace)  # noqa: S102
        inputs, targets = TASKS[task].make(length, sequences, seed, delay)
        np.testing.assert_array_equal(namespace["inputs"], inputs)
        np.testing.assert_array_equal(namespace["targets"], targets)
        assert namespace["inputs"].dtype == inputs.dtype and namespace["targets"].dtype == targets.dtype


@pytest.mark.parametrize("config", [
    Config(task="delay", topology="many-to-many", sequences=50, length=6, delay=3, seed=9),
    Config(task="noisy-echo", topology="one-to-one", sequences=20, seed=4),
    Config(task="echo", topology="many-to-one"),
], ids=lambda c: c.task)
def test_the_scripts_data_equals_the_configs_problem(config: Config) -> None:
    namespace = data_part(experiment_script(config))
    problem = config.resolved().problem
    np.testing.assert_array_equal(namespace["X"], problem.X)
    np.testing.assert_array_equal(namespace["y"], problem.y)


def test_a_huge_random_task_is_a_small_script_made_without_drawing_the_data() -> None:
    config = Config(task="random-echo", sequences=100_000, length=1000, units=4, epochs=1)
    began = time.perf_counter()
    script = experiment_script(config)
    assert len(script.encode()) < 4000 and time.perf_counter() - began < 10
    assert "X = inputs.reshape(100000, 1000, 1)" in script and "np.array(" not in script


# Held-out sequences, early stopping, and every non-default choice of optimizer and loss.
CHOSEN = Config(task="random-echo", sequences=12, length=4, units=3, epochs=200, validation=0.25, patience=3,
                lr=0.05, shuffle=False, optimizer="sgd", momentum=0.5, loss="huber")


def test_the_scripts_validation_data_is_the_labs() -> None:
    namespace = data_part(experiment_script(CHOSEN))
    problem = CHOSEN.resolved().problem
    for name in ("X", "y", "X_val", "y_val"):
        np.testing.assert_array_equal(namespace[name], getattr(problem, name))


def test_the_header_records_the_task_and_every_setting() -> None:
    header = experiment_script(CHOSEN).split('"""', 2)[1]
    config = CHOSEN.resolved()
    for name, value in config.to_dict().items():
        assert f"{name}={value}" in header
    assert "--optimizer sgd" in header and "--patience 3" in header and "--validation 0.25" in header


def test_the_script_trains_as_the_lab_does_and_prints_its_losses_quietly(tmp_path: Path) -> None:
    script = tmp_path / "experiment.py"
    script.write_text(experiment_script(CHOSEN))
    done = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path, env=child_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""  # TensorFlow's native logging is quiet
    printed = dict(re.findall(r"^(final loss|final val loss): (.*)$", done.stdout, re.M))
    epochs, best = re.search(r"^epochs: (\d+) best epoch \(weights kept\): (\d+)$", done.stdout, re.M).groups()
    config = replace(CHOSEN, engine="fit").resolved()
    lab = engine.train(config, model=engine.build_model(config))
    assert int(epochs) == len(lab.history) < config.epochs and int(best) == lab.best_epoch
    assert float(printed["final loss"]) == pytest.approx(lab.history[-1], rel=1e-5)
    assert float(printed["final val loss"]) == pytest.approx(lab.val_history[-1], rel=1e-5)
