"""The ``tui-echo`` command: the TUI by default, ``run`` for a headless training."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from . import __version__
from .core import runtime
from .core.config import Config, ConfigError
from .core.rules import Flag
from .core.settings import SETTINGS, option_name
from .core.topologies import TOPOLOGIES

# option name on the command line -> Config field, for the options that take a value
OPTIONS = {s.option: s.name for s in SETTINGS if s.option and not isinstance(s.rule, Flag)}


class Parser(argparse.ArgumentParser):
    """argparse, but a refusal is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    """One option per setting of the spec; values stay strings here, so ``Config.from_fields``
    gives the one-line messages with ranges."""
    for setting in SETTINGS:
        if setting.option is None:
            continue
        if isinstance(setting.rule, Flag):
            action = "store_false" if setting.negated else "store_true"
            parser.add_argument(setting.option, dest=setting.name, action=action, help=setting.help)
        else:
            parser.add_argument(setting.option, *setting.aliases, dest=setting.name, help=setting.help)
    _add_common(parser)


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Options every command takes: where runs are saved and where training runs."""
    parser.add_argument(
        "--runs-dir", help="where runs are saved (default: $TUI_ECHO_RUNS_DIR or ~/.local/share/tui-echo/runs)"
    )
    parser.add_argument("--device", default="auto", help="cpu, gpu or gpu:N (default: a GPU if there is one)")
    parser.add_argument(
        "--no-memory-growth", action="store_true", help="let TensorFlow take all GPU memory up front"
    )


def build_parser() -> Parser:
    parser = Parser(prog="tui-echo", description="A terminal lab for Keras LSTM topologies.")
    parser.add_argument("--version", action="version", version=f"tui-echo {__version__}")
    _add_config_options(parser)
    commands = parser.add_subparsers(dest="command", parser_class=Parser)
    run = commands.add_parser("run", help="train one topology headless and print the results")
    _add_config_options(run)
    run.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    run.add_argument("--dry-run", action="store_true",
                     help="print what the training would cost (steps, time, memory) and train nothing")
    compare = commands.add_parser("compare", help="train several topologies on one problem and compare")
    _add_config_options(compare)
    compare.add_argument("--topologies", help=f"comma-separated (default: all of {','.join(TOPOLOGIES)})")
    compare.add_argument("--threshold", help="loss threshold for 'epoch < threshold' (default 1e-3)")
    compare.add_argument("--export", metavar="DIR", help="also write Markdown, CSV and JSON files into DIR")
    output = compare.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    output.add_argument("--markdown", action="store_true",
                        help="print the comparison as a Markdown table, its settings on a line above")
    output.add_argument("--csv", action="store_true", help="print the comparison as CSV, every setting a column")
    compare.add_argument(
        "--seeds", help="train each topology on seeds seed..seed+N-1 and show mean ± std, 1-100 (default 1)"
    )
    runs = commands.add_parser("runs", help="list saved runs (and show, remove or prune them)")
    _add_common(runs)
    runs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    runs_commands = runs.add_subparsers(dest="runs_command", parser_class=Parser)
    show = runs_commands.add_parser("show", help="one run in full")
    show.add_argument("ids", nargs=1, metavar="ID")
    show.add_argument("--json", action="store_true", help="print the run's JSON record")
    show.add_argument("--epoch", help="the run at this epoch (its snapshot at or before it): loss and predictions")
    _add_common(show)
    remove = runs_commands.add_parser("rm", help="delete runs")
    remove.add_argument("ids", nargs="+", metavar="ID")
    _add_common(remove)
    prune = runs_commands.add_parser("prune", help="delete old runs: lists them unless --yes")
    prune.add_argument("--older-than", metavar="AGE", help="only runs started longer ago, like 7d, 12h, 30m")
    prune.add_argument("--status", metavar="S,S", help="only runs with one of these statuses, like stopped,failed")
    prune.add_argument("--keep", metavar="N", help="never the N newest runs")
    prune.add_argument("--yes", action="store_true", help="remove them (without it, only list them)")
    _add_common(prune)
    export = runs_commands.add_parser("export", help="write runs as TensorBoard logs")
    export.add_argument("ids", nargs="+", metavar="ID")
    export.add_argument("--tensorboard", metavar="DIR", required=True,
                        help="folder for the logs: then tensorboard --logdir DIR")
    _add_common(export)
    diff = commands.add_parser("diff", help="two saved runs side by side: settings, losses, predictions")
    diff.add_argument("ids", nargs=2, metavar="ID")
    diff_output = diff.add_mutually_exclusive_group()
    diff_output.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    diff_output.add_argument("--markdown", action="store_true", help="print Markdown tables")
    _add_common(diff)
    script = commands.add_parser("export-script", help="print a standalone plain-Keras script of the experiment")
    _add_config_options(script)
    parser.add_argument("--fps", help="cap the lab's redraw rate, 1-120 frames per second (default 60)")
    parser.add_argument("--ascii", action="store_true", help="draw borders, charts and toggles in plain ASCII")
    _add_sweep_command(commands)
    doctor = commands.add_parser("doctor", help="devices, versions and settings in force")
    doctor.add_argument("--json", action="store_true", help="print one JSON object")
    _add_common(doctor)
    _add_inspect_command(commands)
    attach = commands.add_parser("attach", help="watch a run that another tui-echo process trains (read-only)")
    attach.add_argument("id", nargs="?", metavar="RUN_ID", help="default: the newest running run")
    _add_common(attach)
    _keep_earlier_values(parser, parser)
    return parser


def _add_inspect_command(commands: argparse._SubParsersAction) -> None:
    """``tui-echo inspect ID``: gates, states and gradient reach of a saved run's model."""
    inspect = commands.add_parser("inspect", help="inside a saved run's cells: gates, states, gradient reach")
    inspect.add_argument("id")
    inspect.add_argument("--epoch", help="the epoch whose weights to use (default: the last)")
    inspect.add_argument("--sequence", help="which sequence of the task, from 0 (default 0)")
    inspect.add_argument("--json", action="store_true", help="print one JSON object")
    _add_common(inspect)


