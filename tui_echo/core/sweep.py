"""Sweeps: a grid of settings times seeds, every trial a saved run, trained in parallel.

``plan`` turns what a person typed (``--cell lstm,gru --units 3,5,8 --seeds 5``) into trials,
validating every combination with ``Config.from_fields``. ``run`` trains them and yields each
trial's record as it finishes, so a front end only renders:

- **on this machine** in worker processes (``multiprocessing.Pool``, spawn
  context: a forked TensorFlow is not safe), one TensorFlow thread each, so N workers use N cores
  without fighting over them;
- **on Ray** (``pip install 'tui-echo[ray]'``), as Ray Core tasks. Ray Core rather than Tune: a
  fixed grid needs no trial scheduler or search algorithm, and the trials must go through our
  own deterministic engine and run store (Tune would wrap each trial in its own trainable, result
  and checkpoint machinery). One task per graph-shape group keeps Ray's work to placing tasks
  and carrying results back; ``ray.wait`` streams them as groups finish.

Trials travel in graph-shape order (``engine.graph_key``): a worker traces a shape's program
once and reuses it for that shape's other trials (learning rate, seed and data are inputs of the
program), and one seed's trials of a shape reuse one model's initial weights. A local worker gets
one run of about equal estimated time (``shares``) and, done with it, takes trials from the end of
another's run; a Ray task is one shape's group, split when a shape would leave CPUs idle (``groups``).
The engine picks graph or XLA from the config alone, so a trial's history is the same in any
worker, on Ray, or in ``tui-echo run``.

Every trial is a saved run tagged ``{"sweep": id, "trial": index}``; the sweep's plan is kept in
``<runs>/.sweeps/<id>.json``, so ``--resume ID`` redoes only the trials without a finished run.
On a Ray cluster the runs are written by the node that trains them: give ``--runs-dir`` a
folder every node shares, or resuming will not see the other nodes' runs.

Stopping (``should_stop``) reaches running trials within one engine chunk (~50 ms; Ray tasks
poll a flag at most every ``RAY_POLL_S``): they end as "stopped" runs, finished ones are kept,
and trials that never started are reported with status "stopped" and no run.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import queue
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from . import aggregate, runtime
from .config import Config, ConfigError
from .runs import RunStore, default_root, write_atomically
from .settings import SETTINGS, by_option, setting_text, settings_line, shared_settings

# The settings a sweep can vary, from the settings spec: CLI name (without --) -> Config field,
# in grid order. Seeds are --seeds; the engine and batch order are one per sweep.
NOT_SWEPT = ("seed", "engine", "shuffle")
SWEPT = {s.option.removeprefix("--"): s.name for s in SETTINGS if s.option and s.name not in NOT_SWEPT}
MAX_TRIALS = 10_000
MAX_WORKERS = 256
RAY_POLL_S = 0.25
DONE = ("finished", "diverged")  # outcomes a rerun would repeat exactly: not redone on resume
BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def split_values(option: str, text: str) -> list[str]:
    """``"3,5,8"`` -> ``["3", "5", "8"]`` (repeats dropped). Commas separate values here, so a
    thousand is written 1000."""
    values = list(dict.fromkeys(v.strip() for v in text.split(",") if v.strip()))
    if not values:
        raise ConfigError(option, f"must list one or more comma-separated values (got {text!r})")
    return values


def _boolean(option: str, text: str) -> bool:
    try:
        return BOOLEANS[text.lower()]
    except KeyError:
        raise ConfigError(option, f"must be true or false (got {text!r})") from None


@dataclass(frozen=True)
class Trial:
    """One training of the sweep: its place in the grid, its swept settings and its config."""

    index: int
    settings: dict[str, Any]  # CLI name -> parsed value, for each option the sweep was given
    config: Config  # resolved

    @property
    def seed(self) -> int:
        return self.config.seed


@dataclass
class Plan:
    """A sweep's trials and what made them (saved so ``--resume`` can rebuild them)."""

    id: str
    grid: dict[str, list[str]]  # CLI name -> values as typed
    base: dict[str, Any]  # settings not swept (engine, shuffle)
    seeds: list[int]
    trials: list[Trial] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "grid": self.grid, "base": self.base, "seeds": self.seeds}


