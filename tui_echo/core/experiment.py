"""One experiment end to end: build the model, summarise it, train it, and record the outcome.

Every front end (TUI, ``run``, ``compare``) goes through ``run_experiment`` so they all produce
the same record.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from . import engine, runtime
from .config import Config
from .events import Listener
from .record import run_record
from .summary import summarize


def run_experiment(
    config: Config,
    on_event: Listener = lambda event: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Build, train and describe ``config``; returns its run record (see ``record.py``)."""
    config = config.resolved()
    started = time.perf_counter()
    model = engine.build_model(config)
    summary = summarize(model)
    final = engine.train(config, on_event, should_stop, model=model)
    return run_record(
        config,
        summary,
        final,
        device=runtime.device_name(),
        versions=runtime.versions(),
        wall_s=time.perf_counter() - started,
    )
