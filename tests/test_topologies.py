"""The tutorial's topologies, built with real Keras: parameters, shapes, summary, and training."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.summary import render, shape_text, summarize
from tui_echo.core.topologies import TOPOLOGIES

# name: [(layer type, output shape, params)], total
TUTORIAL = {
    "one-to-one": ([("LSTM", (None, 5), 140), ("Dense", (None, 1), 6)], 146),
    "many-to-one": ([("LSTM", (None, 5), 140), ("Dense", (None, 5), 30)], 170),
    "many-to-many": ([("LSTM", (None, 5, 5), 140), ("TimeDistributed(Dense)", (None, 5, 1), 6)], 146),
    "many-to-many-dense": ([("LSTM", (None, 5, 5), 140), ("Dense", (None, 5, 1), 6)], 146),
}
RAMP = [0.0, 0.2, 0.4, 0.6, 0.8]


def lstm_params(inputs: int, units: int) -> int:
    return 4 * ((inputs + 1) * units + units**2)


def text_of(renderable) -> str:
    """What rich prints for ``renderable``, as plain text (no colour codes)."""
    buffer = io.StringIO()
    Console(file=buffer, width=160, color_system=None, force_terminal=False).print(renderable)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def models():
    """The four tutorial models, built once (weights from seed 0)."""
    return {name: engine.build_model(Config(topology=name)) for name in TOPOLOGIES}


@pytest.mark.parametrize("name", TUTORIAL)
def test_tutorial_layers_shapes_and_params(models, name):
    model = models[name]
    layers, total = TUTORIAL[name]
    summary = summarize(model)
    assert [(r.type, r.output_shape, r.params) for r in summary.layers] == layers
    assert summary.total == summary.trainable == total
    # The numbers are Keras' own, not a second opinion.
    assert summary.total == model.count_params()
    assert [r.params for r in summary.layers] == [layer.count_params() for layer in model.layers]
    assert [r.name for r in summary.layers] == [layer.name for layer in model.layers]
    assert summary.model == name
    lstm = model.layers[0]
    assert type(lstm).__name__ == "LSTM" and lstm.count_params() == 140 == lstm_params(1, 5)


@pytest.mark.parametrize("name", TUTORIAL)
def test_model_output_matches_the_targets_shape(models, name):
    problem = Config(topology=name).problem
    model = models[name]
    assert tuple(model.input_shape) == (None, *problem.X.shape[1:])
    output = model(problem.X, training=False).numpy()
    assert output.shape == problem.y.shape
    assert problem.as_sequences(output).shape == (1, 5)


def test_many_to_many_wraps_dense_in_time_distributed_and_the_2019_variant_does_not(models):
    import keras

    td = models["many-to-many"].layers[-1]
    assert isinstance(td, keras.layers.TimeDistributed)
    assert isinstance(td.layer, keras.layers.Dense) and td.layer.units == 1
    assert models["many-to-many"].layers[0].return_sequences
    plain = models["many-to-many-dense"].layers[-1]
    assert type(plain) is keras.layers.Dense and plain.units == 1
    assert models["many-to-many-dense"].layers[0].return_sequences
    assert not models["one-to-one"].layers[0].return_sequences
    assert not models["many-to-one"].layers[0].return_sequences


@pytest.mark.parametrize("length, units", [(1, 1), (3, 7), (12, 2), (20, 16), (5, 64)])
@pytest.mark.parametrize("name", TUTORIAL)
def test_lstm_formula_for_other_sizes(name, length, units):
    model = engine.build_model(Config(topology=name, length=length, units=units))
    summary = summarize(model)
    lstm, head = summary.layers
    assert lstm.params == model.layers[0].count_params() == lstm_params(1, units)
    assert lstm.formula == f"4 × ((1 + 1) × {units} + {units}²) = {lstm_params(1, units)}"
    dense_units = length if name == "many-to-one" else 1
    assert head.params == (units + 1) * dense_units
    assert head.formula == f"({units} + 1) × {dense_units} = {head.params}"
    assert summary.total == model.count_params() == lstm.params + head.params
    sequence = (length,) if TOPOLOGIES[name].returns_sequences else ()
    assert lstm.output_shape == (None, *sequence, units)


def test_summary_rows_carry_the_formula(models):
    summary = summarize(models["many-to-one"])
    assert [r.formula for r in summary.layers] == [
        "4 × ((1 + 1) × 5 + 5²) = 140",
        "(5 + 1) × 5 = 30",
    ]
    data = summary.to_dict()
    assert data["total"] == 170
    assert data["layers"][0]["formula"] == "4 × ((1 + 1) × 5 + 5²) = 140"


@pytest.mark.parametrize("name", TUTORIAL)
def test_rendered_table_reads_like_keras_summary_with_formulas(models, name):
    summary = summarize(models[name])
    text = text_of(render(summary))
    assert "\x1b" not in text
    assert f"Model: {name}" in text
    for header in ("Layer (type)", "Output Shape", "Param #"):
        assert header in text
    for row in summary.layers:
        assert f"{row.name} ({row.type})" in text
        assert shape_text(row.output_shape) in text
        assert row.formula in text
    assert "4 × ((1 + 1) × 5 + 5²) = 140" in text
    assert f"Total params: {TUTORIAL[name][1]:,}" in text
    assert "4 × ((1 + 1)" not in text_of(render(summary, formulas=False))


def test_shape_text_is_keras_notation():
    assert shape_text((None, 5)) == "(None, 5)"
    assert shape_text((None, 5, 1)) == "(None, 5, 1)"
    assert shape_text((None,)) == "(None,)"


def test_same_seed_same_initial_weights_different_seed_different():
    a = engine.build_model(Config(topology="many-to-one", seed=4)).get_weights()
    b = engine.build_model(Config(topology="many-to-one", seed=4)).get_weights()
    c = engine.build_model(Config(topology="many-to-one", seed=5)).get_weights()
    for left, right in zip(a, b):
        np.testing.assert_array_equal(left, right)
    assert any(not np.array_equal(left, right) for left, right in zip(a, c))


@pytest.mark.parametrize("name", TUTORIAL)
def test_default_training_reproduces_the_tutorial(name):
    """The tutorial's epochs and batch (fast engine): predictions within 0.1, final loss <= 0.005."""
    record = run_experiment(Config(topology=name))
    assert record["status"] == "finished"
    assert record["engine"] == "fast"
    assert len(record["history"]) == TOPOLOGIES[name].default_epochs
    assert all(np.isfinite(record["history"]))
    assert record["final_loss"] == record["history"][-1] <= 0.005
    assert record["history"][-1] < record["history"][0]
    np.testing.assert_allclose(record["targets"], RAMP, atol=1e-7)
    assert len(record["predictions"]) == 5
    errors = np.abs(np.array(record["predictions"]) - np.array(RAMP))
    assert errors.max() <= 0.1, f"{name}: predictions {record['predictions']}"
    assert record["params"] == TUTORIAL[name][1]
