"""Results over seeds: the statistics, the best epoch, which rows the seeds cannot separate, and
``compare --seeds`` end to end (a few epochs)."""

from __future__ import annotations

import csv
import io
import json
import random
import statistics
from pathlib import Path

import pytest

from tui_echo.__main__ import main
from tui_echo.core import aggregate
from tui_echo.core.compare import seeded_markdown, seeded_rows


def test_stats_agree_with_the_statistics_module() -> None:
    rng = random.Random(7)
    for n in (2, 3, 10):
        values = [rng.lognormvariate(-8, 3) for _ in range(n)]
        got = aggregate.stats([*values, None])  # None: a run without the value is left out
        assert got["n"] == n and got["min"] == min(values) and got["max"] == max(values)
        assert got["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert got["std"] == pytest.approx(statistics.stdev(values), rel=1e-12)
    assert aggregate.stats([4.0]) == {"mean": 4.0, "std": 0.0, "min": 4.0, "max": 4.0, "n": 1}
    assert aggregate.stats([None, None]) is None


def test_best_epoch_is_the_first_lowest_finite_loss() -> None:
    assert aggregate.best_epoch([0.5, 0.1, 0.3, 0.1]) == 2
    assert aggregate.best_epoch([0.5, None]) == 1  # a diverged run's last loss is null
    assert aggregate.best_epoch([float("nan"), 0.2]) == 2
    assert aggregate.best_epoch([]) is None


def summary(mean: float, std: float) -> dict:
    return {"final_loss": {"mean": mean, "std": std, "min": mean - std, "max": mean + std, "n": 3}}


def test_rows_within_the_seed_spread_of_the_best_are_not_separable() -> None:
    rows = [summary(5.0, 1.0), summary(1.0, 0.5), summary(2.0, 0.6), summary(1.6, 0.05), {"final_loss": None}]
    # best 1.0 ± 0.5 reaches 1.5: 2.0 - 0.6 = 1.4 overlaps it, 1.6 - 0.05 = 1.55 does not.
    assert aggregate.separability(rows) == ["separable", "best", "not separable", "separable", None]
    assert aggregate.separability([summary(1.0, 0.0), summary(1.0, 0.0)]) == ["best", "not separable"]
    assert aggregate.separability([{"final_loss": None}]) == [None]


def record(topology: str, seed: int, history: list[float], predictions: list[float]) -> dict:
    return {"topology": topology, "config": {"seed": seed}, "params": 146, "history": history,
            "final_loss": history[-1], "predictions": predictions, "targets": [0.0, 0.5]}


def test_seeded_rows_aggregate_each_topology_over_its_seeds() -> None:
    records = [
        record("a", 0, [0.4, 0.2, 0.3], [0.1, 0.5]),
        record("a", 1, [0.4, 0.1, 0.05], [0.0, 0.2]),
        record("b", 0, [0.9, 0.8, 0.7], [0.5, 0.5]),
    ]
    a, b = seeded_rows(records)
    assert a["seeds"] == [0, 1] and b["seeds"] == [0]
    assert a["final_loss"]["mean"] == pytest.approx(0.175) and a["final_loss"]["max"] == 0.3
    assert a["max_error"]["min"] == pytest.approx(0.1) and a["max_error"]["max"] == pytest.approx(0.3)
    assert a["best_epoch"] == {"mean": 2.5, "std": pytest.approx(0.7071067811865476), "min": 2, "max": 3, "n": 2}
    assert (a["vs_best"], b["vs_best"]) == ("best", "separable")
    table = seeded_markdown([a, b]).splitlines()
    assert "final loss (mean ± std)" in table[0]
    assert table[2].startswith("| a | 2 | 146 | 1.7500e-01 ± 1.7678e-01 | 5.0000e-02 … 3.0000e-01 |")


# --------------------------------------------------------------------------- the command


ARGS = ["compare", "--topologies", "one-to-one,many-to-one", "--epochs", "4"]


def test_compare_seeds_json_markdown_and_exports(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    runs = ["--runs-dir", str(tmp_path / "runs")]
    assert main([*ARGS, *runs, "--seed", "3", "--seeds", "3", "--json", "--export", str(tmp_path / "out")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["runs"]) == ["one-to-one", "many-to-one"]
    for row in data["rows"]:
        seeded = data["runs"][row["topology"]]
        assert [r["config"]["seed"] for r in seeded] == row["seeds"] == [3, 4, 5]
        losses = [r["history"][-1] for r in seeded]
        assert len(set(losses)) == 3  # the seeds really differ
        assert row["final_loss"]["mean"] == pytest.approx(statistics.fmean(losses), rel=1e-12)
        assert row["final_loss"]["std"] == pytest.approx(statistics.stdev(losses), rel=1e-12)
        assert row["vs_best"] in ("best", "not separable", "separable")
    md, csv_path, json_path = sorted((tmp_path / "out").iterdir(), key=lambda p: ["md", "csv", "json"].index(p.suffix[1:]))
    assert "± " in md.read_text() and json.loads(json_path.read_text())["rows"] == data["rows"]
    table = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [float(r["final_loss_mean"]) for r in table] == [r["final_loss"]["mean"] for r in data["rows"]]
    assert main([*ARGS, *runs, "--seeds", "2", "--markdown"]) == 0
    assert "| one-to-one | 2 | 146 |" in capsys.readouterr().out


def test_compare_seeds_1_is_the_plain_comparison(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    timing = {"wall_s", "epochs_per_s"}
    outputs = []
    for extra in ([], ["--seeds", "1"]):
        assert main([*ARGS, "--runs-dir", str(tmp_path), "--json", *extra]) == 0
        data = json.loads(capsys.readouterr().out)
        outputs.append(([{k: v for k, v in r.items() if k not in timing} for r in data["rows"]],
                        [r["history"] for r in data["runs"].values()]))
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("value, expected", [
    ("0", "--seeds must be a whole number from 1 to 100 (got '0')"),
    ("101", "--seeds must be a whole number from 1 to 100 (got '101')"),
    ("x", "--seeds must be a whole number from 1 to 100 (got 'x')"),
])
def test_compare_refuses_bad_seeds(capsys: pytest.CaptureFixture[str], value: str, expected: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*ARGS, "--seeds", value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err == f"tui-echo compare: error: {expected}\n"


def test_seeds_may_not_run_past_the_largest_seed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*ARGS, "--seed", str(2**31 - 2), "--seeds", "3"])
    assert exit_info.value.code == 2 and "--seeds must keep seed + seeds - 1 at most 2,147,483,647" in capsys.readouterr().err


def test_with_validation_everywhere_rows_are_ranked_by_the_final_val_loss() -> None:
    from tui_echo.core import aggregate

    def row(loss: float, val: float | None) -> dict:
        entry = {"final_loss": {"mean": loss, "std": 0.0}}
        return {**entry, "final_val_loss": {"mean": val, "std": 0.0}} if val is not None else entry

    fitted_best, held_out_best = row(0.01, 0.5), row(0.1, 0.2)
    assert aggregate.ranking_metric([fitted_best, held_out_best]) == "final_val_loss"
    assert aggregate.separability([fitted_best, held_out_best], "final_val_loss") == ["separable", "best"]
    # One row without validation: the rows are compared on what they all have.
    assert aggregate.ranking_metric([fitted_best, row(0.1, None)]) == "final_loss"
