"""Headless front end: train, print a summary table, a progress bar (terminals only) and results.

A thin consumer of the core's event stream, like the TUI. With ``--json`` it prints exactly one
JSON object on stdout and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .core import engine, estimate, runtime
from .core import progress as run_state
from .core.config import Config, ConfigError, IntRange
from .core.events import Epochs, Started
from .core import aggregate
from .core.compare import EXPORTERS, SEEDED_EXPORTERS, SEEDED_FORMATS, SEEDED_HEADERS, cell_text, columns, export, row
from .core.compare import seeded_rows
from .core.compare import compare as compare_topologies
from .core.experiment import run_experiment
from .core.explain import data_lines
from .core.formatting import format_bytes, format_duration, format_loss
from .core.inspect import InspectError
from .core.replay import run_at_epoch
from .core.record import first_inputs, first_sequence, label
from .core.runs import (
    BadRunId, RunError, RunInfo, RunStore, check_id, folder_bytes, parse_age, parse_statuses, prunable,
)
from .core.summary import render, summarize, summary_from_record


# ``--json``, ``--markdown``, ``--csv``: the output option -> the exporters' file suffix.
FORMATS = {"json": "json", "markdown": "md", "csv": "csv"}
ABANDON_S = 0.5  # how long a stopped training may take to reach its stop check before it is left behind


class Interrupt:
    """Ctrl+C, SIGTERM and SIGHUP ask the training to stop at the next chunk (and be saved as
    stopped) instead of killing it mid-step; ``code`` is the exit status for the signal, 128 + N.

    A SIGHUP that is ignored (``nohup``) stays ignored.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.requested = threading.Event()
        self.code = 130

    def __enter__(self) -> "Interrupt":
        self._previous = {}
        for signum in self.SIGNALS:
            if signum == signal.SIGHUP and signal.getsignal(signum) == signal.SIG_IGN:
                continue
            self._previous[signum] = signal.signal(signum, self._stop)
        return self

    def _stop(self, signum: int, frame: Any) -> None:
        self.code = 128 + signum
        self.requested.set()

    def __exit__(self, *exc: Any) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)


def afford(config: Config, *, as_json: bool, dry_run: bool) -> int | None:
    """``tui-echo run``'s estimate: with ``dry_run`` print it and return 0 (2 if refused); otherwise
    return 2 after one line when the run would not fit in memory, or None to go on and train."""
    config = config.resolved()
    cost = engine.cost(config)
    available = estimate.available_memory()
    reason = estimate.refusal(config, cost, available)
    if dry_run:
        if as_json:
            sys.stdout.write(json.dumps({**cost.to_dict(), "available_bytes": available, "refused": reason}) + "\n")
        else:
            out = Console(highlight=False)
            out.print(
                f"{config.epochs:,} epochs x {cost.steps_per_epoch:,} steps = {cost.steps:,} steps · "
                f"{cost.params:,} parameters · {'XLA' if cost.xla else 'graph'}\n"
                f"data {format_bytes(cost.data_bytes)} · model and Adam {format_bytes(cost.model_bytes)} · "
                f"peak ~{format_bytes(cost.estimated_peak_bytes)}"
                + (f" of {format_bytes(available)} available" if available is not None else "") + "\n"
                f"~{format_duration(cost.estimated_seconds)} (compile ~{format_duration(cost.compile_seconds)}, "
                f"{cost.step_seconds * 1e3:.3g} ms a step) · estimated by a model calibrated on a 2-core CPU",
                markup=False, soft_wrap=True,
            )
    if reason is not None:
        sys.stderr.write(f"tui-echo run: error: {reason}\n")
        return 2
    return 0 if dry_run else None


def data_table(description: dict[str, Any]) -> str:
    """A csv run's data in words, with its X and y shapes."""
    lines = data_lines(description)
    x_shape, y_shape = (" x ".join(str(v) for v in description[k]) for k in ("x_shape", "y_shape"))
    return "\n".join([*lines, f"X {x_shape} -> y {y_shape} (training)"])