def _add_sweep_command(commands: Any) -> None:
    """``tui-echo sweep``: every grid option takes comma-separated values (parsed in core.sweep)."""
    from .core.settings import BY_NAME
    from .core.sweep import SWEPT

    sweep = commands.add_parser("sweep", help="train a grid of settings x seeds in parallel and rank the results")
    for name, field in SWEPT.items():
        flag = isinstance(BY_NAME[field].rule, Flag)
        sweep.add_argument(f"--{name}", metavar="false,true" if flag else "A,B,...",
                           help=f"comma-separated values ({BY_NAME[field].help})")
    sweep.add_argument("--seed", help="first seed, 0 to 2^31-1 (default 0)")
    sweep.add_argument("--seeds", help="seeds per setting combination: seed..seed+N-1, 1-100 (default 1)")
    sweep.add_argument("--engine", help="fast (compiled, default) or fit (Keras' model.fit)")
    sweep.add_argument("--no-shuffle", action="store_true", help="keep batch order fixed")
    sweep.add_argument("--workers", help="worker processes, 1-256 (default: one per core)")
    sweep.add_argument(
        "--ray", nargs="?", const="", metavar="ADDRESS",
        help="run the trials as Ray tasks: a local Ray, or join ADDRESS (auto, ray://head:10001)",
    )
    sweep.add_argument("--resume", metavar="ID", help="finish sweep ID: only its trials without a finished run train")
    sweep.add_argument("--export", metavar="DIR", help="also write the sweep's JSON, Markdown and CSV into DIR")
    output = sweep.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object (trials and groups)")
    output.add_argument("--markdown", action="store_true",
                        help="print the groups as a Markdown table, the settings they share on a line above")
    output.add_argument("--csv", action="store_true", help="print every trial as CSV, every setting a column")
    _add_common(sweep)


def _sweep(args: argparse.Namespace, runs_dir: Path | None) -> int:
    """Validate the sweep's options (exit 2 with one line), then run it headless."""
    from .core import sweep as sweeps
    from .core.config import RULES, IntRange

    prog = "tui-echo sweep"
    values = {name: getattr(args, field) for name, field in sweeps.SWEPT.items()}
    try:
        grid = sweeps.grid_from_options(values)
        if args.resume:
            if grid or args.seeds or args.seed:
                _refuse(prog, "--resume ID takes the sweep's own settings; give no grid options, --seed or --seeds")
            try:
                plan = sweeps.load_plan(args.resume, runs_dir)
            except KeyError:
                _refuse(prog, f"--resume: no sweep {args.resume!r} in {sweeps.plans_folder(runs_dir)}")
        else:
            seed = 0 if args.seed is None else RULES["seed"].parse("seed", args.seed)
            base = {"shuffle": not args.no_shuffle}
            if args.engine is not None:
                base["engine"] = RULES["engine"].parse("engine", args.engine)
            plan = sweeps.plan(grid, base, list(range(seed, seed + _seeds(args.seeds, seed, prog))))
        workers = None if args.workers is None else IntRange(1, sweeps.MAX_WORKERS).parse("workers", args.workers)
    except ConfigError as error:
        _refuse(prog, f"--{error.field.replace('_', '-')} {error.reason}")
    if args.ray is not None:
        try:
            import ray  # noqa: F401 - only whether it is installed
        except ImportError:
            _refuse(prog, "--ray needs Ray: pip install 'tui-echo[ray]'")
    from .headless import sweep

    return sweep(
        plan,
        runs_dir=runs_dir,
        workers=workers,
        use_ray=args.ray is not None,
        ray_address=args.ray or None,
        output=_output(args),
        export_to=args.export,
    )


