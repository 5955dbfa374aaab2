"""The run store reading folders that fight back: bad types, missing files, FIFOs, symlinks, huge
or deeply nested JSON, copies and torn records. Nothing raises or hangs, every good run is listed,
and every bad folder is one warning naming it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import DataTable, Static

from tui_echo.__main__ import main
from tui_echo.app import EchoApp
from tui_echo.core.config import Config
from tui_echo.core.runs import RunStore
from tui_echo.screens.runs import RunsScreen, RunView


CONFIG = Config(topology="many-to-one").resolved().to_dict()


def finished_record(run_id: str, losses: list[float]) -> dict[str, Any]:
    """A many-to-one run record, as ``run_record`` makes them, without training anything."""
    return {
        "topology": "many-to-one", "status": "finished", "config": CONFIG, "params": 170,
        "layers": [{"name": "lstm", "type": "LSTM", "output_shape": [None, 5], "params": 140, "formula": ""},
                   {"name": "dense", "type": "Dense", "output_shape": [None, 5], "params": 30, "formula": ""}],
        "history": losses, "final_loss": losses[-1], "predictions": [0.0, 0.2, 0.4, 0.6, 0.8],
        "targets": [0.0, 0.2, 0.4, 0.6, 0.8], "sample_sequences": 1, "wall_s": 1.0, "compile_s": 0.5,
        "epochs_per_s": 10.0, "engine": "fast", "versions": {"keras": "3"}, "device": "CPU", "id": run_id,
    }


def good_run(root: Path, run_id: str, epochs: int = 3, *, legacy: bool = False) -> Path:
    """A finished run folder as the store writes it (``legacy``: as versions before history.f32 did)."""
    folder = root / run_id
    folder.mkdir()
    losses = [0.5 / (i + 1) for i in range(epochs)]
    meta = {"id": run_id, "started": 1.7e9, "status": "finished", "pid": 1, "host": "elsewhere", "config": CONFIG}
    result = {k: v for k, v in finished_record(run_id, losses).items() if k != "history"}
    (folder / "run.json").write_text(json.dumps(meta))
    if legacy:
        (folder / "result.json").write_text(json.dumps({**result, "history": losses}))
        (folder / "history.txt").write_text("".join(f"{v!r}\n" for v in losses))
    else:
        (folder / "result.json").write_text(json.dumps(result))
        (folder / "history.f32").write_bytes(np.array(losses, dtype="<f4").tobytes())
    return folder


def _rewrite(folder: Path, name: str, change: Callable[[dict], Any]) -> None:
    path = folder / name
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


def _replace_with(folder: Path, name: str, make: Callable[[Path], None]) -> None:
    (folder / name).unlink()
    make(folder / name)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)

# Damage that always makes a folder unreadable: (what, how), with ``how(folder, root)``.
BREAKS: list[tuple[str, Callable[[Path, Path], None]]] = [
    ("no run.json", lambda f, r: (f / "run.json").unlink()),
    ("run.json is a FIFO", lambda f, r: _replace_with(f, "run.json", os.mkfifo)),
    ("run.json is a folder", lambda f, r: _replace_with(f, "run.json", Path.mkdir)),
    ("run.json links to /dev/zero", lambda f, r: _replace_with(f, "run.json", lambda p: p.symlink_to("/dev/zero"))),
    ("history.f32 is a FIFO", lambda f, r: _replace_with(f, "history.f32", os.mkfifo)),
    ("history.f32 links out", lambda f, r: _replace_with(f, "history.f32", lambda p: p.symlink_to(r / "outside"))),
    ("pid is text", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "pid": "abc"})),
    ("pid is huge", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "pid": 10**30})),
    ("status unknown", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "status": "great"})),
    ("started is text", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "started": "yesterday"})),
    ("started is far future", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "started": 1e300})),
    ("topology unknown", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "config": {**m["config"], "topology": "x"}})),
    ("epochs are text", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "config": {**m["config"], "epochs": "5"}})),
    ("config is a list", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "config": []})),
    ("id of another run", lambda f, r: _rewrite(f, "run.json", lambda m: {**m, "id": "20000101-000000-ffff"})),
    ("run.json is a list", lambda f, r: (f / "run.json").write_text("[1, 2]")),
    ("run.json is torn", lambda f, r: (f / "run.json").write_text((f / "run.json").read_text()[:30])),
    ("run.json is huge", lambda f, r: (f / "run.json").write_bytes(b" " * (2**20 + 1) + b"{}")),
    ("result.json is deep", lambda f, r: (f / "result.json").write_text("[" * 200_000 + "]" * 200_000)),
    ("result.json is not UTF-8", lambda f, r: (f / "result.json").write_bytes(b"{\"a\": \"\xff\"}")),
    ("layers are wrong", lambda f, r: _rewrite(f, "result.json", lambda d: {**d, "layers": [{"name": 1}]})),
    ("predictions hold text", lambda f, r: _rewrite(f, "result.json", lambda d: {**d, "predictions": ["a"]})),
    ("result lacks targets", lambda f, r: _rewrite(f, "result.json", lambda d: {k: v for k, v in d.items() if k != "targets"})),
    ("history.f32 too long", lambda f, r: (f / "history.f32").write_bytes(b"\0" * (4 * 1_000_000 + 4))),
]

# Damage a reader must survive with the run still listed.
SURVIVABLE: list[tuple[str, Callable[[Path, Path], None]]] = [
    ("torn history record", lambda f, r: (f / "history.f32").open("ab").write(b"\x01\x02")),
    ("a subfolder", lambda f, r: (f / "sub" / "deeper").mkdir(parents=True)),
    ("no result yet", lambda f, r: (f / "result.json").unlink()),
    ("no history yet", lambda f, r: (f / "history.f32").unlink()),
    ("unknown result field", lambda f, r: _rewrite(f, "result.json", lambda d: {**d, "extra": [[[1]]]})),
]


@st.composite
def hostile_folders(draw: st.DrawFn) -> list[tuple[str, str, Any]]:
    """A list of (folder name, kind, damage): kind is "good", "bad" or "either"."""
    count = draw(st.integers(1, 6))
    ids = draw(st.lists(st.integers(0, 0xFFFF), min_size=count, max_size=count, unique=True))
    plans = []
    for n in ids:
        name = f"20240102-030405-{n:04x}"
        kind = draw(st.sampled_from(["good", "legacy", "bad", "survivable", "random-field", "copy", "link", "garbage"]))
        if kind == "bad":
            plans.append((name, "bad", draw(st.sampled_from(BREAKS))))
        elif kind == "survivable":
            plans.append((name, "good", draw(st.sampled_from(SURVIVABLE))))
        elif kind == "random-field":
            file = draw(st.sampled_from(["run.json", "result.json"]))
            key = draw(st.sampled_from(["id", "pid", "started", "status", "host", "config", "layers", "params",
                                        "predictions", "targets", "wall_s", "versions", "error", "history"]))
            value = draw(json_values)
            plans.append((name, "either", ("random field", lambda f, r, file=file, key=key, value=value:
                                            _rewrite(f, file, lambda d: {**d, key: value}))))
        elif kind == "garbage":
            data = draw(st.binary(max_size=64))
            plans.append((name, "bad", ("garbage run.json", lambda f, r, data=data: (f / "run.json").write_bytes(data))))
        else:
            plans.append((name, kind, None))
    return plans


def _build(root: Path, plans: list[tuple[str, str, Any]]) -> tuple[set[str], set[str], set[str]]:
    """Make the folders; (names that must be listed, names that must be warned about, all names)."""
    (root / "outside").write_bytes(b"\0" * 8)  # a stray file: ignored, and never touched
    listed, warned, names = set(), set(), set()
    for name, kind, damage in plans:
        if kind == "copy":  # cp -a RUNS/ID RUNS/ID-backup: the copy's name is not the ID inside it
            good_run(root, name)
            shutil.copytree(root / name, root / f"{name}-backup", symlinks=True)
            listed.add(name)
            warned.add(f"{name}-backup")
            names.update({name, f"{name}-backup"})
            continue
        if kind == "link":  # a run folder that is a symlink to a run elsewhere
            (root.parent / "outside-runs").mkdir(exist_ok=True)
            good_run(root.parent / "outside-runs", name)
            (root / name).symlink_to(root.parent / "outside-runs" / name)
            warned.add(name)
            names.add(name)
            continue
        folder = good_run(root, name, legacy=kind == "legacy")
        names.add(name)
        if damage is not None:
            damage[1](folder, root)
        if kind in ("good", "legacy"):
            listed.add(name)
        elif kind == "bad":
            warned.add(name)
    return listed, warned, names


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def no_hang(seconds: int = 30):
    """Fail (rather than hang the suite) if the body blocks, on a FIFO say."""
    def give_up(*_: Any) -> None:
        raise TimeoutError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_folders())
def test_hostile_run_folders_never_break_listing_showing_or_removing(plans) -> None:
    root = Path(tempfile.mkdtemp())
    runs = root / "runs"
    runs.mkdir()
    try:
        with no_hang():
            listed, warned, names = _build(runs, plans)
            warnings: list[str] = []
            found = {r.id for r in RunStore(runs, warn=warnings.append).list()}
            assert listed <= found and not warned & found
            for name in names:  # each folder is listed or warned about, once
                said = [w for w in warnings if w.startswith(f"skipped {runs / name}: ")]
                assert len(said) == (name not in found), (name, warnings)
            assert len(warnings) == len(names) - len(found)

            code, out, err = _cli("runs", "--runs-dir", str(runs), "--json")
            assert code == 0 and {r["id"] for r in json.loads(out)} == found
            assert err.count("\n") == len(warnings) and err.count("tui-echo: warning: skipped") == len(warnings)
            code, out, err = _cli("runs", "--runs-dir", str(runs))
            assert code == 0 and f"Runs in {runs}" in out.replace("\n", "")

            for name in sorted(names):
                for extra in ([], ["--json"]):
                    code, out, err = _cli("runs", "show", name, "--runs-dir", str(runs), *extra)
                    if name in found:
                        assert code == 0 and name in out
                    else:
                        assert code in (1, 2) and err.count("\n") == 1, (name, err)
            for name in sorted(names):
                code, out, err = _cli("runs", "rm", name, "--runs-dir", str(runs))
                if (runs / name).is_symlink() or name.endswith("-backup"):  # not a run folder / not an ID
                    assert code == 2 and os.path.lexists(runs / name)
                else:
                    assert code == 0 and not (runs / name).exists()
            assert (runs / "outside").read_bytes() == b"\0" * 8
            assert all((root / "outside-runs" / n / "run.json").is_file() for n in names if (runs / n).is_symlink())
    finally:
        shutil.rmtree(root)


async def test_runs_screen_survives_a_copied_and_a_broken_run(tmp_path: Path) -> None:
    good = "20240102-030405-0001"
    good_run(tmp_path, good)
    shutil.copytree(tmp_path / good, tmp_path / f"{good}-backup")
    broken = good_run(tmp_path, "20240102-030405-0002")
    _rewrite(broken, "run.json", lambda m: {**m, "pid": "abc"})
    os.mkfifo(tmp_path / "20240102-030405-0003")  # a FIFO named like a run
    app = EchoApp(load_tensorflow=False)
    app.run_store = RunStore(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(DataTable)
        assert [str(key.value) for key in table.rows] == [good]
        status = str(screen.query_one("#runs-status", Static).render())
        assert "1 runs" in status and "2 skipped" in status
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RunView)
