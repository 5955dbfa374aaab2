"""Sweeps: the grid and its refusals, graph-shape groups, a small local sweep end to end (its
trials equal ``engine.train`` in this process, bit for bit), and stop + resume."""

from __future__ import annotations

import json
import signal
import statistics
import time
from pathlib import Path

import pytest

from tui_echo.__main__ import main
from tui_echo.core import engine, sweep
from tui_echo.core.config import Config, ConfigError
from tui_echo.core.runs import RunStore


def test_plan_is_the_grid_times_seeds_with_settings_by_cli_name() -> None:
    plan = sweep.plan({"units": ["3", "5"], "cell": ["lstm", "gru"], "batch-size": ["1"]}, {}, [4, 5, 6])
    assert len(plan.trials) == 12 and [t.index for t in plan.trials] == list(range(12))
    first = plan.trials[0]
    assert first.settings == {"topology": "many-to-many", "cell": "lstm", "units": 3, "batch-size": 1}
    assert [t.seed for t in plan.trials[:3]] == [4, 5, 6]  # seeds innermost
    assert {(t.settings["cell"], t.settings["units"]) for t in plan.trials} == {
        ("lstm", 3), ("lstm", 5), ("gru", 3), ("gru", 5)}
    assert all(t.config == t.config.resolved() and t.config.units == t.settings["units"] for t in plan.trials)


@pytest.mark.parametrize("grid, message", [
    ({"units": ["3", "0"]}, "units must be a whole number from 1 to 1,024 (got '0')"),
    ({"lr": ["1e-3", "-1"]}, "lr must be a number greater than 0 and at most 10 (got '-1')"),
    ({"topology": ["one-to-one", "many-to-one"], "batch-size": ["5"]},
     "batch-size must be a whole number from 1 to 1 (got '5') (with --topology many-to-one)"),
    ({"bidirectional": ["true", "perhaps"]}, "bidirectional must be true or false (got 'perhaps')"),
    ({"units": [str(u) for u in range(1, 101)], "lr": [str(i / 100) for i in range(1, 101)]},
     "seeds and the lists make 20,000 trials; at most 10,000"),
])
def test_plan_refuses_with_the_cli_name(grid: dict, message: str) -> None:
    seeds = [0, 1] if len(grid.get("units", [])) == 100 else [0]
    with pytest.raises(ConfigError) as error:
        sweep.plan(grid, {}, seeds)
    assert f"{error.value.field} {error.value.reason}".startswith(message)


