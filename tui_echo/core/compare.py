"""Comparing topologies on one problem: train each, then tabulate what differs and export it.

The comparison is a list of run records (see ``record.py``) plus derived columns; the TUI's
compare screen and ``tui-echo compare`` both read ``rows``. With several seeds per topology,
``seeded_rows`` gives each topology's results over its seeds (see ``aggregate.py``).
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

from . import aggregate
from .config import MAX_SEED, Config, ConfigError
from .events import Event
from .experiment import run_experiment
from .runs import RunStore
from .settings import by_option, setting_text, settings_line, shared_settings

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
# Shown only when a row has them (runs with validation data; early stopping), so a comparison
# without them reads as before: ``columns``.
VAL_COLUMNS: dict[str, str] = {"final_val_loss": "final val loss", "best_epoch": "best epoch"}
# Narrower headers for the compare screen, where they differ (``short_header``).
SHORT = {"lstm_params": "LSTM", "head_params": "head", "params": "params", "final_loss": "loss",
         "epoch_below": "ep<thr", "epochs_per_s": "ep/s", "max_error": "max err", "final_val_loss": "val loss",
         "best_epoch": "best ep"}
FORMATS = {"final_loss": "{:.4e}", "wall_s": "{:.2f}", "epochs_per_s": "{:,.0f}", "max_error": "{:.3f}",
           "final_val_loss": "{:.4e}", "best_epoch": "{:,}"}
MAX_SEEDS = 100
# Seeded rows: each metric's number format (losses as ``format_loss`` writes them); "vs best" is
# ``aggregate.separability``.
SEEDED_FORMATS = {"final_loss": ".4e", "max_error": ".3f", "best_epoch": ".0f", "final_val_loss": ".4e",
                  "best_val_loss": ".4e"}
SEEDED_HEADERS = {"final_loss": "final loss", "max_error": "max abs error", "best_epoch": "best epoch",
                  "final_val_loss": "final val loss", "best_val_loss": "best val loss"}


def short_header(key: str) -> str:
    """A column's header in the compare screen."""
    return SHORT.get(key, {**COLUMNS, **VAL_COLUMNS}[key])


def columns(rows: list[dict[str, Any]]) -> dict[str, str]:
    """``COLUMNS``, and each of ``VAL_COLUMNS`` that a row has."""
    return {**COLUMNS, **{k: h for k, h in VAL_COLUMNS.items() if any(k in r for r in rows)}}


def record_settings(record: dict[str, Any]) -> dict[str, Any]:
    """A run's every setting by its command-line name (``settings.by_option``)."""
    return by_option(record["config"])


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
    data = record.get("data")  # a csv run's shapes are saved: its file may have changed since
    x_shape, y_shape = (data["x_shape"], data["y_shape"]) if data else Config(**record["config"]).shapes
    layers = record["layers"]
    errors = [abs(p - t) for p, t in zip(record["predictions"], record["targets"])]
    extra = {}
    if record.get("val_history"):
        extra["final_val_loss"] = aggregate.results(record)["final_val_loss"]
    if record.get("best_epoch") is not None:
        extra["best_epoch"] = record["best_epoch"]
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
        **extra,
    }


def seeds_for(seed: int, count: int) -> list[int]:
    """``seed`` .. ``seed + count - 1``; a ``ConfigError`` on ``seeds`` when out of range."""
    if not 1 <= count <= MAX_SEEDS:
        raise ConfigError("seeds", f"must be a whole number from 1 to {MAX_SEEDS} (got {count})")
    if seed + count - 1 > MAX_SEED:
        raise ConfigError("seeds", f"must keep seed + seeds - 1 at most {MAX_SEED:,} (got {seed} + {count} - 1)")
    return list(range(seed, seed + count))


def compare(
    configs: Iterable[Config],
    on_event: Callable[[str, Event], None] = lambda topology, event: None,
    should_stop: Callable[[], bool] = lambda: False,
    *,
    store: RunStore | None = None,
    seeds: int = 1,
) -> list[dict[str, Any]]:
    """Train each config in turn (see ``configs_for``), on ``seeds`` seeds from its own: config
    by config, seed by seed; returns their run records in that order.

    A stop request ends the current training and skips the rest.
    """
    records = []
    for config in configs:
        for seed in seeds_for(config.seed, seeds):
            if should_stop():
                return records
            relay = lambda event, name=config.topology: on_event(name, event)  # noqa: E731
            records.append(run_experiment(replace(config, seed=seed), relay, should_stop, store=store))
    return records


