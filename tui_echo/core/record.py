"""One finished (or stopped, or failed) training as a plain JSON-ready dict.

``tui-echo run --json`` prints it, ``compare`` nests one per topology, and the run store saves it.
"""

from __future__ import annotations

from typing import Any

from .config import Config
from .events import Cancelled, Failed, Finished
from .summary import Summary

STATUS = {Finished: "finished", Cancelled: "stopped", Failed: "failed"}

SAMPLE_SEQUENCES = 16
"""How many sequences (the first ones) a record keeps the targets and predictions of.

Enough to read and compare a run by eye; bounded, so a data set of 100,000 long sequences does not
make a record (or a saved run) of hundreds of megabytes. ``sample_sequences`` says how many it kept.
"""


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
    if isinstance(final, Failed):
        record["error"] = final.message
    return record