def new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def plan(grid: dict[str, list[str]], base: dict[str, Any], seeds: list[int], sweep_id: str | None = None) -> Plan:
    """Every combination of ``grid`` values (CLI names) times ``seeds``, validated.

    Raises ``ConfigError`` whose field is the CLI name; a value that only some combinations
    refuse (a batch size too big for one topology) says which combination.
    """
    unknown = [name for name in grid if name not in SWEPT]
    if unknown:
        raise ConfigError(unknown[0], "is not a setting a sweep can vary")
    names = [name for name in SWEPT if name in grid]
    size = math.prod(len(grid[name]) for name in names) * len(seeds)
    if size > MAX_TRIALS:
        raise ConfigError("seeds", f"and the lists make {size:,} trials; at most {MAX_TRIALS:,}")
    result = Plan(sweep_id or new_id(), {n: list(grid[n]) for n in names}, dict(base), list(seeds))
    for combo in itertools.product(*(grid[name] for name in names)):
        typed = dict(zip(names, combo))
        fields = {SWEPT[name]: value for name, value in typed.items()}
        if "bidirectional" in fields:
            fields["bidirectional"] = _boolean("bidirectional", fields["bidirectional"])
        try:
            config = Config.from_fields({**base, **fields}).resolved()
        except ConfigError as error:
            option = next((n for n, f in SWEPT.items() if f == error.field), error.field)
            # A value refused only alongside others (batch size vs topology): say which.
            others = [f"--{n} {v}" for n, v in typed.items() if n != option and len(grid[n]) > 1]
            reason = error.reason + (f" (with {' '.join(others)})" if others else "")
            raise ConfigError(option, reason) from None
        settings = {"topology": config.topology, **{name: getattr(config, SWEPT[name]) for name in names}}
        for seed in seeds:
            result.trials.append(
                Trial(len(result.trials), settings, Config(**{**config.to_dict(), "seed": seed}).resolved())
            )
    return result


# --------------------------------------------------------------------------- saving and resuming


def plans_folder(root: Path | None) -> Path:
    return (root if root is not None else default_root()) / ".sweeps"


def save_plan(sweep: Plan, root: Path | None, status: dict[int, str] | None = None) -> Path:
    """Write the plan (and, at the end, each trial's status) to ``<runs>/.sweeps/<id>.json``."""
    folder = plans_folder(root)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sweep.id}.json"
    data = {**sweep.to_dict(), "trials": len(sweep.trials)}
    if status is not None:
        data["status"] = {str(k): v for k, v in sorted(status.items())}
    write_atomically(path, json.dumps(data, indent=1).encode())
    return path


def load_plan(sweep_id: str, root: Path | None) -> Plan:
    """The plan of sweep ``sweep_id``, rebuilt; ``KeyError`` if there is none."""
    path = plans_folder(root) / f"{sweep_id}.json"
    if "/" in sweep_id or not path.is_file():
        raise KeyError(sweep_id)
    data = json.loads(path.read_text(encoding="utf-8"))
    return plan(data["grid"], data["base"], data["seeds"], data["id"])


def finished_records(sweep_id: str, store: RunStore) -> dict[int, dict[str, Any]]:
    """Trial index -> the saved record of each trial of ``sweep_id`` that ended for good."""
    found: dict[int, dict[str, Any]] = {}
    for info in store.list():
        if info.status not in DONE:
            continue
        record = store.load(info.id)
        if record.get("sweep") == sweep_id and isinstance(record.get("trial"), int):
            found[record["trial"]] = record
    return found


# --------------------------------------------------------------------------- running