def _output(args: argparse.Namespace) -> str:
    """What ``compare`` or ``sweep`` prints: json, markdown, csv, or the text tables."""
    return next((name for name in ("json", "markdown", "csv") if getattr(args, name, False)), "text")


def _keep_earlier_values(top: argparse.ArgumentParser, parser: argparse.ArgumentParser) -> None:
    """Let ``tui-echo --lr 0.1 run`` keep its --lr: a subcommand's unset options must not reset it.

    argparse copies every subparser default over the namespace, so the subcommands' copies of
    the top-level options get SUPPRESS as default (argparse has no public way to walk actions).
    """
    shared = {action.dest for action in top._actions} - {"help", "command"}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                for sub_action in sub._actions:
                    if sub_action.dest in shared:
                        sub_action.default = argparse.SUPPRESS
                _keep_earlier_values(top, sub)


def config_from_args(args: argparse.Namespace, prog: str) -> Config:
    """The validated Config, or exit 2 with one line naming the option and its range."""
    values: dict[str, Any] = {s.name: getattr(args, s.name) for s in SETTINGS if s.option}
    try:
        return Config.from_fields(values)
    except ConfigError as error:
        _refuse(prog, f"{option_name(error.field)} {error.reason}")


def _refuse(prog: str, message: str) -> NoReturn:
    sys.stderr.write(f"{prog}: error: {message}\n")
    raise SystemExit(2)


def _topologies(text: str | None) -> list[str]:
    if text is None:
        return list(TOPOLOGIES)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in TOPOLOGIES]
    if unknown or not names:
        _refuse("tui-echo compare", f"--topologies must list some of {', '.join(TOPOLOGIES)} (got {text!r})")
    return list(dict.fromkeys(names))


def _compare_configs(base: Config, topologies: list[str]) -> list[Config]:
    from .core.compare import configs_for

    try:
        return configs_for(base, topologies)
    except ConfigError as error:
        _refuse("tui-echo compare", f"{option_name(error.field)} {error.reason}")


def _fps(text: str | None) -> int | None:
    from .core.config import IntRange

    try:
        return None if text is None else IntRange(1, 120).parse("--fps", text)
    except ConfigError as error:
        _refuse("tui-echo", str(error))


def _threshold(text: str | None) -> float:
    from .core.compare import DEFAULT_THRESHOLD
    from .core.config import FloatRange

    try:
        return DEFAULT_THRESHOLD if text is None else FloatRange(0.0, 1e6).parse("threshold", text)
    except ConfigError as error:
        _refuse("tui-echo compare", f"--threshold {error.reason}")


