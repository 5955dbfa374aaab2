"""Headless front end: train, print a summary table, a progress bar (terminals only) and results.

A thin consumer of the core's event stream, like the TUI. With ``--json`` it prints exactly one
JSON object on stdout and nothing else.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .core import engine, runtime
from .core.config import Config
from .core.events import Compiled, Compiling, Epochs, Started
from .core import aggregate
from .core.compare import COLUMNS, SEEDED_FORMATS, SEEDED_HEADERS, cell_text, export, row, to_json, to_markdown
from .core.compare import seeded_json, seeded_markdown, seeded_rows
from .core.compare import compare as compare_topologies
from .core.experiment import run_experiment
from .core.runs import RunStore
from .core.summary import render, summarize, summary_from_record


class Interrupt:
    """Ctrl+C (and any other of ``signals``) asks the training to stop at the next chunk
    instead of killing it mid-step."""

    def __init__(self, signals: tuple[int, ...] = (signal.SIGINT,)) -> None:
        self.requested = threading.Event()
        self.signals = signals

    def __enter__(self) -> "Interrupt":
        self._previous = {s: signal.signal(s, lambda *_: self.requested.set()) for s in self.signals}
        return self

    def __exit__(self, *exc: Any) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def predictions_table(record: dict[str, Any]) -> Table:
    """Step, input, target, predicted value and absolute error, as the tutorial prints them."""
    config = Config(**record["config"])
    inputs = config.problem.inputs[0]  # the first sequence; random tasks have many
    table = Table(title="Predictions" + (" (first sequence)" if config.problem.inputs.shape[0] > 1 else ""),
                  title_justify="left")
    for name in ("step", "input", "target", "predicted", "|error|"):
        table.add_column(name, justify="right")
    for step, (x, target, predicted) in enumerate(zip(inputs, record["targets"], record["predictions"])):
        table.add_row(str(step), f"{x:.3f}", f"{target:.3f}", f"{predicted:.3f}", f"{abs(predicted - target):.4f}")
    return table


def _store(runs_dir: Path | None, err: Console) -> RunStore:
    return RunStore(runs_dir, warn=lambda message: err.print(f"tui-echo: warning: {message}", markup=False))


def run(config: Config, *, as_json: bool, runs_dir: Path | None = None) -> int:
    """``tui-echo run``: 0 when training finished, 1 when it failed, 130 when interrupted."""
    config = config.resolved()
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    show_progress = not as_json and out.is_terminal
    with Interrupt() as interrupt:
        if not as_json:
            out.print(render(summarize(engine.build_model(config))))
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
            disable=not show_progress,
        )
        task = progress.add_task("compiling", total=config.epochs, loss="-")

        def on_event(event: Any) -> None:
            if isinstance(event, Compiling):
                progress.update(task, description="compiling")
            elif isinstance(event, Compiled):
                progress.update(task, description="training")
            elif isinstance(event, Epochs):
                progress.update(task, completed=event.last, loss=f"{event.losses[-1]:.6f}")

        with progress:
            record = run_experiment(config, on_event, interrupt.requested.is_set, store=_store(runs_dir, err))
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
    status = record["status"]
    if status in ("failed", "diverged"):
        err.print(f"tui-echo run: training {status}: {record['error']}", markup=False)
        return 1
    if status == "stopped":
        if not as_json:
            err.print(f"tui-echo run: stopped after {len(record['history'])} epochs", markup=False)
        return 130
    if not as_json:
        out.print(predictions_table(record))
        out.print(
            f"final loss {record['final_loss']:.6f} after {len(record['history'])} epochs · "
            f"{record['wall_s']:.2f} s (compile {record['compile_s']:.2f} s) · "
            f"{record['epochs_per_s']:,.0f} epochs/s · {record['engine']} engine · {record['device']}",
            markup=False,
        )
    return 0


def comparison_table(records: list[dict[str, Any]], threshold: float) -> Table:
    """The comparison, one column per topology so four fit in 80 columns."""
    rows = [row(record, threshold) for record in records]
    table = Table(title=f"Comparison (loss threshold {threshold:g})", title_justify="left")
    table.add_column("")
    for r in rows:
        table.add_column(r["topology"], justify="right")
    for key, header in list(COLUMNS.items())[1:]:
        table.add_row(header, *(cell_text(key, r[key]) for r in rows))
    return table


def side_by_side(records: list[dict[str, Any]]) -> Table:
    """Every topology's prediction per timestep, beside the input and target."""
    table = Table(title="Predictions", title_justify="left")
    for name in ("step", "input", "target", *(r["topology"] for r in records)):
        table.add_column(name, justify="right")
    config = Config(**records[0]["config"])
    for step, (x, target) in enumerate(zip(config.problem.inputs[0], records[0]["targets"])):
        cells = [f"{r['predictions'][step]:.3f}" if r["predictions"] else "-" for r in records]
        table.add_row(str(step), f"{x:.3f}", f"{target:.3f}", *cells)
    return table