def by_shape(trials: list[Trial]) -> list[list[Trial]]:
    """The trials in groups of one graph shape (``engine.graph_key``), in first-seen order; in a
    group, the trials of one seed are together (they start from the same weights: ``_model_for``)."""
    from .engine import graph_key  # (numpy only until a program is traced)

    found: dict[tuple, list[Trial]] = {}
    for trial in trials:
        found.setdefault(graph_key(trial.config), []).append(trial)
    return [sorted(group, key=lambda t: t.seed) for group in found.values()]


# A trial's fixed cost beyond its steps (building or resetting its model, saving its run), in
# ``engine.cost``'s seconds: fitted so the tutorial topologies' shares match their measured times.
TRIAL_S = 0.05


def cost(trial: Trial) -> float:
    """A trial's estimated seconds, without tracing: what its share of a worker's time is planned from."""
    from .engine import cost as estimate  # (arithmetic on the config)

    found = estimate(trial.config)
    return found.steps * found.step_seconds + TRIAL_S


def shares(trials: list[Trial], workers: int) -> list[list[Trial]]:
    """One run of trials per worker, of about equal estimated time (``cost``), cut from the trials
    in graph-shape order (McNaughton's wrap-around rule): each worker traces only the shapes in its
    run, and at most ``workers - 1`` shapes are traced by two workers. (Whole groups per worker
    left one of 2 workers with 24k of 42k tutorial steps.) A worker done with its run takes trials
    from the end of another's (``_claim``), so estimates that are off leave no one idle."""
    ordered = [t for group in by_shape(trials) for t in group]
    costs = [cost(t) for t in ordered]
    target = sum(costs) / max(1, workers)
    runs: list[list[Trial]] = [[]]
    done = 0.0
    for trial, spent in zip(ordered, costs):
        # Cut before this trial when most of it would fall past this worker's share.
        if runs[-1] and len(runs) < workers and done + spent / 2 > len(runs) * target:
            runs.append([])
        runs[-1].append(trial)
        done += spent
    return runs


def groups(trials: list[Trial], workers: int) -> list[list[Trial]]:
    """Trials in groups of one graph shape (one Ray task each); a shape with many trials is split
    into up to ``workers`` pieces (of whole trials) so no worker idles while another has a long queue."""
    fair = math.ceil(len(trials) / max(1, workers))  # a worker's share
    pieces = []
    for members in by_shape(trials):
        count = max(1, min(workers, math.ceil(len(members) / fair)))
        size = math.ceil(len(members) / count)
        pieces += [members[i : i + size] for i in range(0, len(members), size)]
    return sorted(pieces, key=len, reverse=True)  # long groups first: they set the finish time


_built: dict[str, Any] = {}  # in a worker: the latest trial's Keras model, its shape, seed and initial weights


def _model_for(config: Config) -> Any:
    """``engine.build_model(config)``, reused: trials of one graph shape and seed (a sweep over
    learning rates) start from the same weights, so the model built for the first is reset to
    them for the next. (A build took ~30 ms of a ~100 ms tutorial trial.) The fast engine only:
    ``fit`` also draws its batch order from the random state that building leaves."""
    from .engine import build_model, graph_key

    key = (graph_key(config), config.seed)
    if config.engine != "fast" or _built.get("key") != key:
        model = build_model(config)
        _built.clear()
        if config.engine == "fast":
            _built.update(key=key, model=model, weights=model.get_weights())
        return model
    model = _built["model"]
    model.set_weights(_built["weights"])
    return model


def _train(payload: dict[str, Any], root: str | None, should_stop: Callable[[], bool]) -> dict[str, Any]:
    """One trial in this process (a worker or a Ray task): its run record, saved in the store."""
    from .experiment import run_experiment

    store = RunStore(Path(root) if root else None, warn=lambda message: print(f"tui-echo: warning: {message}", file=sys.stderr))
    tags = {"sweep": payload["sweep"], "trial": payload["index"]}
    config = Config(**payload["config"]).resolved()
    return run_experiment(config, should_stop=should_stop, store=store, tags=tags, model=_model_for(config))


def _payloads(piece: list[Trial], sweep_id: str) -> list[dict[str, Any]]:
    return [{"index": t.index, "sweep": sweep_id, "config": t.config.to_dict()} for t in piece]


