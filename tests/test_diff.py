"""``tui-echo diff``: two saved runs, what differs and what came of it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tui_echo.__main__ import main
from tui_echo.core.config import Config
from tui_echo.core.diff import best, diff, to_markdown
from tui_echo.core.experiment import run_experiment
from tui_echo.core.runs import RunStore

SHORT = Config(topology="many-to-one", epochs=20)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[RunStore, dict, dict]:
    store = RunStore(tmp_path_factory.mktemp("runs"))
    a = run_experiment(SHORT, store=store)
    b = run_experiment(replace(SHORT, lr=0.01, epochs=30), store=store)
    return store, a, b


def test_best_skips_diverged_epochs() -> None:
    assert best([0.5, 0.2, None, 0.3]) == (0.2, 2)
    assert best([None]) == (None, None)


def test_json_names_the_differing_settings_and_both_outcomes(trained, capsys) -> None:
    store, a, b = trained
    assert main(["diff", a["id"], b["id"], "--json", "--runs-dir", str(store.root)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["settings"] == [{"setting": "epochs", "a": 20, "b": 30}, {"setting": "lr", "a": 0.001, "b": 0.01}]
    for key, record in (("a", a), ("b", b)):
        outcome = result["runs"][key]
        assert outcome["params"] == record["params"] == 170
        assert outcome["final_loss"] == pytest.approx(record["history"][-1])
        assert outcome["best_loss"] == pytest.approx(min(record["history"]))
        assert record["history"][outcome["best_epoch"] - 1] == pytest.approx(outcome["best_loss"])
        assert outcome["wall_s"] == record["wall_s"]
    steps = result["predictions"]
    assert [s["step"] for s in steps] == list(range(5))
    for step, s in enumerate(steps):
        assert s["a"] == pytest.approx(a["predictions"][step]) and s["b"] == pytest.approx(b["predictions"][step])
        assert s["b_minus_a"] == pytest.approx(s["b"] - s["a"])
        assert s["target"] == pytest.approx(a["targets"][step])


def test_markdown_and_text(trained, capsys) -> None:
    store, a, b = trained
    assert main(["diff", a["id"], b["id"], "--markdown", "--runs-dir", str(store.root)]) == 0
    markdown = capsys.readouterr().out
    assert markdown == to_markdown(diff(store.load(a["id"]), store.load(b["id"])))
    assert "| lr | 0.001 | 0.01 |" in markdown and "| step | target | A | B | B - A |" in markdown
    assert main(["diff", a["id"], a["id"], "--runs-dir", str(store.root)]) == 0
    assert "the same settings" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["nope", "20250101-000000-ffff"])
def test_bad_ids_are_one_line_and_exit_2(trained, capsys, bad) -> None:
    store, a, _ = trained
    assert main(["diff", a["id"], bad, "--runs-dir", str(store.root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "tui-echo diff: error:" in captured.err
