"""A sweep on a real local Ray (2 CPUs) gives the local workers' results, trial for trial and
bit for bit (the engine picks its executable from the config alone, in any process).

Ray starts once for this module (~5-10 s of the module's time on 2 busy cores, printed by ``-s``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tui_echo.core import sweep
from tui_echo.core.runs import HISTORY

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    began = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    print(f"\nray.init took {time.perf_counter() - began:.1f} s")
    yield
    ray.shutdown()


def test_ray_sweep_equals_local_workers_trial_for_trial(local_ray, tmp_path: Path) -> None:
    plan = sweep.plan({"topology": ["many-to-one", "one-to-one"], "lr": ["1e-3", "1e-2"], "epochs": ["30"]}, {}, [0, 1])
    began = time.perf_counter()
    on_ray = {o.trial.index: o.record for o in sweep.run(plan, root=tmp_path / "ray", use_ray=True, workers=2)}
    ray_s = time.perf_counter() - began
    local = {o.trial.index: o.record for o in sweep.run(plan, root=tmp_path / "local", workers=2)}
    print(f"8 trials: Ray {ray_s:.1f} s, local workers {time.perf_counter() - began - ray_s:.1f} s")
    assert sorted(on_ray) == sorted(local) == list(range(8))
    for index, record in on_ray.items():
        assert record["status"] == local[index]["status"] == "finished"
        assert record["sweep"] == plan.id and record["trial"] == index
        assert record["history"] == local[index]["history"] and len(record["history"]) == 30
        assert record["predictions"] == local[index]["predictions"]
    assert len({r["final_loss"] for r in on_ray.values()}) == 8  # every trial really differs


def test_ray_sweep_stops_within_a_second(local_ray, tmp_path: Path) -> None:
    # Trials of 15,000 graph epochs (seconds each), stopped as soon as one has begun training.
    plan = sweep.plan({"topology": ["many-to-one", "one-to-one"], "epochs": ["15000"]}, {}, [0, 1])
    asked: list[float] = []

    def should_stop() -> bool:
        if not asked and any(tmp_path.glob(f"*/{HISTORY}")):  # opened at a trial's first epochs
            asked.append(time.perf_counter())
        return bool(asked)

    outcomes = list(sweep.run(plan, root=tmp_path, use_ray=True, workers=2, should_stop=should_stop))
    late = time.perf_counter() - asked[0]
    assert late < 1.0 * 2.5, f"ended {late:.2f} s after the stop"  # 2.5x slack: shared CPUs
    assert len(outcomes) == 4 and all(o.record is None or o.record["status"] == "stopped" for o in outcomes)
    stopped = [o.record for o in outcomes if o.record]
    # A trial the stop reached while it traced has no epochs yet; the one that was training has some.
    assert stopped and all(len(r["history"]) < 15_000 for r in stopped)
    assert any(len(r["history"]) > 0 for r in stopped)


def test_ray_results_stream_back_trial_by_trial(local_ray, tmp_path: Path) -> None:
    # One group (one graph shape) of a short trial, then a long one: the short one's record arrives
    # while the long one trains, so a stop asked on its arrival stops the long one part-way.
    plan = sweep.plan({"topology": ["many-to-one"], "epochs": ["20", "15000"]}, {}, [0])
    seen: list[dict] = []

    def should_stop() -> bool:
        return bool(seen)

    for outcome in sweep.run(plan, root=tmp_path, use_ray=True, workers=1, should_stop=should_stop):
        seen.append(outcome.record)
    first, second = seen
    assert first["status"] == "finished" and len(first["history"]) == 20
    assert second is None or (second["status"] == "stopped" and len(second["history"]) < 15_000)