_worker: dict[str, Any] = {}  # a worker process's stop flag, result queue and the runs' bounds


def _init_worker(stop: Any, results: Any, bounds: Any, device: str, memory_growth: bool) -> None:
    """Worker set-up: Ctrl+C reaches every process of the terminal's group, and only the parent
    decides what it means; one TensorFlow thread, as N workers share N cores; TensorFlow imported
    now (seconds), while the parent plans, so that a worker claims trials only once it can train."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    runtime.configure(device=device, memory_growth=memory_growth, cpu_threads=1)
    _worker.update(stop=stop, results=results, bounds=bounds)
    try:
        runtime.load()
    except Exception:  # (a missing device) each trial reports it as its failure
        pass


def _claim(runs: list[list[dict[str, Any]]], mine: int, bounds: Any, shapes: set[int]) -> dict[str, Any] | None:
    """The next trial for the worker on run ``mine``: the front of its own run, then (once that is
    all taken) the back of the run with the most left, so its owner keeps its shape to the end.
    ``bounds`` holds each run's untaken range (front, back), shared by the workers. A lone trial
    left in a shape this worker has not traced is left to its owner, who has."""
    with bounds.get_lock():
        front, back = bounds[2 * mine], bounds[2 * mine + 1]
        if front < back:
            bounds[2 * mine] = front + 1
            return runs[mine][front]
        left = [bounds[2 * r + 1] - bounds[2 * r] for r in range(len(runs))]
        other = max(range(len(runs)), key=left.__getitem__)
        back = bounds[2 * other + 1]
        if left[other] == 0 or (left[other] == 1 and runs[other][back - 1]["shape"] not in shapes):
            return None
        bounds[2 * other + 1] = back - 1
        return runs[other][back - 1]


def _local_piece(runs: list[list[dict[str, Any]]], mine: int, root: str | None) -> int:
    """Train run ``mine`` (then others' leftovers) in a worker, sending each record as it ends;
    returns how many were sent."""
    stop, results, bounds = _worker["stop"], _worker["results"], _worker["bounds"]
    sent, shapes = 0, set()
    while not stop.is_set():
        payload = _claim(runs, mine, bounds, shapes)
        if payload is None:
            break
        shapes.add(payload["shape"])
        results.put((payload["index"], _train(payload, root, stop.is_set)))
        sent += 1
    return sent


STOP_GRACE_S = 0.6  # after a stop, how long workers get to save their trials before they are ended


class Workers:
    """Local worker processes (``multiprocessing.Pool``, spawn), started as soon as a sweep knows
    it will train: each imports TensorFlow (seconds) while the parent reads the run store."""

    def __init__(self, count: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.count = count
        self.stop, self.results = context.Event(), context.Queue()
        self.closed = False
        self.bounds = context.Array("i", 2 * count)  # each run's untaken trials: front, back
        settings = runtime.settings
        self.pool = context.Pool(count, initializer=_init_worker,
                                 initargs=(self.stop, self.results, self.bounds, settings.device, settings.memory_growth))

    def close(self) -> None:
        """End the workers. Ended, not closed: every record is in (or a stop's grace is over), a
        worker's own exit with TensorFlow loaded took 1-2 s, and one still compiling is not waited for."""
        if self.closed:
            return
        self.closed = True
        self.stop.set()
        self.pool.terminate()
        self.pool.join()


def run_local(
    sweep: Plan, trials: list[Trial], root: Path | None, workers: Workers | None, should_stop: Callable[[], bool]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(trial index, record) for each trial as it ends, trained by ``workers`` (ended when it ends;
    None only when there are no ``trials``).

    A stop reaches a training trial within one engine chunk and it saves itself as stopped; a
    worker still tracing or compiling (which cannot be interrupted) after ``STOP_GRACE_S`` is
    ended (``Pool.terminate``), so a stop takes under a second; its trial counts as stopped (its
    run folder, left "running" by a process that is gone, lists as interrupted).
    """
    stop, results = workers.stop, workers.results
    root_text = str(root) if root is not None else None
    stopped_at: float | None = None
    try:
        shape = {t.index: number for number, group in enumerate(by_shape(trials)) for t in group}
        runs = [[{**p, "shape": shape[p["index"]]} for p in _payloads(run, sweep.id)]
                for run in shares(trials, workers.count)]
        with workers.bounds.get_lock():
            for number in range(workers.count):
                workers.bounds[2 * number] = 0
                workers.bounds[2 * number + 1] = len(runs[number]) if number < len(runs) else 0
        pieces = [workers.pool.apply_async(_local_piece, (runs, number, root_text)) for number in range(len(runs))]
        received = 0
        while True:
            if stopped_at is None and should_stop():
                stop.set()
                stopped_at = time.monotonic()
            try:
                yield results.get(timeout=0.05)
                received += 1
                if received == len(trials):
                    return
                continue
            except queue.Empty:
                pass
            if all(piece.ready() for piece in pieces):
                sent = sum(piece.get() for piece in pieces)  # a worker that raised raises here
                if received >= sent:  # (the queue may lag the results)
                    return
            if stopped_at is not None and time.monotonic() - stopped_at > STOP_GRACE_S:
                return
    finally:
        workers.close()


def _ray_piece(payloads: list[dict[str, Any]], root: str | None, flag: Any, device: str) -> Iterator[tuple[int, dict]]:
    """A Ray generator task: train a group (one TensorFlow thread, like a local worker), yielding
    each trial's record as it ends, so results stream back trial by trial, not group by group."""
    import ray

    runtime.configure(device=device, cpu_threads=1)
    polled = {"at": 0.0, "stop": False}

    def should_stop() -> bool:  # one round trip to the flag per RAY_POLL_S at most
        now = time.monotonic()
        if not polled["stop"] and now - polled["at"] >= RAY_POLL_S:
            polled.update(at=now, stop=ray.get(flag.is_set.remote()))
        return polled["stop"]

    for payload in payloads:
        if should_stop():
            break
        yield payload["index"], _train(payload, root, should_stop)


class _Flag:
    """A stop flag that Ray tasks on any node can read (a Ray actor)."""

    def __init__(self) -> None:
        self.value = False

    def set(self) -> None:
        self.value = True

    def is_set(self) -> bool:
        return self.value


def run_ray(
    sweep: Plan, trials: list[Trial], root: Path | None, address: str | None, cpus: int,
    should_stop: Callable[[], bool],
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(trial index, record) per trial, as each ends, trained as Ray generator tasks, one per group.

    ``address`` None starts a local Ray with ``cpus`` CPUs (unless this process already has
    one); otherwise it joins that cluster (``auto``, ``ray://head:10001``).
    """
    import ray

    started = not ray.is_initialized()
    if started:
        options = {"num_cpus": cpus} if address is None else {"address": address}
        # ray.init installs its own SIGTERM handler (it exits at once); the caller's way of
        # stopping (mark trials stopped, keep finished ones) must stay in force.
        main = threading.current_thread() is threading.main_thread()
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)} if main else {}
        ray.init(**options, include_dashboard=False, log_to_driver=False)
        for number, handler in handlers.items():
            signal.signal(number, handler)
    try:
        flag = ray.remote(num_cpus=0)(_Flag).remote()
        task = ray.remote(num_cpus=1, max_retries=0)(_ray_piece)
        root_text = str(root) if root is not None else None
        device = runtime.settings.device
        slots = int(ray.cluster_resources().get("CPU", cpus))  # a cluster's, when joining one
        pending = [task.remote(_payloads(p, sweep.id), root_text, flag, device) for p in groups(trials, slots)]
        stopping = False
        while pending:
            if should_stop() and not stopping:
                stopping = True
                flag.set.remote()
            ready, _ = ray.wait(pending, num_returns=1, timeout=0.05)
            for stream in ready:  # its next trial is ready, or it has ended
                try:
                    yield ray.get(next(stream))
                except StopIteration:
                    pending.remove(stream)
    finally:
        if started:
            ray.shutdown()


# --------------------------------------------------------------------------- results


def trial_row(trial: Trial, record: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON object of one trial: its swept settings by CLI name, seed, epochs, results
    (validation ones too when it had validation data), and every setting by CLI name."""
    found = aggregate.results(record) if record else dict.fromkeys(aggregate.METRICS)
    return {
        **trial.settings,
        "seed": trial.seed,
        "epochs": trial.config.epochs,
        **found,
        "status": record["status"] if record else "stopped",
        "run_id": record.get("id") if record else None,
        "settings": by_option(trial.config.to_dict()),
    }


def group_rows(sweep: Plan, records: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per setting combination: the settings and each result's stats over its seeds,
    best (lowest mean final loss, or final val loss with validation: ``aggregate.ranking_metric``)
    first, with ``vs_best`` (``aggregate.separability``) and every
    setting by CLI name (``settings``: its first seed's)."""
    by_settings: dict[str, tuple[Trial, list[dict[str, Any]]]] = {}  # -> its first trial, its records
    for trial in sweep.trials:
        key = json.dumps(trial.settings, sort_keys=True)
        entry = by_settings.setdefault(key, (trial, []))
        if trial.index in records:
            entry[1].append(records[trial.index])
    rows = [
        {**first.settings, **aggregate.summarize(runs), "settings": by_option(first.config.to_dict())}
        for first, runs in by_settings.values()
    ]
    metric = aggregate.ranking_metric(rows)
    rows.sort(key=lambda r: (not r.get(metric), r[metric]["mean"] if r.get(metric) else 0.0))
    for r, label in zip(rows, aggregate.separability(rows, metric)):
        r["vs_best"] = label
    return rows


@dataclass
class Outcome:
    """What a sweep yields: a trial and its record (None: stopped before it started)."""

    trial: Trial
    record: dict[str, Any] | None
    resumed: bool = False  # finished in an earlier session of the sweep


def run(
    sweep: Plan,
    *,
    root: Path | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    use_ray: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
) -> Iterator[Outcome]:
    """Train the sweep's trials that have no finished run yet; yield every trial's ``Outcome``:
    resumed ones first, then each as it ends, then (after a stop) the ones never started.

    The plan is saved before the first trial starts and again, with each trial's status, at the end.
    """
    store = RunStore(root)
    count = max(1, min(workers or os.cpu_count() or 1, len(sweep.trials) or 1))
    # A new sweep trains every trial: its workers start importing TensorFlow before the store is
    # read. (A resumed one first learns how many trials are left.)
    fresh = bool(sweep.trials) and not (plans_folder(root) / f"{sweep.id}.json").exists()
    local = Workers(count) if fresh and not use_ray else None
    try:
        done = finished_records(sweep.id, store)
        save_plan(sweep, root)
    except BaseException:
        if local is not None:
            local.close()
        raise
    status: dict[int, str] = {}
    for index, record in sorted(done.items()):
        status[index] = record["status"]
        yield Outcome(sweep.trials[index], record, resumed=True)
    todo = [t for t in sweep.trials if t.index not in done]
    count = max(1, min(count, len(todo) or 1))
    if use_ray:
        stream = run_ray(sweep, todo, root, ray_address, count, should_stop)
    else:
        local = local or (Workers(count) if todo else None)
        stream = run_local(sweep, todo, root, local, should_stop)  # (not started when nothing is left)
    try:
        if todo:
            for index, record in stream:
                status[index] = record["status"]
                yield Outcome(sweep.trials[index], record)
        for trial in todo:
            if trial.index not in status:
                status[trial.index] = "stopped"
                yield Outcome(trial, None)
    finally:
        stream.close()
        if local is not None:
            local.close()  # (also when the stream never started)
        save_plan(sweep, root, {t.index: status.get(t.index, "stopped") for t in sweep.trials})


def grid_from_options(values: dict[str, Any]) -> dict[str, list[str]]:
    """The grid from the command line's values by CLI name: a comma-separated string, or None
    (not given); a bare ``--bidirectional`` given before the sub-command arrives as True."""
    grid = {}
    for name, value in values.items():
        if value is None or value is False:
            continue
        grid[name] = ["true"] if value is True else split_values(name, str(value))
    return grid


def grid_from_text(text: str, field: str = "more") -> dict[str, list[str]]:
    """A grid typed on one line: ``layers=1,2 batch-size=1,5`` (names as the CLI's, ``--`` optional)."""
    grid = {}
    for token in text.split():
        name, equals, values = token.partition("=")
        name = name.removeprefix("--")
        if not equals or not name:
            raise ConfigError(field, f"takes name=values pairs, e.g. layers=1,2 optimizer=adam,sgd (got {token!r})")
        if name not in SWEPT:
            raise ConfigError(name, "is not a setting a sweep can vary")
        grid[name] = split_values(name, values)
    return grid


def varying(sweep: Plan) -> list[str]:
    """Topology and the options with more than one value: the columns that tell groups apart."""
    return ["topology", *(name for name, values in sweep.grid.items() if len(values) > 1 and name != "topology")]


GROUP_HEADERS = ("seeds", "final loss (mean ± std)", "final loss (min … max)", "max abs error (mean ± std)",
                 "best epoch (mean ± std)", "vs best")
# With validation data, after "final loss (min … max)" (``group_headers``).
VAL_HEADERS = ("final val loss (mean ± std)", "best val loss (mean ± std)")


def validated(rows: list[dict[str, Any]]) -> bool:
    """Whether any group had validation data (then its tables show the validation columns)."""
    return "final_val_loss" in aggregate.metrics(rows)


def group_headers(validation: bool) -> tuple[str, ...]:
    """The result columns of a groups table."""
    return GROUP_HEADERS[:3] + (VAL_HEADERS if validation else ()) + GROUP_HEADERS[3:]


def group_cells(row: dict[str, Any], columns: list[str], validation: bool = False) -> list[str]:
    """A group's cells: its ``columns`` settings, then one per ``group_headers(validation)``."""
    val = [aggregate.mean_std_text(row.get("final_val_loss"), ".4e"),
           aggregate.mean_std_text(row.get("best_val_loss"), ".4e")] if validation else []
    return [str(row[c]) for c in columns] + [
        str(len(row["seeds"])),
        aggregate.mean_std_text(row["final_loss"], ".4e"),
        aggregate.range_text(row["final_loss"], ".4e"),
        *val,
        aggregate.mean_std_text(row["max_error"], ".3f"),
        aggregate.mean_std_text(row["best_epoch"], ".0f"),
        row["vs_best"] or "-",
    ]


def groups_markdown(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """The groups as a Markdown table, best first: each result as mean ± std over the seeds.
    Above it a line of the settings every group shares; the settings that differ between groups
    beyond ``columns`` (a default that follows the topology, say) are columns after the results."""
    shared, differ = shared_settings([r["settings"] for r in rows if "settings" in r])
    extra = [n for n in differ if n not in columns]
    validation = validated(rows)
    headers = [*columns, *group_headers(validation), *extra]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(group_cells(r, columns, validation)
                                + [setting_text(r["settings"].get(n)) for n in extra]) + " |" for r in rows]
    head = settings_line(shared) + "\n\n" if rows else ""
    return head + "\n".join(lines) + "\n"


def trials_csv(trials: list[dict[str, Any]]) -> str:
    """One CSV line per trial: the columns of the JSON ``trials``, its ``settings`` object spread
    into one column per setting (those not already a column)."""
    lines = []
    for trial in trials:
        line = {k: v for k, v in trial.items() if k != "settings"}
        lines.append({**line, **{k: v for k, v in trial.get("settings", {}).items() if k not in line}})
    out = io.StringIO()
    if lines:
        writer = csv.DictWriter(out, fieldnames=list(dict.fromkeys(k for line in lines for k in line)),
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)
    return out.getvalue()
