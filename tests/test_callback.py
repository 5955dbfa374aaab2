"""``TuiEchoCallback``: a real ``model.fit`` recorded into the run store, then listed, shown and diffed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tui_echo.__main__ import main
from tui_echo.core import runtime
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.runs import RunStore


def test_import_tui_echo_stays_cheap() -> None:
    code = "import sys, tui_echo; print(sorted(m for m in ('keras', 'tensorflow', 'textual') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """The tutorial's many-to-many model trained by plain model.fit with the callback."""
    # Set TensorFlow up as the lab does before this test touches it: its thread settings can only
    # be made before first use, and later tests in this process train through runtime.load().
    runtime.load()
    import keras

    from tui_echo import TuiEchoCallback

    root = tmp_path_factory.mktemp("runs")
    rng = np.random.default_rng(0)
    x = rng.random((20, 5, 1), dtype=np.float32)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5, 1)), keras.layers.LSTM(5, return_sequences=True), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.005), loss="mse")
    callback = TuiEchoCallback(name="my-experiment", sample=(x[:4], x[:4]), batch_size=4, runs_dir=root)
    history = model.fit(x[:16], x[:16], validation_data=(x[16:], x[16:]), epochs=6, batch_size=4, verbose=0,
                        callbacks=[callback])
    return RunStore(root), callback.run_id, history.history, model, x


def test_the_fit_lists_and_loads_with_its_losses_settings_and_predictions(fitted) -> None:
    store, run_id, history, model, x = fitted
    [info] = store.list()
    assert (info.id, info.topology, info.status, info.epochs) == (run_id, "my-experiment", "finished", 6)
    record = store.load(run_id)
    np.testing.assert_allclose(record["history"], history["loss"], rtol=1e-6)
    np.testing.assert_allclose(record["val_history"], history["val_loss"], rtol=1e-6)
    assert record["source"] == "callback" and record["name"] == "my-experiment"
    assert record["config"] == {"epochs": 6, "lr": pytest.approx(0.005), "engine": "fit", "batch_size": 4,
                                "cell": "lstm", "layers": 1, "units": 5, "bidirectional": False, "length": 5}
    assert record["keras"]["optimizer"] == "rmsprop" and record["keras"]["layers"] == "LSTM(5) > Dense(1)"
    assert record["keras"]["steps_per_epoch"] == 4 and record["params"] == 146
    np.testing.assert_allclose(record["predictions"], model.predict(x[:4], verbose=0).ravel(), atol=1e-6)
    assert record["targets"] == pytest.approx(x[:4].ravel().tolist()) and record["sample_sequences"] == 4
    assert record["inputs"] == pytest.approx(x[0].ravel().tolist())
    assert (store.root / run_id / "model.keras").exists()


def test_the_fit_exports_to_tensorboard(fitted, tmp_path, capsys) -> None:
    pytest.importorskip("tensorboard")
    store, run_id, *_ = fitted
    assert main(["runs", "export", run_id, "--tensorboard", str(tmp_path), "--runs-dir", str(store.root)]) == 0
    assert list((tmp_path / run_id).glob("events.out.tfevents.*"))


def test_the_fit_shows_and_diffs_against_a_lab_run(fitted, capsys) -> None:
    store, run_id, *_ = fitted
    lab = run_experiment(Config(topology="many-to-many", epochs=6, batch_size=1), store=store)
    assert main(["runs", "show", run_id, "--runs-dir", str(store.root)]) == 0
    shown = capsys.readouterr().out
    assert "my-experiment" in shown and "Predictions (first sequence)" in shown
    assert main(["diff", run_id, lab["id"], "--json", "--runs-dir", str(store.root)]) == 0
    result = json.loads(capsys.readouterr().out)
    differing = {s["setting"]: (s["a"], s["b"]) for s in result["settings"]}
    assert differing["source"] == ("callback", "lab") and differing["batch_size"] == (4, 1)
    assert differing["keras.optimizer"] == ("rmsprop", None) and differing["topology"] == (None, "many-to-many")
    assert result["runs"]["a"]["params"] == result["runs"]["b"]["params"] == 146
    assert "final_val_loss" in result["runs"]["a"] and "final_val_loss" not in result["runs"]["b"]
    assert len(result["predictions"]) == 5  # the first sequence of each
