"""Inside the cell: recomputed gates and states against Keras' own layers, the gradient reach
against finite differences, and ``tui-echo inspect``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tui_echo.__main__ import main
from tui_echo.core import engine
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.inspect import CHARACTER_RAMP, inspect, ramp_index
from tui_echo.core.runs import RunStore


@pytest.mark.parametrize(
    "settings, names",
    [
        (dict(cell="lstm"), ["lstm"]),
        (dict(cell="gru"), ["gru"]),
        (dict(cell="simple-rnn"), ["simple_rnn"]),
        (dict(cell="lstm", layers=2), ["lstm_1", "lstm_2"]),
        (dict(cell="gru", bidirectional=True), ["bidirectional_gru/forward", "bidirectional_gru/backward"]),
        (dict(cell="lstm", layers=2, bidirectional=True, topology="many-to-one", length=6),
         ["bidirectional_lstm_1/forward", "bidirectional_lstm_1/backward",
          "bidirectional_lstm_2/forward", "bidirectional_lstm_2/backward"]),
        (dict(cell="lstm", topology="one-to-one"), ["lstm"]),
    ],
    ids=["lstm", "gru", "simple-rnn", "stacked", "bidirectional", "stacked-bidirectional-many-to-one", "one-to-one"],
)
def test_recomputed_states_match_keras(settings, names):
    config = Config(**settings).resolved()
    model = engine.build_model(config)
    found = inspect(model, config)
    assert [layer.name for layer in found.layers] == names
    expected_gates = {"lstm": ["input", "forget", "candidate", "output"], "gru": ["update", "reset", "candidate"],
                      "simple-rnn": []}[config.cell]
    for layer in found.layers:
        assert list(layer.gates) == expected_gates
        assert layer.h.shape == (config.length, config.units)
        assert (layer.c is not None) == (config.cell == "lstm")
        assert all(v.shape == layer.h.shape for v in layer.gates.values())
        assert 0.0 < np.abs(layer.h).max()  # something was computed
    assert found.max_abs_diff < 1e-5
    assert found.output_max_abs_diff < 1e-5  # the step-by-step gradient pass is the model
    assert found.gradient_reach.shape == (config.length,)
    np.testing.assert_allclose(found.predictions, np.asarray(model(found_x(config))).ravel(), atol=1e-6)


def found_x(config: Config) -> np.ndarray:
    inputs, targets = config.first_sequence
    return config.topology_entry.problem(inputs.reshape(1, -1), targets.reshape(1, -1)).X


def test_states_equal_the_models_own_layer_output():
    """Not only a clone: the model's first layer, read through a sub-model, gives the same h."""
    import keras

    config = Config(cell="lstm", layers=2).resolved()
    model = engine.build_model(config)
    first = keras.Model(model.inputs[0], model.layers[0].output)
    found = inspect(model, config)
    np.testing.assert_allclose(found.layers[0].h, np.asarray(first(found_x(config)))[0], atol=1e-5)


def test_gradient_reach_equals_finite_differences():
    """∂loss/∂h_t of a SimpleRNN → Dense model, against central differences of a numpy forward
    pass with h_t nudged (the nudged state is read by the next step, as in the model)."""
    config = Config(task="delay", cell="simple-rnn", topology="many-to-one", length=6, epochs=20).resolved()
    model = engine.build_model(config)
    engine.train(config, model=model)
    found = inspect(model, config)
    W, U, b, Wd, bd = (np.asarray(w, dtype=np.float64) for w in model.get_weights())
    x, y = found.inputs, found.targets

    def loss(step: int, unit: int, nudge: float) -> float:
        h = np.zeros(U.shape[0])
        for t in range(len(x)):
            h = np.tanh(x[t] * W[0] + h @ U + b)
            if t == step:
                h[unit] += nudge
        return float(np.mean((h @ Wd + bd - y) ** 2))

    eps = 1e-4
    numeric = np.array([[(loss(t, u, eps) - loss(t, u, -eps)) / (2 * eps) for u in range(U.shape[0])]
                        for t in range(len(x))])
    np.testing.assert_allclose(found.layers[0].gradient, numeric, rtol=2e-3, atol=1e-6)
    np.testing.assert_allclose(found.gradient_reach, np.linalg.norm(numeric, axis=1), rtol=2e-3)


def test_ramp_spans_the_characters():
    assert ramp_index(np.array([-5.0, 0.0, 0.5, 1.0, 9.0]), 0.0, 1.0, len(CHARACTER_RAMP)).tolist() == [0, 0, 4, 9, 9]


def test_inspect_command_json(tmp_path: Path, capsys):
    record = run_experiment(Config(task="delay", cell="gru", length=6, epochs=20), store=RunStore(tmp_path))
    assert main(["inspect", record["id"], "--json", "--runs-dir", str(tmp_path), "--sequence", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epoch"] == 20 and out["sequence"] == 3
    [layer] = out["layers"]
    assert (layer["name"], layer["cell"], list(layer["gates"])) == ("gru", "gru", ["update", "reset", "candidate"])
    assert np.shape(layer["h"]) == np.shape(layer["gates"]["reset"]) == (6, 6) and "c" not in layer
    assert len(out["gradient_reach"]) == 6 and all(v >= 0 for v in out["gradient_reach"])
    assert out["check"]["max_abs_diff"] < 1e-5
    assert out["inputs"] == pytest.approx(Config(task="delay", length=6).problem.inputs[3].tolist())

    assert main(["inspect", record["id"], "--runs-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "matches Keras: max |diff|" in text and "gradient reach" in text

    for argv, words in [
        (["nope"], "'nope' is not a run ID"),
        (["20250131-235959-0a1b"], "no run '20250131-235959-0a1b'"),
        ([record["id"], "--epoch", "21"], "has 20 epochs"),
        ([record["id"], "--sequence", "200"], "--sequence must be 0-199"),
        ([record["id"], "--epoch", "-1"], "--epoch must be a whole number"),
    ]:
        assert main(["inspect", *argv, "--runs-dir", str(tmp_path)]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.count("\n") == 1 and words in err
