"""One finished (or stopped, or failed) training as a plain JSON-ready dict.

``tui-echo run --json`` prints it, ``compare`` nests one per topology, and the run store saves it.
"""

from __future__ import annotations

from typing import Any

from .config import Config
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
    return record


def label(record: dict[str, Any]) -> str:
    """What a run is called in lists: its topology, or a callback run's name."""
    return record["config"].get("topology") or record.get("name") or "keras"


def first_sequence(record: dict[str, Any]) -> tuple[list[float], list[float]]:
    """The first sequence's targets and predictions (a record keeps the first few sequences; a
    lab run still training or interrupted has saved none, so its targets are drawn again)."""
    if "targets" not in record and record.get("source") != "callback":
        return Config(**record["config"]).first_sequence[1].tolist(), []
    targets = record.get("targets") or []
    steps = len(targets) // max(1, record.get("sample_sequences") or 1)
    return targets[:steps], (record.get("predictions") or [])[:steps]


def first_inputs(record: dict[str, Any]) -> list[float] | None:
    """The first sequence's inputs, one a step: drawn again from a lab run's config; a callback
    run's are saved with it when its sample has one value a step (None otherwise)."""
    if record.get("source") == "callback":
        return record.get("inputs")
    return Config(**record["config"]).first_sequence[0].tolist()