def seeded_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per topology (in first-seen order): its parameters, each metric's stats over its
    seeds (``aggregate.summarize``), and ``vs_best`` (``aggregate.separability``)."""
    by_topology: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_topology.setdefault(record["topology"], []).append(record)
    rows = [
        {"topology": name, "params": runs[0]["params"], **aggregate.summarize(runs)}
        for name, runs in by_topology.items()
    ]
    for r, label in zip(rows, aggregate.separability(rows, aggregate.ranking_metric(rows))):
        r["vs_best"] = label
    return rows


def seeded_markdown(rows: list[dict[str, Any]], settings: list[dict[str, Any]] | None = None) -> str:
    """Markdown: each metric as mean ± std and min … max over the seeds (with ``settings``, one
    ``by_option`` dict a row: the settings line above, and columns for those that differ)."""
    metrics = aggregate.metrics(rows)
    head, differ = _settings_head(settings)
    extra = [n for n in differ if n != "topology"]
    headers = ["topology", "seeds", "params"]
    for metric in metrics:
        name = SEEDED_HEADERS[metric]
        headers += [f"{name} (mean ± std)", f"{name} (min … max)"]
    headers += ["vs best", *extra]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for i, r in enumerate(rows):
        cells = [r["topology"], str(len(r["seeds"])), str(r["params"])]
        for metric in metrics:
            spec = SEEDED_FORMATS[metric]
            cells += [aggregate.mean_std_text(r.get(metric), spec), aggregate.range_text(r.get(metric), spec)]
        cells.append(r["vs_best"] or "-")
        cells += [setting_text(settings[i].get(n)) for n in extra] if settings else []
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def seeded_csv(rows: list[dict[str, Any]], settings: list[dict[str, Any]] | None = None) -> str:
    """CSV: ``final_loss_mean``, ``final_loss_std``, ... per topology, then (with ``settings``)
    every setting of the row by its command-line name."""
    out = io.StringIO()
    lines = []
    for i, r in enumerate(rows):
        line = {"topology": r["topology"], "seeds": len(r["seeds"]), "params": r["params"],
                **aggregate.flat(r), "vs_best": r["vs_best"]}
        lines.append({**line, **{k: v for k, v in (settings[i] if settings else {}).items() if k not in line}})
    fields = list(dict.fromkeys(k for line in lines for k in line)) or ["topology"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()


def seeded_settings(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each seeded row's settings: its first seed's run's (``seeds`` lists the others)."""
    first: dict[str, dict[str, Any]] = {}
    for record in records:
        first.setdefault(record["topology"], record)
    return [record_settings(r) for r in first.values()]


def seeded_json(records: list[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> str:
    """One JSON object: every run record by topology (one per seed), and the seeded rows, each
    with its ``settings`` by command-line name."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        runs.setdefault(record["topology"], []).append(record)
    rows = [{**r, "settings": s} for r, s in zip(seeded_rows(records), seeded_settings(records))]
    return json.dumps({"threshold": threshold, "runs": runs, "rows": rows})


def _settings_head(settings: list[dict[str, Any]] | None) -> tuple[str, list[str]]:
    """A Markdown export's settings line (those every row shares), and the names of those that
    differ between rows (each gets a column)."""
    if not settings:
        return "", []
    shared, differ = shared_settings(settings)
    return settings_line(shared) + "\n\n", differ


def cell_text(key: str, value: Any) -> str:
    """How a comparison cell reads in a table."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return "(" + ", ".join(map(str, value)) + ")"
    return FORMATS.get(key, "{}").format(value)


def to_markdown(rows: list[dict[str, Any]], settings: list[dict[str, Any]] | None = None) -> str:
    """A GitHub-flavoured Markdown table of the comparison; with ``settings`` (one ``by_option``
    dict a row) a settings line above it, and a column for each setting that differs."""
    head, differ = _settings_head(settings)
    shown = columns(rows)
    extra = [n for n in differ if n != "topology"]
    headers = [*shown.values(), *extra]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for i, r in enumerate(rows):
        own = [setting_text(settings[i].get(n)) for n in extra] if settings else []
        lines.append("| " + " | ".join([*(cell_text(key, r.get(key)) for key in shown), *own]) + " |")
    return head + "\n".join(lines) + "\n"


def to_csv(rows: list[dict[str, Any]], settings: list[dict[str, Any]] | None = None) -> str:
    """CSV with one header line of column keys, then (with ``settings``) every setting of the
    row by its command-line name; shapes written like ``5x1x1``."""
    out = io.StringIO()
    lines = []
    for i, r in enumerate(rows):
        line = {k: "x".join(map(str, v)) if isinstance(v, list) else v for k, v in r.items()}
        lines.append({**line, **{k: v for k, v in (settings[i] if settings else {}).items() if k not in line}})
    fields = list(dict.fromkeys([*columns(rows), *(k for line in lines for k in line)]))
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return out.getvalue()


def to_json(records: list[dict[str, Any]], threshold: float = DEFAULT_THRESHOLD) -> str:
    """One JSON object: each topology's full run record, and the comparison rows, each with its
    ``settings`` by command-line name."""
    return json.dumps(
        {
            "threshold": threshold,
            "runs": {r["topology"]: r for r in records},
            "rows": [{**row(r, threshold), "settings": record_settings(r)} for r in records],
        }
    )


EXPORTERS: dict[str, Callable[[list[dict[str, Any]], float], str]] = {
    "md": lambda records, threshold: to_markdown([row(r, threshold) for r in records],
                                                 [record_settings(r) for r in records]),
    "csv": lambda records, threshold: to_csv([row(r, threshold) for r in records],
                                             [record_settings(r) for r in records]),
    "json": to_json,
}


SEEDED_EXPORTERS: dict[str, Callable[[list[dict[str, Any]], float], str]] = {
    "md": lambda records, threshold: seeded_markdown(seeded_rows(records), seeded_settings(records)),
    "csv": lambda records, threshold: seeded_csv(seeded_rows(records), seeded_settings(records)),
    "json": seeded_json,
}


def export(
    records: list[dict[str, Any]], folder: Path, threshold: float = DEFAULT_THRESHOLD, *, seeded: bool = False
) -> list[Path]:
    """Write the comparison (``seeded``: its rows over seeds) as Markdown, CSV and JSON into
    ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = "compare-" + time.strftime("%Y%m%d-%H%M%S")
    paths = []
    for suffix, render in (SEEDED_EXPORTERS if seeded else EXPORTERS).items():
        path = folder / f"{stem}.{suffix}"
        path.write_text(render(records, threshold), encoding="utf-8")
        paths.append(path)
    return paths


def default_export_folder() -> Path:
    """``$XDG_DATA_HOME/tui-echo/exports`` (``~/.local/share/...`` by default)."""
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "tui-echo" / "exports"
