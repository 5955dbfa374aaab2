"""``TuiEchoCallback``: record someone's own ``model.fit`` into the run store.

The run then lists in ``tui-echo runs``, opens in the runs screen, diffs and exports like a lab
run. Its ``run.json`` says ``"source": "callback"`` and its name; ``config`` holds only the lab
settings that apply to such a model (epochs, learning rate, recurrent cell, layers and units,
sequence length, batch size when given, engine ``fit``), and ``keras`` what Keras itself reports
(layers, optimizer, loss, steps per epoch). Keras 3 does not tell callbacks the batch size (its
``params`` are verbose, epochs and steps), so it is recorded only when passed here.
"""

from __future__ import annotations

import importlib.metadata
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .version import __version__
from .core.cells import BY_LAYER
from .core.events import Epochs
from .core.events import SAMPLE_SEQUENCES
from .core.rules import ConfigError
from .core.runs import RunStore
from .core.settings import BY_NAME
from .core.summary import summarize


def _warn(message: str) -> None:
    sys.stderr.write(f"tui-echo: warning: {message}\n")


# Not runtime.versions()/device_name(): those load TensorFlow through runtime.load(), which sets
# threads and GPU memory growth -- settings TensorFlow refuses once the person's script has run it.
def _versions() -> dict[str, str]:
    """Python, TensorFlow, Keras and tui-echo versions, for the record."""
    try:
        tensorflow = importlib.metadata.version("tensorflow")
    except importlib.metadata.PackageNotFoundError:
        tensorflow = None
    return {"python": platform.python_version(), "tensorflow": tensorflow, "keras": keras.__version__,
            "tui-echo": __version__}


def _device() -> str:
    """GPU if Keras sees one, else CPU."""
    return "GPU" if any(d.lower().startswith("gpu") for d in keras.distribution.list_devices()) else "CPU"


def _recurrent(model: Any) -> list[tuple[Any, bool]]:
    """The model's recurrent layers, each with whether it is wrapped in ``Bidirectional``."""
    found = []
    for layer in model.layers:
        wrapped = type(layer).__name__ == "Bidirectional"
        inner = layer.forward_layer if wrapped else layer
        if type(inner).__name__ in BY_LAYER:
            found.append((inner, wrapped))
    return found


def _layers_text(model: Any) -> str:
    """``LSTM(5) > Dense(1)``: the model in one line."""
    parts = []
    for layer in model.layers:
        units = getattr(layer, "units", None) or getattr(getattr(layer, "forward_layer", None), "units", None)
        parts.append(f"{type(layer).__name__}({units})" if units else type(layer).__name__)
    return " > ".join(parts)


def _lab_settings(model: Any, epochs: int, lr: float | None, batch_size: int | None) -> dict[str, Any]:
    """The lab settings that describe this model and training, each kept only if the lab allows it."""
    values: dict[str, Any] = {"epochs": epochs, "lr": lr, "engine": "fit", "batch_size": batch_size}
    recurrent = _recurrent(model)
    if recurrent:
        first, wrapped = recurrent[0]
        values.update(cell=BY_LAYER[type(first).__name__].name, layers=len(recurrent), units=first.units,
                      bidirectional=wrapped)
    shape = model.inputs[0].shape if model.inputs else ()
    if len(shape) == 3 and shape[1] is not None:
        values["length"] = shape[1]
    kept = {}
    for name, value in values.items():
        rule = BY_NAME[name].rule
        if value is None:
            continue
        try:
            kept[name] = rule.parse(name, value) if rule is not None else int(value)
        except ConfigError:
            continue  # e.g. 8 stacked layers: the lab's range does not cover it, so it is left out
    return kept


class TuiEchoCallback(keras.callbacks.Callback):
    """Record a ``model.fit`` run as a tui-echo run: settings, per-epoch losses (and ``val_loss``),
    predictions on ``sample=(x, y)`` when given, and the trained model.

    ``runs_dir``: the run store (default: ``$TUI_ECHO_RUNS_DIR`` or ``~/.local/share/tui-echo/runs``).
    The run's ID is ``run_id`` once training has begun. A run that cannot be saved is a warning on
    stderr, never an exception in the training.
    """

    def __init__(
        self,
        name: str = "keras",
        *,
        sample: tuple[Any, Any] | None = None,
        batch_size: int | None = None,
        runs_dir: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.sample = sample
        self.batch_size = batch_size
        self.store = RunStore(Path(runs_dir) if runs_dir is not None else None, warn=_warn)
        self.run_id: str | None = None
        self._writer: Any = None
        self._history: list[float | None] = []
        self._validation: list[float | None] = []
        self._started = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Create the run folder: the run lists as "running" from here on."""
        model, optimizer = self.model, self.model.optimizer
        lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate)) if optimizer is not None else None
        epochs = int(self.params.get("epochs") or 0)
        loss = self.model.loss
        keras_settings = {
            "layers": _layers_text(model),
            "optimizer": type(optimizer).__name__.lower() if optimizer is not None else "-",
            "lr": lr,
            "loss": loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__),
            "epochs": epochs,
            "steps_per_epoch": self.params.get("steps"),
            "batch_size": self.batch_size,
        }
        tags = {"source": "callback", "name": self.name,
                "keras": {k: v for k, v in keras_settings.items() if v is not None}}
        self._history, self._validation = [], []
        self._started = time.perf_counter()
        self._writer = self.store.start(_lab_settings(model, epochs, lr, self.batch_size), tags)
        self.run_id = self._writer.meta["id"] if self._writer is not None else None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Append the epoch's loss to the run's history as it ends (so ``tui-echo runs`` sees it)."""
        logs = logs or {}
        loss = _loss(logs.get("loss"))
        self._history.append(loss)
        if "val_loss" in logs:
            self._validation.append(_loss(logs["val_loss"]))
        if self._writer is not None:
            self._writer(Epochs(len(self._history), (math.nan if loss is None else loss,),
                                time.perf_counter() - self._started))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Save the result, the sample's predictions and the model."""
        if self._writer is None:
            return
        summary = summarize(self.model)
        record: dict[str, Any] = {
            "topology": self.name,
            "status": "finished",  # early stopping ends a fit normally too
            "layers": [
                {"name": r.name, "type": r.type, "output_shape": list(r.output_shape), "params": r.params,
                 "formula": r.formula}
                for r in summary.layers
            ],
            "params": summary.trainable,
            "history": self._history,
            "final_loss": self._history[-1] if self._history else None,
            "predictions": [],
            "targets": [],
            "wall_s": time.perf_counter() - self._started,
            "engine": "fit",
            "versions": _versions(),
            "device": _device(),
        }
        if self._validation:
            record["val_history"] = self._validation
        if self.sample is not None:
            record.update(self._sample_record())
        self._writer.finish(record, self.model)

    def _sample_record(self) -> dict[str, Any]:
        """Targets and predictions of the sample's first sequences, and the first one's inputs
        when it has one value a step."""
        x, y = self.sample
        x, y = np.asarray(x)[:SAMPLE_SEQUENCES], np.asarray(y)[:SAMPLE_SEQUENCES]
        predicted = np.asarray(self.model.predict(x, verbose=0))
        found = {
            "targets": [float(v) for v in y.ravel()],
            "predictions": [float(v) for v in predicted.ravel()[: y.size]],
            "sample_sequences": len(y),
        }
        if x[0].size == y[0].size:
            found["inputs"] = [float(v) for v in x[0].ravel()]
        return found


def _loss(value: Any) -> float | None:
    """A loss from Keras' logs; None for a NaN or infinite one (as the lab keeps a diverged epoch)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