def test_cli_refusals_are_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, expected in [
        (["--units", "3,0"], "--units must be a whole number from 1 to 1,024 (got '0')"),
        (["--cell", "lstm,cnn"], "--cell must be one of lstm, gru, simple-rnn (got 'cnn')"),
        (["--workers", "0"], "--workers must be a whole number from 1 to 256 (got '0')"),
        (["--seeds", "0"], "--seeds must be a whole number from 1 to 100 (got '0')"),
        (["--units", ","], "--units must list one or more comma-separated values (got ',')"),
        (["--resume", "x", "--units", "3"], "--resume ID takes the sweep's own settings"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            main(["sweep", *argv])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.count("\n") == 1
        assert err.startswith(f"tui-echo sweep: error: {expected}"), err


def test_shares_balance_estimated_time_and_keep_shapes_together() -> None:
    # The benchmark's grid: 12 trials each of 1,000, 500, 1,000 and 1,000 steps, of different step costs.
    plan = sweep.plan({"topology": ["one-to-one", "many-to-one", "many-to-many", "many-to-many-dense"],
                       "lr": ["0.001", "0.003", "0.01"]}, {}, [0, 1, 2, 3])
    runs = sweep.shares(plan.trials, workers=2)
    first, second = (sum(sweep.cost(t) for t in run) for run in runs)
    assert abs(first - second) <= max(sweep.cost(t) for t in plan.trials)  # equal within a trial
    assert sweep.cost(plan.trials[24]) > sweep.cost(plan.trials[0])  # many-to-many's steps cost more
    shapes = [[engine.graph_key(t.config) for t in run] for run in runs]
    assert sum(len(set(s)) for s in shapes) == 5  # 4 shapes, one of them cut between the two workers
    assert all(s == sorted(s, key=s.index) for s in shapes)  # each shape's trials are contiguous
    for run in runs:  # and in a shape, each seed's (which reuse one model's initial weights)
        keys = [(engine.graph_key(t.config), t.seed) for t in run]
        assert keys == sorted(keys, key=keys.index)
    assert sorted(t.index for run in runs for t in run) == list(range(48))
    assert sweep.shares(plan.trials[:1], workers=4) == [plan.trials[:1]]  # no empty runs


def test_a_worker_done_with_its_run_takes_trials_from_the_end_of_the_longest_other() -> None:
    import multiprocessing

    # Run 0: shape 0 (2 trials); run 1: shape 1 (4 trials); run 2: shape 2 (1 trial).
    runs = [[{"index": i, "shape": 0} for i in (0, 1)], [{"index": i, "shape": 1} for i in (2, 3, 4, 5)],
            [{"index": 6, "shape": 2}]]
    bounds = multiprocessing.get_context("spawn").Array("i", [0, 2, 0, 4, 0, 1])
    take = lambda mine, shapes=frozenset(): (sweep._claim(runs, mine, bounds, set(shapes)) or {}).get("index")
    assert [take(0), take(1), take(0)] == [0, 2, 1]  # own runs, front first
    assert take(0) == 5  # run 0 is done: the back of run 1, which has the most left
    assert take(1) == 3 and take(1) == 4  # the owner goes on from its front
    assert take(0) is None  # a lone trial of shape 2, untraced here, is left to its owner...
    assert take(0, {2}) == 6  # ...unless this worker has traced that shape
    assert [take(n, {0, 1, 2}) for n in range(3)] == [None, None, None]  # every trial taken once


def test_groups_hold_one_graph_shape_and_split_for_idle_workers() -> None:
    plan = sweep.plan({"topology": ["one-to-one", "many-to-one"], "lr": ["0.001", "0.01", "0.1"]}, {}, [0, 1])
    pieces = sweep.groups(plan.trials, workers=2)
    assert sorted(len(p) for p in pieces) == [6, 6]  # one group per shape: lr and seed are inputs
    assert all(len({engine.graph_key(t.config) for t in piece}) == 1 for piece in pieces)
    alone = sweep.plan({"lr": ["0.001", "0.01"]}, {}, [0, 1, 2])  # one shape, 6 trials
    split = sweep.groups(alone.trials, workers=2)
    assert sorted(len(p) for p in split) == [3, 3]
    assert sorted(t.index for p in split for t in p) == list(range(6))


# --------------------------------------------------------------------------- real sweeps

GRID = ["--topology", "many-to-one,one-to-one", "--lr", "1e-3,1e-2", "--epochs", "30", "--seeds", "2"]


def test_local_sweep_json_and_runs_equal_training_here(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Two worker processes, one TF thread each; every trial is a saved, tagged run whose history
    is the same, bit for bit, as training its config in this process."""
    assert main(["sweep", *GRID, "--workers", "2", "--json", "--runs-dir", str(tmp_path), "--export", str(tmp_path / "x")]) == 0
    data = json.loads(capsys.readouterr().out)
    trials, groups = data["trials"], data["groups"]
    assert len(trials) == 8 and len(groups) == 4
    assert set(trials[0]) == {"topology", "lr", "epochs", "seed", "final_loss", "max_error", "best_epoch",
                              "status", "run_id", "settings"}
    assert trials[0]["settings"]["lr"] == trials[0]["lr"] and trials[0]["settings"]["batch-size"] == 1
    assert [(t["topology"], t["lr"], t["seed"]) for t in trials[:3]] == [
        ("many-to-one", 0.001, 0), ("many-to-one", 0.001, 1), ("many-to-one", 0.01, 0)]
    store = RunStore(tmp_path)
    for trial in trials:
        record = store.load(trial["run_id"])
        assert record["sweep"] == data["sweep"] and record["status"] == "finished"
        assert record["final_loss"] == trial["final_loss"] and len(record["history"]) == 30
        config = Config(topology=trial["topology"], lr=trial["lr"], epochs=30, seed=trial["seed"])
        here = engine.train(config, model=engine.build_model(config))
        assert list(here.history) == record["history"]
    for group in groups:
        mine = [t["final_loss"] for t in trials if (t["topology"], t["lr"]) == (group["topology"], group["lr"])]
        assert group["seeds"] == [0, 1] and group["final_loss"]["mean"] == pytest.approx(statistics.fmean(mine))
        assert group["final_loss"]["std"] == pytest.approx(statistics.stdev(mine))
    assert [g["final_loss"]["mean"] for g in groups] == sorted(g["final_loss"]["mean"] for g in groups)
    assert groups[0]["vs_best"] == "best"
    exported = json.loads((tmp_path / "x" / f"sweep-{data['sweep']}.json").read_text())
    assert exported == data


def test_sigterm_stops_within_a_second_and_resume_redoes_only_unfinished(
    cli_start, cli_run, tmp_path: Path
) -> None:
    # 2 shapes x 2 seeds of 10,000 epochs (on the graph) on one worker: 1-3 s each, stopped mid-way.
    runs = str(tmp_path)
    argv = ["sweep", "--topology", "many-to-one,one-to-one", "--units", "4", "--epochs", "10000",
            "--seeds", "2", "--workers", "1", "--json", "--runs-dir", runs]
    process = cli_start(*argv)
    store = RunStore(tmp_path)
    deadline = time.monotonic() + 240
    while not any(r.status == "finished" for r in store.list()):  # wait for the first finished trial
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    time.sleep(0.3)  # the next trial is training now
    asked = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    took = time.monotonic() - asked
    assert process.returncode == 143, err  # 128 + SIGTERM
    assert took < 1.0 * 2.5, f"exited {took:.2f} s after SIGTERM"  # 2.5x slack: shared CPUs
    first = json.loads(out)
    statuses = [t["status"] for t in first["trials"]]
    assert "finished" in statuses and "stopped" in statuses and set(statuses) <= {"finished", "stopped"}
    kept = {t["run_id"] for t in first["trials"] if t["status"] == "finished"}
    stopped_runs = [r for r in store.list() if r.status == "stopped"]
    assert len(stopped_runs) == 1 and 0 < stopped_runs[0].epochs < 10_000  # the one training when asked
    again = cli_run("sweep", "--resume", first["sweep"], "--json", "--runs-dir", runs, timeout=600)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["sweep"] == first["sweep"] and len(second["trials"]) == 4
    assert all(t["status"] == "finished" for t in second["trials"])
    assert kept <= {t["run_id"] for t in second["trials"]}  # finished trials were not redone
    trained = [r for r in store.list() if r.status == "finished"]
    assert len(trained) == 4  # one finished run per trial: nothing trained twice



def test_a_stop_while_trials_build_and_trace_ends_the_sweep_within_a_second(tmp_path) -> None:
    asked: dict[str, float] = {}

    def should_stop() -> bool:  # as soon as a trial has begun (its run folder exists): still tracing
        if "at" not in asked and any(tmp_path.glob("2*")):
            asked["at"] = time.monotonic()
        return "at" in asked

    plan = sweep.plan({"lr": ["0.001", "0.01"]}, {"task": "random-echo", "length": "60", "epochs": "30000"}, [0])
    outcomes = list(sweep.run(plan, root=tmp_path, workers=2, should_stop=should_stop))
    took = time.monotonic() - asked["at"]
    assert took < 1.0, f"the sweep ended {took:.2f} s after the stop"
    assert len(outcomes) == 2 and all(o.record is None or o.record["status"] == "stopped" for o in outcomes)
