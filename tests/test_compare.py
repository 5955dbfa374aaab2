"""Comparing topologies: the right rows, every column, and exports that parse."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tui_echo.__main__ import main
from tui_echo.core.compare import COLUMNS, compare, configs_for, export, first_epoch_below, row, to_markdown
from tui_echo.core.config import Config, ConfigError
from tui_echo.core.topologies import TOPOLOGIES

BASE = Config(epochs=25)


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return compare(configs_for(BASE, TOPOLOGIES))


def test_compare_trains_every_topology_with_its_param_count(records: list[dict]) -> None:
    rows = [row(r) for r in records]
    assert [r["topology"] for r in rows] == list(TOPOLOGIES)
    assert [r["params"] for r in rows] == [146, 170, 146, 146]
    assert [r["lstm_params"] for r in rows] == [140] * 4
    assert [r["head_params"] for r in rows] == [6, 30, 6, 6]
    assert [r["x_shape"] for r in rows] == [[5, 1, 1], [1, 5, 1], [1, 5, 1], [1, 5, 1]]
    for r, record in zip(rows, records):
        assert set(r) == set(COLUMNS)
        assert r["final_loss"] == record["history"][-1]
        errors = [abs(p - t) for p, t in zip(record["predictions"], record["targets"])]
        assert r["max_error"] == max(errors)


def test_only_the_selected_topologies_train() -> None:
    chosen = ["one-to-one", "many-to-many-dense"]
    trained: set[str] = set()
    records = compare(configs_for(BASE, chosen), lambda name, event: trained.add(name))
    assert [r["topology"] for r in records] == chosen and trained == set(chosen)


def test_first_epoch_below_threshold() -> None:
    assert first_epoch_below([0.5, 0.01, 0.0009, 0.0001], 1e-3) == 3
    assert first_epoch_below([0.5, 0.01], 1e-3) is None


def test_a_value_one_framing_refuses_names_the_topology() -> None:
    with pytest.raises(ConfigError, match="batch_size .* for many-to-one"):
        configs_for(Config(topology="one-to-one", batch_size=5), ["one-to-one", "many-to-one"])


def test_markdown_holds_every_column_and_row(records: list[dict]) -> None:
    lines = to_markdown([row(r) for r in records]).splitlines()
    assert [cell.strip() for cell in lines[0].strip("|").split("|")] == list(COLUMNS.values())
    assert len(lines) == 2 + len(records)
    assert all(line.count("|") == len(COLUMNS) + 1 for line in lines)


def test_exports_exist_and_parse(records: list[dict], tmp_path: Path) -> None:
    md, csv_path, json_path = export(records, tmp_path)
    assert md.suffix == ".md" and "| one-to-one |" in md.read_text()
    table = list(csv.DictReader(io.StringIO(csv_path.read_text())))
    assert [r["topology"] for r in table] == list(TOPOLOGIES)
    # the columns, then every setting by its command-line name
    assert list(table[0])[: len(COLUMNS)] == list(COLUMNS) and table[1]["params"] == "170"
    assert table[1]["batch-size"] == "1" and table[1]["task"] == "echo" and "no-shuffle" in table[1]
    data = json.loads(json_path.read_text())
    assert set(data["runs"]) == set(TOPOLOGIES) and len(data["rows"]) == 4


def test_headless_json_and_markdown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["compare", "--topologies", "one-to-one,many-to-one", "--epochs", "5", "--runs-dir", str(tmp_path)]
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["runs"]) == ["one-to-one", "many-to-one"]
    for record in data["runs"].values():
        assert {"topology", "config", "layers", "params", "history", "predictions", "targets",
                "wall_s", "epochs_per_s", "engine", "versions", "device"} <= set(record)
    assert [set(r) for r in data["rows"]] == [set(COLUMNS) | {"settings"}] * 2
    assert [r["settings"]["topology"] for r in data["rows"]] == ["one-to-one", "many-to-one"]
    assert main([*args, "--markdown"]) == 0
    out = capsys.readouterr().out
    assert all(header in out for header in COLUMNS.values())
    assert "| many-to-one | (1, 5, 1) | (1, 5) | 140 | 30 | 170 |" in out


def test_headless_refuses_unknown_topologies(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--topologies", "one-to-one,sideways"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--topologies" in err
