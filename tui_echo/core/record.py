"""One finished (or stopped, or failed) training as a plain JSON-ready dict.

``tui-echo run --json`` prints it, ``compare`` nests one per topology, and the run store saves it.
"""

from __future__ import annotations

import math
from typing import Any

from .config import Config, ConfigError
from .events import SAMPLE_SEQUENCES, Cancelled, Failed, Finished  # (the record keeps the same sample)
from .summary import Summary

STATUS = {Finished: "finished", Cancelled: "stopped", Failed: "failed"}


def run_record(
    config: Config,
    summary: Summary,
    final: Finished | Cancelled | Failed,
    *,
    device: str,
    versions: dict[str, str],
    wall_s: float,
) -> dict[str, Any]:
    """Everything a person needs to read, compare or reproduce this training."""
    config = config.resolved()
    history = list(final.history)
    targets = config.problem.targets[:SAMPLE_SEQUENCES]
    record: dict[str, Any] = {
        "topology": config.topology,
        "status": STATUS[type(final)],
        "config": config.to_dict(),
        "layers": [
            {
                "name": r.name,
                "type": r.type,
                "output_shape": list(r.output_shape),
                "params": r.params,
                "formula": r.formula,
            }
            for r in summary.layers
        ],
        "params": summary.trainable,
        "history": history,
        "final_loss": history[-1] if history else None,
        "predictions": [],
        "targets": [float(v) for v in targets.ravel()],
        "sample_sequences": len(targets),
        "wall_s": wall_s,
        "compile_s": None,
        "epochs_per_s": None,
        "engine": config.engine,
        "versions": versions,
        "device": device,
    }
    data = config.data_description
    if data is not None:
        # The file may change or go: the record keeps how its data was made and what it showed.
        record.update(data=data, inputs=[float(v) for v in config.problem.inputs[:SAMPLE_SEQUENCES].ravel()])
    if isinstance(final, Finished):
        record.update(
            predictions=list(final.predictions[: targets.size]),
            wall_s=final.wall_s,
            compile_s=final.compile_s,
            epochs_per_s=final.epochs_per_s,
        )
        if final.best_epoch is not None:  # early stopping: the epoch whose weights the model kept
            record["best_epoch"] = final.best_epoch
    if not isinstance(final, Failed) and final.val_history:
        record["val_history"] = list(final.val_history)
    if isinstance(final, Failed):
        record["error"] = final.message
    if not isinstance(final, Failed) and final.val_history:
        record.update(validation(list(final.val_history)))
    if isinstance(final, Finished) and final.best_epoch is not None:
        record["best_epoch"] = final.best_epoch  # early stopping: the epoch whose weights the model keeps
    return record


def validation(val_history: list[float | None]) -> dict[str, Any]:
    """A record's validation fields: each epoch's validation loss, the last, and the lowest."""
    finite = [v for v in val_history if v is not None and math.isfinite(v)]
    last = val_history[-1] if val_history else None
    return {
        "val_history": val_history,
        "final_val_loss": last if last is not None and math.isfinite(last) else None,
        "best_val_loss": min(finite) if finite else None,
    }


def label(record: dict[str, Any]) -> str:
    """What a run is called in lists: its topology, or a callback run's name."""
    return record["config"].get("topology") or record.get("name") or "keras"


def first_sequence(record: dict[str, Any]) -> tuple[list[float], list[float]]:
    """The first sequence's targets and predictions (a record keeps the first few sequences; a
    lab run still training or interrupted has saved none, so its targets are drawn again, or read
    again from its CSV file: none when that file is gone or no longer fits)."""
    if "targets" not in record and record.get("source") != "callback":
        try:
            return Config(**record["config"]).first_sequence[1].tolist(), []
        except ConfigError:
            return [], []
    targets = record.get("targets") or []
    steps = len(targets) // max(1, record.get("sample_sequences") or 1)
    return targets[:steps], (record.get("predictions") or [])[:steps]


def first_inputs(record: dict[str, Any]) -> list[float] | None:
    """The first sequence's inputs, one a step (a csv run's first column): drawn again from a lab
    run's config; a callback run's are saved with it when its sample has one value a step, and a
    csv run's (None otherwise)."""
    if record.get("source") == "callback" or "inputs" in record:
        inputs = record.get("inputs")
        steps = len(record.get("targets") or []) // max(1, record.get("sample_sequences") or 1)
        return inputs[:steps] if inputs and record.get("source") != "callback" else inputs
    try:
        return Config(**record["config"]).first_sequence[0].tolist()
    except ConfigError:  # a csv run still training whose file is gone
        return None
