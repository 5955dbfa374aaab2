"""A person's own series from a CSV: windows, targets, the time split, normalisation from the
training rows, shapes for every topology, one-line refusals of bad files, and real runs.

Every CSV here is written into the test's own folder; no real-world series ships with the tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import Input

from conftest import run_cli
from test_script import data_part  # noqa: E402  (tests/ is on sys.path)
from tui_echo.app import EchoApp
from tui_echo.core import csvdata, explain
from tui_echo.core.config import Config, ConfigError
from tui_echo.core.experiment import run_experiment
from tui_echo.core.runs import RunError, RunStore
from tui_echo.core.script import experiment_script
from tui_echo.core.topologies import TOPOLOGIES
from tui_echo.widgets import ConfigForm

ROWS = 53  # 10 windows of 5 and 3 rows over (2 with the next-value target)
PRICE = np.round(np.sin(np.arange(ROWS) / 4.0) * 10 + 50 + np.arange(ROWS) * 0.3, 3)
VOLUME = np.round(1000 + 40 * np.cos(np.arange(ROWS) / 3.0), 1)


def write(folder: Path, text: str, name: str = "series.csv") -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture()
def series(tmp_path: Path) -> str:
    """A header, a text column of dates, and two numeric columns."""
    lines = ["date,price,volume", *(f"2024-01-{i:02d},{p},{v}" for i, (p, v) in enumerate(zip(PRICE, VOLUME)))]
    return write(tmp_path, "\n".join(lines) + "\n")


def z(values: np.ndarray, rows: int) -> np.ndarray:
    """z-scores with the statistics of the first ``rows`` values (the training rows)."""
    return (values - values[:rows].mean()) / values[:rows].std()


# ----------------------------------------------------------------------------- round trip


def test_windows_split_and_normalisation_use_the_training_rows_only(series: str) -> None:
    config = Config.from_fields({"data": series, "length": "5", "validation": "0.2"})
    assert config.task == "csv" and config.columns is None  # the file selects the task
    assert (config.sequence_count, config.validation_sequences, config.features) == (10, 2, 2)
    problem = config.resolved().problem
    train_rows = 8 * 5  # the last 2 windows (rows 40-49) validate; rows 50-52 make no whole window
    price, volume = z(PRICE, train_rows), z(VOLUME, train_rows)
    # Consecutive, non-overlapping windows in time order; features are the columns in file order.
    expected = np.stack([price[:50], volume[:50]], axis=-1).reshape(10, 5, 2).astype(np.float32)
    np.testing.assert_allclose(problem.X, expected[:8], atol=1e-6)
    np.testing.assert_allclose(problem.X_val, expected[8:], atol=1e-6)
    np.testing.assert_allclose(problem.y[..., 0], price[1:41].reshape(8, 5), atol=1e-6)  # next price
    np.testing.assert_allclose(problem.y_val[..., 0], price[41:51].reshape(2, 5), atol=1e-6)
    np.testing.assert_allclose(problem.inputs, price[:40].reshape(8, 5), atol=1e-6)  # what tables show
    described = config.data_description
    assert described["mean"] == {"price": pytest.approx(PRICE[:40].mean()), "volume": pytest.approx(VOLUME[:40].mean())}
    assert described["std"]["price"] == pytest.approx(PRICE[:40].std())
    assert PRICE[:40].mean() != pytest.approx(PRICE[:50].mean())  # so the test can tell the rows apart
    assert (described["windows"], described["validation_windows"], described["train_rows"]) == (10, 2, 40)
    assert described["unused_rows"] == 2 and described["columns"] == ["price", "volume"]
    assert described["x_shape"] == [8, 5, 2] and described["y_shape"] == [8, 5, 1]


@pytest.mark.parametrize("target, expected", [
    ("same", lambda p, v: p[:50].reshape(10, 5)),
    ("delay:2", lambda p, v: np.concatenate([np.zeros((10, 2)), p[:50].reshape(10, 5)[:, :3]], axis=1)),
    ("volume", lambda p, v: v[:50].reshape(10, 5)),
    ("3", lambda p, v: v[:50].reshape(10, 5)),  # a column by its 1-based number
    ("next", lambda p, v: p[1:51].reshape(10, 5)),
])
def test_each_target_kind(series: str, target: str, expected) -> None:
    config = Config.from_fields({"data": series, "columns": "price", "target": target, "topology": "many-to-one"})
    windows = 10
    assert config.sequence_count == windows and config.features == 1
    want = expected(z(PRICE, windows * 5), z(VOLUME, windows * 5))
    np.testing.assert_allclose(config.problem.y, want, atol=1e-6)
    np.testing.assert_allclose(config.problem.X[..., 0], z(PRICE, 50)[:50].reshape(10, 5), atol=1e-6)


@pytest.mark.parametrize("target", ["next", "same", "delay:2", "volume"])
def test_the_first_window_is_cut_alone_and_equals_the_data_sets_first(series: str, target: str) -> None:
    config = Config.from_fields({"data": series, "columns": "volume,price", "target": target, "validation": "0.3"})
    inputs, targets = config.first_sequence  # the lab's preview: one window cut, not all of them
    assert "windows" not in vars(config)
    problem = config.resolved().problem
    np.testing.assert_array_equal(inputs, problem.inputs[0])
    np.testing.assert_array_equal(targets, problem.targets[0])


@pytest.mark.parametrize("columns, features", [("price", 1), ("volume,2", 2)])
@pytest.mark.parametrize("topology", list(TOPOLOGIES))
def test_shapes_for_every_topology_with_one_and_two_features(series: str, topology: str, columns: str, features: int) -> None:
    config = Config.from_fields({"data": series, "columns": columns, "length": "5", "topology": topology,
                                 "validation": "0.3"})
    train, held = 7, 3
    expected = {
        "one-to-one": ((train * 5, 1, features), (train * 5, 1)),
        "many-to-one": ((train, 5, features), (train, 5)),
        "many-to-many": ((train, 5, features), (train, 5, 1)),
        "many-to-many-dense": ((train, 5, features), (train, 5, 1)),
    }[topology]
    assert config.shapes == expected  # by arithmetic
    problem = config.resolved().problem
    assert (problem.X.shape, problem.y.shape) == expected
    assert problem.X_val.shape == (held * 5, 1, features) if topology == "one-to-one" else problem.X_val.shape[0] == held
    assert config.data_description["x_shape"] == list(expected[0])
    # the explainer lists them all
    assert explain.topology_shapes(config)[list(TOPOLOGIES).index(topology)] == (topology, *expected)


def test_the_model_takes_every_feature(series: str) -> None:
    from tui_echo.core import engine

    for topology in TOPOLOGIES:
        config = Config.from_fields({"data": series, "topology": topology, "units": "3"}).resolved()
        model = engine.build_model(config)
        assert tuple(model.input_shape[1:]) == config.shapes[0][1:]
        assert model(config.problem.X[:2]).shape[0] == 2


def test_the_file_is_parsed_once_per_version(series: str, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = []
    real = csvdata._parse
    monkeypatch.setattr(csvdata, "_parse", lambda path, *rest: parsed.append(path) or real(path, *rest))
    monkeypatch.setattr(csvdata, "_cache", type(csvdata._cache)())
    config = Config.from_fields({"data": series, "validation": "0.2"})
    for _ in range(3):
        config.shapes, config.sequence_count, config.samples, Config.from_fields({"data": series}).features
    assert len(parsed) == 1
    with open(series, "a") as file:
        file.write("2024-03-01,1.0,2.0\n" * 5)  # a new version: read again, and it has one window more
    assert Config.from_fields({"data": series}).sequence_count == 11 and len(parsed) == 2


# ----------------------------------------------------------------------------- refusals


BAD = {
    "empty": ("", "data", "{path}: is empty; expected rows of numbers, one row per time step"),
    "blank lines": ("\n\n  \n", "data", "{path}: is empty; expected rows of numbers, one row per time step"),
    "header only": ("a,b\n", "data", "{path}: has a header but no rows of data"),
    "non-numeric cell": ("t,price\n" + "".join(f"{i},{i}.5\n" for i in range(15)) + "15,n/a\n", "data",
                         "{path}: row 17, column 'price': 'n/a' is not a number"),
    "empty cell": ("1,2\n3,\n", "data", "{path}: row 2, column '2': is empty"),
    "one row": ("price\n1.5\n", "data",
                "{path}: has 1 row of data; a window of length 5 with target next needs at least 6"),
    "ragged": ("a,b,c\n1,2,3\n4,5\n6,7,8\n", "data", "{path}: row 3 has 2 cells, expected 3 (as in row 1)"),
    "no numeric column": ("name,city\nann,oslo\nbo,rome\n", "data",
                          "{path}: has no numeric column (one whose first value is a number)"),
    "infinite": ("x\n1\ninf\n", "data", "{path}: row 3, column 'x': 'inf' is not a number"),
    "not utf-8": (b"x\n1\n\xff\n", "data", "{path}: is not UTF-8 text (byte 4)"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_each_bad_file_is_one_line_naming_row_and_column(tmp_path: Path, name: str) -> None:
    content, field, message = BAD[name]
    path = tmp_path / "bad.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"data": str(path)})
    assert refused.value.field == field
    assert refused.value.reason == message.format(path=path)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("values, field, message", [
    ({"columns": "price,prise"}, "columns", "'prise' is not a column of {path} (it has date, price, volume, or 1 to 3)"),
    ({"columns": "date"}, "columns", "column 'date' of {path} is not numeric (row 2: '2024-01-00')"),
    ({"columns": "4"}, "columns", "'4' is not a column of {path} (it has date, price, volume, or 1 to 3)"),
    ({"target": "delay:5"}, "target", "delay:K needs K from 1 to length - 1 = 4 (got 'delay:5')"),
    ({"target": "later"}, "target", "must be next, same, delay:K or a column "
                                    "('later' is not a column of {path} (it has date, price, volume, or 1 to 3))"),
    ({"length": "60"}, "data", "{path}: has 53 rows of data; a window of length 60 with target next needs at least 61"),
    ({"task": "echo"}, "data", "is read by the csv task only (the task is echo)"),
])
def test_bad_columns_targets_and_tasks(series: str, values: dict, field: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"data": series, **values})
    assert (refused.value.field, refused.value.reason) == (field, message.format(path=series))


def test_unreadable_paths_huge_files_and_too_many_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {str(tmp_path / "missing.csv"): "cannot be read (No such file or directory)", str(tmp_path): "is not a file"}
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as file:
        file.truncate(csvdata.MAX_BYTES + 1_000_000)  # sparse: over the limit without writing 21 MB
    cases[str(huge)] = "is 21.0 MB; the limit is 20 MB"
    for path, reason in cases.items():
        with pytest.raises(ConfigError) as refused:
            Config.from_fields({"data": path})
        assert refused.value.reason == f"{path}: {reason}"
    with pytest.raises(ConfigError) as refused:
        Config(task="csv").check()
    assert str(refused.value) == "data is needed by the csv task: the path of a CSV file"
    monkeypatch.setattr(csvdata, "MAX_ROWS", 10)
    many = write(tmp_path, "x\n" + "1\n" * 11, "many.csv")
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"data": many})
    assert refused.value.reason == f"{many}: has more than 10 rows of data; the limit is 10"


def test_the_cli_refuses_a_bad_file_with_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = write(tmp_path, "t,price\n1,2.5\n2,n/a\n")
    for command in ("run", "compare"):
        done = run_cli(command, "--data", bad, "--window", "1")
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr == f"tui-echo {command}: error: --data {bad}: row 3, column 'price': 'n/a' is not a number\n"
    done = run_cli("run", "--data", bad, "--columns", "t", "--target", "delay:x")
    assert done.returncode == 2
    assert done.stderr == "tui-echo run: error: --target delay:K needs K from 1 to length - 1 = 4 (got 'delay:x')\n"


# ----------------------------------------------------------------------------- real runs


def test_a_short_training_on_a_csv_is_saved_with_its_statistics(series: str, tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    config = Config.from_fields({"data": series, "topology": "many-to-many", "epochs": "5", "units": "4",
                                 "validation": "0.2", "length": "5"})
    record = run_experiment(config, store=store)
    assert record["status"] == "finished" and len(record["history"]) == 5
    assert record["layers"][0]["output_shape"] == [None, 5, 4] and record["params"] == 4 * ((2 + 1) * 4 + 16) + 5
    assert len(record["predictions"]) == len(record["targets"]) == 8 * 5  # the training windows
    loaded = store.load(record["id"])
    assert loaded["data"] == json.loads(json.dumps(config.data_description))
    assert loaded["data"]["mean"]["price"] == pytest.approx(PRICE[:40].mean())
    assert loaded["inputs"][:5] == pytest.approx(z(PRICE, 40)[:5].tolist(), abs=1e-6)
    # the hardened loader still refuses junk in the description
    result = Path(loaded["path"]) / "result.json"
    saved = json.loads(result.read_text())
    for junk in ({"mean": {"price": "high"}}, {"windows": -1}, {"surprise": 1}, {"x_shape": "8x5"}):
        result.write_text(json.dumps({**saved, "data": {**saved["data"], **junk}}))
        with pytest.raises(RunError, match="result.json: data has the wrong type or range"):
            store.load(record["id"])


def test_the_exported_script_reads_the_same_windows(series: str) -> None:
    for values in ({"target": "delay:3", "columns": "volume,price", "validation": "0.2"},
                   {"target": "next", "topology": "one-to-one"}):
        config = Config.from_fields({"data": series, **values})
        script = experiment_script(config)
        namespace = data_part(script)
        problem = config.resolved().problem
        np.testing.assert_array_equal(namespace["X"], problem.X)
        np.testing.assert_array_equal(namespace["y"], problem.y)
        if config.validation:
            np.testing.assert_array_equal(namespace["X_val"], problem.X_val)
            assert "validation_data=(X_val, y_val)" in script
        assert repr(os.path.abspath(series)) in script and "dtype=\"float32\")" not in script  # read, not embedded


def test_train_and_compare_from_the_command_line(series: str, tmp_path: Path) -> None:
    runs = str(tmp_path / "runs")
    done = run_cli("run", "--data", series, "--window", "5", "--validation", "0.2", "--epochs", "3",
                   "--units", "3", "--json", "--runs-dir", runs, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "finished" and record["data"]["x_shape"] == [8, 5, 2]
    done = run_cli("compare", "--data", series, "--columns", "price", "--target", "same", "--epochs", "3",
                   "--units", "3", "--json", "--runs-dir", runs, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["rows"]
    assert {r["topology"]: r["x_shape"] for r in rows} == {
        "one-to-one": [50, 1, 1], "many-to-one": [10, 5, 1], "many-to-many": [10, 5, 1], "many-to-many-dense": [10, 5, 1],
    }


# ----------------------------------------------------------------------------- the lab


async def test_the_lab_shows_a_bad_files_message_under_the_data_field(series: str, tmp_path: Path) -> None:
    bad = write(tmp_path, "price\n1\n2\nx\n", "bad.csv")
    app = EchoApp(config=Config(task="csv", data=series), load_tensorflow=False)
    async with app.run_test(size=(100, 40)) as pilot:
        form = app.query_one(ConfigForm)
        await until(pilot, lambda: form.reading is None)  # files are read in the background
        assert form.errors == {} and form.config.task == "csv"
        field = app.query_one("#field-data", Input)
        field.value = bad
        await pilot.pause()
        await until(pilot, lambda: form.reading is None)
        assert form.errors == {"data": f"data {bad}: row 4, column 'price': 'x' is not a number"}
        assert form.config is None
        message = app.query_one("#error-data")
        assert message.display and "row 4, column 'price'" in str(message.render())
        field.value = series
        await pilot.pause()
        assert form.errors == {} and form.config.data == series
        # the data settings are the csv task's only: another task hides them and ignores them
        form.query_one("#field-task").value = "echo"
        await pilot.pause()
        assert not app.query_one("#field-data").display and not app.query_one("#field-columns").display
        assert form.errors == {} and form.config.task == "echo" and form.config.data is None


def big_csv(folder: Path, rows: int, name: str = "big.csv", last: str | None = None) -> str:
    """``rows`` rows of two numeric columns (a few MB at 300k rows); ``last`` replaces the last row."""
    values = np.round(np.random.default_rng(rows).normal(50, 10, (rows, 2)), 3)
    lines = [f"{a},{b}" for a, b in values]
    if last is not None:
        lines[-1] = last
    return write(folder, "price,volume\n" + "\n".join(lines) + "\n", name)


@pytest.fixture()
def gated(monkeypatch: pytest.MonkeyPatch):
    """Each file's parse waits until ``gates[path]`` is set (a file with no gate parses at once);
    ``started`` lists the paths whose parse began."""
    real, gates, started = csvdata._parse, {}, []

    def parse(path, should_stop):
        started.append(path)
        if path in gates:
            assert gates[path].wait(30)
        return real(path, should_stop)

    monkeypatch.setattr(csvdata, "_parse", parse)
    monkeypatch.setattr(csvdata, "_cache", type(csvdata._cache)())
    return gates, started


def field_message(app: EchoApp, name: str) -> str:
    message = app.query_one(f"#error-{name}")
    return str(message.render()) if message.display else ""


async def until(pilot, predicate, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.02)
    await pilot.pause()


async def test_a_big_file_is_read_in_the_background_and_keys_answer_meanwhile(tmp_path: Path, monkeypatch) -> None:
    import asyncio
    import time

    from textual import events

    big = big_csv(tmp_path, 300_000)
    parsing = {}
    real = csvdata._parse
    monkeypatch.setattr(csvdata, "_cache", type(csvdata._cache)())

    def timed(path, should_stop):
        parsing["from"] = time.monotonic()
        try:
            return real(path, should_stop)
        finally:
            parsing["to"] = time.monotonic()

    monkeypatch.setattr(csvdata, "_parse", timed)
    app = EchoApp(config=Config(task="csv"), load_tensorflow=False)
    async with app.run_test(size=(100, 40)) as pilot:
        form = app.query_one(ConfigForm)
        seed = app.query_one("#field-seed", Input)
        app.query_one("#field-data", Input).value = big
        seed.focus()
        while form.reading is None:  # (pilot.pause() would wait for the parse too)
            await asyncio.sleep(0.002)
        assert form.reading == big and form.config is None
        assert field_message(app, "data") == f"reading {big}…"
        # Keys typed while the file is parsed are handled at once: each is sent as the terminal
        # would send it, and its effect is awaited on the event loop (pilot.press would wait for
        # the whole process, the parsing thread included, to go idle).
        during: list[float] = []
        while form.reading is not None and len(during) < 40:
            before, sent = seed.value, time.monotonic()
            key = events.Key("1", "1")
            key.set_sender(app)
            app.post_message(key)
            while seed.value == before:
                await asyncio.sleep(0.002)
            if "from" in parsing and "to" not in parsing:  # the whole round trip fell inside the parse
                during.append(time.monotonic() - sent)
        assert during, "no key was pressed while the file was parsed"
        assert max(during) < 0.3, during
        await until(pilot, lambda: form.reading is None)
        seed.value = ""
        await pilot.pause()
        assert form.errors == {} and form.config is not None and form.config.sequence_count == 299_999 // 5
        assert field_message(app, "data") == ""


async def test_a_bad_files_error_appears_inline_once_read_and_ctrl_r_waits_for_it(tmp_path: Path, gated) -> None:
    import threading

    gates, started = gated
    bad = big_csv(tmp_path, 1_000, "ragged.csv", last="1.5")
    gates[bad] = threading.Event()
    app = EchoApp(config=Config(task="csv"), load_tensorflow=False)
    async with app.run_test(size=(100, 40)) as pilot:
        form = app.query_one(ConfigForm)
        app.query_one("#field-data", Input).value = bad
        await until(pilot, lambda: started == [bad])
        assert field_message(app, "data") == f"reading {bad}…" and form.reading == bad
        await pilot.press("ctrl+r")  # never trains on settings not yet known: it waits for the read
        assert app.lab.phase.name == "IDLE"
        assert any(n.message == f"Reading {bad}… training starts once it is read" for n in app._notifications)
        gates[bad].set()
        await until(pilot, lambda: form.reading is None)
        reason = f"{bad}: row 1001 has 1 cells, expected 2 (as in row 1)"
        assert form.errors == {"data": f"data {reason}"} and form.config is None
        assert field_message(app, "data") == f"⚠ data {reason}"
        # the refusal is cached: checking again (any field edited) neither reads nor waits
        app.query_one("#field-seed", Input).value = "3"
        await pilot.pause()
        assert started == [bad] and form.reading is None and form.errors["data"] == f"data {reason}"


async def test_a_newer_path_typed_mid_read_wins(tmp_path: Path, gated) -> None:
    import threading

    gates, started = gated
    first = big_csv(tmp_path, 100_000, "first.csv")
    second = big_csv(tmp_path, 1_000, "second.csv", last="x,1")
    gates[first] = threading.Event()
    app = EchoApp(config=Config(task="csv"), load_tensorflow=False)
    async with app.run_test(size=(100, 40)) as pilot:
        form = app.query_one(ConfigForm)
        field = app.query_one("#field-data", Input)
        field.value = first
        await until(pilot, lambda: started == [first])
        field.value = second
        await until(pilot, lambda: form.reading is None)
        expected = {"data": f"data {second}: row 1001, column 'price': 'x' is not a number"}
        assert form.errors == expected
        gates[first].set()  # the older read now runs on: it sees it was stopped, and is ignored
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert form.errors == expected and form.reading is None
        assert field_message(app, "data") == f"⚠ {expected['data']}"
        assert csvdata.would_parse(first)  # stopped part-way: nothing of it was kept


async def test_the_sweep_reads_a_file_its_fields_add_before_planning(series: str, tmp_path: Path, gated) -> None:
    import threading

    from tui_echo.screens.sweep import SweepScreen

    gates, started = gated
    other = big_csv(tmp_path, 1_000, "other.csv")
    gates[other] = threading.Event()
    csvdata.read(series)  # the lab's own file, read when its settings were checked
    app = EchoApp(config=Config(task="csv", data=series), load_tensorflow=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(SweepScreen(Config.from_fields({"data": series}), app.training, worker_count=1))
        screen = app.screen
        assert screen.plan is not None and screen.reading is None
        screen.query_one("#sweep-more", Input).value = f"data={series},{other}"
        await until(pilot, lambda: other in started)
        assert screen.plan is None and screen.reading == other
        assert str(screen.query_one("#sweep-error").render()) == f"reading {other}…"
        gates[other].set()
        await until(pilot, lambda: screen.reading is None)
        assert screen.error == "" and {t.config.data for t in screen.plan.trials} == {series, other}


async def test_loading_a_runs_settings_reads_its_file_first(series: str, tmp_path: Path, gated) -> None:
    import threading

    from tui_echo.screens.runs import RunsScreen

    gates, started = gated
    store = RunStore(tmp_path / "runs")
    config = Config.from_fields({"data": series, "epochs": "2", "units": "2"})
    record = run_experiment(config, store=store)
    csvdata._cache.clear()  # as after a restart: the run's file is not cached
    started.clear()
    gates[series] = threading.Event()
    app = EchoApp(config=Config(), load_tensorflow=False)
    app.run_store = store  # this run alone, so it is the highlighted one
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(RunsScreen())
        await pilot.pause()
        await pilot.press("l")
        await until(pilot, lambda: series in started)
        assert isinstance(app.screen, RunsScreen)  # waits for the read, off the UI thread
        gates[series].set()
        await until(pilot, lambda: not isinstance(app.screen, RunsScreen))
        form = app.query_one(ConfigForm)
        await until(pilot, lambda: form.reading is None)
        assert form.errors == {} and form.config.data == series and started == [series]


async def test_ctrl_r_while_a_file_is_read_trains_once_it_is_read_and_escape_cancels_it(tmp_path: Path, gated) -> None:
    import threading

    gates, started = gated
    good = big_csv(tmp_path, 200, "good.csv")
    gates[good] = threading.Event()
    app = EchoApp(config=Config(task="csv", length=5, epochs=3), load_tensorflow=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.tf_ready, timeout=60)
        form = app.query_one(ConfigForm)
        app.query_one("#field-data", Input).value = good
        await until(pilot, lambda: started == [good])
        await pilot.press("ctrl+r")
        assert app.lab.phase.name == "IDLE" and app.lab.check_action("stop", ())
        await pilot.press("escape", "escape")  # out of the field, then cancels the waiting ctrl+r
        gates[good].set()
        await until(pilot, lambda: form.reading is None)
        assert app.lab.phase.name == "IDLE" and not app.lab.check_action("stop", ())
        # again, this time left to run: a new path is read and then trained
        other = big_csv(tmp_path, 300, "other.csv")
        gates[other] = threading.Event()
        app.query_one("#field-data", Input).value = other
        await until(pilot, lambda: other in started)
        await pilot.press("ctrl+r")
        gates[other].set()
        await until(pilot, lambda: app.lab.phase.name == "FINISHED", timeout=60)
        assert app.lab.run_config.data == other and len(app.lab.history) == 3


async def test_while_a_file_is_read_the_form_does_not_keep_checking(tmp_path: Path, gated, monkeypatch) -> None:
    # The lab asks the form whether it is settled on every settings change; asking must not
    # start another check (each posts a change, which asks again: a loop that kept the UI busy).
    import threading

    gates, started = gated
    path = big_csv(tmp_path, 1_000)
    gates[path] = threading.Event()
    checks = []
    real = ConfigForm._check
    monkeypatch.setattr(ConfigForm, "_check", lambda self: (checks.append(1), real(self)))
    app = EchoApp(config=Config(task="csv"))
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.tf_ready, timeout=60)  # the status line asks once TF is ready
        app.query_one("#field-data", Input).value = path
        await until(pilot, lambda: started == [path])
        before = len(checks)
        await pilot.pause(0.5)
        assert len(checks) - before <= 2, f"{len(checks) - before} checks in 0.5 s while reading"
        gates[path].set()
        await until(pilot, lambda: app.query_one(ConfigForm).reading is None)
