"""Comparing topologies on one problem: train each, then tabulate what differs and export it.

The comparison is a list of run records (see ``record.py``) plus derived columns; the TUI's
compare screen and ``tui-echo compare`` both read ``rows``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable

from .config import Config, ConfigError
from .events import Event
from .experiment import run_experiment
from .runs import RunStore

DEFAULT_THRESHOLD = 1e-3

# column key -> header, in display order
COLUMNS: dict[str, str] = {
    "topology": "topology",
    "x_shape": "X shape",
    "y_shape": "y shape",
    "lstm_params": "LSTM params",
    "head_params": "head params",
    "params": "total params",
    "final_loss": "final loss",
    "epoch_below": "epoch < threshold",
    "wall_s": "wall s",
    "epochs_per_s": "epochs/s",
    "max_error": "max abs error",
}
# Narrower headers for the compare screen, where they differ (``short_header``).
SHORT = {"lstm_params": "LSTM", "head_params": "head", "params": "params", "final_loss": "loss",
         "epoch_below": "ep<thr", "epochs_per_s": "ep/s", "max_error": "max err"}
FORMATS = {"final_loss": "{:.4e}", "wall_s": "{:.2f}", "epochs_per_s": "{:,.0f}", "max_error": "{:.3f}"}


def short_header(key: str) -> str:
    """A column's header in the compare screen."""
    return SHORT.get(key, COLUMNS[key])


def configs_for(base: Config, topologies: Iterable[str]) -> list[Config]:
    """The same task, seed and sizes framed by each topology (epochs/batch default per topology).

    Raises ``ConfigError`` (its reason naming the topology) when a value suits one framing but
    not another, e.g. a batch size larger than many-to-one's single sample.
    """
    configs = []
    for name in topologies:
        try:
            configs.append(replace(base, topology=name).check())
        except ConfigError as error:
            raise ConfigError(error.field, f"{error.reason} for {name}") from None
    return configs


def first_epoch_below(history: list[float], threshold: float) -> int | None:
    """1-based epoch at which the loss first fell below ``threshold``, or None (a diverged epoch is None)."""
    return next((i + 1 for i, loss in enumerate(history) if loss is not None and loss < threshold), None)


def row(record: dict[str, Any], threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """One comparison row from a run record."""
    x_shape, y_shape = Config(**record["config"]).shapes
    layers = record["layers"]
    errors = [abs(p - t) for p, t in zip(record["predictions"], record["targets"])]
    return {
        "topology": record["topology"],
        "x_shape": list(x_shape),
        "y_shape": list(y_shape),
        "lstm_params": layers[0]["params"],
        "head_params": sum(layer["params"] for layer in layers[1:]),
        "params": record["params"],
        "final_loss": record["final_loss"],
        "epoch_below": first_epoch_below(record["history"], threshold),
        "wall_s": record["wall_s"],
        "epochs_per_s": record["epochs_per_s"],
        "max_error": max(errors) if errors else None,
    }


def compare(
    configs: Iterable[Config],
    on_event: Callable[[str, Event], None] = lambda topology, event: None,
    should_stop: Callable[[], bool] = lambda: False,
    *,
    store: RunStore | None = None,
) -> list[dict[str, Any]]:
    """Train each config in turn (see ``configs_for``); returns their run records.

    A stop request ends the current training and skips the rest.
    """
    records = []
    for config in configs:
        if should_stop():
            break
        relay = lambda event, name=config.topology: on_event(name, event)  # noqa: E731
        records.append(run_experiment(config, relay, should_stop, store=store))
    return records


def cell_text(key: str, value: Any) -> str:
    """How a comparison cell reads in a table."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return "(" + ", ".join(map(str, value)) + ")"
    return FORMATS.get(key, "{}").format(value)


def to_markdown(rows: list[dict[str, Any]]) -> str:
    """A GitHub-flavoured Markdown table of the comparison."""
    lines = ["| " + " | ".join(COLUMNS.values()) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell_text(key, r[key]) for key in COLUMNS) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV with one header line of column keys; shapes written like ``5x1x1``."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: "x".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()})
    return out.getvalue()


def to_json(records: list[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> str:
    """One JSON object: each topology's full run record, and the comparison rows."""
    return json.dumps(
        {
            "threshold": threshold,
            "runs": {r["topology"]: r for r in records},
            "rows": [row(r, threshold) for r in records],
        }
    )


EXPORTERS: dict[str, Callable[[list[dict[str, Any]], float], str]] = {
    "md": lambda records, threshold: to_markdown([row(r, threshold) for r in records]),
    "csv": lambda records, threshold: to_csv([row(r, threshold) for r in records]),
    "json": to_json,
}


def export(records: list[dict[str, Any]], folder: Path, threshold: float = DEFAULT_THRESHOLD) -> list[Path]:
    """Write the comparison as Markdown, CSV and JSON into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "compare-" + time.strftime("%Y%m%d-%H%M%S")
    paths = []
    for suffix, render in EXPORTERS.items():
        path = folder / f"{stem}.{suffix}"
        path.write_text(render(records, threshold), encoding="utf-8")
        paths.append(path)
    return paths


def default_export_folder() -> Path:
    """``$XDG_DATA_HOME/tui-echo/exports`` (``~/.local/share/...`` by default)."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "tui-echo" / "exports"
