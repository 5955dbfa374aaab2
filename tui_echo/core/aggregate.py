"""Results over seeds: mean, std, min and max of each result, and which rows the seeds cannot tell apart.

Pure functions of run records (see ``record.py``); no TensorFlow. ``compare --seeds`` and
``sweep`` both use them, so their numbers are computed one way.

- The results of one run are its final loss, its max absolute prediction error and its best
  epoch: the epoch whose weights early stopping kept, else the 1-based epoch of the lowest
  validation loss (with validation data) or of the lowest loss. A run with validation data also
  has its final and its lowest validation loss (``VAL_METRICS``); rows carry those only when one
  of their runs has them, so results without validation read as before.
- ``std`` is the sample standard deviation (divided by n - 1); 0 for a single value. Runs
  without a value (a diverged run has no final loss) are left out, and ``n`` says how many counted.
- **Not separable**: a row whose final-loss interval ``[mean - std, mean + std]`` overlaps the
  interval of the best row (lowest mean final loss) is *not separable* from it: the difference
  is within the spread that changing the seed alone produces. With one seed the std is 0, so
  only an equal loss overlaps. This is a plain reading aid, not a significance test. When every
  row has validation data, rows are ranked by the final *validation* loss instead
  (``ranking_metric``): what held-out data says, not how well the training data was fitted.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

METRICS = ("final_loss", "max_error", "best_epoch")
VAL_METRICS = ("final_val_loss", "best_val_loss")
STATS = ("mean", "std", "min", "max")

BEST, NOT_SEPARABLE, SEPARABLE = "best", "not separable", "separable"


def best_epoch(history: list[float | None]) -> int | None:
    """1-based epoch of the lowest finite loss (the first such epoch on a tie), or None."""
    finite = [(loss, i) for i, loss in enumerate(history) if loss is not None and math.isfinite(loss)]
    return min(finite)[1] + 1 if finite else None


def record_best_epoch(record: dict[str, Any]) -> int | None:
    """A run's best epoch: the one early stopping kept, else the lowest validation loss's (with
    validation data), else the lowest loss's."""
    return record.get("best_epoch") or best_epoch(record.get("val_history") or record.get("history") or [])


def max_error(record: dict[str, Any]) -> float | None:
    """The largest |prediction - target| of a run, or None when it has no predictions."""
    errors = [abs(p - t) for p, t in zip(record["predictions"], record["targets"])]
    return max(errors) if errors else None


def results(record: dict[str, Any]) -> dict[str, Any]:
    """One run's results, keyed by ``METRICS`` (and ``VAL_METRICS`` when it had validation data)."""
    validation = record.get("val_history") or []
    found = {
        "final_loss": record["final_loss"],
        "max_error": max_error(record),
        "best_epoch": record_best_epoch(record),
    }
    if validation:
        finite = [v for v in validation if v is not None and math.isfinite(v)]
        last = validation[-1]
        found["final_val_loss"] = last if last is not None and math.isfinite(last) else None
        found["best_val_loss"] = min(finite) if finite else None
    return found


def metrics(rows: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """``METRICS``, and ``VAL_METRICS`` when any of ``rows`` (results or summaries) has them."""
    rows = list(rows)
    return METRICS + tuple(m for m in VAL_METRICS if any(m in r for r in rows))


def stats(values: Iterable[float | None]) -> dict[str, float | int] | None:
    """mean, std (n - 1), min, max and n of the values that are not None; None if there are none."""
    kept = [float(v) for v in values if v is not None]
    if not kept:
        return None
    n = len(kept)
    mean = math.fsum(kept) / n
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in kept) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(kept), "max": max(kept), "n": n}


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Every metric's stats over ``records`` (one run per seed), and the seeds they were."""
    each = [results(r) for r in records]
    return {
        "seeds": [r["config"]["seed"] for r in records],
        **{metric: stats(e.get(metric) for e in each) for metric in metrics(each)},
    }


def ranking_metric(rows: list[dict[str, Any]]) -> str:
    """What "best" means for these rows: the final validation loss when every row that has a final
    loss also has one, else the final loss."""
    ranked = [r for r in rows if r.get("final_loss")]
    return "final_val_loss" if ranked and all(r.get("final_val_loss") for r in ranked) else "final_loss"


RANKED_BY = {"final_loss": "final loss", "final_val_loss": "final val loss"}  # for captions


def separability(summaries: list[dict[str, Any]], metric: str = "final_loss") -> list[str | None]:
    """``BEST``, ``NOT_SEPARABLE`` or ``SEPARABLE`` for each summary (see the module docstring);
    None for a row without a value."""
    present = [s[metric] for s in summaries if s.get(metric)]
    if not present:
        return [None] * len(summaries)
    best = min(present, key=lambda s: s["mean"])
    labels: list[str | None] = []
    for summary in summaries:
        own = summary.get(metric)
        if own is None:
            labels.append(None)
        elif own is best:
            labels.append(BEST)
        else:
            overlap = own["mean"] - own["std"] <= best["mean"] + best["std"]  # own mean >= best mean
            labels.append(NOT_SEPARABLE if overlap else SEPARABLE)
    return labels


def flat(summary: dict[str, Any]) -> dict[str, float | int | None]:
    """``final_loss_mean``, ``final_loss_std``, ... for CSV: one column per metric and statistic."""
    return {
        f"{metric}_{stat}": (summary[metric] or {}).get(stat) for metric in metrics([summary]) for stat in STATS
    }


def mean_std_text(entry: dict[str, float | int] | None, spec: str) -> str:
    """``1.2e-05 ± 3e-06`` (``-`` without values)."""
    if entry is None:
        return "-"
    return f"{format(entry['mean'], spec)} ± {format(entry['std'], spec)}"


def range_text(entry: dict[str, float | int] | None, spec: str) -> str:
    """``min … max`` (``-`` without values)."""
    if entry is None:
        return "-"
    return f"{format(entry['min'], spec)} … {format(entry['max'], spec)}"
