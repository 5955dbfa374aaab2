"""Training loops: a compiled many-epochs-per-call loop (``fast``) and Keras' ``fit`` (the reference).

Both take a ``Config``, send events to ``on_event`` and poll ``should_stop`` between chunks, so
another thread can cancel. Both report each epoch's loss the way ``fit`` does: the mean over the
epoch's batches of the loss computed before each update, weighted by batch size.

Why a compiled loop: with one tiny step per epoch, ``fit`` spends ~30 ms per epoch on Python
machinery. The fast engine runs a ``tf.while_loop`` over training steps inside one
``tf.function`` call, sized so each call takes about ``CHUNK_SECONDS``, and reads back the
per-epoch losses and current predictions after each call.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from . import runtime
from .config import Config
from .events import (
    Cancelled,
    Compiled,
    Compiling,
    Epochs,
    Failed,
    Finished,
    Listener,
    Predictions,
    Started,
)

CHUNK_SECONDS = 0.05  # events and cancellation about this often
MAX_CHUNK_STEPS = 8192  # the compiled loop's fixed loss buffer; chunks never run more steps
PREDICT_EVERY_S = 0.25
UNROLL_MAX_LENGTH = 16  # shorter sequences compile faster unrolled (measured: see benchmarks/engine.py)


class Stop(Exception):
    """Raised inside a loop when ``should_stop`` says so."""


def build_model(config: Config) -> Any:
    """A fresh Keras model for ``config`` whose initial weights depend only on the seed."""
    _, keras = runtime.load()
    config = config.resolved()
    keras.utils.set_random_seed(config.seed)
    return config.build_model()


def train(
    config: Config,
    on_event: Listener = lambda event: None,
    should_stop: Callable[[], bool] = lambda: False,
    *,
    model: Any = None,
) -> Finished | Cancelled | Failed:
    """Train ``config`` with its engine; every event also goes to ``on_event``; returns the last one.

    ``model``, if given, is trained in place (it must be ``build_model(config)``-shaped);
    otherwise a fresh one is built from the seed. Exceptions become a ``Failed`` event.
    """
    config = config.resolved()
    history: list[float] = []

    def emit(event: Any) -> None:
        if isinstance(event, Epochs):
            history.extend(event.losses)
        on_event(event)

    try:
        loop = ENGINES[config.engine]
        model = model if model is not None else build_model(config)
        emit(Started(config.to_dict(), config.epochs, runtime.device_name(), config.engine))
        final = loop(config, model, emit, should_stop)
    except Stop:
        final = Cancelled(len(history), tuple(history))
    except Exception as error:  # a person reads this; the UI must survive it
        final = Failed(f"{type(error).__name__}: {_one_line(error)}", tuple(history))
    on_event(final)
    return final


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _finished(config: Config, model: Any, history: list[float], wall: float, compile_s: float) -> Finished:
    problem = config.problem
    predictions = problem.as_sequences(model(problem.X, training=False).numpy())
    steady = max(wall - compile_s, 1e-9)
    return Finished(
        history=tuple(history),
        predictions=tuple(float(v) for v in predictions.ravel()),
        targets=tuple(float(v) for v in problem.targets.ravel()),
        inputs=tuple(float(v) for v in problem.inputs.ravel()),
        wall_s=wall,
        compile_s=compile_s,
        epochs_per_s=len(history) / steady,
    )


# --------------------------------------------------------------------------- fit (reference)


def fit_loop(config: Config, model: Any, emit: Listener, should_stop: Callable[[], bool]) -> Finished:
    """Plain ``model.fit`` with a callback: the reference the fast engine is checked against."""
    _, keras = runtime.load()
    problem = config.problem
    start = time.perf_counter()
    history: list[float] = []
    marks = {"compile": 0.0, "predicted": start}

    class Relay(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            if epoch == 0:
                marks["compile"] = now - start
                emit(Compiled(marks["compile"]))
            loss = float((logs or {})["loss"])
            history.append(loss)
            emit(Epochs(epoch + 1, (loss,), now - start))
            if now - marks["predicted"] >= PREDICT_EVERY_S:
                marks["predicted"] = now
                values = problem.as_sequences(model(problem.X, training=False).numpy())
                emit(Predictions(epoch + 1, tuple(float(v) for v in values.ravel())))
            if should_stop():
                self.model.stop_training = True

    emit(Compiling("fit"))
    model.compile(optimizer=keras.optimizers.Adam(config.lr), loss="mse")
    model.fit(
        problem.X,
        problem.y,
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=config.shuffle,
        verbose=0,
        callbacks=[Relay()],
    )
    if len(history) < config.epochs:
        raise Stop
    return _finished(config, model, history, time.perf_counter() - start, marks["compile"])


# --------------------------------------------------------------------------- fast (compiled)


def _mix32(x: Any, tf: Any) -> Any:
    """A 32-bit integer hash (lowbias32), in int64 so it runs the same under XLA and plain kernels."""
    mask = 0xFFFFFFFF
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = (x * 0x7FEB352D) & mask
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 15))
    x = (x * 0x846CA68B) & mask
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def _permutation(seed: Any, epoch: Any, n: int, tf: Any) -> Any:
    """A shuffle of range(n) that depends only on (seed, epoch): stable under XLA and across runs."""
    key = _mix32((seed * 0x9E3779B1 + epoch) & 0xFFFFFFFF, tf)
    return tf.argsort(_mix32(key ^ tf.range(n, dtype=tf.int64), tf), stable=True)


class CompiledLoop:
    """A model, its optimizer and a compiled chunk function for one graph shape.

    Reused across runs whose graph is the same (see ``graph_key``): a new run copies its initial
    weights in, resets the optimizer and sets the learning rate, none of which retraces.
    """

    def __init__(self, config: Config, xla: bool) -> None:
        tf, keras = runtime.load()
        self.tf = tf
        unroll = config.length <= UNROLL_MAX_LENGTH
        self.model = config.build_model(unroll=unroll)
        self.model.compile(optimizer=keras.optimizers.Adam(config.lr), loss="mse")
        self.model.optimizer.build(self.model.trainable_variables)
        samples, batch = config.problem.samples, config.batch_size
        self.steps_per_epoch = math.ceil(samples / batch)
        self.traces = 0
        # Where the run is (global step, partial epoch sums) lives in variables, not arguments:
        # XLA treated a changing scalar argument as a constant and recompiled on every call.
        self._step = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._sums = tf.Variable([0.0, 0.0], dtype=tf.float32, trainable=False)
        self._function = tf.function(self._chunk, jit_compile=xla, reduce_retracing=True, autograph=False)
        self._samples, self._batch, self._shuffle = samples, batch, config.shuffle
        self._show = config.problem.samples // config.problem.inputs.shape[0]

    def reset(self, weights: list[np.ndarray], lr: float) -> None:
        """Start a new run: these initial weights, a fresh Adam at this learning rate."""
        self.model.set_weights(weights)
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
        optimizer.learning_rate.assign(lr)
        self._step.assign(0)
        self._sums.assign([0.0, 0.0])

    @property
    def step(self) -> int:
        """Training steps taken in this run."""
        return int(self._step.numpy())

    def run(self, X: Any, y: Any, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Run ``steps`` more training steps; return (losses of the epochs that ended, predictions)."""
        tf = self.tf
        args = (X, y, tf.constant(steps, tf.int64), tf.constant(seed, tf.int64))
        if self.traces == 0:
            # Grappler's graph rewrites cost ~0.35 s on the first call and made these small
            # loops slower, not faster (measured); skip them for our function only.
            tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
            try:
                losses, ended, predictions = self._function(*args)
            finally:
                tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False})
        else:
            losses, ended, predictions = self._function(*args)
        return losses.numpy()[: int(ended)], predictions.numpy()

    def _chunk(self, X, y, steps, seed):  # noqa: ANN001 - traced by TF
        """Traced once per graph shape: a while loop over training steps, losses kept per epoch."""
        tf = self.tf
        self.traces += 1
        model, optimizer = self.model, self.model.optimizer
        n, batch, per_epoch = self._samples, self._batch, self.steps_per_epoch
        last = n - (per_epoch - 1) * batch  # Keras keeps a short last batch

        def order(epoch):
            if self._shuffle and per_epoch > 1:
                return _permutation(seed, epoch, n, tf)
            return tf.range(n, dtype=tf.int32)  # one batch: order cannot change the gradient

        def train_on(indices):
            xb, yb = tf.gather(X, indices), tf.gather(y, indices)
            with tf.GradientTape() as tape:
                predicted = model(xb, training=True)
                loss = model.compute_loss(x=xb, y=yb, y_pred=predicted, training=True)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        def body(i, perm, total, count, losses, ended):
            step = step0 + i
            epoch, b = step // per_epoch, step % per_epoch
            perm = tf.cond(tf.equal(b, 0), lambda: order(epoch), lambda: perm)
            start = tf.cast(b * batch, tf.int32)

            def take(size: int):
                # gather, not tf.slice: XLA compiles a dynamic slice start as a constant and
                # recompiled on every call.
                return tf.gather(perm, start + tf.range(size))

            if last == batch:
                loss, size = train_on(take(batch)), float(batch)
            else:
                is_last = tf.equal(b, per_epoch - 1)
                loss = tf.cond(
                    is_last,
                    lambda: train_on(take(last)),
                    lambda: train_on(take(batch)),
                )
                size = tf.where(is_last, float(last), float(batch))
            total, count = total + loss * size, count + size
            epoch_done = tf.equal(b, per_epoch - 1)
            mean = tf.math.divide_no_nan(total, count)
            losses = tf.cond(
                epoch_done,
                lambda: tf.tensor_scatter_nd_update(losses, [[ended]], [mean]),
                lambda: losses,
            )
            ended = ended + tf.cast(epoch_done, tf.int32)
            total = tf.where(epoch_done, 0.0, total)
            count = tf.where(epoch_done, 0.0, count)
            return i + 1, perm, total, count, losses, ended

        step0 = self._step.read_value()
        perm0 = order(step0 // per_epoch)
        total, count = self._sums[0], self._sums[1]
        loop_vars = (tf.constant(0, tf.int64), perm0, total, count, tf.zeros([MAX_CHUNK_STEPS]), tf.constant(0))
        _, _, total, count, losses, ended = tf.while_loop(
            lambda i, *_: i < steps, body, loop_vars, maximum_iterations=MAX_CHUNK_STEPS
        )
        self._step.assign_add(steps)
        self._sums.assign(tf.stack([total, count]))
        predictions = model(X[: self._show], training=False)
        return losses, ended, predictions


def graph_key(config: Config, xla: bool) -> tuple:
    """What changes the compiled graph. Learning rate and seed do not: they are values, not shapes."""
    problem = config.problem
    return (
        config.topology,
        problem.X.shape,
        problem.y.shape,
        config.units,
        config.cell,
        config.layers,
        config.bidirectional,
        config.batch_size,
        config.shuffle,
        xla,
    )


_loops: dict[tuple, CompiledLoop] = {}


def compiled_loop(config: Config, xla: bool) -> tuple[CompiledLoop, bool]:
    """The cached loop for this graph shape, and whether it was already there."""
    key = graph_key(config, xla)
    cached = key in _loops
    if not cached:
        _loops[key] = CompiledLoop(config, xla)
    return _loops[key], cached


def fast_loop(config: Config, model: Any, emit: Listener, should_stop: Callable[[], bool]) -> Finished:
    """Chunks of compiled steps, each about ``CHUNK_SECONDS`` long, with events between them."""
    tf, _ = runtime.load()
    start = time.perf_counter()
    problem = config.problem
    loop, cached = compiled_loop(config, xla=False)
    loop.reset(model.get_weights(), config.lr)
    X, y = tf.constant(problem.X), tf.constant(problem.y)
    total_steps = config.epochs * loop.steps_per_epoch
    history: list[float] = []
    step, steps, compile_s, predicted_at = 0, 1, 0.0, 0.0
    emit(Compiling("cached" if cached else "xla"))
    while step < total_steps:
        steps = min(steps, total_steps - step, MAX_CHUNK_STEPS)
        began = time.perf_counter()
        losses, predictions = loop.run(X, y, steps, config.seed)
        took = time.perf_counter() - began
        step += steps
        if step == steps:  # the first call traced and compiled (unless cached)
            compile_s = 0.0 if cached else took
            emit(Compiled(compile_s))
        elif took > 0:
            steps = max(1, min(MAX_CHUNK_STEPS, int(steps * CHUNK_SECONDS / took)))
        if len(losses):
            emit(Epochs(len(history) + 1, tuple(float(v) for v in losses), time.perf_counter() - start))
            history.extend(float(v) for v in losses)
        now = time.perf_counter()
        if now - predicted_at >= PREDICT_EVERY_S or step >= total_steps:
            predicted_at = now
            shown = predictions.reshape(-1)[: problem.inputs.shape[1]]
            emit(Predictions(len(history), tuple(float(v) for v in shown)))
        if step < total_steps and should_stop():
            model.set_weights(loop.model.get_weights())
            raise Stop
    model.set_weights(loop.model.get_weights())
    return _finished(config, model, history, time.perf_counter() - start, compile_s)


ENGINES: dict[str, Callable[[Config, Any, Listener, Callable[[], bool]], Finished]] = {
    "fast": fast_loop,
    "fit": fit_loop,
}
