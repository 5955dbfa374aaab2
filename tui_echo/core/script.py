"""Export an experiment as a standalone plain-Keras script, in the tutorial's style.

The model code is written from the built Keras model itself (not from a second description of
each topology), so the script always matches what the lab trains. The data is made by the task's
own numpy statements (``Task.code``: the same generator calls as the lab), so a config of 100,000
sequences of 1,000 steps is a script of a few kilobytes; a task without them is embedded as
literals. The script needs only numpy and Keras, not tui-echo.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .. import __version__
from . import csvdata, keras_choices, runtime
from .config import Config
from .settings import SETTINGS
from .tasks import TASKS

DATA_BEGINS, DATA_ENDS = "# --- data", "# --- model"  # markers tests run the data part between


def _layer_code(layer: Any) -> str:
    """One Keras layer as the constructor call that rebuilds it."""
    kind = type(layer).__name__
    name = f"name={layer.name!r}"
    if kind in ("TimeDistributed", "Bidirectional"):
        inner = layer.forward_layer if kind == "Bidirectional" else layer.layer
        return f"keras.layers.{kind}({_layer_code(inner)}, {name})"
    if kind == "Dense":
        return f"keras.layers.Dense({layer.units}, {name})"
    return f"keras.layers.{kind}({layer.units}, return_sequences={layer.return_sequences}, {name})"


def _array(values: Any) -> str:
    return f'np.array({json.dumps(values.tolist())}, dtype="float32")'


def _command(config: Config) -> str:
    """The ``tui-echo run`` command line with every setting, wrapped for a docstring."""
    words = []
    for setting in SETTINGS:
        value = getattr(config, setting.name)
        if setting.option is None or value is None:
            continue
        if isinstance(value, bool):  # a flag: given when it differs from the default
            if value != setting.negated:
                words.append(setting.option)
        else:
            words.append(f"{setting.option} {value}")
    lines, line = [], "  tui-echo run"
    for word in words:
        if len(line) + len(word) > 90:
            lines.append(line + " \\\\")
            line = "   "
        line += " " + word
    return "\n".join([*lines, line])


def _settings(config: Config) -> str:
    """Every setting's value (defaults filled in), wrapped for a docstring."""
    words = [f"{name}={value}" for name, value in config.to_dict().items()]
    lines, line = [], " "
    for word in words:
        if len(line) + len(word) > 90:
            lines.append(line.rstrip(","))
            line = " "
        line += f" {word},"
    return "\n".join([*lines, line.rstrip(",")])


def _framing(config: Config) -> str:
    """Statements that frame ``inputs``/``targets`` as X and y (and X_val, y_val: the last
    sequences, held out as the lab holds them out)."""
    x_shape, y_shape = config.shapes
    held = config.validation_sequences
    if not held:
        return f"X = inputs.reshape{x_shape}\ny = targets.reshape{y_shape}"
    topology = config.topology_entry
    x_val, y_val = topology.x_shape(held, config.length, config.features), topology.y_shape(held, config.length)
    return (
        f"held = {held}  # the last sequences, held out for validation\n"
        f"X = inputs[:-held].reshape{x_shape}\ny = targets[:-held].reshape{y_shape}\n"
        f"X_val = inputs[-held:].reshape{x_val}\ny_val = targets[-held:].reshape{y_val}"
    )


def _training(config: Config) -> str:
    """The compile and fit statements, and what the script prints of the losses."""
    stopping = keras_choices.early_stopping_code(config)
    fit = f"epochs={config.epochs}, batch_size={config.batch_size}, shuffle={config.shuffle}"
    if config.validation_sequences:
        fit += ", validation_data=(X_val, y_val)"
    lines = [
        f"model.compile(optimizer={keras_choices.optimizer_code(config)}, loss={keras_choices.loss_code(config)})",
        "model.summary()",
        "",
        "# train",
    ]
    if stopping:
        lines.append(f"stopping = {stopping}")
        fit += ", callbacks=[stopping]"
    lines.append(f"history = model.fit(X, y, {fit}, verbose=0)")
    return "\n".join(lines)


def _results(config: Config) -> str:
    """What the script prints after predicting: its final loss (and validation loss, best epoch)."""
    lines = ['print("final loss:", repr(history.history["loss"][-1]))']
    if config.validation_sequences:
        lines.append('print("final val loss:", repr(history.history["val_loss"][-1]))')
    if config.patience is not None:
        lines.append('print("epochs:", len(history.history["loss"]), "best epoch (weights kept):", stopping.best_epoch + 1)')
    return "\n".join(lines)


def _data(config: Config) -> str:
    """Statements that make ``inputs`` and ``targets``: the task's own code, else literals."""
    if TASKS[config.task].data:
        return csvdata.code(config.series, config.windows.description)
    code = TASKS[config.task].code
    if not code:
        problem = config.problem
        return f"inputs = {_array(problem.inputs)}\ntargets = {_array(problem.targets)}"
    values = f"length, sequences, seed, delay = {config.length}, {config.sequence_count}, {config.seed}, {config.delay}"
    return f"{values}\n{code}"


def experiment_script(config: Config) -> str:
    """The whole script for ``config``: data, model, compile, fit, predict."""
    config = config.resolved()
    x_shape = config.shapes[0]
    runtime.load()  # TensorFlow set up as for training, before building the model first touches it
    model = config.build_model()  # only read for its layers; weights come from the seed
    layers = ",\n    ".join(_layer_code(layer) for layer in model.layers)
    return f'''"""{config.topology} {config.cell} on the {config.task} task, in plain Keras.

Exported by tui-echo {__version__}; reproduces:
{_command(config)}

Settings:
{_settings(config)}
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's native logging: errors only
# TensorFlow's Eigen CPU kernels, as in the lab: its oneDNN ones now and then round a rerun differently.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# TensorFlow 2.21 still writes start-up lines to file descriptor 2 when that is set from inside
# Python, so its import and first operation run with fd 2 pointed at /dev/null.
stderr, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
os.dup2(devnull, 2)
try:
    import keras

    keras.ops.zeros(1)
finally:
    os.dup2(stderr, 2)
    os.close(stderr)
    os.close(devnull)
import numpy as np

{DATA_BEGINS}: {config.sequence_count} sequence(s) of length {config.length} ({config.task} task), framed for {config.topology}
{_data(config)}
{_framing(config)}

{DATA_ENDS}: the seed fixes the initial weights, as in the lab
keras.utils.set_random_seed({config.seed})
model = keras.Sequential([
    keras.Input(shape={x_shape[1:]}),
    {layers},
])
{_training(config)}

# evaluate: the first sequence, rounded as the tutorial prints it, then full precision
result = model.predict(X, verbose=0).reshape(-1, inputs.shape[1])  # one row a training sequence
for value in result[0]:
    print("%.1f" % value)
print("predictions:", " ".join(repr(float(v)) for v in result.ravel()))
{_results(config)}
'''


def save_script(config: Config, folder: Path) -> Path:
    """Write ``experiment_script(config)`` into ``folder`` under a new name; returns its path."""
    text = experiment_script(config)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{config.topology}-{config.task}-{time.strftime('%Y%m%d-%H%M%S')}.py"
    path.write_text(text, encoding="utf-8")
    return path
