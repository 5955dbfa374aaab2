"""Validation losses and early stopping in everything that shows or saves a run: the reducer, the
saved record and the hardened loader, the runs list, compare and sweep tables and exports (with
every setting by its command-line name), and the lab's log and chart, fed real event objects."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from tui_echo.core import aggregate, progress, sweep
from tui_echo.core.compare import (
    COLUMNS, EXPORTERS, SEEDED_EXPORTERS, columns, row, seeded_rows, to_json, to_markdown,
)
from tui_echo.core.config import FILE_SETTINGS, Config
from tui_echo.core.events import Cancelled, Compiled, Epochs, Finished, Started
from tui_echo.core.progress import Phase
from tui_echo.core.record import run_record
from tui_echo.core.runs import RunStore
from tui_echo.core.settings import SETTINGS, by_option
from tui_echo.core.summary import LayerRow, Summary

from test_app import wait_for  # noqa: E402  (tests/ is on sys.path)

CONFIG = Config(topology="many-to-many", task="random-echo", sequences=10, validation=0.2, epochs=40).resolved()
# Every setting's option; the csv task's own (data, columns, target) are recorded only when set.
OPTIONS = [s.option.removeprefix("--") for s in SETTINGS if s.option and s.name not in FILE_SETTINGS]


def finished(history, val=(), best=None) -> Finished:
    return Finished(history=tuple(history), predictions=(0.1,) * 5, targets=(0.0,) * 5, inputs=(0.0,) * 5,
                    wall_s=1.0, compile_s=0.2, epochs_per_s=100.0, val_history=tuple(val), best_epoch=best)


SUMMARY = Summary("m", (LayerRow("lstm", "LSTM", (None, 5, 5), 140, ""), LayerRow("dense", "Dense", (None, 5, 1), 6, "")),
                  146, 146)


def record_of(config: Config, final, seed: int | None = None) -> dict:
    """A real run record for ``final`` (``run_record``, as every front end makes it)."""
    if seed is not None:
        config = Config(**{**config.to_dict(), "seed": seed})
    return run_record(config, SUMMARY, final, device="CPU", versions={}, wall_s=1.0)


# --------------------------------------------------------------------------- the reducer


def test_the_reducer_keeps_the_latest_and_best_validation_loss() -> None:
    state = progress.begun(100, ready=True)
    for i, event in enumerate([Started({}, 100, "CPU", "fast"), Compiled(0.1),
                               Epochs(1, (0.5, 0.4, 0.3), 0.1, val_losses=(0.6, 0.35, 0.45)),
                               Epochs(4, (0.2,), 0.2, val_losses=(0.5,))]):
        state = progress.advance(state, event, i * 0.1)
    assert (state.val_loss, state.best_val, state.best_val_epoch) == (0.5, 0.35, 2)
    kind, text = progress.status(state, timings=False)
    assert kind == "training" and text.endswith("loss 2.0000e-01 · val 5.0000e-01")
    plain = progress.advance(progress.begun(100, ready=True), Epochs(1, (0.5,), 0.1), 0.0)
    assert plain.val_loss is None and "val" not in progress.status(plain)[1]


def test_early_stopping_finishes_early_with_its_best_epoch_not_stopped() -> None:
    state = progress.advance(progress.begun(100, ready=True), Epochs(1, (0.5,) * 30, 0.1, val_losses=(0.4,) * 30), 0.0)
    state = progress.advance(state, finished([0.5] * 30, [0.4] * 30, best=20), 0.1)
    state = progress.ended(state, "finished")
    assert state.phase == Phase.FINISHED and state.stopped_early and state.best_epoch == 20
    kind, text = progress.status(state, timings=False)
    assert kind == "finished"
    assert text == "finished early at epoch 30 (best 20) · final loss 5.0000e-01 · val 4.0000e-01"
    assert progress.brief(state) == "early 30"
    # Every epoch ran: patience did not end it, so it is a plain finish (the best epoch still kept).
    full = progress.ended(progress.advance(progress.begun(30, ready=True), finished([0.5] * 30, [0.4] * 30, best=12), 0), "finished")
    assert not full.stopped_early and progress.status(full, timings=False)[1].startswith("finished · final loss")


def test_a_stopped_run_keeps_its_validation_loss() -> None:
    state = progress.stopping(progress.begun(100, ready=True))
    state = progress.advance(state, Cancelled(3, (0.5, 0.4, 0.3), val_history=(0.6, 0.2, 0.7)), 0.0)
    state = progress.ended(state, "stopped")
    assert state.phase == Phase.STOPPED and (state.val_loss, state.best_val, state.best_val_epoch) == (0.7, 0.2, 2)


# --------------------------------------------------------------------------- the record and the store


def _saved(tmp_path: Path, final) -> tuple[RunStore, dict]:
    store = RunStore(tmp_path)
    writer = store.start(CONFIG.to_dict())
    writer(Epochs(1, final.history, 0.1, val_losses=final.val_history))
    record = record_of(CONFIG, final)
    record["id"] = writer.meta["id"]
    writer.finish(record)
    return store, record


def test_val_history_and_best_epoch_round_trip_through_the_run_store(tmp_path: Path) -> None:
    history, val = [0.5, 0.25, 0.125, 0.1], [0.6, 0.3, 0.2, 0.4]
    store, record = _saved(tmp_path, finished(history, val, best=3))
    assert (record["final_val_loss"], record["best_val_loss"], record["best_epoch"]) == (0.4, 0.2, 3)
    loaded = store.load(record["id"])
    assert loaded["val_history"] == pytest.approx(val) and loaded["history"] == pytest.approx(history)
    assert loaded["best_epoch"] == 3 and loaded["final_val_loss"] == 0.4 and loaded["best_val_loss"] == 0.2
    [info] = store.list()
    assert info.final_val_loss == pytest.approx(0.4) and info.cells()["val loss"] == "4.0000e-01"


def test_a_run_without_validation_has_no_validation_fields(tmp_path: Path) -> None:
    store, record = _saved(tmp_path, finished([0.5, 0.25]))
    assert not {"val_history", "final_val_loss", "best_val_loss", "best_epoch"} & set(record)
    loaded = store.load(record["id"])
    assert "val_history" not in loaded and "best_epoch" not in loaded
    assert store.list()[0].final_val_loss is None


@pytest.mark.parametrize("bad, reason", [
    ("3", "best_epoch has the wrong type or range"),
    (0, "best_epoch has the wrong type or range"),
    (True, "best_epoch has the wrong type or range"),
    (5, "best_epoch 5 is past the last epoch (4)"),
])
def test_the_loader_refuses_a_bad_best_epoch(tmp_path: Path, bad, reason: str) -> None:
    store, record = _saved(tmp_path, finished([0.5, 0.25, 0.125, 0.1], [0.6, 0.3, 0.2, 0.4], best=3))
    path = tmp_path / record["id"] / "result.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "best_epoch": bad}))
    runs, problems = store.scan()
    assert runs == [] and len(problems) == 1 and reason in problems[0] and record["id"] in problems[0]


def test_the_loader_refuses_a_validation_history_longer_than_the_history(tmp_path: Path) -> None:
    store, record = _saved(tmp_path, finished([0.5, 0.25], [0.6, 0.3]))
    (tmp_path / record["id"] / "val_history.f32").write_bytes(b"\0" * 4 * 3)
    runs, problems = store.scan()
    assert runs == [] and "val_history.f32 holds more epochs than history.f32" in problems[0]


def test_runs_cli_shows_the_val_loss_column_only_when_a_run_has_one(tmp_path: Path, capsys) -> None:
    from tui_echo.__main__ import main

    _saved(tmp_path, finished([0.5, 0.25]))
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    assert "val loss" not in capsys.readouterr().out
    _saved(tmp_path, finished([0.5, 0.25], [0.6, 0.3]))
    assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "val loss" in out and "3.0000e-01" in out


# --------------------------------------------------------------------------- compare


def _compare_records(validation: bool) -> list[dict]:
    records = []
    for i, topology in enumerate(("many-to-many", "many-to-many-dense")):
        config = Config(**{**CONFIG.to_dict(), "topology": topology})
        history = [0.5, 0.2 + i / 10]
        records.append(record_of(config, finished(history, [0.6, 0.1 + i / 100] if validation else (),
                                                  best=2 if validation else None)))
    return records


def test_compare_tables_are_unchanged_without_validation() -> None:
    rows = [row(r) for r in _compare_records(False)]
    assert columns(rows) == COLUMNS and all(set(r) == set(COLUMNS) for r in rows)


def test_compare_rows_and_exports_carry_validation_and_every_setting() -> None:
    records = _compare_records(True)
    rows = [row(r) for r in records]
    assert [r["final_val_loss"] for r in rows] == [0.1, 0.11] and [r["best_epoch"] for r in rows] == [2, 2]
    assert list(columns(rows))[-2:] == ["final_val_loss", "best_epoch"]
    markdown = EXPORTERS["md"](records, 1e-3).splitlines()
    assert markdown[0].startswith("Settings: ") and "task random-echo" in markdown[0] and "validation 0.2" in markdown[0]
    shared = {part.split(" ")[0] for part in markdown[0].removeprefix("Settings: ").split(" · ")}
    header = [cell.strip() for cell in markdown[2].strip("|").split("|")]
    assert "final val loss" in header and "best epoch" in header
    assert shared | set(header) >= set(OPTIONS)  # every setting: on the line, or a column
    table = list(csv.DictReader(io.StringIO(EXPORTERS["csv"](records, 1e-3))))
    assert set(OPTIONS) <= set(table[0]) and table[0]["task"] == "random-echo" and table[0]["validation"] == "0.2"
    assert [float(r["final_val_loss"]) for r in table] == [0.1, 0.11]
    data = json.loads(to_json(records))
    assert [r["settings"] for r in data["rows"]] == [by_option(r["config"]) for r in records]
    assert len(data["rows"][0]["settings"]) == len(fields(Config)) - len(FILE_SETTINGS) and set(OPTIONS) <= set(data["rows"][0]["settings"])


def test_compare_over_seeds_aggregates_validation() -> None:
    records = [record_of(CONFIG, finished([0.5, 0.2], [0.6, v], best=2), seed=s) for s, v in ((0, 0.1), (1, 0.3))]
    [seeded] = seeded_rows(records)
    assert seeded["final_val_loss"]["mean"] == pytest.approx(0.2) and seeded["best_val_loss"]["min"] == pytest.approx(0.1)
    assert seeded["best_epoch"]["mean"] == 2
    markdown = SEEDED_EXPORTERS["md"](records, 1e-3)
    assert "final val loss (mean ± std)" in markdown and "best val loss (min … max)" in markdown
    assert markdown.startswith("Settings: topology many-to-many · task random-echo")
    [line] = list(csv.DictReader(io.StringIO(SEEDED_EXPORTERS["csv"](records, 1e-3))))
    assert float(line["final_val_loss_mean"]) == pytest.approx(0.2) and set(OPTIONS) <= set(line)
    assert json.loads(SEEDED_EXPORTERS["json"](records, 1e-3))["rows"][0]["settings"]["seed"] == 0


def test_best_epoch_is_the_kept_one_else_the_lowest_validation_loss() -> None:
    assert aggregate.results(record_of(CONFIG, finished([0.5, 0.1, 0.2], [0.3, 0.4, 0.35], best=1)))["best_epoch"] == 1
    assert aggregate.results(record_of(CONFIG, finished([0.5, 0.1, 0.2], [0.3, 0.4, 0.25])))["best_epoch"] == 3
    assert aggregate.results(record_of(CONFIG, finished([0.5, 0.1, 0.2])))["best_epoch"] == 2


# --------------------------------------------------------------------------- sweep


def test_sweep_trials_groups_and_exports_carry_validation_and_every_setting() -> None:
    base = {"task": "random-echo", "sequences": "10", "validation": "0.2", "epochs": "3"}
    plan = sweep.plan({"units": ["3", "5"]}, base, [0, 1])
    records = {t.index: {**record_of(t.config, finished([0.5, 0.2, 0.1], [0.6, 0.3 - t.index / 100, 0.4], best=2)),
                         "id": f"run-{t.index}"} for t in plan.trials}
    trials = [sweep.trial_row(t, records[t.index]) for t in plan.trials]
    assert trials[1]["final_val_loss"] == 0.4 and trials[1]["best_val_loss"] == 0.29 and trials[1]["best_epoch"] == 2
    assert trials[0]["settings"] == by_option(plan.trials[0].config.to_dict())
    groups = sweep.group_rows(plan, records)
    assert sweep.validated(groups) and groups[0]["best_val_loss"]["mean"] == pytest.approx(0.295)
    markdown = sweep.groups_markdown(groups, sweep.varying(plan)).splitlines()
    assert markdown[0].startswith("Settings: topology many-to-many · task random-echo")
    assert "final val loss (mean ± std)" in markdown[2] and "units" in markdown[2]
    table = list(csv.DictReader(io.StringIO(sweep.trials_csv(trials))))
    assert len(table) == 4 and set(OPTIONS) <= set(table[0]) and table[0]["validation"] == "0.2"
    assert "settings" not in table[0]
    plain = sweep.group_rows(plan, {i: {**r, "val_history": []} for i, r in records.items()})
    assert not sweep.validated(plain) and len(sweep.group_headers(False)) == len(sweep.GROUP_HEADERS)


def test_the_compare_command_prints_csv_and_markdown_with_every_setting(capsys, tmp_path: Path) -> None:
    from tui_echo.__main__ import main

    args = ["compare", "--topologies", "one-to-one,many-to-one", "--epochs", "3", "--runs-dir", str(tmp_path)]
    assert main([*args, "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["topology"] for r in table] == ["one-to-one", "many-to-one"] and set(OPTIONS) <= set(table[0])
    assert [r["batch-size"] for r in table] == ["5", "1"] and table[0]["task"] == "echo"
    assert main([*args, "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Settings: task echo") and "| batch-size |" not in out.splitlines()[0]
    lines = out.splitlines()
    assert lines[2].endswith("| batch-size |") and re.search(r"\| one-to-one \|.*\| 5 \|$", lines[4])  # it differs
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--csv", "--json"])
    assert exit_info.value.code == 2


# --------------------------------------------------------------------------- the lab, fed real messages


def _lab_with_validation(**app_options):
    """The lab after a (fake, instant) training that sends validation epochs and early-stops."""
    import tui_echo.screens.lab as lab
    from tui_echo.app import EchoApp

    losses = [0.5 / (i + 1) for i in range(30)]
    val = [0.6 / (i + 1) if i < 20 else 0.03 + i / 1000 for i in range(30)]

    def trains(config, on_event, should_stop, **kwargs):
        on_event(Started(config.to_dict(), config.epochs, "CPU", "fast"))
        on_event(Compiled(0.0))
        on_event(Epochs(1, tuple(losses[:15]), 0.1, val_losses=tuple(val[:15])))
        on_event(Epochs(16, tuple(losses[15:]), 0.2, val_losses=tuple(val[15:])))
        final = finished(losses, val, best=20)
        on_event(final)
        return record_of(config, final)

    app = EchoApp(config=CONFIG, deterministic=True, **app_options)
    return app, trains, lab, losses, val


async def _train(pilot, app, lab, trains, monkeypatch) -> None:
    await wait_for(pilot, lambda: app.tf_ready, 30, "TensorFlow")
    monkeypatch.setattr(lab, "run_experiment", trains)
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: app.lab.phase == "finished", 30, "the end of the training")
    await pilot.pause(0.3)  # the chart and log redraw on their ticks


def _screen(app) -> str:
    from rich.console import Console

    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                     force_terminal=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def test_the_lab_shows_validation_in_the_log_and_as_a_second_curve(monkeypatch) -> None:
    from tui_echo.widgets import EpochLog, LossChart, StatusBar

    app, trains, lab, losses, val = _lab_with_validation()
    async with app.run_test(size=(100, 30)) as pilot:
        await _train(pilot, app, lab, trains, monkeypatch)
        chart, log = app.query_one(LossChart), app.query_one(EpochLog)
        assert list(chart.val_losses) == pytest.approx(val) and chart.best_epoch == 20
        lines = [line for line in log.lines if re.fullmatch(r" *\d+ \S+ \S+( ←( best)?)?", line)]
        assert len(lines) == 30 and log.border_title == "Epoch · loss · val"
        assert lines[19].split()[:3] == ["20", f"{losses[19]:.4e}", f"{val[19]:.4e}"] and lines[19].endswith("←")
        assert "kept epoch 20 (best)" in log.lines
        assert app.screen.query_one(StatusBar).text.startswith("finished early at epoch 30 (best 20)")
        text = _screen(app)
        assert "━━ val" in text and "▲ best 20" in text
        curve_rows = [line for line in text.splitlines() if "┤" in line or "│" in line]
        assert curve_rows  # the plot is drawn


@pytest.mark.parametrize("size, ascii_only", [((80, 24), True), ((60, 18), False)])
async def test_the_validation_curve_reads_without_colour_and_in_ascii(monkeypatch, size, ascii_only) -> None:
    from tui_echo.widgets import LossChart

    if not ascii_only:
        monkeypatch.setenv("NO_COLOR", "1")
    app, trains, lab, losses, val = _lab_with_validation(ascii_only=ascii_only)
    async with app.run_test(size=size) as pilot:
        assert app.no_color != ascii_only
        await _train(pilot, app, lab, trains, monkeypatch)
        text = _screen(app)
        assert text.isascii() == ascii_only
        chart = app.query_one(LossChart)
        chart_text = "\n".join(strip.text for strip in chart._lines)
        best = "^" if ascii_only else "▲"
        assert "+ val" in chart_text and f"{best} best 20" in chart_text  # mark and legend, no colour needed
        plot = chart_text.splitlines()[1:-1]
        assert any("+" in line[6:] for line in plot)  # the validation curve's mark in the plot
        if size == (80, 24):
            assert re.search(r"\d+ \S+e-\d\d \S+e-\d\d", text)  # the log's val column fits the compact log


async def test_the_compare_screen_shows_and_sorts_by_validation_loss(monkeypatch) -> None:
    import tui_echo.screens.compare as compare_screen
    from textual.widgets import DataTable
    from tui_echo.app import EchoApp

    # Each topology's final loss and val loss rank the rows differently, so the sort shows.
    finals = {"one-to-one": (0.1, 0.4), "many-to-one": (0.2, 0.1), "many-to-many": (0.3, 0.3), "many-to-many-dense": (0.4, 0.2)}

    def trains(config, on_event, should_stop, **kwargs):
        loss, val = finals[config.topology]
        on_event(Epochs(1, (0.5, loss), 0.1, val_losses=(0.6, val)))
        return record_of(config, finished([0.5, loss], [0.6, val]))

    monkeypatch.setattr(compare_screen, "run_experiment", trains)
    app = EchoApp(config=Config(task="random-echo", sequences=10, validation=0.2, epochs=2), deterministic=True)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.tf_ready, 30, "TensorFlow")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, compare_screen.CompareScreen) and not app.screen.running
                       and len(app.screen.records) >= 4, 30, "the end of the comparison")
        screen = app.screen
        assert "final_val_loss" in screen.shown_columns
        for _ in range(len(screen.shown_columns) + 1):
            if screen.sort_key == "final_val_loss":
                break
            await pilot.press("s")
        assert screen.sort_key == "final_val_loss"
        table = screen.query_one("#compare-table", DataTable)
        order = [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(table.row_count)]
        assert order == sorted(finals, key=lambda name: finals[name][1])
