"""Inside the cell: every gate and state of every recurrent layer, per timestep and unit.

``inspect(model, config, sequence)`` recomputes, in numpy and from Keras' own weight layout, what
each recurrent layer does on one sequence:

- LSTM: ``kernel`` (m, 4u), ``recurrent_kernel`` (u, 4u) and ``bias`` (4u) hold the gates in
  Keras' order input, forget, candidate (Keras calls it "c"), output;
  ``c_t = f·c_{t-1} + i·g`` and ``h_t = o·tanh(c_t)``.
- GRU: the gates in the order update (z), reset (r), candidate (h). With ``reset_after=True``
  (Keras' default) the bias has two rows, one added to ``x·W`` and one to ``h·U``, and the reset
  gate scales ``h·U + b_rec`` after the product; ``h_t = z·h_{t-1} + (1 - z)·candidate``.
- SimpleRNN: ``h_t = tanh(x·W + h_{t-1}·U + b)``.

``Bidirectional`` layers give two entries: the backward one runs on the reversed sequence and,
like Keras, its states are put back in the input's time order. A stacked layer reads the one
below (both directions concatenated, as Keras' ``merge_mode="concat"`` does).

**Self-check**: each direction's Keras layer is cloned with ``return_sequences=True`` (same
weights), run on the same input, and its output compared with the recomputed ``h``; the largest
difference is ``max_abs_diff`` (float32 Keras against float64 numpy: ~1e-7).

**Gradient reach** is |∂loss/∂h_t|, the total derivative: how much the loss would change if the
hidden state at step t moved, through every later step as well as through step t's own output.
It is measured by running the model step by step with the layers' own Keras cells under a
``tf.GradientTape``, adding a watched zero tensor ``e_t`` to each ``h_t`` (the state the next
step reads and the output the layer above reads), then the layers after the recurrent ones, and
the mean squared error the runs are trained with; ∂loss/∂e_t is ∂loss/∂h_t. The predictions of
that pass are compared with ``model(X)`` too (``output_max_abs_diff``).

The one-to-one topology frames each timestep as its own one-step sample, so its "timesteps" here
are those samples, each starting from a zero state.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import runtime
from .cells import BY_LAYER
from .config import Config
from .snapshots import Snapshots, set_flat_weights

GATES = {
    "lstm": ("input", "forget", "candidate", "output"),
    "gru": ("update", "reset", "candidate"),
    "simple-rnn": (),
}

ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "relu": lambda z: np.maximum(z, 0.0),
    "linear": lambda z: z,
    "hard_sigmoid": lambda z: np.clip(z / 6.0 + 0.5, 0.0, 1.0),  # Keras 3: relu6(x + 3) / 6
}


class InspectError(ValueError):
    """A run or a request that cannot be inspected; the message is one line for a person."""


@dataclass(frozen=True)
class LayerInside:
    """One direction of one recurrent layer on one sequence; arrays are [timestep][unit]."""

    name: str  # the Keras layer's name; "<name>/forward" and "/backward" for Bidirectional
    cell: str  # lstm, gru or simple-rnn
    gates: dict[str, np.ndarray]
    h: np.ndarray
    c: np.ndarray | None  # LSTM only
    gradient: np.ndarray  # ∂loss/∂h_t
    max_abs_diff: float  # recomputed h against the Keras layer's own output

    @property
    def states(self) -> dict[str, np.ndarray]:
        """Every [timestep][unit] array to draw: the gates, then c (LSTM) and h."""
        return {**self.gates, **({"c": self.c} if self.c is not None else {}), "h": self.h}

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for JSON."""
        out: dict[str, Any] = {
            "name": self.name,
            "cell": self.cell,
            "gates": {gate: values.tolist() for gate, values in self.gates.items()},
            "h": self.h.tolist(),
            "gradient_reach": np.linalg.norm(self.gradient, axis=1).tolist(),
            "max_abs_diff": self.max_abs_diff,
        }
        if self.c is not None:
            out["c"] = self.c.tolist()
        return out