def predictions_table(record: dict[str, Any]) -> Table:
    """Step, input, target, predicted value and absolute error, as the tutorial prints them."""
    targets, predictions = first_sequence(record)  # random tasks and callback samples have many
    inputs = first_inputs(record) or [None] * len(targets)
    several = len(record.get("targets") or []) > len(targets)
    table = Table(title="Predictions" + (" (first sequence)" if several else ""), title_justify="left")
    for name in ("step", "input", "target", "predicted", "|error|"):
        table.add_column(name, justify="right")
    for step, (x, target, predicted) in enumerate(zip(inputs, targets, predictions)):
        shown = "-" if x is None else f"{x:.3f}"
        table.add_row(str(step), shown, f"{target:.3f}", f"{predicted:.3f}", f"{abs(predicted - target):.4f}")
    return table


def _store(runs_dir: Path | None, err: Console) -> RunStore:
    return RunStore(
        runs_dir, warn=lambda message: err.print(f"tui-echo: warning: {message}", markup=False, soft_wrap=True)
    )


def run(config: Config, *, as_json: bool, runs_dir: Path | None = None) -> int:
    """``tui-echo run``: 0 when training finished, 1 when it failed or could not be saved,
    128 + N when signal N stopped it (130 for Ctrl+C, 143 for SIGTERM, 129 for SIGHUP)."""
    config = config.resolved()
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    show_progress = not as_json and out.is_terminal
    with Interrupt() as interrupt:
        if not as_json:
            if config.data_description is not None:
                out.print(data_table(config.data_description), markup=False)
            out.print(render(summarize(engine.build_model(config))))
        progress = Progress(
            BarColumn(bar_width=20),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=out,
            transient=True,
            disable=not show_progress,
        )
        task = progress.add_task("compiling", total=config.epochs)
        state = run_state.begun(config.epochs, ready=True)

        def on_event(event: Any) -> None:
            # The lab's status line, from the same reducer: epoch, step, rates and ETA.
            nonlocal state
            state = run_state.advance(state, event, time.monotonic())
            progress.update(task, completed=state.done, description=run_state.status(state)[1])

        store = _store(runs_dir, err)
        with progress:
            # In a daemon thread, so a stop is answered within ABANDON_S even while a program is
            # traced or compiled (uninterruptible): that training is then left behind, its run
            # saved as stopped with the epochs so far.
            record = runtime.run_in_daemon(
                lambda: run_experiment(config, on_event, interrupt.requested.is_set, store=store),
                give_up=interrupt.requested.is_set, grace=ABANDON_S,
            )
        if record is None:
            record = _abandoned(store)
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
    status = record["status"]
    if status in ("failed", "diverged"):
        err.print(f"tui-echo run: training {status}: {record['error']}", markup=False, soft_wrap=True)
        return 1
    if status == "stopped":
        if not as_json:
            saved = f" · saved as run {record['id']}" if record.get("id") else ""
            err.print(f"tui-echo run: stopped after {len(record['history']):,} epochs{saved}", markup=False,
                      soft_wrap=True)
        # An XLA compile runs in a non-daemon thread (exiting under LLVM aborted the process), and
        # the interpreter would join it or an abandoned trace for up to a minute: the run is saved,
        # so leave at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(interrupt.code)
    if not as_json:
        out.print(predictions_table(record))
        out.print(
            f"final loss {format_loss(record['final_loss'])} after {len(record['history'])} epochs · "
            f"{record['wall_s']:.2f} s (compile {record['compile_s']:.2f} s) · "
            f"{record['epochs_per_s']:,.0f} epochs/s · {record['engine']} engine · {record['device']}",
            markup=False, soft_wrap=True,
        )
    if not as_json and record.get("id"):
        saved = _store(runs_dir, err).root / record["id"]
        out.print(f"saved as run {record['id']} in {saved} (tui-echo runs show {record['id']})",
                  markup=False, soft_wrap=True)
    return 0


def _abandoned(store: RunStore) -> dict[str, Any]:
    """Save the training that did not stop in time as stopped (``RunStore.wait_saved``) and
    return its record as the store reads it back (no record when it could not be saved)."""
    store.wait_saved(grace=0)
    run_id = store.last_started
    try:
        record = store.load(run_id) if run_id is not None else None
    except (KeyError, RunError):
        record = None
    return record or {"status": "stopped", "history": [], "id": None}


def comparison_table(records: list[dict[str, Any]], threshold: float) -> Table:
    """The comparison, one column per topology so four fit in 80 columns."""
    rows = [row(record, threshold) for record in records]
    table = Table(title=f"Comparison (loss threshold {threshold:g})", title_justify="left")
    table.add_column("")
    for r in rows:
        table.add_column(r["topology"], justify="right")
    table.add_row("status", *(record["status"] for record in records))  # a stopped run says so
    for key, header in list(columns(rows).items())[1:]:
        table.add_row(header, *(cell_text(key, r.get(key)) for r in rows))
    return table


