"""Export an experiment as a standalone plain-Keras script, in the tutorial's style.

The model code is written from the built Keras model itself (not from a second description of
each topology), so the script always matches what the lab trains. The data is embedded as
literals, so the script needs only numpy and Keras, not tui-echo.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .. import __version__
from .config import Config


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


def experiment_script(config: Config) -> str:
    """The whole script for ``config``: data, model, compile, fit, predict."""
    config = config.resolved()
    problem = config.problem
    model = config.build_model()  # only read for its layers; weights come from the seed
    layers = ",\n    ".join(_layer_code(layer) for layer in model.layers)
    flags = " --bidirectional" if config.bidirectional else ""
    return f'''"""{config.topology} LSTM on the {config.task} task, in plain Keras.

Exported by tui-echo {__version__}; reproduces:
  tui-echo run --topology {config.topology} --task {config.task} --length {config.length} \\
    --sequences {config.sequences} --delay {config.delay} --cell {config.cell} --layers {config.layers}{flags} \\
    --units {config.units} --epochs {config.epochs} --batch-size {config.batch_size} --lr {config.lr} \\
    --seed {config.seed}
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras
import numpy as np

# data: {problem.inputs.shape[0]} sequence(s) of length {config.length}, framed for {config.topology}
inputs = {_array(problem.inputs)}
targets = {_array(problem.targets)}
X = inputs.reshape{tuple(problem.X.shape)}
y = targets.reshape{tuple(problem.y.shape)}

# model: the seed fixes the initial weights, as in the lab
keras.utils.set_random_seed({config.seed})
model = keras.Sequential([
    keras.Input(shape={tuple(problem.X.shape[1:])}),
    {layers},
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate={config.lr!r}), loss="mean_squared_error")
model.summary()

# train
model.fit(X, y, epochs={config.epochs}, batch_size={config.batch_size}, shuffle={config.shuffle}, verbose=0)

# evaluate: the first sequence, rounded as the tutorial prints it, then full precision
result = model.predict(X, verbose=0).reshape(inputs.shape)
for value in result[0]:
    print("%.1f" % value)
print("predictions:", " ".join(repr(float(v)) for v in result.ravel()))
'''


def save_script(config: Config, folder: Path) -> Path:
    """Write ``experiment_script(config)`` into ``folder`` under a new name; returns its path."""
    text = experiment_script(config)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{config.topology}-{config.task}-{time.strftime('%Y%m%d-%H%M%S')}.py"
    path.write_text(text, encoding="utf-8")
    return path