@dataclass(frozen=True)
class Inspection:
    """Every recurrent layer on one sequence, with the check against Keras and the gradient reach."""

    layers: tuple[LayerInside, ...]
    sequence: int
    epoch: int | None
    inputs: np.ndarray  # (timesteps,)
    targets: np.ndarray
    predictions: np.ndarray
    loss: float
    output_max_abs_diff: float  # the step-by-step pass against model(X)
    last_layer: tuple[int, ...]  # indices into ``layers`` of the recurrent layer nearest the loss

    @property
    def max_abs_diff(self) -> float:
        """The largest difference between a recomputed h and Keras' own, over every layer."""
        return max(layer.max_abs_diff for layer in self.layers)

    @property
    def gradient_reach(self) -> np.ndarray:
        """|∂loss/∂h_t| per timestep for the recurrent layer nearest the loss (both directions
        together): how strongly the error at the end reaches back to each step's state."""
        stacked = np.concatenate([self.layers[i].gradient for i in self.last_layer], axis=1)
        return np.linalg.norm(stacked, axis=1)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``tui-echo inspect``."""
        return {
            "epoch": self.epoch,
            "sequence": self.sequence,
            "inputs": self.inputs.tolist(),
            "targets": self.targets.tolist(),
            "predictions": self.predictions.tolist(),
            "loss": self.loss,
            "layers": [layer.to_dict() for layer in self.layers],
            "gradient_reach": self.gradient_reach.tolist(),
            "check": {"max_abs_diff": self.max_abs_diff, "output_max_abs_diff": self.output_max_abs_diff},
        }


def _activation(keras: Any, function: Any) -> Callable[[np.ndarray], np.ndarray]:
    name = keras.activations.serialize(function)
    name = name if isinstance(name, str) else name.get("config", {}).get("name", str(name))
    if name not in ACTIVATIONS:
        raise InspectError(f"cannot recompute activation {name!r} (knows {', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[name]


def _numpy(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def recompute(keras: Any, rnn: Any, x: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray | None]:
    """Run one Keras RNN layer's math in numpy on ``x`` (batch, time, features), in the order it
    reads it (reversed for ``go_backwards``). Returns gates, h and c as (batch, time, units)."""
    cell = rnn.cell
    kind = BY_LAYER[type(rnn).__name__].name
    act = _activation(keras, cell.activation)
    W, U = _numpy(cell.kernel), _numpy(cell.recurrent_kernel)
    u = U.shape[0]
    bias = _numpy(cell.bias) if cell.use_bias else np.zeros((2, W.shape[1]) if kind == "gru" and cell.reset_after else W.shape[1])
    if rnn.go_backwards:
        x = x[:, ::-1]
    batch, steps = x.shape[:2]
    h = np.zeros((batch, u))
    c = np.zeros((batch, u))
    gates = {gate: np.zeros((batch, steps, u)) for gate in GATES[kind]}
    hs, cs = np.zeros((batch, steps, u)), np.zeros((batch, steps, u))
    if kind != "simple-rnn":
        sigma = _activation(keras, cell.recurrent_activation)
    for t in range(steps):
        xt = x[:, t].astype(np.float64) @ W
        if kind == "lstm":
            z = xt + h @ U + bias
            i, f, g, o = sigma(z[:, :u]), sigma(z[:, u:2 * u]), act(z[:, 2 * u:3 * u]), sigma(z[:, 3 * u:])
            c = f * c + i * g
            h = o * act(c)
            for gate, value in zip(GATES[kind], (i, f, g, o)):
                gates[gate][:, t] = value
            cs[:, t] = c
        elif kind == "gru":
            if cell.reset_after:
                xt, inner = xt + bias[0], h @ U + bias[1]
                zg, r = sigma(xt[:, :u] + inner[:, :u]), sigma(xt[:, u:2 * u] + inner[:, u:2 * u])
                candidate = act(xt[:, 2 * u:] + r * inner[:, 2 * u:])
            else:
                xt = xt + bias
                zg = sigma(xt[:, :u] + h @ U[:, :u])
                r = sigma(xt[:, u:2 * u] + h @ U[:, u:2 * u])
                candidate = act(xt[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
            h = zg * h + (1.0 - zg) * candidate
            for gate, value in zip(GATES[kind], (zg, r, candidate)):
                gates[gate][:, t] = value
        else:
            h = act(xt + h @ U + bias)
        hs[:, t] = h
    if rnn.go_backwards:  # back into the input's time order, as Bidirectional does
        gates = {gate: values[:, ::-1] for gate, values in gates.items()}
        hs, cs = hs[:, ::-1], cs[:, ::-1]
    return gates, hs, (cs if kind == "lstm" else None)


def keras_sequence(rnn: Any, x: np.ndarray) -> np.ndarray:
    """The Keras layer's own h for every step of ``x``, in the input's time order: a clone with
    ``return_sequences=True`` and the same weights (the model's layer may return only the last)."""
    clone = type(rnn).from_config({**rnn.get_config(), "return_sequences": True, "return_state": False})
    clone.build(x.shape)
    clone.set_weights(rnn.get_weights())
    out = np.asarray(clone(x.astype(np.float32), training=False), dtype=np.float64)
    return out[:, ::-1] if rnn.go_backwards else out


def _merge(parts: list[Any], mode: str, concat: Callable[[list[Any]], Any]) -> Any:
    """Join a Bidirectional layer's two directions the way Keras does."""
    if len(parts) == 1:
        return parts[0]
    forward, backward = parts
    merged = {"concat": lambda: concat(parts), "sum": lambda: forward + backward,
              "ave": lambda: (forward + backward) / 2, "mul": lambda: forward * backward}
    if mode not in merged:
        raise InspectError(f"cannot inspect a Bidirectional layer with merge_mode={mode!r}")
    return merged[mode]()


@dataclass(frozen=True)
class _Recurrent:
    """One recurrent layer of the model: its directions (one, or forward and backward)."""

    name: str
    directions: tuple[Any, ...]
    merge_mode: str
    return_sequences: bool


def split_model(keras: Any, model: Any) -> tuple[list[_Recurrent], list[Any]]:
    """The model's recurrent layers in order, then the layers after them (the head)."""
    stack: list[_Recurrent] = []
    head: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            fwd, bwd = layer.forward_layer, layer.backward_layer
            stack.append(_Recurrent(layer.name, (fwd, bwd), layer.merge_mode, layer.return_sequences))
        elif type(layer).__name__ in BY_LAYER and isinstance(layer, keras.layers.RNN):
            stack.append(_Recurrent(layer.name, (layer,), "concat", layer.return_sequences))
        elif stack:
            head.append(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            raise InspectError(f"cannot inspect a model with {type(layer).__name__} before its recurrent layers")
    if not stack:
        raise InspectError("the model has no LSTM, GRU or SimpleRNN layer")
    return stack, head


def _gradient_pass(tf: Any, stack: list[_Recurrent], head: list[Any], X: np.ndarray, y: np.ndarray):
    """Run the model step by step with its own cells; returns (predictions, loss, ∂loss/∂h_t per
    direction as (batch, time, units) in the input's time order)."""
    perturbations: list[list[Any]] = []
    with tf.GradientTape() as tape:
        current = tf.constant(X, dtype=tf.float32)
        for layer in stack:
            outputs, lasts = [], []
            for rnn in layer.directions:
                xs = tf.reverse(current, [1]) if rnn.go_backwards else current
                batch, units = int(xs.shape[0]), rnn.cell.units
                states = [tf.zeros((batch, units))] * (2 if BY_LAYER[type(rnn).__name__].name == "lstm" else 1)
                hs, watched = [], []
                for t in range(int(xs.shape[1])):
                    e = tf.zeros((batch, units))
                    tape.watch(e)
                    watched.append(e)
                    out, states = rnn.cell(xs[:, t], states, training=False)
                    out = out + e
                    states = [out, *list(states)[1:]]  # h is the first state of all three cells
                    hs.append(out)
                perturbations.append(watched[::-1] if rnn.go_backwards else watched)
                sequence = tf.stack(hs[::-1] if rnn.go_backwards else hs, axis=1)
                outputs.append(sequence)
                lasts.append(hs[-1])
            concat = lambda parts: tf.concat(parts, axis=-1)  # noqa: E731
            current = _merge(outputs if layer.return_sequences else lasts, layer.merge_mode, concat)
        for later in head:
            current = later(current, training=False)
        loss = tf.reduce_mean(tf.square(current - tf.constant(y, dtype=tf.float32)))
    grads = tape.gradient(loss, perturbations)
    gradients = [np.stack([np.asarray(g, dtype=np.float64) for g in steps], axis=1) for steps in grads]
    return np.asarray(current, dtype=np.float64), float(loss), gradients


def sequence_tensors(config: Config, sequence: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sequence ``sequence``'s inputs (its first feature) and targets (timesteps,), and X, y as its
    topology frames them (every feature)."""
    config = config.resolved()
    count = config.sequence_count
    if not 0 <= sequence < count:
        raise InspectError(f"--sequence must be 0-{count - 1} (got {sequence})")
    features, targets = config.sequence(sequence)  # the first is drawn alone, without the whole data set
    framed = config.topology_entry.problem(features[None], targets.reshape(1, -1))
    return features[:, 0], targets, framed.X, framed.y


def inspect(model: Any, config: Config, sequence: int = 0, *, epoch: int | None = None) -> Inspection:
    """Gates, states, the Keras check and the gradient reach of ``model`` on one sequence."""
    tf, keras = runtime.load()
    inputs, targets, X, y = sequence_tensors(config, sequence)
    stack, head = split_model(keras, model)
    layers: list[LayerInside] = []
    ours, theirs = X.astype(np.float64), X.astype(np.float64)  # our chain, and Keras' chain
    for layer in stack:
        ours_out, theirs_out = [], []
        for rnn in layer.directions:
            gates, h, c = recompute(keras, rnn, ours)
            keras_h = keras_sequence(rnn, theirs)
            name = layer.name if len(layer.directions) == 1 else f"{layer.name}/{'backward' if rnn.go_backwards else 'forward'}"
            layers.append(LayerInside(name, BY_LAYER[type(rnn).__name__].name, gates, h, c, np.empty(0),
                                      float(np.max(np.abs(h - keras_h)))))
            ours_out.append(h)
            theirs_out.append(keras_h)
        concat = lambda parts: np.concatenate(parts, axis=-1)  # noqa: E731
        ours, theirs = _merge(ours_out, layer.merge_mode, concat), _merge(theirs_out, layer.merge_mode, concat)
    predictions, loss, gradients = _gradient_pass(tf, stack, head, X, y)
    keras_predictions = np.asarray(model(X.astype(np.float32), training=False), dtype=np.float64)
    # One-to-one: (samples, 1 step, units) becomes one sequence of ``samples`` steps.
    flat = lambda a: a.reshape(-1, a.shape[-1]) if a.shape[0] == 1 else a[:, 0]  # noqa: E731
    layers = [
        LayerInside(
            part.name, part.cell, {gate: flat(v) for gate, v in part.gates.items()}, flat(part.h),
            None if part.c is None else flat(part.c), flat(gradient), part.max_abs_diff,
        )
        for part, gradient in zip(layers, gradients)
    ]
    last = len(stack[-1].directions)
    return Inspection(
        layers=tuple(layers),
        sequence=sequence,
        epoch=epoch,
        inputs=np.asarray(inputs, dtype=np.float64),
        targets=np.asarray(targets, dtype=np.float64),
        predictions=predictions.reshape(-1),
        loss=loss,
        output_max_abs_diff=float(np.max(np.abs(predictions - keras_predictions))),
        last_layer=tuple(range(len(layers) - last, len(layers))),
    )


def load_run_model(
    record: dict[str, Any], epoch: int | None = None, snapshots: Snapshots | None = None
) -> tuple[Any, Config, int]:
    """A saved run's model (its ``model.keras``), its config and the epoch of those weights.

    With ``epoch`` before the last, the model gets the weights of the latest of ``snapshots`` at
    or before it (the epoch returned says which).
    """
    run_id = record.get("id", "?")
    path = Path(record.get("path", "")) / "model.keras"
    if not path.is_file():
        raise InspectError(f"run {run_id} has no saved model (status {record.get('status', '?')})")
    epochs = len(record.get("history", []))
    if epoch is not None and epoch > epochs:
        raise InspectError(f"--epoch: run {run_id} has {epochs:,} epochs")
    index = None
    if epoch is not None and epoch < epochs:
        index = snapshots.at_or_before(epoch) if snapshots else None
        if index is None:
            kept = "no snapshots" if not snapshots else f"its first snapshot at epoch {snapshots.epochs[0]:,}"
            raise InspectError(f"--epoch: run {run_id} has {kept}; its last epoch is {epochs:,}")
    _, keras = runtime.load()
    model = keras.models.load_model(path, compile=False)
    if index is None:
        return model, Config(**record["config"]), epochs
    set_flat_weights(model, snapshots.weights[index])
    return model, Config(**record["config"]), snapshots.epochs[index]


def inspect_run(
    record: dict[str, Any], sequence: int = 0, epoch: int | None = None, snapshots: Snapshots | None = None
) -> Inspection:
    """Inspect a saved run's model on one of its sequences, at ``epoch`` (see ``load_run_model``)."""
    model, config, used = load_run_model(record, epoch, snapshots)
    return inspect(model, config, sequence, epoch=used)

CHARACTER_RAMP = " .:-=+*#%@"  # low to high, for --ascii, NO_COLOR and plain-text output


def value_range(state: str, values: np.ndarray) -> tuple[float, float]:
    """The scale a state is drawn on: sigmoid gates 0-1, tanh outputs -1-1, and the LSTM's
    unbounded cell state symmetric around 0 at its largest magnitude (so 0 is always mid-ramp)."""
    if state in ("input", "forget", "output", "update", "reset"):
        return 0.0, 1.0
    if state == "c":
        top = float(np.max(np.abs(values))) if values.size else 1.0
        return -(top or 1.0), top or 1.0
    return -1.0, 1.0


def ramp_index(values: np.ndarray, low: float, high: float, steps: int) -> np.ndarray:
    """Each value's place on a ramp of ``steps`` (0 to steps - 1), clipped to [low, high]."""
    scaled = (np.asarray(values, dtype=np.float64) - low) / (high - low)
    return np.clip(np.rint(scaled * (steps - 1)), 0, steps - 1).astype(int)
