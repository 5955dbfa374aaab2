"""Beyond the tutorial: every task, cell and depth builds and trains; the counts are Keras'."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tui_echo.core import engine
from tui_echo.core.cells import CELLS
from tui_echo.core.compare import compare, configs_for, row
from tui_echo.core.config import Config, ConfigError
from tui_echo.core.explain import shapes, timedistributed_equivalence
from tui_echo.core.script import experiment_script
from tui_echo.core.summary import summarize
from tui_echo.core.tasks import TASKS

DRAWN = [name for name, task in TASKS.items() if not task.data]  # the csv task reads a file: test_csv_data.py
from tui_echo.core.topologies import TOPOLOGIES

from conftest import child_env  # noqa: E402  (tests/ is on sys.path)


@pytest.mark.parametrize("task", DRAWN)
def test_every_task_topology_and_cell_builds_and_trains(task: str) -> None:
    # One sequence, full batch: every task then has echo's shapes and reuses its compiled loops.
    for topology, cell in itertools.product(TOPOLOGIES, CELLS):
        config = Config(task=task, topology=topology, cell=cell, sequences=1, epochs=3)
        final = engine.train(replace(config, batch_size=config.problem.samples))
        assert len(final.history) == 3, (task, topology, cell, final)
        assert all(np.isfinite(final.history))


def test_task_data_is_what_its_name_says() -> None:
    def data(task: str, **options):
        problem = Config(task=task, length=6, sequences=3, **options).problem
        return problem.inputs, problem.targets

    inputs, targets = data("delay", delay=2)
    np.testing.assert_array_equal(targets[:, 2:], inputs[:, :4])
    assert not targets[:, :2].any()
    inputs, targets = data("reverse")
    np.testing.assert_array_equal(targets, inputs[:, ::-1])
    inputs, targets = data("cumsum")
    np.testing.assert_allclose(targets, np.cumsum(inputs, axis=1), rtol=1e-6)
    assert targets.max() < 1
    inputs, targets = data("noisy-echo")
    assert 0 < np.abs(inputs - targets).mean() < 0.1
    a, _ = data("delay")
    b, _ = data("delay", seed=1)
    assert not np.array_equal(a, b)


def test_delay_must_leave_a_step_to_echo() -> None:
    with pytest.raises(ConfigError, match="delay must be a whole number from 1 to 4"):
        Config.from_fields({"task": "delay", "delay": "5"})


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_param_counts_match_keras_for_every_cell_and_depth(cell: str, bidirectional: bool) -> None:
    for layers, units in ((1, 5), (2, 3), (4, 7)):
        config = Config(topology="many-to-many", cell=cell, layers=layers, units=units, bidirectional=bidirectional)
        summary = summarize(engine.build_model(config))
        width = 2 if bidirectional else 1
        inputs = 1
        for row_ in summary.layers[:layers]:
            expected = width * CELLS[cell].params(inputs, units)
            assert row_.params == expected
            assert row_.formula.endswith(f"= {expected}")
            assert eval(row_.formula.split("=")[0].replace("×", "*").replace("²", "**2").replace("[", "(").replace("]", ")")) == expected
            inputs = width * units
        assert summary.total == engine.build_model(config).count_params()


def test_delayed_echo_needs_memory_and_the_comparison_shows_it() -> None:
    records = compare(configs_for(Config(task="delay", delay=2), ["many-to-many", "one-to-one"]))
    learned, blind = (row(r) for r in records)
    assert learned["max_error"] < 0.1
    assert blind["max_error"] > 0.3
    assert blind["final_loss"] > 50 * learned["final_loss"]


def test_timedistributed_dense_equals_dense_on_3d_input() -> None:
    check = timedistributed_equivalence(Config(task="random-echo", sequences=7, units=4))
    assert check.same and check.outputs == 5  # checked on the first sequence: 5 timesteps


@pytest.mark.parametrize("task", DRAWN)
def test_first_sequence_is_drawn_alone_and_equals_the_data_sets_first_row(task) -> None:
    config = Config(task=task, length=7, sequences=50, seed=11, delay=3)
    inputs, targets = config.first_sequence
    np.testing.assert_array_equal(inputs, config.problem.inputs[0])
    np.testing.assert_array_equal(targets, config.problem.targets[0])


def test_shapes_and_samples_are_arithmetic_and_match_the_drawn_data() -> None:
    for name in TOPOLOGIES:
        for task in DRAWN:
            config = Config(topology=name, task=task, length=6, sequences=9)
            assert "problem" not in vars(config)
            x_shape, y_shape = config.shapes
            assert config.samples == x_shape[0]
            assert "problem" not in vars(config)  # nothing was drawn to answer
            assert (config.problem.X.shape, config.problem.y.shape) == (x_shape, y_shape)


def test_resolving_the_largest_problem_draws_nothing() -> None:
    config = Config(task="random-echo", sequences=100_000, length=1000)
    resolved = config.resolved()
    assert resolved.samples == 100_000 and resolved.units == 64  # units follow the length only for echo
    assert resolved.resolved() is resolved  # so the data set, once drawn, stays with it
    assert Config.from_fields({"task": "random-echo", "sequences": "100000", "length": "1000", "batch_size": "64"})
    assert "problem" not in vars(config) and "problem" not in vars(resolved)


def test_explainer_shapes_use_the_real_numbers() -> None:
    steps = shapes(Config(task="delay", cell="gru", layers=2, bidirectional=True))
    assert [s.shape for s in steps] == [(200, 5, 1), (200, 5, 10), (200, 5, 10), (200, 5, 1)]
    assert steps[1].formula == "2 × [3 × ((1 + 2) × 5 + 5²)] = 240"


def test_exported_script_runs_without_tui_echo_and_matches_the_app(tmp_path: Path) -> None:
    config = Config(topology="many-to-one", epochs=40)
    script = tmp_path / "experiment.py"
    script.write_text(experiment_script(config))
    # -I: isolated mode, so the script cannot import tui_echo from the working directory.
    # child_env: without this process's TF_CPP_MIN_LOG_LEVEL, so the script must quieten TensorFlow itself.
    done = subprocess.run([sys.executable, "-I", str(script)], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path, env=child_env())
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""  # TensorFlow's native start-up lines are silenced
    assert "tui_echo" not in script.read_text().split('"""', 2)[2]
    printed = re.search(r"^predictions: (.*)$", done.stdout, re.M).group(1)
    from_script = np.array([float(v) for v in printed.split()])
    app = engine.train(config)
    np.testing.assert_allclose(from_script, np.array(app.predictions), atol=1e-4)
    final = float(re.search(r"^final loss: (.*)$", done.stdout, re.M).group(1))
    assert final == pytest.approx(app.history[-1], rel=1e-3)
