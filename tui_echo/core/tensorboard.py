"""Saved runs as TensorBoard logs: per-epoch losses as scalars, settings as HParams.

Written from the run store, after training, with TensorBoard's own writers
(``tf.summary.create_file_writer`` and ``tensorboard.plugins.hparams.api``), so
``tensorboard --logdir DIR`` reads them as it reads any Keras run:

- ``DIR/<run id>/``: scalars ``loss`` and (when the run had validation data) ``val_loss`` at steps
  1, 2, ... (the epoch), and the run's settings as HParams with the run ID as trial ID.
- the runs of one sweep go under ``DIR/sweep-<sweep id>/<run id>/``, beside one ``hparams_config``
  naming each setting's values and the metrics, so that folder is one HParams experiment.

Exporting a run again replaces the event files of its folder (nothing else there is touched).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Iterable

from . import runtime

INSTALL_HINT = "TensorBoard export needs the tensorboard package: pip install 'tui-echo[tensorboard]'"
EVENTS = "events.out.tfevents.*"
METRICS = (("loss", "training loss"), ("val_loss", "validation loss"))


class TensorBoardMissing(RuntimeError):
    """The ``tensorboard`` package is not installed; the message says how to install it."""


def check_available() -> None:
    """``TensorBoardMissing`` unless ``tensorboard`` can be imported (checked without importing it)."""
    if importlib.util.find_spec("tensorboard") is None:
        raise TensorBoardMissing(INSTALL_HINT)


def hparams_of(record: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """The run's settings that HParams can hold: its config, and a callback run's Keras settings."""
    values = {**record.get("config", {}), **record.get("keras", {})}
    if record.get("name"):
        values["name"] = record["name"]
    return {k: v for k, v in values.items() if isinstance(v, (bool, int, float, str))}


def run_folder(record: dict[str, Any], root: Path) -> Path:
    """Where one run's logs go: its sweep's folder, if it belongs to one."""
    sweep = record.get("sweep")
    return (root / f"sweep-{sweep}" if sweep else root) / record["id"]


def export(records: Iterable[dict[str, Any]], root: Path) -> list[Path]:
    """Write each run record (as ``RunStore.load`` returns it) under ``root``; the folders written.

    ``TensorBoardMissing`` without the package; ``OSError`` when ``root`` cannot be written.
    """
    check_available()
    tf, _ = runtime.load()
    from tensorboard.plugins.hparams import api as hp

    from tensorboard.plugins.scalar import metadata

    # What tf.summary.scalar writes, without the name scope it would add inside the loop below.
    scalar = metadata.create_summary_metadata(display_name=None, description=None)

    records = list(records)
    written = []
    for record in records:
        folder = run_folder(record, root)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(EVENTS):
            old.unlink()
        writer = tf.summary.create_file_writer(str(folder))

        # A compiled loop instead of a Python call per epoch: 100,000 epochs take ~1 s, not ~17 s.
        # Defined per run: it holds the writer it was traced with.
        @tf.function
        def scalars(tag: Any, losses: Any, epochs: Any) -> None:
            with writer.as_default():
                for i in tf.range(tf.size(losses)):
                    tf.summary.write(tag, losses[i], step=epochs[i], metadata=scalar)

        with writer.as_default():
            hp.hparams(hparams_of(record), trial_id=record["id"])
            for tag, _ in METRICS:
                history = record.get("val_history" if tag == "val_loss" else "history") or []
                # The epoch a run diverged has no loss to draw.
                kept = [(epoch, loss) for epoch, loss in enumerate(history, 1) if loss is not None]
                if kept:
                    epochs, losses = zip(*kept)
                    scalars(tf.constant(tag), tf.constant(losses, tf.float32), tf.constant(epochs, tf.int64))
        writer.close()
        written.append(folder)
    sweeps: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("sweep"):
            sweeps.setdefault(record["sweep"], []).append(record)
    for sweep, members in sweeps.items():
        _experiment(tf, hp, root / f"sweep-{sweep}", members)
    return written


def _experiment(tf: Any, hp: Any, folder: Path, records: list[dict[str, Any]]) -> None:
    """One HParams experiment for a sweep: every setting its runs share, with the values they took."""
    settings = [hparams_of(record) for record in records]
    shared = [name for name in settings[0] if all(name in s for s in settings)]
    declared = []
    for name in shared:
        values = sorted({s[name] for s in settings}, key=repr)
        if len({_kind(v) for v in values}) == 1:  # an HParams domain holds one type of value
            declared.append(hp.HParam(name, hp.Discrete(values)))
    has_validation = any(record.get("val_history") for record in records)
    metrics = [hp.Metric(tag, display_name=shown) for tag, shown in METRICS if tag == "loss" or has_validation]
    for old in folder.glob(EVENTS):
        old.unlink()
    writer = tf.summary.create_file_writer(str(folder))
    with writer.as_default():
        hp.hparams_config(hparams=declared, metrics=metrics)
    writer.close()


def _kind(value: Any) -> type:
    """The HParams type a value takes: bool, str, or a number (ints are stored as floats)."""
    return bool if isinstance(value, bool) else str if isinstance(value, str) else float