def _seeds(text: str | None, seed: int, prog: str = "tui-echo compare") -> int:
    """How many seeds from ``seed`` (--seeds), or exit 2 with one line."""
    from .core.compare import MAX_SEEDS, seeds_for
    from .core.config import IntRange

    try:
        count = 1 if text is None else IntRange(1, MAX_SEEDS).parse("seeds", text)
        return len(seeds_for(seed, count))
    except ConfigError as error:
        _refuse(prog, f"--seeds {error.reason}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tui-echo`` script and ``python -m tui_echo``.

    Ctrl+C before a training has started (while TensorFlow loads, say) is one line and exit
    130; once training runs, Ctrl+C, SIGTERM and SIGHUP stop it and save it (see headless.py).
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        sys.stderr.write("tui-echo: interrupted\n")
        return 130


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    runs_dir = Path(args.runs_dir) if args.runs_dir else None
    try:
        runtime.configure(device=args.device, memory_growth=not args.no_memory_growth)
    except ValueError as error:
        _refuse("tui-echo", f"--{error}")
    if args.command == "doctor":
        from .headless import doctor

        return doctor(as_json=args.json)
    if args.command == "diff":
        from .headless import diff

        return diff(runs_dir, args.ids, output="json" if args.json else "markdown" if args.markdown else "text")
    if args.command == "runs":
        from .headless import export_tensorboard, prune, runs

        if args.runs_command == "export":
            return export_tensorboard(runs_dir, args.ids, Path(args.tensorboard))
        if args.runs_command == "prune":
            return prune(runs_dir, older_than=args.older_than, statuses=args.status, keep=args.keep, yes=args.yes)
        return runs(runs_dir, args.runs_command, getattr(args, "ids", []), as_json=args.json,
                    epoch=getattr(args, "epoch", None))
    if args.command == "inspect":
        from .inspect_cli import inspect_command

        return inspect_command(runs_dir, args.id, args.epoch, args.sequence, as_json=args.json)
    if args.command == "sweep":
        return _sweep(args, runs_dir)
    if args.command == "attach":
        return _run_tui(Config(), runs_dir, _fps(args.fps), ascii_only=args.ascii, attach=_attach_id(args.id, runs_dir))
    prog = f"tui-echo {args.command}" if args.command else "tui-echo"
    config = config_from_args(args, prog)  # refuse bad values before the slow TensorFlow import
    if args.command is None:
        return _run_tui(config, runs_dir, _fps(args.fps), ascii_only=args.ascii)
    if args.command == "run":
        from .headless import afford

        code = afford(config, as_json=args.json, dry_run=args.dry_run)  # before TensorFlow's import
        if code is not None:
            return code
    if args.command == "compare":
        configs = _compare_configs(config, _topologies(args.topologies))
        threshold = _threshold(args.threshold)
        seeds = _seeds(args.seeds, config.seed)
    try:
        runtime.load()
    except runtime.DeviceError as error:
        _refuse(prog, str(error))
    if args.command == "export-script":
        from .core.script import experiment_script

        sys.stdout.write(experiment_script(config))
        return 0
    if args.command == "run":
        from .headless import run

        return run(config, as_json=args.json, runs_dir=runs_dir)
    from .headless import compare

    return compare(
        configs,
        threshold=threshold,
        export_to=args.export,
        output=_output(args),
        runs_dir=runs_dir,
        seeds=seeds,
    )


def _attach_id(run_id: str | None, runs_dir: Path | None) -> str:
    """The run to attach to: ``run_id`` if it is running, else the newest running run; or exit 2."""
    from .core.runs import BadRunId, RunStore, check_id

    store = RunStore(runs_dir)
    running = sorted((r for r in store.list() if r.status == "running"), key=lambda r: r.started)
    if run_id is None:
        if not running:
            _refuse("tui-echo attach", f"no running run in {store.root}: start one with tui-echo run, or name a RUN_ID")
        return running[-1].id
    try:
        check_id(run_id)
    except BadRunId as error:
        _refuse("tui-echo attach", str(error))
    if not (store.root / run_id).is_dir():
        _refuse("tui-echo attach", f"no run {run_id} in {store.root}")
    return run_id  # an ended run opens too: it shows how it ended


def _run_tui(
    config: Config, runs_dir: Path | None, fps: int | None, *, ascii_only: bool = False, attach: str | None = None
) -> int:
    """Start the app with native stderr (TensorFlow's C++ logs) kept off the screen.

    Textual draws on ``sys.__stderr__``; we give it a private copy of the terminal and point
    file descriptor 2 at /dev/null, so nothing else written there can draw over the UI.
    ``NO_COLOR`` needs nothing here: Textual honours it.
    """
    if os.environ.get("TERM") == "dumb" or not (sys.stdin.isatty() and sys.stdout.isatty()):
        _refuse("tui-echo", "the lab needs an interactive terminal (TERM=dumb or a pipe cannot show it); "
                "`tui-echo run` trains headless and prints the results")
    if fps is not None:
        os.environ["TEXTUAL_FPS"] = str(fps)  # read when Textual is first imported, just below
    # TensorFlow's threads on every core but one: the UI keeps a core, so keys answer at once
    # while training (on 2 cores key p99 fell from 87 to 57 ms and training got faster, measured).
    runtime.configure(cpu_threads=(os.cpu_count() or 2) - 1)
    # The training thread's Python between compiled calls may hold the GIL for the default 5 ms
    # slices; 1 ms slices hand it to the UI sooner (event-loop lag max 106-123 ms -> 56-69 ms).
    sys.setswitchinterval(0.001)
    from .app import EchoApp

    if runs_dir is not None:
        os.environ["TUI_ECHO_RUNS_DIR"] = str(runs_dir)  # the app's RunStore reads it
    terminal = os.dup(2)
    sys.__stderr__ = os.fdopen(terminal, "w", buffering=1, closefd=False)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    # Attached, the lab never trains: TensorFlow is not loaded (the lab opens in ~0.2 s).
    EchoApp(config=config, ascii_only=ascii_only, attach=attach, load_tensorflow=attach is None).run()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
