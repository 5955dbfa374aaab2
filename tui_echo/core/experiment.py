"""One experiment end to end: build the model, summarise it, train it, and record the outcome.

Every front end (TUI, ``run``, ``compare``) goes through ``run_experiment`` so they all produce
the same record, are all saved to the run store, and all stop the same way on divergence.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from . import engine, runtime
from .config import Config
from .events import Epochs, Event, Listener
from .record import run_record, validation
from .runs import RunStore
from .snapshots import Snapshots
from .summary import summarize


class DivergenceWatch:
    """Notices the first non-finite loss so training can stop there."""

    def __init__(self) -> None:
        self.epoch: int | None = None

    def __call__(self, event: Event) -> None:
        if self.epoch is None and isinstance(event, Epochs):
            for offset, loss in enumerate(event.losses):
                if not math.isfinite(loss):
                    self.epoch = event.first + offset
                    return


def run_experiment(
    config: Config,
    on_event: Listener = lambda event: None,
    should_stop: Callable[[], bool] = lambda: False,
    *,
    store: RunStore | None = None,
    tags: dict[str, Any] | None = None,
    snapshots: Snapshots | None = None,
    hold_at: Callable[[int], int | None] | None = None,
    model: Any = None,
) -> dict[str, Any]:
    """Build, train, describe and (with a ``store``) save ``config``; returns its run record.

    ``tags`` (e.g. ``{"sweep": id, "trial": 3}``) go into the record and the saved run's meta.
    ``snapshots`` receives the weights at the snapshot epochs (they are saved with the run either way).
    ``hold_at`` goes to ``engine.train`` (stepping a paused training epoch by epoch).
    ``model``, if given, is trained instead of a new one: it must be as ``engine.build_model(config)``
    returns it (its weights included).

    A NaN or infinite loss stops training: the record's status is "diverged", its history ends
    at that epoch, and its ``error`` suggests a lower learning rate. A run the store cannot write
    (a full disk) stops too, and its record is "failed" with the store's reason.
    """
    config = config.resolved()
    started = time.perf_counter()
    writer = store.start(config.to_dict(), tags) if store is not None else None
    watch = DivergenceWatch()

    def listen(event: Event) -> None:
        watch(event)
        if writer is not None:
            writer(event)
        on_event(event)

    model = model if model is not None else engine.build_model(config)
    summary = summarize(model)

    def should_end() -> bool:
        # A run the store can no longer write (a full disk) stops: more training would be kept nowhere.
        # So does one that an attached lab asked to stop (``runs.request_stop``).
        return watch.epoch is not None or should_stop() or (
            writer is not None and (writer.error is not None or writer.stop_requested())
        )

    snapshots = snapshots if snapshots is not None else Snapshots()
    final = engine.train(config, listen, should_end, model=model, snapshots=snapshots, hold_at=hold_at)
    record = run_record(
        config,
        summary,
        final,
        device=runtime.device_name(),
        versions=runtime.versions(),
        wall_s=time.perf_counter() - started,
    )
    record.update(tags or {})
    if watch.epoch is not None:
        bad = record["history"][watch.epoch - 1]
        # JSON has no NaN: the diverged epoch's loss is kept as null, its value in the message.
        history = record["history"][: watch.epoch - 1] + [None]
        if "val_history" in record:  # the same epochs; JSON has no NaN either
            record["val_history"] = [v if math.isfinite(v) else None for v in record["val_history"][: watch.epoch]]
        record.update(
            status="diverged",
            history=history,
            final_loss=None,
            predictions=[],
            error=f"loss became {bad} at epoch {watch.epoch}: try a lower learning rate (lr is {config.lr:g})",
        )
        if record.get("val_history"):  # kept as long as the history, up to the epoch before
            record.update(validation(record["val_history"][: watch.epoch - 1] + [None]))
    if writer is not None:
        record["id"] = writer.meta["id"]
        kept = record["status"] != "diverged"
        writer.finish(record, model if kept else None, snapshots if kept else None)
        if writer.error is not None:
            record.update(status="failed", error=f"could not save the run: {writer.error}")
    return record