def seeded_table(records: list[dict[str, Any]]) -> Table:
    """The comparison over seeds, one column per topology: mean ± std and min … max of each result."""
    rows = seeded_rows(records)
    seeds = rows[0]["seeds"]
    title = f"Comparison over {len(seeds)} seeds ({seeds[0]}-{seeds[-1]}): mean ± std, then min … max"
    table = Table(title=title, title_justify="left")
    table.add_column("")
    for r in rows:
        table.add_column(r["topology"], justify="right")
    for metric, header in SEEDED_HEADERS.items():
        spec = SEEDED_FORMATS[metric]
        table.add_row(header, *(aggregate.mean_std_text(r[metric], spec) for r in rows))
        table.add_row("", *(aggregate.range_text(r[metric], spec) for r in rows))
    table.add_row("vs best", *(r["vs_best"] or "-" for r in rows))
    table.caption = "not separable: final loss mean ± std overlaps the best topology's"
    return table


def compare(
    configs: list[Config],
    *,
    threshold: float,
    export_to: str | None,
    output: str,
    runs_dir: Path | None = None,
    seeds: int = 1,
) -> int:
    """``tui-echo compare``: 0 when every training finished, 1 if one failed, 130 when interrupted.

    With ``seeds`` > 1 each topology trains on that many seeds and every output shows the
    results over them (``seeded_rows``); with one seed the output is the plain comparison.
    """
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    progress = Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        console=out,
        transient=True,
        disable=not (output == "text" and out.is_terminal),
    )
    epochs = {c.topology: c.resolved().epochs for c in configs}
    tasks = {name: progress.add_task(name, total=n * seeds, loss="-") for name, n in epochs.items()}
    runs_begun = dict.fromkeys(epochs, 0)  # the bar counts the epochs of every seed so far

    def on_event(topology: str, event: Any) -> None:
        if isinstance(event, Started):
            runs_begun[topology] += 1
        elif isinstance(event, Epochs):
            done = (runs_begun[topology] - 1) * epochs[topology] + event.last
            progress.update(tasks[topology], completed=done, loss=f"{event.losses[-1]:.6f}")

    with Interrupt() as interrupt, progress:
        records = compare_topologies(
            configs, on_event, interrupt.requested.is_set, store=_store(runs_dir, err), seeds=seeds
        )
    seeded = seeds > 1
    if output == "json":
        sys.stdout.write((seeded_json if seeded else to_json)(records, threshold) + "\n")
    elif output == "markdown":
        sys.stdout.write(seeded_markdown(seeded_rows(records)) if seeded else to_markdown([row(r, threshold) for r in records]))
    elif records and seeded:
        out.print(seeded_table(records))
    elif records:
        out.print(comparison_table(records, threshold))
        out.print(side_by_side(records))
    if export_to:
        for path in export(records, Path(export_to), threshold, seeded=seeded):
            (err if output == "json" else out).print(f"wrote {path}", markup=False, soft_wrap=True)
    bad = [r for r in records if r["status"] in ("failed", "diverged")]
    for record in bad:
        err.print(f"tui-echo compare: {record['topology']} {record['status']}: {record['error']}", markup=False)
    if interrupt.requested.is_set():
        return 130
    return 1 if bad else 0


def runs(runs_dir: Path | None, command: str | None, run_id: str | None, *, as_json: bool) -> int:
    """``tui-echo runs [show ID | rm ID]``: 0, or 2 for an unknown id."""
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    store = _store(runs_dir, err)
    if command is None:
        found = store.list()
        if as_json:
            sys.stdout.write(json.dumps([{**vars(r), "path": str(r.path)} for r in found]) + "\n")
            return 0
        table = Table(title=f"Runs in {store.root}", title_justify="left")
        for name in ("id", "when", "topology", "status", "epochs", "final loss"):
            table.add_column(name, justify="right" if name in ("epochs", "final loss") else "left", no_wrap=True)
        for r in found:
            loss = "-" if r.final_loss is None else f"{r.final_loss:.3g}"
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.started))
            table.add_row(r.id, when, r.topology, r.status, str(r.epochs), loss)
        out.print(table)
        return 0
    try:
        if command == "rm":
            store.remove(run_id)
            out.print(f"removed run {run_id}", markup=False)
            return 0
        record = store.load(run_id)
    except KeyError:
        err.print(f"tui-echo runs {command}: error: no run {run_id!r} in {store.root}", markup=False)
        return 2
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
        return 0
    out.print(f"run {record['id']} · {record['config']['topology']} · {record['status']} · {record['path']}")
    if record.get("layers"):
        out.print(render(summary_from_record(record)))
    if record.get("predictions"):
        out.print(predictions_table(record))
    history = record["history"]
    if history:
        out.print(f"{len(history)} epochs, final loss {history[-1]}", markup=False)
    if record.get("error"):
        out.print(record["error"], markup=False)
    return 0


