"""The exported script makes its data with the task's own numpy code, not literals."""

from __future__ import annotations

import time

import numpy as np
import pytest

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
