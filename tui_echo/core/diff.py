"""Two saved runs side by side: what differs in their settings and what came of it.

Pure: it reads two run records (as ``RunStore.load`` returns them) and returns plain data, which
``tui-echo diff`` prints (text, ``--json``, ``--markdown``) and the runs screen shows (key ``d``).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from .formatting import format_loss
from .record import first_sequence


def best(history: list[float | None]) -> tuple[float | None, int | None]:
    """The lowest loss and its 1-based epoch (diverged epochs, None, are skipped)."""
    found = [(loss, epoch) for epoch, loss in enumerate(history, 1) if loss is not None]
    return min(found) if found else (None, None)


def settings_of(record: dict[str, Any]) -> dict[str, Any]:
    """Every setting a run records: its config, and for a callback run its Keras settings."""
    keras = {f"keras.{k}": v for k, v in (record.get("keras") or {}).items()}
    return {"source": record.get("source", "lab"), **record.get("config", {}), **keras}


def diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What differs between runs ``a`` and ``b``, and both runs' outcomes, as JSON-ready data."""
    settings_a, settings_b = settings_of(a), settings_of(b)
    differing = [
        {"setting": name, "a": settings_a.get(name), "b": settings_b.get(name)}
        for name in dict.fromkeys([*settings_a, *settings_b])
        if settings_a.get(name) != settings_b.get(name)
    ]
    targets, predictions_a = first_sequence(a)
    _, predictions_b = first_sequence(b)
    steps = []
    if predictions_a and len(predictions_a) == len(predictions_b):
        steps = [
            {"step": step, "target": target, "a": pa, "b": pb, "b_minus_a": pb - pa}
            for step, (target, pa, pb) in enumerate(zip(targets, predictions_a, predictions_b))
        ]
    return {
        "a": a["id"],
        "b": b["id"],
        "settings": differing,
        "runs": {key: _outcome(run) for key, run in (("a", a), ("b", b))},
        "predictions": steps,
    }


def _outcome(record: dict[str, Any]) -> dict[str, Any]:
    history = record.get("history") or []
    best_loss, best_epoch = best(history)
    outcome = {
        "status": record.get("status"),
        "params": record.get("params"),
        "epochs": len(history),
        "final_loss": history[-1] if history else None,
        "best_loss": best_loss,
        "best_epoch": best_epoch,
        "wall_s": record.get("wall_s"),
    }
    if record.get("val_history"):
        validation = record["val_history"]
        outcome["final_val_loss"] = validation[-1]
        outcome["best_val_loss"], outcome["best_val_epoch"] = best(validation)
    return outcome


OUTCOMES = {
    "status": "status",
    "params": "parameters",
    "epochs": "epochs",
    "final_loss": "final loss",
    "best_loss": "best loss",
    "best_epoch": "best epoch",
    "final_val_loss": "final val loss",
    "best_val_loss": "best val loss",
    "best_val_epoch": "best val epoch",
    "wall_s": "wall time (s)",
}


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if "loss" in key:
        return format_loss(value)
    if key == "wall_s":
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(what, A, B)`` text rows: the differing settings, then the outcomes."""
    found = [(s["setting"], _cell(s["setting"], s["a"]), _cell(s["setting"], s["b"])) for s in result["settings"]]
    runs = result["runs"]
    for key, label in OUTCOMES.items():
        if key in runs["a"] or key in runs["b"]:
            found.append((label, _cell(key, runs["a"].get(key)), _cell(key, runs["b"].get(key))))
    return found


def prediction_rows(result: dict[str, Any]) -> list[tuple[str, ...]]:
    """``(step, target, A, B, B - A)`` text rows for the first sequence."""
    return [
        (str(p["step"]), f"{p['target']:.3f}", f"{p['a']:.4f}", f"{p['b']:.4f}", f"{p['b_minus_a']:+.4f}")
        for p in result["predictions"]
    ]


PREDICTION_HEADERS = ("step", "target", "A", "B", "B - A")


def render(result: dict[str, Any]) -> list[Table]:
    """The diff as rich tables: settings and outcomes, then the predictions."""
    table = Table(title="Diff", title_justify="left")
    table.add_column("")
    for header in (f"A {result['a']}", f"B {result['b']}"):
        table.add_column(header, justify="right")
    for row in rows(result):
        table.add_row(*row)
    if not result["settings"]:
        table.caption, table.caption_justify = "the same settings", "left"
    tables = [table]
    if result["predictions"]:
        predictions = Table(title="Predictions (first sequence)", title_justify="left")
        for header in PREDICTION_HEADERS:
            predictions.add_column(header, justify="right")
        for row in prediction_rows(result):
            predictions.add_row(*row)
        tables.append(predictions)
    return tables


def to_markdown(result: dict[str, Any]) -> str:
    """The diff as Markdown tables."""
    lines = [f"| | A `{result['a']}` | B `{result['b']}` |", "|---|---:|---:|"]
    lines += [f"| {what} | {a} | {b} |" for what, a, b in rows(result)]
    if result["predictions"]:
        lines += ["", "| " + " | ".join(PREDICTION_HEADERS) + " |", "|" + "---:|" * len(PREDICTION_HEADERS)]
        lines += ["| " + " | ".join(row) + " |" for row in prediction_rows(result)]
    return "\n".join(lines) + "\n"
