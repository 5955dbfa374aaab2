"""Optimizers, losses, validation and early stopping: the fast engine against ``fit``.

The same policy as ``tests/test_engine.py``: both engines start from ``build_model(config)`` and
every epoch's loss must agree within ``TOLERANCE`` (Adam and SGD agree bit for bit on full
batches; RMSprop and AdamW within ~1e-8, where ``fit``'s Grappler rewrites its arithmetic).
Mini-batch cases turn shuffling off, so both engines see the same batches. Tiny models and few
epochs keep each test to a few seconds.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tui_echo.core import engine, keras_choices
from tui_echo.core.config import Config
from tui_echo.core.events import Epochs, Finished

TOLERANCE = 1e-5  # as tests/test_engine.py
SMALL = Config(topology="many-to-many", length=3, epochs=40)
# 16 sequences, half held out: 8 training samples in batches of 3 (the last short), 8 validation
# samples in batches of 3 (two full, one short), as fit batches them.
SPLIT = Config(task="random-echo", sequences=16, length=4, units=3, epochs=15, validation=0.5, batch_size=3,
               shuffle=False, lr=0.01)


@pytest.fixture(autouse=True)
def graph_only(monkeypatch: pytest.MonkeyPatch):
    """The TF graph only, unless a test asks for XLA."""
    monkeypatch.setattr(engine, "XLA", "never")
    yield
    engine.wait_for_xla()


def train(config: Config) -> tuple[Finished, list, list[np.ndarray]]:
    """Train on a fresh model; the result, the events, and the model's weights at the end."""
    config = config.resolved()
    events: list = []
    model = engine.build_model(config)
    final = engine.train(config, events.append, model=model)
    assert isinstance(final, Finished), final
    return final, events, model.get_weights()


def both(config: Config) -> tuple[tuple, tuple]:
    """``train`` on the fast engine and on fit."""
    return train(replace(config, engine="fast")), train(replace(config, engine="fit"))


def assert_close(fast: tuple[float, ...], fit: tuple[float, ...]) -> None:
    assert len(fast) == len(fit) and len(fit) > 0
    assert np.all(np.isfinite(fast))
    worst = np.max(np.abs(np.array(fast) - np.array(fit)))
    assert worst <= TOLERANCE, f"worst epoch differs by {worst:.3g}"


@pytest.mark.parametrize("optimizer, momentum, lr", [
    ("adam", 0.0, 0.01), ("sgd", 0.0, 0.1), ("sgd", 0.9, 0.1), ("rmsprop", 0.0, 0.001), ("rmsprop", 0.5, 0.001),
    ("adamw", 0.0, 0.01),
])
def test_each_optimizer_matches_fit(optimizer: str, momentum: float, lr: float) -> None:
    config = replace(SMALL, optimizer=optimizer, momentum=momentum, lr=lr)
    (fast, _, _), (fit, _, _) = both(config)
    assert_close(fast.history, fit.history)
    assert fast.history[-1] < fast.history[0]  # it learned: the optimizer really ran


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_each_loss_matches_fit_with_a_short_last_batch(loss: str) -> None:
    """5 samples in batches of 2: the short last batch goes through the per-sample loss."""
    config = Config(topology="one-to-one", batch_size=2, shuffle=False, epochs=25, loss=loss, lr=0.01)
    (fast, _, _), (fit, _, _) = both(config)
    assert_close(fast.history, fit.history)


def test_losses_differ_so_the_choice_is_used() -> None:
    histories = {loss: train(replace(SMALL, loss=loss, epochs=3))[0].history for loss in ("mse", "mae", "huber")}
    assert len({h[0] for h in histories.values()}) == 3


@pytest.mark.parametrize("config", [
    SPLIT,
    replace(SPLIT, topology="many-to-one", batch_size=None),  # full batches: one step and one val batch
], ids=["batches", "full-batch"])
def test_validation_loss_equals_fits(config: Config) -> None:
    (fast, events, _), (fit, _, _) = both(config)
    assert_close(fast.history, fit.history)
    assert_close(fast.val_history, fit.val_history)
    assert len(fast.val_history) == config.epochs
    epochs = [e for e in events if isinstance(e, Epochs)]
    assert all(len(e.val_losses) == len(e.losses) for e in epochs)
    assert sum((e.val_losses for e in epochs), ()) == fast.val_history
    assert fast.val_history != fast.history  # held-out data: another number


def test_no_validation_no_validation_losses() -> None:
    final, events, _ = train(replace(SMALL, epochs=5))
    assert final.val_history == () and final.best_epoch is None
    assert all(e.val_losses == () for e in events if isinstance(e, Epochs))


@pytest.mark.parametrize("config", [
    replace(SPLIT, epochs=200, patience=3, lr=0.05, batch_size=4),  # monitors val_loss
    Config(topology="many-to-many", length=3, epochs=200, patience=2, optimizer="sgd", momentum=0.9, lr=0.3),  # loss
], ids=["val_loss", "loss"])
def test_early_stopping_stops_and_restores_as_fit_does(config: Config) -> None:
    (fast, _, fast_weights), (fit, _, fit_weights) = both(config)
    assert len(fast.history) == len(fit.history) < config.epochs  # it stopped early, at the same epoch
    assert fast.best_epoch == fit.best_epoch
    assert len(fast.history) == fast.best_epoch + config.patience  # patience epochs without a better one
    assert_close(fast.history, fit.history)
    monitored = fast.val_history if config.validation else fast.history
    assert monitored[fast.best_epoch - 1] == min(monitored)
    for a, b in zip(fast_weights, fit_weights):
        np.testing.assert_allclose(a, b, atol=TOLERANCE)
    np.testing.assert_allclose(fast.predictions, fit.predictions, atol=TOLERANCE)


