"""Training loops: a compiled many-steps-per-call loop (``fast``) and Keras' ``fit`` (the reference).

Both take a ``Config``, send events to ``on_event`` and poll ``should_stop`` between chunks, so
another thread can cancel. Both report each epoch's loss the way ``fit`` does: the mean over the
epoch's batches of the loss computed before each update, weighted by batch size; with validation
data, the validation loss on the epoch's final weights; with ``patience``, they stop and restore
the best weights as Keras' ``EarlyStopping(restore_best_weights=True)`` does.

Why a compiled loop: with one tiny step per epoch, ``fit`` spends ~30 ms per epoch on Python
machinery. The fast engine runs a ``tf.while_loop`` over training steps inside one compiled
call, sized so each call takes about ``CHUNK_SECONDS`` (a call may end inside an epoch), and
reads back the per-epoch losses and current predictions after each call. The program is traced
once per graph shape (``graph_key``) and runs either as a TF graph, ready in a fraction of a
second, or by XLA, 15-40x faster on small models but seconds to compile. Which one is a function
of the config alone (``uses_xla``), never of what a process happens to have compiled, so the same
config and seed give the same history to the bit in any run and any process (see "graph or XLA").
``benchmarks/engine.py`` measures all of this.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import math
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterator

import numpy as np

from . import estimate, keras_choices, runtime
from .config import Config
from .snapshots import MAX_SNAPSHOTS, Snapshots, snapshot_count, snapshot_epochs
from .events import (
    SAMPLE_SEQUENCES,
    Cancelled,
    Compiled,
    Compiling,
    Epochs,
    Failed,
    Finished,
    Listener,
    Predictions,
    Started,
    Steps,
)

CHUNK_SECONDS = 0.05  # events and cancellation about this often
MAX_CHUNK_STEPS = 8192  # the compiled loop's fixed loss buffer; chunks never run more steps
PREDICT_EVERY_S = 0.25
# Recurrences over at most this many steps are unrolled in the fast engine's copy of the model.
# Measured at length 5: graph 4,700 vs 1,700 steps/s and tracing 0.45 vs 0.6 s; XLA 125,000 vs
# 45,000 steps/s for about the same compile time.
UNROLL_MAX_LENGTH = 16
# The compiled loop keeps the weights at snapshot epochs in a buffer of this many bytes at most
# (and at most MAX_SNAPSHOT_SLOTS rows); a chunk with more snapshot epochs due ends at the last
# that fits. 0 leaves the copying out of the program (benchmarks/snapshots.py compares the two).
SNAPSHOT_SLOT_BYTES = 4 * 2**20
MAX_SNAPSHOT_SLOTS = MAX_SNAPSHOTS


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
    snapshots: Snapshots | None = None,
    hold_at: Callable[[int], int | None] | None = None,
) -> Finished | Cancelled | Failed:
    """Train ``config`` with its engine; every event also goes to ``on_event``; returns the last one.

    ``model``, if given, is trained in place (it must be ``build_model(config)``-shaped);
    otherwise a fresh one is built from the seed. Exceptions become a ``Failed`` event.
    ``snapshots``, if given, receives the weights at ``snapshot_epochs`` as training passes them.
    ``hold_at(epochs done)``, if given, is asked before each chunk (each epoch for fit) for an
    epoch not to train past (None: none); at it, training waits in ``should_stop`` (a Step button:
    the caller pauses itself when its hold is reached, and gives a new one to step again).
    """
    config = config.resolved()
    history: list[float] = []
    val_history: list[float] = []

    def emit(event: Any) -> None:
        if isinstance(event, Epochs):
            history.extend(event.losses)
            val_history.extend(event.val_losses)
        on_event(event)

    try:
        loop = ENGINES[config.engine]
        model = model if model is not None else build_model(config)
        emit(Started(config.to_dict(), config.epochs, runtime.device_name(), config.engine))
        final = loop(config, model, emit, should_stop, snapshots, hold_at)
    except Stop:
        final = Cancelled(len(history), tuple(history), tuple(val_history))
    except Exception as error:  # a person reads this; the UI must survive it
        final = Failed(f"{type(error).__name__}: {_one_line(error)}", tuple(history))
    on_event(final)
    return final


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _finished(
    config: Config, model: Any, history: list[float], val_history: list[float], best_epoch: int | None, wall: float,
    compile_s: float, outputs: Any = None,
) -> Finished:
    """The Finished event, for the first ``SAMPLE_SEQUENCES`` sequences; ``outputs`` are the
    model's outputs for X when already at hand. (All of them as Python floats took ~12 GB at
    100,000 sequences of 1,000 steps.)"""
    problem = config.problem
    kept = min(SAMPLE_SEQUENCES, problem.inputs.shape[0])
    rows = config.topology_entry.x_shape(kept, config.length)[0]
    outputs = model(problem.X[:rows], training=False).numpy() if outputs is None else np.asarray(outputs)[:rows]
    predictions = np.asarray(outputs, dtype=np.float32).reshape(kept, config.length)
    steady = max(wall - compile_s, 1e-9)
    return Finished(
        history=tuple(history),
        predictions=tuple(predictions.ravel().tolist()),
        targets=tuple(problem.targets[:kept].ravel().tolist()),
        inputs=tuple(problem.inputs[:kept].ravel().tolist()),
        wall_s=wall,
        compile_s=compile_s,
        epochs_per_s=len(history) / steady,
        val_history=tuple(val_history),
        best_epoch=best_epoch,
    )


# --------------------------------------------------------------------------- fit (reference)


def fit_loop(
    config: Config, model: Any, emit: Listener, should_stop: Callable[[], bool], snapshots: Snapshots | None = None,
    hold_at: Callable[[int], int | None] | None = None,
) -> Finished:
    """Plain ``model.fit`` with a callback: the reference the fast engine is checked against."""
    _, keras = runtime.load()
    problem = config.problem
    keep = set(_snapshot_plan(config, model) if snapshots is not None else ())
    start = time.perf_counter()
    history: list[float] = []
    val_history: list[float] = []
    marks = {"compile": 0.0, "predicted": start, "stopped": False}

    class Relay(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            if epoch == 0:
                marks["compile"] = now - start
                emit(Compiled(marks["compile"]))
            logs = logs or {}
            loss = float(logs["loss"])
            history.append(loss)
            validation = (float(logs["val_loss"]),) if "val_loss" in logs else ()
            val_history.extend(validation)
            if epoch + 1 in keep:
                snapshots.add(epoch + 1, np.concatenate([w.ravel() for w in model.get_weights()]))
            emit(Epochs(epoch + 1, (loss,), now - start, validation))
            if now - marks["predicted"] >= PREDICT_EVERY_S:
                marks["predicted"] = now
                values = problem.as_sequences(model(problem.X, training=False).numpy())
                emit(Predictions(epoch + 1, tuple(float(v) for v in values.ravel())))
            if hold_at is not None:
                hold_at(epoch + 1)  # at a hold, should_stop waits: fit's epochs are its chunks
            if should_stop():
                marks["stopped"] = True
                self.model.stop_training = True

    emit(Compiling("fit"))
    model.compile(optimizer=keras_choices.optimizer(config), loss=keras_choices.loss(config))
    stopping = keras_choices.early_stopping(config)
    validation = (problem.X_val, problem.y_val) if problem.X_val is not None else None
    model.fit(
        problem.X,
        problem.y,
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=config.shuffle,
        validation_data=validation,
        verbose=0,
        callbacks=[Relay()] + ([stopping] if stopping is not None else []),
    )
    if marks["stopped"]:  # (early stopping has put the best weights back, as it does at any end)
        raise Stop
    best = stopping.best_epoch + 1 if stopping is not None else None
    return _finished(config, model, history, val_history, best, time.perf_counter() - start, marks["compile"])


# --------------------------------------------------------------------------- fast (compiled)
#
# Where a first fast run of a tutorial shape spends its time (2-core CPU): tracing the program
# ~0.15-0.3 s, instantiating the traced graph ~0.05-0.1 s, then 5,000-10,000 steps/s as a TF graph.
# A cached rerun on XLA: ~0.5 ms per call plus 8-15 us per step.

# "auto": XLA for the configs where it pays (see "graph or XLA"); "never": the TF graph only;
# "always": XLA for every program XLA can compile.
XLA = "auto"
XLA_MAX_OPS = 6000  # bigger traced programs are not given to XLA (compile time and memory grow with them)
FIRST_PROBE_STEPS = 1  # the first timed chunk of a program; later chunks are sized from measured rates


_grappler_lock = threading.Lock()
_grappler_users = 0


@contextlib.contextmanager
def _without_grappler(tf: Any) -> Iterator[None]:
    """Run our calls with Grappler off.

    Grappler's rewrites cost ~0.35 s on a program's first call and did not make these loops
    faster (measured). The setting is process-wide and part of how TF caches an instantiated
    function, so every call of ours runs under it (a call made with it on would instantiate the
    program again), and it is switched back on when no call of ours is running, for ``fit``.
    """
    global _grappler_users
    with _grappler_lock:
        _grappler_users += 1
        if _grappler_users == 1:
            tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        with _grappler_lock:
            _grappler_users -= 1
            if _grappler_users == 0:
                tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False})


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


def _count_ops(function: Any) -> int:
    """Nodes in a traced function and every function it calls: a proxy for XLA compile cost."""
    graph_def = function.graph.as_graph_def()
    return len(graph_def.node) + sum(len(f.node_def) for f in graph_def.library.function)


class CompiledLoop:
    """One traced training program for a graph shape (see ``graph_key``), run as a TF graph or by XLA.

    The program is a pure function of tensors::

        (state, inputs, steps, predict?, snapshot rows)
            -> (state, losses, validation losses, epochs ended, predictions, snapshots)

    where the state is the flat weights, the optimizer's variables but its learning rate, the
    global step, the running epoch's loss sums and (with early stopping) the best loss, epochs
    waited, best epoch, best weights and whether to stop; the inputs are the learning rate, seed,
    X and y, the validation X and y (with validation) and the patience (with early stopping).
    It runs ``steps`` training steps in a ``tf.while_loop`` (fewer when early stopping ends it) and
    returns the loss (and validation loss) of every epoch that ended in them. Nothing lives in TF
    variables, so:

    - one trace serves both executables: the XLA one wraps the traced graph (no second trace);
    - another thread can compile and time XLA on its own tensors while the run that waits for
      it still answers cancellation, and nothing it touches is in use by another thread's call;
    - learning rate, seed and patience are arguments: a rerun with new ones never retraces.

    The model math is the Keras model's own (``stateless_call``), the loss is the Keras loss and
    the update is the Keras optimizer's own code (``stateless_apply``), so histories match ``fit``:
    bit for bit with full batches on the graph, within ~1e-7 with a padded short last batch or on
    XLA (tests).
    """

    def __init__(self, config: Config) -> None:
        tf, keras = runtime.load()
        self.tf = tf
        problem = config.problem
        # Unrolled recurrences trace, instantiate and run faster for short sequences (measured).
        self.model = config.build_model(unroll=config.length <= UNROLL_MAX_LENGTH)
        self.samples, self.batch = problem.samples, config.batch_size
        self.steps_per_epoch = math.ceil(self.samples / self.batch)
        self.shuffle = config.shuffle and self.steps_per_epoch > 1
        self.show = problem.samples // problem.inputs.shape[0]  # rows of X that make the first sequence
        self.validation = problem.X_val is not None
        self.early_stopping = config.patience is not None
        self.traces = 0
        self.xla_compiles = 0
        self._loss = keras_choices.loss(config)
        self._per_row = keras_choices.loss(config, per_sample=True)
        # The state keeps every weight in one flat vector (and the optimizer's slots likewise): the
        # update is then a handful of ops instead of a handful per weight tensor, which traces,
        # instantiates and runs faster. Every optimizer here updates element by element (AdamW's
        # decay too, which Keras applies to every weight), so the arithmetic is the same.
        self._shapes = [tuple(v.shape) for v in self.model.trainable_variables]
        self._sizes = [int(np.prod(shape)) for shape in self._shapes]
        size = sum(self._sizes)
        self._optimizer = keras_choices.stateless_optimizer(config)
        self._flat = keras.Variable(np.zeros(size, np.float32), name="flat_weights")
        self._optimizer.build([self._flat])
        variables = self._optimizer.variables
        # The learning rate is one of the optimizer's variables; it is an input, not state.
        self._lr_index = next(i for i, v in enumerate(variables) if v is self._optimizer._learning_rate)
        self._slots = [v for i, v in enumerate(variables) if i != self._lr_index]
        # Rows of the snapshot buffer a call fills (its bytes bounded, so big models stay cheap).
        self.slots = SNAPSHOT_SLOT_BYTES and max(1, min(MAX_SNAPSHOT_SLOTS, SNAPSHOT_SLOT_BYTES // (4 * size)))
        flat = tf.TensorSpec([size], tf.float32)
        state = [flat, *(tf.TensorSpec(v.shape, v.dtype) for v in self._slots)]
        state += [tf.TensorSpec([], tf.int64), tf.TensorSpec([2], tf.float32)]  # step; epoch's loss total, count
        if self.early_stopping:  # best loss, epochs waited, best epoch (0-based), best weights, stop?
            state += [tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.int64), flat,
                      tf.TensorSpec([], tf.bool)]
        inputs = [tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int64)]  # learning rate, seed
        inputs += [tf.TensorSpec(problem.X.shape, tf.float32), tf.TensorSpec(problem.y.shape, tf.float32)]
        if self.validation:
            inputs += [tf.TensorSpec(problem.X_val.shape, tf.float32), tf.TensorSpec(problem.y_val.shape, tf.float32)]
        if self.early_stopping:
            inputs.append(tf.TensorSpec([], tf.int32))  # patience
        self._state_size, self._input_size = len(state), len(inputs)
        self._specs = [
            *state,
            *inputs,
            tf.TensorSpec([], tf.int64),  # steps to run
            tf.TensorSpec([], tf.bool),  # whether to compute predictions after the steps
            tf.TensorSpec([MAX_CHUNK_STEPS], tf.int32),  # each step's snapshot row (``slots``: none)
        ]
        function = tf.function(self._chunk, autograph=False)
        self.graph = function.get_concrete_function(*self._specs)
        self.ops = _count_ops(self.graph)
        self.graph_instantiated = False
        self.xla: Any = None
        self.xla_state = "none"  # none, compiling, ready, failed
        self.xla_seconds: float | None = None
        self.xla_error: str | None = None
        self._xla_args: tuple | None = None
        self.rate: dict[str, float | None] = {"graph": None, "xla": None}  # steps/s, for chunk sizes
        self.last_mode: str | None = None  # the executable the latest run used: "graph" or "xla"
        self.last_calls = 0  # calls (chunks) the latest run made
        self._lock = threading.Lock()
        self._compiled = threading.Event()

    # -- running

    def start(self, weights: list[np.ndarray]) -> list[Any]:
        """The state tensors a run starts from: these weights, a fresh optimizer, step 0."""
        tf = self.tf
        flat = tf.constant(np.concatenate([np.asarray(w, np.float32).ravel() for w in weights]))
        state = [flat, *(tf.zeros(v.shape, v.dtype) for v in self._slots), tf.constant(0, tf.int64)]
        state.append(tf.zeros([2], tf.float32))
        if self.early_stopping:  # (the first epoch is always the best so far: these are not read)
            state += [tf.constant(0.0), tf.constant(0), tf.constant(0, tf.int64), flat, tf.constant(False)]
        return state

    def inputs(self, config: Config) -> list[Any]:
        """The tensors a run of ``config`` feeds every call: its settings and its data."""
        tf, problem = self.tf, config.problem
        inputs = [tf.constant(config.lr, tf.float32), tf.constant(config.seed, tf.int64)]
        inputs += [tf.constant(problem.X), tf.constant(problem.y)]
        if self.validation:
            inputs += [tf.constant(problem.X_val), tf.constant(problem.y_val)]
        if self.early_stopping:
            inputs.append(tf.constant(config.patience, tf.int32))
        return inputs

    def step(self, state: list[Any]) -> int:
        """Training steps a state has run."""
        return int(state[len(self._slots) + 1])

    def stopped(self, state: list[Any]) -> bool:
        """Whether early stopping ended the run in this state."""
        return self.early_stopping and bool(state[-1])

    def best(self, state: list[Any]) -> tuple[int, list[np.ndarray]]:
        """Early stopping's best epoch (1-based) and its weights, shaped as ``get_weights``."""
        return int(state[-3]) + 1, self.weights(state, state[-2])

    def weights(self, state: list[Any], flat: Any = None) -> list[np.ndarray]:
        """The weights in a state (or the flat vector ``flat``), shaped as the model's ``get_weights``."""
        flat = (state[0] if flat is None else flat).numpy()
        bounds = np.cumsum([0, *self._sizes])
        return [flat[a:b].reshape(shape) for a, b, shape in zip(bounds[:-1], bounds[1:], self._shapes)]

    def run(
        self, executable: Any, state: list[Any], inputs: list[Any], steps: int, predict: bool = True,
        keep_after: list[int] = (),
    ) -> tuple[list[Any], np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """``steps`` more steps (fewer when early stopping ends the run): (the new state, losses
        and validation losses of the epochs that ended (none without validation), predictions or
        None, the flat weights after each step of ``keep_after``: ascending indices into this
        call's steps, at most ``slots`` of them)."""
        tf = self.tf
        rows = np.full(MAX_CHUNK_STEPS, self.slots, np.int32)
        rows[list(keep_after)] = np.arange(len(keep_after), dtype=np.int32)
        with _without_grappler(tf):
            out = executable(*state, *inputs, tf.constant(steps, tf.int64), tf.constant(predict), tf.constant(rows))
        losses, val_losses, ended, predictions, kept = out[self._state_size :]
        ended = int(ended)
        kept = kept[: len(keep_after)].numpy() if len(keep_after) else np.zeros((0, 0), np.float32)
        val_losses = val_losses.numpy()[:ended] if self.validation else np.zeros(0, np.float32)
        shown = predictions.numpy() if predict else None
        return list(out[: self._state_size]), losses.numpy()[:ended], val_losses, shown, kept

    def _chunk(self, *flat: Any) -> list[Any]:  # traced once per graph shape
        tf = self.tf
        self.traces += 1
        model = self.model
        state, flat = list(flat[: self._state_size]), flat[self._state_size :]
        inputs, (steps, predict, rows) = list(flat[: self._input_size]), flat[self._input_size :]
        w, slots = state[0], state[1 : 1 + len(self._slots)]
        step0, sums = state[1 + len(self._slots)], state[2 + len(self._slots)]
        watch0 = state[3 + len(self._slots) :]  # early stopping's state (empty without)
        lr, seed, X, y = inputs[:4]
        X_val, y_val = inputs[4:6] if self.validation else (None, None)
        patience = inputs[-1] if self.early_stopping else None

        def unflatten(vector: Any) -> list:
            pieces = tf.split(vector, self._sizes)
            return [tf.reshape(piece, shape) for piece, shape in zip(pieces, self._shapes)]

        n, batch, per_epoch = self.samples, self.batch, self.steps_per_epoch
        last = n - (per_epoch - 1) * batch  # Keras keeps a short last batch
        frozen = [v.value for v in model.non_trainable_variables]

        def train_on(indices: Any, w: Any, slots: list, size: Any = None) -> tuple:
            """One optimizer step on the rows ``indices`` (all rows when None): (loss, w, slots).

            With ``size``, only the first ``size`` of the ``batch`` rows count (the short last
            batch, padded so that one traced step serves every batch: tracing and compiling a
            second copy of the step cost as much as the first)."""
            xb, yb = (X, y) if indices is None else (tf.gather(X, indices), tf.gather(y, indices))
            with tf.GradientTape() as tape:
                tape.watch(w)
                predicted, _ = model.stateless_call(unflatten(w), frozen, xb, training=True)
                if size is None:
                    loss = self._loss(yb, predicted)
                else:  # Keras' mean over the real rows' elements; padded rows weigh 0
                    per_row = self._per_row(yb, predicted)  # mean over the last axis, like Keras
                    weights = tf.cast(tf.range(batch) < size, per_row.dtype)
                    weights = tf.reshape(weights, [batch] + [1] * (len(per_row.shape) - 1))
                    elements = tf.cast(size * int(np.prod(per_row.shape[1:])), per_row.dtype)
                    loss = tf.reduce_sum(per_row * weights) / elements
            g = tape.gradient(loss, w)
            # Keras' own update on the flat weights: its variables' values in, the new values out.
            variables = [*slots]
            variables.insert(self._lr_index, lr)
            (w,), variables = self._optimizer.stateless_apply(variables, [g], [w])
            return loss, w, [v for i, v in enumerate(variables) if i != self._lr_index]

        def validation_loss(w: Any) -> Any:
            """The validation loss as ``fit`` reports it: Keras' loss on each batch of
            ``batch_size`` rows in order (the last one short), averaged by its Mean tracker."""
            weights = unflatten(w)
            rows_val = X_val.shape[0]
            size = min(batch, rows_val)
            full, rest = divmod(rows_val, size)

            def loss_on(xb: Any, yb: Any) -> Any:
                return self._loss(yb, model.stateless_call(weights, frozen, xb, training=False)[0])

            if full == 1:
                total = loss_on(X_val[:size], y_val[:size]) * size
            else:
                def body(j, total):  # noqa: ANN001 - traced
                    indices = tf.cast(j * size, tf.int32) + tf.range(size)  # gather: see ``take``
                    return j + 1, total + loss_on(tf.gather(X_val, indices), tf.gather(y_val, indices)) * size

                _, total = tf.while_loop(lambda j, _: j < full, body, (tf.constant(0), tf.constant(0.0)))
            if rest:
                total = total + loss_on(X_val[full * size :], y_val[full * size :]) * rest
            return tf.math.divide_no_nan(total, tf.constant(float(rows_val)))

        def watch(done: Any, epoch: Any, value: Any, w: Any, state: list) -> list:
            """keras.callbacks.EarlyStopping.on_epoch_end (min_delta 0, restore_best_weights) at an
            epoch's end: the first epoch, or a strictly lower value, is the new best and resets
            the wait; otherwise the wait grows, and at ``patience`` the run stops."""
            best, wait, best_epoch, best_w, _ = state
            better = tf.logical_and(done, tf.logical_or(tf.equal(epoch, 0), value < best))
            waited = tf.where(done, wait + 1, wait)
            return [
                tf.where(better, value, best),
                tf.where(better, 0, waited),
                tf.where(better, epoch, best_epoch),
                tf.where(better, w, best_w),
                tf.logical_and(tf.logical_not(better), tf.logical_and(done, waited >= patience)),
            ]

        def order(epoch: Any) -> Any:
            return _permutation(seed, epoch, n, tf)

        def keep(i: Any, w: Any, kept: Any) -> Any:
            """Put ``w`` in step ``i``'s item of the list ``kept``: the last item, scratch, unless
            the host asked for a snapshot after this step. Two ops a step, and on the graph no
            copy (a list item holds the tensor). Each op counts: a step of the tutorial's
            one-to-one run is ~60 us on the graph. Measured there against no buffer: this list
            3-4%, a scatter into a [slots + 1, n] tensor 7-11%, a ``tf.cond`` on "is this a
            snapshot epoch" (a function call per step) 20-40%."""
            if not self.slots:
                return kept
            return tf.raw_ops.TensorListSetItem(input_handle=kept, index=tf.gather(rows, i), item=w)

        def body(i, perm, total, count, losses, val_losses, ended, w, kept, slots, watched):  # noqa: ANN001
            step = step0 + i
            if per_epoch == 1:  # full batch: no indexing at all
                loss, w, slots = train_on(None, w, slots)
                size = float(n)
                total, count = loss * size, tf.constant(size)
                done = True
            else:
                epoch, b = step // per_epoch, step % per_epoch
                if self.shuffle:
                    perm = tf.cond(tf.equal(b, 0), lambda: order(epoch), lambda: perm)
                # gather, not tf.slice: XLA compiles a dynamic slice start as a constant and
                # recompiled on every call.
                start = tf.cast(b * batch, tf.int32)

                def take(size: int) -> Any:
                    return tf.gather(perm, start + tf.range(size))

                if last == batch:
                    loss, w, slots = train_on(take(batch), w, slots)
                    size = float(batch)
                else:
                    is_last = tf.equal(b, per_epoch - 1)
                    size = tf.where(is_last, last, batch)
                    # The short last batch is padded with rows from the start of the epoch's order.
                    indices = tf.gather(perm, (start + tf.range(batch)) % n)
                    loss, w, slots = train_on(indices, w, slots, size)
                    size = tf.cast(size, tf.float32)
                total, count = total + loss * size, count + size
                done = tf.equal(b, per_epoch - 1)
            # Keras' Mean loss tracker: weighted total over count, divide_no_nan (plain / was 1 ulp off).
            # The slot ``ended`` is written every step; only an ended epoch moves past it.
            epoch_loss = tf.math.divide_no_nan(total, count)
            losses = tf.tensor_scatter_nd_update(losses, [[ended]], [epoch_loss])
            monitored = epoch_loss
            if self.validation:  # after the epoch's last step, on its final weights, as fit does
                if done is True:
                    monitored = validation_loss(w)
                else:
                    monitored = tf.cond(done, lambda: validation_loss(w), lambda: tf.constant(0.0))
                val_losses = tf.tensor_scatter_nd_update(val_losses, [[ended]], [monitored])
            if self.early_stopping:
                watched = watch(tf.convert_to_tensor(done), step // per_epoch, monitored, w, watched)
            kept = keep(i, w, kept)
            if done is True:
                total, count, ended = tf.constant(0.0), tf.constant(0.0), ended + 1
            else:
                ended = ended + tf.cast(done, tf.int32)
                total = tf.where(done, 0.0, total)
                count = tf.where(done, 0.0, count)
            return i + 1, perm, total, count, losses, val_losses, ended, w, kept, slots, watched

        if self.shuffle:
            perm0 = order(step0 // per_epoch)
        else:
            perm0 = tf.range(n, dtype=tf.int32)
        buffer = tf.zeros([MAX_CHUNK_STEPS], tf.float32)
        loop_vars = (
            tf.constant(0, tf.int64),
            perm0,
            sums[0],
            sums[1],
            buffer,
            buffer if self.validation else tf.zeros([0], tf.float32),
            tf.constant(0, tf.int32),
            w,
            tf.raw_ops.TensorListReserve(
                element_shape=tf.constant([w.shape[0]], tf.int32), num_elements=self.slots + 1, element_dtype=tf.float32
            ),
            slots,
            watch0,
        )

        def going(i, *rest):  # noqa: ANN001 - traced
            if not self.early_stopping:
                return i < steps
            return tf.logical_and(i < steps, tf.logical_not(rest[-1][-1]))  # early stopping's "stop"

        ran, _, total, count, losses, val_losses, ended, w, kept, slots, watched = tf.while_loop(
            going, body, loop_vars, maximum_iterations=MAX_CHUNK_STEPS
        )

        def predictions() -> Any:
            return model.stateless_call(unflatten(w), frozen, X[: self.show], training=False)[0]

        # Only when asked: at length 500 a forward pass costs as much as ~10% of a chunk.
        shape = [self.show, *model.output_shape[1:]]
        shown = tf.cond(predict, predictions, lambda: tf.zeros(shape, tf.float32))
        kept = tf.raw_ops.TensorListStack(
            input_handle=kept, element_shape=tf.constant([w.shape[0]], tf.int32), element_dtype=tf.float32,
            num_elements=self.slots + 1,
        )
        state = [w, *slots, step0 + ran, tf.stack([total, count]), *watched]
        return [*state, losses, val_losses, ended, shown, kept]

    # -- XLA, compiled in another thread

    def want_xla(self, state: list[Any], inputs: list[Any]) -> None:
        """Start compiling the XLA executable in another thread, unless it was already asked for."""
        with self._lock:
            if self.xla_state != "none":
                return
            self.xla_state = "compiling"
            self._xla_args = (state, inputs)
        _start_compile(self)

    def wait_xla(self, timeout: float | None = None) -> bool:
        """Wait for a compile that was started; True when none is pending."""
        if self.xla_state != "compiling":
            return True
        return self._compiled.wait(timeout)

    def _compile_xla(self) -> None:
        tf = self.tf
        state, inputs = self._xla_args
        try:
            began = time.perf_counter()
            graph = self.graph
            executable = tf.function(lambda *a: graph(*a), jit_compile=True, autograph=False)
            executable = executable.get_concrete_function(*self._specs)  # traces one call op
            self.run(executable, state, inputs, 0, False)  # the first call compiles
            self.xla_compiles += 1
            self.xla_seconds = time.perf_counter() - began
            # Time a few calls (on this thread's own tensors) so the first XLA chunk is sized about
            # right; the best rate seen, as a busy machine only ever makes a call slower.
            steps, best, spent = 1, 0.0, 0.0
            while spent < CHUNK_SECONDS and steps <= MAX_CHUNK_STEPS:
                t0 = time.perf_counter()
                self.run(executable, state, inputs, steps, False)
                took = time.perf_counter() - t0
                spent += took
                best = max(best, steps / took)
                steps *= 4
            self.rate["xla"] = best
            self.xla = executable
            self.xla_state = "ready"
        except Exception as error:  # XLA cannot compile every op; the graph keeps going
            self.xla_error = f"{type(error).__name__}: {_one_line(error)}"
            self.xla_state = "failed"
        finally:
            self._xla_args = None
            self._compiled.set()


# --------------------------------------------------------------------------- graph or XLA
#
# Measured on 2 CPU cores: XLA compiles the tutorial programs in ~1.1-1.5 s (2.5-4.5 s when the
# machine is busy) and then runs them 15-40x faster than the graph; a tutorial run is over ~0.3 s
# after tracing, so XLA does not pay for it. For programs whose steps are not dominated by per-op
# overhead (length 50+, units 64+, batch 32) XLA was 1.4-3x faster but took 4-15 s and ~1 GB to
# compile. TimeDistributed at length 500 (13,000 ops, reportedly 18 s and 1.7 GB) is over
# XLA_MAX_OPS and stays on the graph.
#
# XLA rounds differently from the graph in the last float32 digits (many-to-one's final loss:
# 2.99e-15 on the graph, 6.33e-16 on XLA), so which one a run uses decides its history. It is
# chosen from the config alone: a run of XLA_LONG_RUN_STEPS or more (where the graph would take
# several compile times) compiles XLA first and runs on it; a shorter one runs on the graph, even
# when an XLA program for its shape is at hand. A run never changes executable part-way, and
# nothing compiles in the background while a graph run trains (one alongside a compile was seen
# to round differently, 1 run in 4 on a busy machine). So the same config and seed give the same
# history whether it is the first run in a process or the tenth, and in any other process.

XLA_LONG_RUN_STEPS = 20_000  # 2-4 s of tutorial graph steps, or ~2 XLA compiles (then 15-40x faster)
# Measured (benchmarks/large.py): XLA's compile grows with the recurrence, 3 s at length 20 to 8 s
# at length 100 and ~20 s at length 300 (units 256), with 0.3-0.6 GB more memory, for a per-step gain
# of ~3x on big models. A run goes on XLA only when its estimated compile is at most this share of
# its estimated time on the graph (1: the compile never costs more than the run it would speed up;
# lower shares moved 8,000-20,000-step tutorial runs, which XLA runs 15-40x faster, to the graph);
# both estimates are arithmetic on the config (core/estimate.py), so reruns stay exact.
XLA_COMPILE_SHARE = 1.0

_compile_lock = threading.Lock()  # one compile at a time


def uses_xla(config: Config, loop: CompiledLoop | None = None) -> bool:
    """Whether a run of ``config`` is meant to go on XLA: from its steps and its program's size only.

    (A program XLA fails to compile runs on the graph instead; that too depends on the program
    alone.) ``loop`` is the config's program when at hand; otherwise it is traced to count its ops.
    """
    if not xla_planned(config):
        return False
    loop = loop if loop is not None else compiled_loop(config)[0]
    return loop.ops <= XLA_MAX_OPS


def xla_planned(config: Config) -> bool:
    """``uses_xla`` before the program is traced: long enough a run, and one XLA's compile does not
    dwarf (pure arithmetic; ``--dry-run`` and the lab's estimate use it)."""
    if XLA != "auto":
        return XLA == "always"
    graph = estimate.estimate(config)
    if graph.steps < XLA_LONG_RUN_STEPS:
        return False
    extra = estimate.estimate(config, xla=True).compile_seconds - graph.compile_seconds
    return extra <= XLA_COMPILE_SHARE * graph.estimated_seconds


def cost(config: Config) -> estimate.Estimate:
    """What a run of ``config`` will cost, timed on the executable it will use (arithmetic only)."""
    config = config.resolved()
    return estimate.estimate(config, xla=config.engine == "fast" and xla_planned(config))


def _start_compile(loop: CompiledLoop) -> None:
    """Compile ``loop``'s XLA executable in a new non-daemon thread (Python waits for it at exit:
    exiting while LLVM compiles aborted the process)."""

    def work() -> None:
        with _compile_lock:
            loop._compile_xla()

    try:
        threading.Thread(target=work, name="tui-echo-xla", daemon=False).start()
    except RuntimeError:  # the interpreter is shutting down
        loop.xla_state = "none"
        loop._compiled.set()


# --------------------------------------------------------------------------- programs by shape


def graph_key(config: Config) -> tuple:
    """What changes the compiled program. Learning rate, seed, patience and data values do not:
    they are inputs."""
    if config.batch_size is None or config.units is None or config.sequences is None:
        config = config.resolved()  # (a resolved config keeps its problem: random data is not redrawn)
    problem = config.problem
    steps_per_epoch = math.ceil(problem.samples / config.batch_size)
    return (
        config.topology,
        problem.X.shape,
        problem.y.shape,
        config.units,
        config.cell,
        config.layers,
        config.bidirectional,
        config.batch_size,
        config.shuffle and steps_per_epoch > 1,  # one batch per epoch: order cannot matter
        SNAPSHOT_SLOT_BYTES,  # the snapshot buffer's rows
        config.optimizer,
        # Keras' SGD and RMSprop read momentum as a Python number (and branch on it being 0)
        config.momentum if config.optimizer in keras_choices.USES_MOMENTUM else None,
        config.loss,
        None if problem.X_val is None else (problem.X_val.shape, problem.y_val.shape),
        config.patience is not None,  # the patience itself is an input
    )


MAX_PROGRAMS = 16  # programs kept for reruns; the least recently used goes first
_loops: "OrderedDict[tuple, CompiledLoop]" = OrderedDict()
_loops_lock = threading.Lock()
_gc_frozen = False


def compiled_loop(config: Config) -> tuple[CompiledLoop, bool]:
    """The cached program for this graph shape (traced now if new), and whether it was cached."""
    global _gc_frozen
    key = graph_key(config)
    with _loops_lock:
        cached = key in _loops
        if not cached:
            if not _gc_frozen:
                # TensorFlow and Keras leave ~300k long-lived objects; a full collection over them
                # (~0.17 s) kept landing inside tracing. Frozen, they are never scanned again.
                gc.freeze()
                _gc_frozen = True
            _loops[key] = CompiledLoop(config)
            while len(_loops) > MAX_PROGRAMS:
                _loops.popitem(last=False)  # a run or compile still using it keeps it alive
        _loops.move_to_end(key)
        return _loops[key], cached


def warm(config: Config) -> CompiledLoop:
    """Get ``config``'s program ready ahead of a run: trace it here (if new) and, when the config
    runs on XLA, start compiling that now (a front end can call this while a person is still
    choosing settings). Returns the program."""
    runtime.load()
    config = config.resolved()
    loop, _ = compiled_loop(config)
    if uses_xla(config, loop):
        zeros = [np.zeros(shape, np.float32) for shape in loop._shapes]  # any values compile
        loop.want_xla(loop.start(zeros), loop.inputs(config))
    return loop


def clear_programs() -> None:
    """Forget every cached program (the next run of any shape traces again); waits for compiles."""
    wait_for_xla()
    with _loops_lock:
        _loops.clear()


def wait_for_xla(timeout: float | None = None) -> bool:
    """Wait until no XLA compile is running (benchmarks, tests); True if none is left."""
    deadline = None if timeout is None else time.perf_counter() + timeout
    for loop in list(_loops.values()):
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        if not loop.wait_xla(left):
            return False
    return True


# --------------------------------------------------------------------------- the fast loop


def _chunk_steps(rate: float | None, remaining: int) -> int:
    """Steps for the next call: about ``CHUNK_SECONDS`` at ``rate``, never a tiny tail left over."""
    steps = FIRST_PROBE_STEPS if rate is None else int(rate * CHUNK_SECONDS)
    steps = max(1, min(steps, MAX_CHUNK_STEPS, remaining))
    if remaining - steps <= steps // 4:
        steps = min(remaining, MAX_CHUNK_STEPS)
    return steps


def _snapshot_plan(config: Config, model: Any) -> list[int]:
    """The epochs whose weights a run of ``config`` with ``model`` keeps."""
    return snapshot_epochs(config.epochs, snapshot_count(model.count_params()))


def _due(plan: list[int], step: int, steps: int, per_epoch: int, slots: int) -> tuple[list[int], int]:
    """The snapshot epochs a call of ``steps`` from ``step`` passes (at most ``slots``), and its
    steps: cut to end at the last of them when more were due than fit."""
    first = bisect.bisect_right(plan, step // per_epoch)
    last = bisect.bisect_right(plan, (step + steps) // per_epoch)
    if last - first > slots:
        last = first + slots
        steps = plan[last - 1] * per_epoch - step
    return plan[first:last], steps


def fast_loop(
    config: Config, model: Any, emit: Listener, should_stop: Callable[[], bool], snapshots: Snapshots | None = None,
    hold_at: Callable[[int], int | None] | None = None,
) -> Finished:
    """Chunks of compiled steps, each about ``CHUNK_SECONDS`` long, with events between them."""
    runtime.load()
    start = time.perf_counter()
    problem = config.problem
    fresh = graph_key(config) not in _loops
    if fresh:
        emit(Compiling("graph"))  # tracing starts now
    loop, _ = compiled_loop(config)
    if should_stop():  # asked while tracing, which cannot be interrupted
        raise Stop
    state = loop.start(model.get_weights())
    inputs = loop.inputs(config)

    def stop() -> None:
        """Keep what was learned (with early stopping, the best epoch's weights, as Keras restores
        them at any end of ``fit``) and end the run as cancelled."""
        model.set_weights(loop.best(state)[1] if loop.early_stopping else loop.weights(state))
        raise Stop

    total = config.epochs * loop.steps_per_epoch
    mode = "xla" if uses_xla(config, loop) else "graph"
    compile_s = 0.0
    if mode == "xla" and loop.xla_state != "ready":
        emit(Compiling("xla"))
        loop.want_xla(state, inputs)  # (no-op when warm() started it)
        while not loop.wait_xla(CHUNK_SECONDS):  # still answering cancellation
            if should_stop():
                stop()
        mode = "xla" if loop.xla_state == "ready" else "graph"  # XLA cannot compile every op
        compile_s = time.perf_counter() - start
    elif mode == "graph" and not loop.graph_instantiated:
        if not fresh:
            emit(Compiling("graph"))
        state, *_ = loop.run(loop.graph, state, inputs, 0, False)  # the first call instantiates
        loop.graph_instantiated = True
        compile_s = time.perf_counter() - start
    else:
        emit(Compiling("cached"))
    emit(Compiled(compile_s))
    history: list[float] = []
    val_history: list[float] = []
    step, predicted_at = 0, -math.inf
    loop.last_mode, loop.last_calls = mode, 0
    plan = _snapshot_plan(config, model) if snapshots is not None and loop.slots else []
    while step < total:
        steps = _chunk_steps(loop.rate[mode], total - step)
        hold = hold_at(step // loop.steps_per_epoch) if hold_at is not None else None
        if hold is not None:
            if step >= hold * loop.steps_per_epoch:  # held: wait there until stepped, resumed or stopped
                if should_stop():
                    stop()
                continue
            steps = min(steps, hold * loop.steps_per_epoch - step)
        due, steps = _due(plan, step, steps, loop.steps_per_epoch, loop.slots)
        executable = loop.xla if mode == "xla" else loop.graph
        began = time.perf_counter()
        # Predictions when due by the time this chunk ends, and always with the last one (and a step's).
        predict = began + CHUNK_SECONDS - predicted_at >= PREDICT_EVERY_S or step + steps >= total
        predict = predict or (hold is not None and step + steps >= hold * loop.steps_per_epoch)
        after = [epoch * loop.steps_per_epoch - 1 - step for epoch in due]
        state, losses, val_losses, predictions, kept = loop.run(executable, state, inputs, steps, predict, after)
        took = time.perf_counter() - began
        ran = loop.step(state) - step if loop.early_stopping else steps  # early stopping may end a call early
        for epoch, flat in zip(due, kept):
            if epoch * loop.steps_per_epoch <= step + ran:
                snapshots.add(epoch, flat)
        step += ran
        loop.last_calls += 1
        # Steps per second for sizing chunks. A short call is mostly fixed overhead and
        # understates the rate, so it may raise the estimate but not lower it.
        seen, rate = ran / max(took, 1e-9), loop.rate[mode]
        if rate is None or took >= CHUNK_SECONDS / 5:
            loop.rate[mode] = seen if rate is None else 0.5 * (rate + seen)
        elif seen > rate:
            loop.rate[mode] = seen
        now = time.perf_counter()
        if len(losses):
            emit(Epochs(len(history) + 1, tuple(losses.tolist()), now - start, tuple(val_losses.tolist())))
            history.extend(losses.tolist())
            val_history.extend(val_losses.tolist())
        within = step % loop.steps_per_epoch
        if within:  # a long epoch: say how far into it
            emit(Steps(step // loop.steps_per_epoch + 1, within, loop.steps_per_epoch))
        if predictions is not None:
            predicted_at = now
            shown = predictions.reshape(-1)[: problem.inputs.shape[1]]
            emit(Predictions(len(history), tuple(shown.tolist())))
        if loop.stopped(state):
            break
        if step < total and should_stop():
            stop()
    best_epoch = None
    if loop.early_stopping:  # Keras restores the best epoch's weights whether or not it stopped early
        best_epoch, weights = loop.best(state)
        model.set_weights(weights)
        outputs = None
    else:
        model.set_weights(loop.weights(state))
        outputs = predictions if loop.show == problem.samples else None
    return _finished(config, model, history, val_history, best_epoch, time.perf_counter() - start, compile_s, outputs)


ENGINES: dict[str, Callable[..., Finished]] = {
    "fast": fast_loop,
    "fit": fit_loop,
}