def doctor(*, as_json: bool) -> int:
    """``tui-echo doctor``: what TensorFlow sees and how tui-echo set it up."""
    report = runtime.doctor()
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
        return 0
    out = Console(highlight=False)
    table = Table(title="tui-echo doctor", title_justify="left", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    table.add_row("CPU", f"{report['cpu']['name']} ({report['cpu']['cores']} cores)")
    for gpu in report["gpus"]:
        memory = f"{gpu['memory_mib']:,} MiB" if gpu["memory_mib"] else "memory unknown"
        table.add_row(gpu["device"], f"{gpu['name']} · {memory} · memory growth {gpu['memory_growth']}")
    if not report["gpus"]:
        table.add_row("GPUs", "none visible to TensorFlow")
    table.add_row("training on", report["training_device"])
    table.add_row("versions", " · ".join(f"{k} {v}" for k, v in report["versions"].items() if v))
    table.add_row("settings", " · ".join(f"{k}={v}" for k, v in report["settings"].items()))
    out.print(table)
    return 0


def sweep(
    plan: Any,
    *,
    runs_dir: Path | None,
    workers: int | None,
    use_ray: bool,
    ray_address: str | None,
    output: str,
    export_to: str | None,
) -> int:
    """``tui-echo sweep``: 0 when every trial ended, 1 if one failed, 130 when stopped
    (Ctrl+C or SIGTERM: running trials stop within a chunk and are saved as stopped)."""
    from .core import sweep as sweeps

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    progress = Progress(
        TextColumn("sweep {task.fields[id]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=not (output == "text" and out.is_terminal),
    )
    bar = progress.add_task("", total=len(plan.trials), id=plan.id)
    records: dict[int, dict[str, Any]] = {}
    rows: dict[int, dict[str, Any]] = {}
    resumed = 0
    began = time.perf_counter()
    with Interrupt((signal.SIGINT, signal.SIGTERM)) as interrupt, progress:
        for outcome in sweeps.run(
            plan, root=runs_dir, workers=workers, ray_address=ray_address, use_ray=use_ray,
            should_stop=interrupt.requested.is_set,
        ):
            if outcome.record is not None:
                records[outcome.trial.index] = outcome.record
            resumed += outcome.resumed
            rows[outcome.trial.index] = sweeps.trial_row(outcome.trial, outcome.record)
            progress.advance(bar)
    trials = [rows[index] for index in sorted(rows)]
    groups = sweeps.group_rows(plan, {i: r for i, r in records.items() if r["status"] in sweeps.DONE})
    columns = sweeps.varying(plan)
    result = {"sweep": plan.id, "trials": trials, "groups": groups}
    if output == "json":
        sys.stdout.write(json.dumps(result) + "\n")
    elif output == "markdown":
        sys.stdout.write(sweeps.groups_markdown(groups, columns))
    else:
        out.print(groups_table(groups, columns))
    counts = {status: sum(t["status"] == status for t in trials) for status in ("finished", "diverged", "failed", "stopped")}
    summary = (
        f"sweep {plan.id}: {len(trials)} trials, " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        + (f" ({resumed} from earlier)" if resumed else "") + f" · {time.perf_counter() - began:.1f} s"
    )
    log = err if output != "text" else out
    log.print(summary, markup=False, soft_wrap=True)
    if export_to:
        folder = Path(export_to)
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, text in (
            ("json", json.dumps(result) + "\n"),
            ("md", sweeps.groups_markdown(groups, columns)),
            ("csv", sweeps.trials_csv(trials)),
        ):
            path = folder / f"sweep-{plan.id}.{suffix}"
            path.write_text(text, encoding="utf-8")
            log.print(f"wrote {path}", markup=False, soft_wrap=True)
    if counts["stopped"]:
        log.print(f"resume with: tui-echo sweep --resume {plan.id}", markup=False, soft_wrap=True)
    if interrupt.requested.is_set():
        return 130
    return 1 if counts["failed"] else 0


def groups_table(groups: list[dict[str, Any]], columns: list[str]) -> Table:
    """The sweep's groups, best first: each result as mean ± std over the seeds."""
    from .core.sweep import group_cells

    table = Table(title="Sweep, best first (mean ± std over seeds)", title_justify="left")
    for name in columns:
        table.add_column(name, no_wrap=True)
    for name in ("seeds", "final loss", "min … max", "max error", "best epoch", "vs best"):
        table.add_column(name, justify="right")
    for g in groups:
        table.add_row(*group_cells(g, columns))
    table.caption = "not separable: final loss mean ± std overlaps the best group's"
    return table