def test_early_stopping_restores_the_best_weights_even_when_it_never_stops() -> None:
    """Keras restores the best epoch's weights at the end of every run with restore_best_weights."""
    config = replace(SMALL, epochs=6, patience=5, optimizer="sgd", momentum=0.9, lr=0.5)  # the loss jumps about
    (fast, _, fast_weights), (fit, _, fit_weights) = both(config)
    assert len(fast.history) == len(fit.history) == 6
    assert fast.best_epoch == fit.best_epoch == int(np.argmin(fast.history)) + 1 < 6
    for a, b in zip(fast_weights, fit_weights):
        np.testing.assert_allclose(a, b, atol=TOLERANCE)


def test_early_stopping_on_xla_matches_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "XLA", "always")
    config = replace(SPLIT, epochs=200, patience=3, lr=0.05, batch_size=4, seed=1)
    (fast, _, _), (fit, _, _) = both(config)
    assert engine.compiled_loop(config)[0].last_mode == "xla"
    assert len(fast.history) == len(fit.history) < config.epochs and fast.best_epoch == fit.best_epoch
    assert_close(fast.val_history, fit.val_history)


def test_reruns_are_exact_and_patience_is_an_input() -> None:
    config = replace(SPLIT, epochs=200, patience=3, lr=0.05, batch_size=4).resolved()
    engine.clear_programs()
    first = train(config)[0]
    loop = engine.compiled_loop(config)[0]
    again = train(config)[0]
    assert again.history == first.history and again.val_history == first.val_history
    assert again.predictions == first.predictions and again.best_epoch == first.best_epoch
    patient = train(replace(config, patience=50, lr=0.02))[0]
    assert loop.traces == 1  # a new patience and learning rate: the same program
    assert len(patient.history) > len(first.history)


def test_graph_key_follows_what_changes_the_program() -> None:
    base = Config(task="random-echo", sequences=10)
    key = engine.graph_key(base)
    for change in ({"optimizer": "sgd"}, {"loss": "mae"}, {"validation": 0.2}, {"patience": 5}):
        assert engine.graph_key(replace(base, **change)) != key, change
    assert engine.graph_key(replace(base, momentum=0.9)) == key  # Adam has no momentum
    sgd = replace(base, optimizer="sgd")
    assert engine.graph_key(replace(sgd, momentum=0.9)) != engine.graph_key(sgd)
    assert engine.graph_key(replace(base, patience=5)) == engine.graph_key(replace(base, patience=9))


def test_keras_tensorflow_optimizer_overrides_are_the_ones_checked() -> None:
    """Tripwire: ``keras_choices.stateless_optimizer`` puts back Keras' backend-neutral code for
    what its TensorFlow mixin overrides. If an upgrade changes that list, re-check
    ``tui_echo/core/keras_choices.py`` (NEUTRAL_METHODS) against
    ``keras/src/backend/tensorflow/optimizer.py``."""
    from keras.src.backend.tensorflow.optimizer import TFOptimizer

    overrides = {name for name in vars(TFOptimizer) if not name.startswith("__")}
    assert overrides == set(keras_choices.NEUTRAL_METHODS) | set(keras_choices.UNUSED_TF_METHODS)


def test_the_saved_run_keeps_validation_losses_and_the_best_epoch(tmp_path) -> None:
    import keras

    from tui_echo.core.experiment import run_experiment
    from tui_echo.core.runs import RunStore

    config = replace(SPLIT, epochs=200, patience=3, lr=0.05, batch_size=4)
    store = RunStore(tmp_path)
    record = run_experiment(config, store=store)
    saved = store.load(record["id"])
    assert len(saved["val_history"]) == len(saved["history"]) == len(record["history"]) < 200
    np.testing.assert_allclose(saved["val_history"], record["val_history"], rtol=1e-7)  # stored as float32
    assert saved["best_epoch"] == record["best_epoch"] == int(np.argmin(record["val_history"])) + 1
    # The saved model is the best epoch's, as the record's predictions are.
    model = keras.models.load_model(tmp_path / record["id"] / "model.keras")
    rows = config.resolved().topology_entry.x_shape(1, config.length)[0]
    first = model.predict(config.resolved().problem.X[:rows], verbose=0).ravel()
    np.testing.assert_allclose(first, record["predictions"][: first.size], atol=1e-6)


def test_the_estimate_counts_validation() -> None:
    from tui_echo.core import estimate

    base = Config(task="random-echo", sequences=100, batch_size=10, epochs=50)
    split = replace(base, validation=0.5)
    train_half = replace(base, sequences=50)  # the same training set, nothing held out
    assert estimate.estimate(split).steps == estimate.estimate(train_half).steps
    extra = estimate.estimate(split).estimated_seconds - estimate.estimate(train_half).estimated_seconds
    assert extra == pytest.approx(50 * 5 * estimate.estimate(split).step_seconds / 3)  # 5 batches an epoch
    assert estimate.estimate(split).data_bytes == estimate.estimate(base).data_bytes
