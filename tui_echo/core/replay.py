"""A saved run as it stood at an earlier epoch: ``tui-echo runs show ID --epoch N``."""

from __future__ import annotations

from typing import Any

from .inspect import load_run_model
from .snapshots import Snapshots, first_sequence_output


def run_at_epoch(record: dict[str, Any], snapshots: Snapshots | None, epoch: int) -> dict[str, Any]:
    """``epoch`` (the snapshot's, at or before the one asked for), that epoch's ``loss`` as the
    history has it, and the first sequence's ``predictions`` from the snapshot's weights.
    ``InspectError`` when the run has no model or no snapshot at or before ``epoch``."""
    model, config, used = load_run_model(record, epoch, snapshots)
    loss = record["history"][used - 1] if used else None
    return {"id": record["id"], "epoch": used, "loss": loss, "predictions": list(first_sequence_output(config, model))}