def side_by_side(records: list[dict[str, Any]]) -> Table:
    """Every topology's prediction per timestep, beside the input and target."""
    table = Table(title="Predictions", title_justify="left")
    for name in ("step", "input", "target", *(r["topology"] for r in records)):
        table.add_column(name, justify="right")
    for step, (x, target) in enumerate(zip(first_inputs(records[0]) or [], records[0]["targets"])):
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
    for metric in aggregate.metrics(rows):
        header, spec = SEEDED_HEADERS[metric], SEEDED_FORMATS[metric]
        table.add_row(header, *(aggregate.mean_std_text(r[metric], spec) for r in rows))
        table.add_row("", *(aggregate.range_text(r[metric], spec) for r in rows))
    table.add_row("vs best", *(r["vs_best"] or "-" for r in rows))
    ranked = aggregate.RANKED_BY[aggregate.ranking_metric(rows)]
    table.caption = f"not separable: {ranked} mean ± std overlaps the best topology's"
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
    """``tui-echo compare``: 0 when every training finished, 1 if one failed, 128 + N when signal N stopped it.

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
            progress.update(tasks[topology], completed=done, loss=format_loss(event.losses[-1]))

    with Interrupt() as interrupt, progress:
        records = compare_topologies(
            configs, on_event, interrupt.requested.is_set, store=_store(runs_dir, err), seeds=seeds
        )
    seeded = seeds > 1
    if output in FORMATS:  # JSON, Markdown or CSV, each with every setting of each row
        text = (SEEDED_EXPORTERS if seeded else EXPORTERS)[FORMATS[output]](records, threshold)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    elif records and seeded:
        out.print(seeded_table(records))
    elif records:
        out.print(comparison_table(records, threshold))
        out.print(side_by_side(records))
    if export_to:
        for path in export(records, Path(export_to), threshold, seeded=seeded):
            (err if output != "text" else out).print(f"wrote {path}", markup=False, soft_wrap=True)
    bad = [r for r in records if r["status"] in ("failed", "diverged")]
    for record in bad:
        err.print(f"tui-echo compare: {record['topology']} {record['status']}: {record['error']}", markup=False)
    if interrupt.requested.is_set():
        trained = {r["topology"] for r in records if r["status"] == "finished"}
        left = [c.topology for c in configs if c.topology not in trained]
        err.print(f"tui-echo compare: stopped; not finished: {', '.join(dict.fromkeys(left)) or 'none'}",
                  markup=False, soft_wrap=True)
        return interrupt.code
    return 1 if bad else 0


def runs_table(found: list[RunInfo], root: Path, width: int) -> Table:
    """The saved runs, IDs and numbers always whole (an ID is what ``runs show`` takes): the start
    time, which the ID also holds, shows only where it fits, and the topology wraps first."""
    validated = any(r.final_val_loss is not None for r in found)  # a column only when a run has it
    headers = ("id", "topology", "status", "epochs", "final loss", *(("val loss",) if validated else ()), "started")
    values = [tuple(r.cells()[header] for header in headers) for r in found]
    widths = [max([len(h), *(len(v[i]) for v in values)]) for i, h in enumerate(headers)]
    shown = len(headers) if sum(widths) + 3 * len(headers) + 1 <= width else len(headers) - 1
    table = Table(title=f"Runs in {root}", title_justify="left")
    for index, header in enumerate(headers[:shown]):
        number = header in ("epochs", "final loss", "val loss")
        table.add_column(header, justify="right" if number else "left", no_wrap=header != "topology",
                         min_width=widths[index] if header != "topology" else None, overflow="fold")
    for row in values:
        table.add_row(*row[:shown])
    return table


def runs(runs_dir: Path | None, command: str | None, ids: list[str], *, as_json: bool, epoch: str | None = None) -> int:
    """``tui-echo runs [show ID [--epoch N] | rm ID...]``: 0; 2 for text that is not a run ID or no
    such run, or an epoch it has no snapshot for; 1 for a run that cannot be read or removed.
    Unreadable folders are one warning line each."""
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    store = _store(runs_dir, err)
    if command is None:
        found = store.list()
        if as_json:
            sys.stdout.write(json.dumps([{**vars(r), "path": str(r.path)} for r in found]) + "\n")
            return 0
        out.print(runs_table(found, store.root, out.width))
        return 0
    prog = f"tui-echo runs {command}"
    try:
        for run_id in ids:
            check_id(run_id)
    except BadRunId as error:
        _error(err, prog, str(error))
        return 2
    if command == "rm":
        return _remove(store, ids, prog, out, err)
    [run_id] = ids
    try:
        record = store.load(run_id)
    except KeyError:
        _error(err, prog, f"no run {run_id} in {store.root}")
        return 2
    except RunError as error:
        _error(err, prog, f"run {run_id} cannot be read: {error}")
        return 1
    if epoch is not None:
        return _show_epoch(store, record, epoch, prog, out, err, as_json=as_json)
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
        return 0
    out.print(f"run {record['id']} · {label(record)} · {record['status']} · {record['path']}", markup=False)
    if record.get("data"):
        out.print(data_table(record["data"]), markup=False)
    if record.get("layers"):
        out.print(render(summary_from_record(record)))
    if record.get("predictions"):
        out.print(predictions_table(record))
    history = record["history"]
    if history:
        validation = record.get("val_history") or []
        val = f", final val loss {format_loss(validation[-1])}" if validation else ""
        best = f" · early stopping kept epoch {record['best_epoch']:,}" if record.get("best_epoch") else ""
        out.print(f"{len(history):,} epochs, final loss {format_loss(history[-1])}{val}{best}", markup=False)
    if record.get("error"):
        out.print(record["error"], markup=False)
    return 0


def _show_epoch(
    store: RunStore, record: dict[str, Any], epoch: str, prog: str, out: Console, err: Console, *, as_json: bool
) -> int:
    """``runs show ID --epoch N``: the run at its snapshot at or before N."""
    try:
        asked = IntRange(1, 2**31 - 1).parse("--epoch", epoch)
        snapshots = store.snapshots(record["id"])
    except ConfigError as error:
        _error(err, prog, str(error))
        return 2
    except RunError as error:
        _error(err, prog, f"run {record['id']} cannot be read: {error}")
        return 1
    try:
        runtime.load()
        found = run_at_epoch(record, snapshots, asked)
    except (InspectError, runtime.DeviceError) as error:
        _error(err, prog, str(error))
        return 2
    if as_json:
        sys.stdout.write(json.dumps(found) + "\n")
        return 0
    out.print(
        f"run {record['id']} · {label(record)} · epoch {found['epoch']:,} of {len(record['history']):,}"
        f"{'' if found['epoch'] == asked else f' (the snapshot at or before {asked:,})'} · "
        f"loss {format_loss(found['loss'])}",
        markup=False,
    )
    out.print(predictions_table({**record, "predictions": found["predictions"]}))
    return 0


def _load_all(store: RunStore, ids: list[str], prog: str, err: Console) -> tuple[list[dict[str, Any]], int]:
    """The records of ``ids``, or ``([], code)`` after one line: 2 for a bad or unknown ID, 1 for
    a run that cannot be read."""
    records = []
    for run_id in dict.fromkeys(ids):
        try:
            records.append(store.load(run_id))
        except BadRunId as error:
            _error(err, prog, str(error))
            return [], 2
        except KeyError:
            _error(err, prog, f"no run {run_id} in {store.root}")
            return [], 2
        except RunError as error:
            _error(err, prog, f"run {run_id} cannot be read: {error}")
            return [], 1
    return records, 0


def export_tensorboard(runs_dir: Path | None, ids: list[str], folder: Path) -> int:
    """``tui-echo runs export ID... --tensorboard DIR``: 0; 2 for a bad ID or without tensorboard;
    1 when a run cannot be read or the folder cannot be written."""
    from .core import tensorboard

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    prog = "tui-echo runs export"
    try:
        tensorboard.check_available()  # before loading runs or TensorFlow
    except tensorboard.TensorBoardMissing as error:
        _error(err, prog, str(error))
        return 2
    records, code = _load_all(_store(runs_dir, err), ids, prog, err)
    if code:
        return code
    try:
        written = tensorboard.export(records, folder)
    except OSError as error:
        _error(err, prog, f"cannot write {error.filename or folder}: {error.strerror or error}")
        return 1
    for path in written:
        out.print(f"wrote {path}", markup=False, soft_wrap=True)
    out.print(f"view them with: tensorboard --logdir {folder}", markup=False, soft_wrap=True)
    return 0


def diff(runs_dir: Path | None, ids: list[str], *, output: str) -> int:
    """``tui-echo diff A B``: 0; 2 for a bad or unknown ID; 1 for a run that cannot be read."""
    from .core import diff as runs_diff

    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    store = _store(runs_dir, err)
    records = []
    for run_id in ids:  # the same run twice is allowed: an empty diff
        found, code = _load_all(store, [run_id], "tui-echo diff", err)
        if code:
            return code
        records += found
    result = runs_diff.diff(*records)
    if output == "json":
        sys.stdout.write(json.dumps(result) + "\n")
    elif output == "markdown":
        sys.stdout.write(runs_diff.to_markdown(result))
    else:
        for table in runs_diff.render(result):
            out.print(table)
    return 0


def _error(err: Console, prog: str, message: str) -> None:
    err.print(f"{prog}: error: {message}", markup=False, soft_wrap=True)


def _remove(store: RunStore, ids: list[str], prog: str, out: Console, err: Console) -> int:
    """Remove each run; 2 if one was not there, 1 if one could not be removed."""
    code = 0
    for run_id in dict.fromkeys(ids):
        try:
            store.remove(run_id)
        except KeyError:
            _error(err, prog, f"no run {run_id} in {store.root}")
            code = max(code, 2)
        except OSError as error:
            _error(err, prog, f"run {run_id} could not be removed: {error.strerror or error}")
            code = code or 1
        else:
            out.print(f"removed run {run_id}", markup=False, soft_wrap=True)
    return code


def prune(
    runs_dir: Path | None, *, older_than: str | None, statuses: str | None, keep: str | None, yes: bool
) -> int:
    """``tui-echo runs prune``: show the runs that match (``yes``: remove them); 2 for bad options."""
    out = Console(highlight=False)
    err = Console(stderr=True, highlight=False)
    prog = "tui-echo runs prune"
    try:
        age = None if older_than is None else parse_age(older_than)
        wanted = None if statuses is None else parse_statuses(statuses)
        kept = 0 if keep is None else IntRange(0, 1_000_000).parse("--keep", keep)
    except (ValueError, ConfigError) as error:
        _error(err, prog, str(error))
        return 2
    if age is None and wanted is None and keep is None:
        _error(err, prog, "say which runs to prune: --older-than, --status and/or --keep")
        return 2
    store = _store(runs_dir, err)
    doomed = prunable(store.list(), older_than_s=age, statuses=wanted, keep=kept, now=time.time())
    if not yes:
        size = sum(folder_bytes(r.path) for r in doomed)
        out.print(f"would remove {len(doomed)} runs ({size / 1e6:.1f} MB) from {store.root}", markup=False, soft_wrap=True)
        for r in doomed:
            out.print(f"  {r.id}  {r.when}  {r.topology}  {r.status}  {r.epochs} epochs", markup=False)
        if doomed:
            out.print("run again with --yes to remove them", markup=False)
        return 0
    return _remove(store, [r.id for r in doomed], prog, out, err)


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
    """``tui-echo sweep``: 0 when every trial ended, 1 if one failed, 128 + N when signal N
    stopped it (running trials stop within a chunk and are saved as stopped)."""
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
    with Interrupt() as interrupt, progress:
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
    elif output == "csv":
        sys.stdout.write(sweeps.trials_csv(trials))
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
        return interrupt.code
    return 1 if counts["failed"] else 0


def groups_table(groups: list[dict[str, Any]], columns: list[str]) -> Table:
    """The sweep's groups, best first: each result as mean ± std over the seeds."""
    from .core.sweep import group_cells, validated

    validation = validated(groups)
    table = Table(title="Sweep, best first (mean ± std over seeds)", title_justify="left")
    for name in columns:
        table.add_column(name, no_wrap=True)
    for name in ("seeds", "final loss", "min … max", *(("val loss", "best val") if validation else ()),
                 "max error", "best epoch", "vs best"):
        table.add_column(name, justify="right")
    for g in groups:
        table.add_row(*group_cells(g, columns, validation))
    ranked = aggregate.RANKED_BY[aggregate.ranking_metric(groups)]
    table.caption = f"not separable: {ranked} mean ± std overlaps the best group's"
    return table
