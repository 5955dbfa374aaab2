"""Training loops: a compiled many-steps-per-call loop (``fast``) and Keras' ``fit`` (the reference).

Both take a ``Config``, send events to ``on_event`` and poll ``should_stop`` between chunks, so
another thread can cancel. Both report each epoch's loss the way ``fit`` does: the mean over the
epoch's batches of the loss computed before each update, weighted by batch size.

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

from . import estimate, runtime
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

    def emit(event: Any) -> None:
        if isinstance(event, Epochs):
            history.extend(event.losses)
        on_event(event)

    try:
        loop = ENGINES[config.engine]
        model = model if model is not None else build_model(config)
        emit(Started(config.to_dict(), config.epochs, runtime.device_name(), config.engine))
        final = loop(config, model, emit, should_stop, snapshots, hold_at)
    except Stop:
        final = Cancelled(len(history), tuple(history))
    except Exception as error:  # a person reads this; the UI must survive it
        final = Failed(f"{type(error).__name__}: {_one_line(error)}", tuple(history))
    on_event(final)
    return final


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _finished(
    config: Config, model: Any, history: list[float], wall: float, compile_s: float, outputs: Any = None
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
    marks = {"compile": 0.0, "predicted": start}

    class Relay(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            now = time.perf_counter()
            if epoch == 0:
                marks["compile"] = now - start
                emit(Compiled(marks["compile"]))
            loss = float((logs or {})["loss"])
            history.append(loss)
            if epoch + 1 in keep:
                snapshots.add(epoch + 1, np.concatenate([w.ravel() for w in model.get_weights()]))
            emit(Epochs(epoch + 1, (loss,), now - start))
            if now - marks["predicted"] >= PREDICT_EVERY_S:
                marks["predicted"] = now
                values = problem.as_sequences(model(problem.X, training=False).numpy())
                emit(Predictions(epoch + 1, tuple(float(v) for v in values.ravel())))
            if hold_at is not None:
                hold_at(epoch + 1)  # at a hold, should_stop waits: fit's epochs are its chunks
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
#
# Where a first fast run of a tutorial shape spends its time (2-core CPU): tracing the program
# ~0.15-0.3 s, instantiating the traced graph ~0.05-0.1 s, then 5,000-10,000 steps/s as a TF graph.
# A cached rerun on XLA: ~0.5 ms per call plus 8-15 us per step.

ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.9, 0.999, 1e-7  # keras.optimizers.Adam defaults, as fit uses
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

        (weights, Adam m, Adam v, step, epoch sums, lr, X, y, steps, seed, predict?)
            -> (weights, Adam m, Adam v, step, epoch sums, losses, epochs ended, predictions)

    It runs ``steps`` training steps in a ``tf.while_loop`` and returns the loss of every epoch
    that ended in them. Nothing lives in TF variables, so:

    - one trace serves both executables: the XLA one wraps the traced graph (no second trace);
    - another thread can compile and time XLA on its own tensors while the run that waits for
      it still answers cancellation, and nothing it touches is in use by another thread's call;
    - learning rate and seed are arguments: a rerun with new ones never retraces or recompiles.

    The model math is the Keras model's own (``stateless_call``), the loss is Keras' MSE and the
    update is Keras' Adam written out on tensors, so histories match ``fit``: bit for bit with
    full batches on the graph, within ~1e-7 with a padded short last batch or on XLA (tests).
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
        self.traces = 0
        self.xla_compiles = 0
        self._loss = keras.losses.MeanSquaredError()
        self._per_row = keras.losses.MeanSquaredError(reduction=None)
        # The state keeps every weight in one flat vector (and Adam's moments likewise): the
        # update is then a handful of ops instead of a handful per weight tensor, which traces,
        # instantiates and runs faster; the arithmetic per element is the same.
        self._shapes = [tuple(v.shape) for v in self.model.trainable_variables]
        self._sizes = [int(np.prod(shape)) for shape in self._shapes]
        size = sum(self._sizes)
        # Rows of the snapshot buffer a call fills (its bytes bounded, so big models stay cheap).
        self.slots = SNAPSHOT_SLOT_BYTES and max(1, min(MAX_SNAPSHOT_SLOTS, SNAPSHOT_SLOT_BYTES // (4 * size)))
        self._specs = [
            tf.TensorSpec([size], tf.float32),  # weights
            tf.TensorSpec([size], tf.float32),  # Adam m
            tf.TensorSpec([size], tf.float32),  # Adam v
            tf.TensorSpec([], tf.int64),  # global step
            tf.TensorSpec([2], tf.float32),  # the running epoch's loss total and sample count
            tf.TensorSpec([], tf.float32),  # learning rate
            tf.TensorSpec(problem.X.shape, tf.float32),
            tf.TensorSpec(problem.y.shape, tf.float32),
            tf.TensorSpec([], tf.int64),  # steps to run
            tf.TensorSpec([], tf.int64),  # seed
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
        """The state tensors a run starts from: these weights, a fresh Adam, step 0."""
        tf = self.tf
        flat = np.concatenate([np.asarray(w, np.float32).ravel() for w in weights])
        zeros = tf.zeros(flat.shape, tf.float32)
        return [tf.constant(flat), zeros, zeros, tf.constant(0, tf.int64), tf.zeros([2], tf.float32)]

    def weights(self, state: list[Any]) -> list[np.ndarray]:
        """The weights in a state, shaped as the model's ``get_weights``."""
        flat = state[0].numpy()
        bounds = np.cumsum([0, *self._sizes])
        return [flat[a:b].reshape(shape) for a, b, shape in zip(bounds[:-1], bounds[1:], self._shapes)]

    def run(
        self, executable: Any, state: list[Any], lr: Any, X: Any, y: Any, steps: int, seed: Any,
        predict: bool = True, keep_after: list[int] = (),
    ) -> tuple[list[Any], np.ndarray, np.ndarray | None, np.ndarray]:
        """``steps`` more steps: (the new state, losses of the epochs that ended, predictions or
        None, the flat weights after each step of ``keep_after``: ascending indices into this
        call's steps, at most ``slots`` of them)."""
        tf = self.tf
        rows = np.full(MAX_CHUNK_STEPS, self.slots, np.int32)
        rows[list(keep_after)] = np.arange(len(keep_after), dtype=np.int32)
        with _without_grappler(tf):
            out = executable(
                *state, lr, X, y, tf.constant(steps, tf.int64), seed, tf.constant(predict), tf.constant(rows)
            )
        losses, ended, predictions, kept = out[5:]
        kept = kept[: len(keep_after)].numpy() if len(keep_after) else np.zeros((0, 0), np.float32)
        return list(out[:5]), losses.numpy()[: int(ended)], predictions.numpy() if predict else None, kept

    def _chunk(self, *flat: Any) -> list[Any]:  # traced once per graph shape
        tf = self.tf
        self.traces += 1
        model = self.model
        w, m, v, step0, sums, lr, X, y, steps, seed, predict, rows = flat

        def unflatten(vector: Any) -> list:
            pieces = tf.split(vector, self._sizes)
            return [tf.reshape(piece, shape) for piece, shape in zip(pieces, self._shapes)]

        n, batch, per_epoch = self.samples, self.batch, self.steps_per_epoch
        last = n - (per_epoch - 1) * batch  # Keras keeps a short last batch
        frozen = [v.value for v in model.non_trainable_variables]

        def train_on(indices: Any, w: Any, m: Any, v: Any, step: Any, size: Any = None) -> tuple:
            """One Adam step on the rows ``indices`` (all rows when None): (loss, w, m, v).

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
            # keras.optimizers.Adam.update_step, expression for expression (so fit matches exactly).
            local_step = tf.cast(step + 1, tf.float32)
            beta_1_power = tf.pow(tf.constant(ADAM_BETA_1, tf.float32), local_step)
            beta_2_power = tf.pow(tf.constant(ADAM_BETA_2, tf.float32), local_step)
            alpha = lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
            m = m + (g - m) * (1 - ADAM_BETA_1)
            v = v + (tf.square(g) - v) * (1 - ADAM_BETA_2)
            w = w - (m * alpha) / (tf.sqrt(v) + ADAM_EPSILON)
            return loss, w, m, v

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

        def body(i, perm, total, count, losses, ended, w, m, v, kept):  # noqa: ANN001 - traced
            step = step0 + i
            if per_epoch == 1:  # full batch: no indexing at all
                loss, w, m, v = train_on(None, w, m, v, step)
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
                    loss, w, m, v = train_on(take(batch), w, m, v, step)
                    size = float(batch)
                else:
                    is_last = tf.equal(b, per_epoch - 1)
                    size = tf.where(is_last, last, batch)
                    # The short last batch is padded with rows from the start of the epoch's order.
                    indices = tf.gather(perm, (start + tf.range(batch)) % n)
                    loss, w, m, v = train_on(indices, w, m, v, step, size)
                    size = tf.cast(size, tf.float32)
                total, count = total + loss * size, count + size
                done = tf.equal(b, per_epoch - 1)
            # Keras' Mean loss tracker: weighted total over count, divide_no_nan (plain / was 1 ulp off).
            # The slot ``ended`` is written every step; only an ended epoch moves past it.
            losses = tf.tensor_scatter_nd_update(losses, [[ended]], [tf.math.divide_no_nan(total, count)])
            kept = keep(i, w, kept)
            if done is True:
                return i + 1, perm, tf.constant(0.0), tf.constant(0.0), losses, ended + 1, w, m, v, kept
            ended = ended + tf.cast(done, tf.int32)
            total = tf.where(done, 0.0, total)
            count = tf.where(done, 0.0, count)
            return i + 1, perm, total, count, losses, ended, w, m, v, kept

        if self.shuffle:
            perm0 = order(step0 // per_epoch)
        else:
            perm0 = tf.range(n, dtype=tf.int32)
        loop_vars = (
            tf.constant(0, tf.int64),
            perm0,
            sums[0],
            sums[1],
            tf.zeros([MAX_CHUNK_STEPS], tf.float32),
            tf.constant(0, tf.int32),
            w,
            m,
            v,
            tf.raw_ops.TensorListReserve(
                element_shape=tf.constant([w.shape[0]], tf.int32), num_elements=self.slots + 1, element_dtype=tf.float32
            ),
        )
        _, _, total, count, losses, ended, w, m, v, kept = tf.while_loop(
            lambda i, *_: i < steps, body, loop_vars, maximum_iterations=MAX_CHUNK_STEPS
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
        return [w, m, v, step0 + steps, tf.stack([total, count]), losses, ended, shown, kept]

    # -- XLA, compiled in another thread

    def want_xla(self, state: list[Any], lr: Any, X: Any, y: Any, seed: Any) -> None:
        """Start compiling the XLA executable in another thread, unless it was already asked for."""
        with self._lock:
            if self.xla_state != "none":
                return
            self.xla_state = "compiling"
            self._xla_args = (state, lr, X, y, seed)
        _start_compile(self)

    def wait_xla(self, timeout: float | None = None) -> bool:
        """Wait for a compile that was started; True when none is pending."""
        if self.xla_state != "compiling":
            return True
        return self._compiled.wait(timeout)

    def _compile_xla(self) -> None:
        tf = self.tf
        state, lr, X, y, seed = self._xla_args
        try:
            began = time.perf_counter()
            graph = self.graph
            executable = tf.function(lambda *a: graph(*a), jit_compile=True, autograph=False)
            executable = executable.get_concrete_function(*self._specs)  # traces one call op
            self.run(executable, state, lr, X, y, 0, seed, False)  # the first call compiles
            self.xla_compiles += 1
            self.xla_seconds = time.perf_counter() - began
            # Time a few calls (on this thread's own tensors) so the first XLA chunk is sized about
            # right; the best rate seen, as a busy machine only ever makes a call slower.
            steps, best, spent = 1, 0.0, 0.0
            while spent < CHUNK_SECONDS and steps <= MAX_CHUNK_STEPS:
                t0 = time.perf_counter()
                self.run(executable, state, lr, X, y, steps, seed, False)
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
# 1.11e-17 on the graph, 6.33e-16 on XLA), so which one a run uses decides its history. It is
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
    """What changes the compiled program. Learning rate, seed and data values do not: they are inputs."""
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
    tf, _ = runtime.load()
    config = config.resolved()
    loop, _ = compiled_loop(config)
    if uses_xla(config, loop):
        problem = config.problem
        state = [tf.zeros(spec.shape, spec.dtype) for spec in loop._specs[:5]]  # any values compile
        args = (state, tf.constant(config.lr, tf.float32), tf.constant(problem.X), tf.constant(problem.y))
        loop.want_xla(*args, tf.constant(config.seed, tf.int64))
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
    tf, _ = runtime.load()
    start = time.perf_counter()
    problem = config.problem
    fresh = graph_key(config) not in _loops
    if fresh:
        emit(Compiling("graph"))  # tracing starts now
    loop, _ = compiled_loop(config)
    if should_stop():  # asked while tracing, which cannot be interrupted
        raise Stop
    state = loop.start(model.get_weights())
    X, y = tf.constant(problem.X), tf.constant(problem.y)
    lr, seed = tf.constant(config.lr, tf.float32), tf.constant(config.seed, tf.int64)
    total = config.epochs * loop.steps_per_epoch
    mode = "xla" if uses_xla(config, loop) else "graph"
    compile_s = 0.0
    if mode == "xla" and loop.xla_state != "ready":
        emit(Compiling("xla"))
        loop.want_xla(state, lr, X, y, seed)  # (no-op when warm() started it)
        while not loop.wait_xla(CHUNK_SECONDS):  # still answering cancellation
            if should_stop():
                model.set_weights(loop.weights(state))
                raise Stop
        mode = "xla" if loop.xla_state == "ready" else "graph"  # XLA cannot compile every op
        compile_s = time.perf_counter() - start
    elif mode == "graph" and not loop.graph_instantiated:
        if not fresh:
            emit(Compiling("graph"))
        state, *_ = loop.run(loop.graph, state, lr, X, y, 0, seed, False)  # the first call instantiates
        loop.graph_instantiated = True
        compile_s = time.perf_counter() - start
    else:
        emit(Compiling("cached"))
    emit(Compiled(compile_s))
    history: list[float] = []
    step, predicted_at = 0, -math.inf
    loop.last_mode, loop.last_calls = mode, 0
    plan = _snapshot_plan(config, model) if snapshots is not None and loop.slots else []
    while step < total:
        steps = _chunk_steps(loop.rate[mode], total - step)
        hold = hold_at(step // loop.steps_per_epoch) if hold_at is not None else None
        if hold is not None:
            if step >= hold * loop.steps_per_epoch:  # held: wait there until stepped, resumed or stopped
                if should_stop():
                    model.set_weights(loop.weights(state))
                    raise Stop
                continue
            steps = min(steps, hold * loop.steps_per_epoch - step)
        due, steps = _due(plan, step, steps, loop.steps_per_epoch, loop.slots)
        executable = loop.xla if mode == "xla" else loop.graph
        began = time.perf_counter()
        # Predictions when due by the time this chunk ends, and always with the last one (and a step's).
        predict = began + CHUNK_SECONDS - predicted_at >= PREDICT_EVERY_S or step + steps >= total
        predict = predict or (hold is not None and step + steps >= hold * loop.steps_per_epoch)
        after = [epoch * loop.steps_per_epoch - 1 - step for epoch in due]
        state, losses, predictions, kept = loop.run(executable, state, lr, X, y, steps, seed, predict, after)
        took = time.perf_counter() - began
        for epoch, flat in zip(due, kept):
            snapshots.add(epoch, flat)
        step += steps
        loop.last_calls += 1
        # Steps per second for sizing chunks. A short call is mostly fixed overhead and
        # understates the rate, so it may raise the estimate but not lower it.
        seen, rate = steps / max(took, 1e-9), loop.rate[mode]
        if rate is None or took >= CHUNK_SECONDS / 5:
            loop.rate[mode] = seen if rate is None else 0.5 * (rate + seen)
        elif seen > rate:
            loop.rate[mode] = seen
        now = time.perf_counter()
        if len(losses):
            values = losses.tolist()
            emit(Epochs(len(history) + 1, tuple(values), now - start))
            history.extend(values)
        within = step % loop.steps_per_epoch
        if within:  # a long epoch: say how far into it
            emit(Steps(step // loop.steps_per_epoch + 1, within, loop.steps_per_epoch))
        if predictions is not None:
            predicted_at = now
            shown = predictions.reshape(-1)[: problem.inputs.shape[1]]
            emit(Predictions(len(history), tuple(shown.tolist())))
        if step < total and should_stop():
            model.set_weights(loop.weights(state))
            raise Stop
    model.set_weights(loop.weights(state))
    outputs = predictions if loop.show == problem.samples else None
    return _finished(config, model, history, time.perf_counter() - start, compile_s, outputs)


ENGINES: dict[str, Callable[..., Finished]] = {
    "fast": fast_loop,
    "fit": fit_loop,
}
