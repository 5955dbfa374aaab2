"""The ``tui-echo`` command: refusals, ``--version``, ``run --json``, piped output, reproducibility.

Refusals run in-process through ``main`` (they exit before TensorFlow loads); everything that
trains runs the real command in child processes, started together to share the two cores.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import platform
import os
import re
import subprocess
import sys

import pytest

import tui_echo
from tui_echo.__main__ import build_parser, config_from_args, main
from tui_echo.core.config import Config

RAMP = [0.0, 0.2, 0.4, 0.6, 0.8]
NOISE = re.compile(r"oneDNN|absl|cuda|I0000|W0000|E0000|^[IWEF]\d{4} ", re.IGNORECASE | re.MULTILINE)


def one_line(text: str) -> bool:
    return text.endswith("\n") and text.count("\n") == 1 and "\r" not in text


# --------------------------------------------------------------------------- refusals, in-process

REFUSED = [  # argv after "run", option named, range text
    (["--length", "0"], "--length", "1 to 1,000"),
    (["--length", "1001"], "--length", "1 to 1,000"),
    (["--length", "abc"], "--length", "1 to 1,000"),
    (["--length", "-1"], "--length", "1 to 1,000"),
    (["--length", "1.5"], "--length", "1 to 1,000"),
    (["--units", "0"], "--units", "1 to 1,024"),
    (["--units", "2000"], "--units", "1 to 1,024"),
    (["--epochs", "0"], "--epochs", "1 to 1,000,000"),
    (["--epochs", "1000001"], "--epochs", "1 to 1,000,000"),
    (["--epochs", "nan"], "--epochs", "1 to 1,000,000"),
    (["--batch-size", "0"], "--batch-size", "1 to 1"),
    (["--batch-size", "2"], "--batch-size", "1 to 1"),  # many-to-many has one sample
    (["--topology", "one-to-one", "--batch-size", "6"], "--batch-size", "1 to 5"),
    (["--topology", "one-to-one", "--batch-size", "0"], "--batch-size", "1 to 5"),
    (["--lr", "0"], "--lr", "greater than 0 and at most 10"),
    (["--lr", "-1"], "--lr", "greater than 0 and at most 10"),
    (["--lr", "nan"], "--lr", "greater than 0 and at most 10"),
    (["--lr", "inf"], "--lr", "greater than 0 and at most 10"),
    (["--lr=-inf"], "--lr", "greater than 0 and at most 10"),
    (["--lr", "11"], "--lr", "greater than 0 and at most 10"),
    (["--lr", "abc"], "--lr", "greater than 0 and at most 10"),
    (["--seed", "-1"], "--seed", "0 to 2,147,483,647"),
    (["--seed", str(2**31)], "--seed", "0 to 2,147,483,647"),
    (["--topology", "seq2seq"], "--topology", "one-to-one, many-to-one, many-to-many, many-to-many-dense"),
    (["--engine", "gpu"], "--engine", "fast, fit"),
    (["--task", "no-such-task"], "--task", "random-echo"),
    (["--sequences", "0"], "--sequences", "1 to 100,000"),
]


@pytest.mark.parametrize("argv, option, allowed", REFUSED, ids=[" ".join(c[0]) for c in REFUSED])
def test_run_refuses_bad_values_with_exit_2_and_one_line(capsys, argv, option, allowed):
    with pytest.raises(SystemExit) as exited:
        main(["run", *argv])
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert one_line(err), err
    assert err.startswith(f"tui-echo run: error: {option} ")
    assert allowed in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "--bogus", "1"], "unrecognized arguments"),
        (["run", "--length"], "--length"),
        (["train"], "invalid choice"),
    ],
)
def test_argparse_refusals_are_one_line_too(capsys, argv, expected):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert one_line(err) and expected in err, err
    assert "usage:" not in err


def test_bad_value_without_subcommand_is_refused_before_the_app_starts(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--units", "0"])
    assert exited.value.code == 2
    _, err = capsys.readouterr()
    assert one_line(err)
    assert err.startswith("tui-echo: error: --units ") and "1 to 1,024" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code in (0, None)
    assert capsys.readouterr().out == f"tui-echo {tui_echo.__version__}\n"


def test_valid_options_become_the_config_without_training():
    argv = ["run", "--topology", "one-to-one", "--length", "8", "--units", "3", "--epochs", "12",
            "--batch-size", "4", "--lr", "0.01", "--seed", "9", "--engine", "fit", "--no-shuffle", "--json"]
    args = build_parser().parse_args(argv)
    assert args.command == "run" and args.json
    config = config_from_args(args, "tui-echo run")
    assert config == Config(topology="one-to-one", length=8, units=3, epochs=12, batch_size=4, lr=0.01,
                            seed=9, engine="fit", shuffle=False)
    default = config_from_args(build_parser().parse_args(["run"]), "tui-echo run")
    assert default == Config() and default.shuffle


def test_tui_options_reach_the_app(monkeypatch):
    import tui_echo.__main__ as cli

    started = {}
    monkeypatch.setattr(cli, "_run_tui", lambda config, runs_dir, fps, **options: started.update(
        config=config, fps=fps, **options) or 0)
    assert main(["--ascii", "--fps", "12", "--task", "delay", "--delay", "1"]) == 0
    assert started["ascii_only"] is True and started["fps"] == 12
    assert (started["config"].task, started["config"].delay) == ("delay", 1)
    assert main([]) == 0 and started["ascii_only"] is False


def test_options_before_the_subcommand_are_not_silently_dropped():
    args = build_parser().parse_args(["--epochs", "0", "run"])
    assert args.epochs == "0"


def test_refusals_in_real_processes(cli_run):
    for args, option in ((["run", "--lr", "nan"], "--lr"), (["run", "--topology", "nope"], "--topology")):
        done = cli_run(*args, timeout=60)
        assert done.returncode == 2
        assert done.stdout == ""
        assert one_line(done.stderr), done.stderr
        assert option in done.stderr and "Traceback" not in done.stderr
    version = cli_run("--version", timeout=60)
    assert version.returncode == 0 and version.stdout == f"tui-echo {tui_echo.__version__}\n"


def test_refusals_come_before_tensorflow_loads():
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from tui_echo.__main__ import main\n"
        "for argv in (['run', '--epochs', '0'], ['compare', '--lr', 'nan'], ['--units', '0']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exited:\n"
        "        assert exited.code == 2, exited.code\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False False\n"
    assert len(done.stderr.splitlines()) == 3


def test_python_dash_m_refuses_the_same_way(cli_run):
    done = cli_run("run", "--seed", "-1", timeout=60, as_module=True)
    assert done.returncode == 2 and done.stdout == ""
    assert one_line(done.stderr) and "--seed" in done.stderr and "0 to 2,147,483,647" in done.stderr


# --------------------------------------------------------------------------- real trainings

TRAININGS = {
    "json": ["run", "--json", "--epochs", "30"],
    "json-again": ["run", "--json", "--epochs", "30"],
    # Keras' own fit, with several shuffled batches per epoch, printed into a pipe
    "piped": ["run", "--engine", "fit", "--topology", "one-to-one", "--batch-size", "2", "--epochs", "5"],
}


@pytest.fixture(scope="module")
def trainings(cli_start):
    """Each command of ``TRAININGS`` run once in its own process: name -> (code, stdout, stderr)."""
    started = {name: cli_start(*argv) for name, argv in TRAININGS.items()}
    done = {}
    try:
        for name, process in started.items():
            out, err = process.communicate(timeout=300)
            done[name] = (process.returncode, out, err)
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    return done


def record_of(trainings, name: str) -> dict:
    code, out, err = trainings[name]
    assert code == 0, err
    decoder = json.JSONDecoder()
    record, end = decoder.raw_decode(out)
    assert out[end:] == "\n", "exactly one JSON object and nothing else on stdout"
    assert isinstance(record, dict)
    return record


def test_json_has_every_field(trainings):
    record = record_of(trainings, "json")
    expected = Config(epochs=30).resolved()
    assert record["topology"] == "many-to-many"
    assert record["config"] == expected.to_dict()
    layers = [{key: layer[key] for key in ("name", "type", "output_shape", "params")} for layer in record["layers"]]
    assert layers == [
        {"name": "lstm", "type": "LSTM", "output_shape": [None, 5, 5], "params": 140},
        {"name": "time_distributed", "type": "TimeDistributed(Dense)", "output_shape": [None, 5, 1], "params": 6},
    ]
    assert record["params"] == 146
    history = record["history"]
    assert len(history) == 30 and all(isinstance(v, float) and math.isfinite(v) for v in history)
    assert len(record["predictions"]) == 5 and all(isinstance(v, float) for v in record["predictions"])
    assert record["targets"] == pytest.approx(RAMP, abs=1e-7)
    assert isinstance(record["wall_s"], float) and record["wall_s"] > 0
    assert isinstance(record["epochs_per_s"], float) and record["epochs_per_s"] > 0
    assert record["engine"] == "fast"
    assert record["versions"] == {
        "python": platform.python_version(),
        "tensorflow": importlib.metadata.version("tensorflow"),
        "keras": importlib.metadata.version("keras"),
        "tui-echo": tui_echo.__version__,
    }
    assert isinstance(record["device"], str) and (record["device"] == "CPU" or record["device"].startswith("GPU"))


@pytest.mark.parametrize("name", TRAININGS)
def test_no_tensorflow_noise_on_stderr(trainings, name):
    code, _, err = trainings[name]
    assert code == 0
    assert not NOISE.search(err), err
    assert "Traceback" not in err and "WARNING" not in err, err


def test_same_seed_same_history_in_two_processes(trainings):
    first, again = record_of(trainings, "json"), record_of(trainings, "json-again")
    assert first["history"] == again["history"]  # exactly, not approximately
    assert first["predictions"] == again["predictions"]


def test_another_seed_another_history_and_this_process_agrees(trainings):
    from tui_echo.core.experiment import run_experiment

    first = record_of(trainings, "json")
    here = run_experiment(Config(epochs=30))
    # The same seed in this process too. Not bit-exact: when this process has already compiled
    # the same graph (an earlier test), one epoch's reported loss can differ in its last bit.
    assert here["history"] == pytest.approx(first["history"], rel=1e-6, abs=0)
    assert here["predictions"] == pytest.approx(first["predictions"], rel=1e-6, abs=1e-7)
    other = run_experiment(Config(epochs=30, seed=1))
    assert len(other["history"]) == 30
    assert other["history"] != first["history"]
    assert other["history"][0] != first["history"][0]  # the initial weights differ


def test_piped_output_is_plain_text_with_summary_and_predictions(trainings):
    code, out, err = trainings["piped"]
    assert code == 0, err
    controls = {c for c in out if (ord(c) < 32 and c != "\n") or ord(c) == 127}
    assert not controls, f"control characters in piped output: {controls!r}"
    assert "\x1b" not in out and "\r" not in out
    # the summary table
    assert "Model: one-to-one" in out
    assert "Layer (type)" in out and "Output Shape" in out and "Param #" in out
    assert re.search(r"lstm \(LSTM\)\s*\S\s*\(None, 5\)\s*\S\s*140\b", out), out
    assert re.search(r"dense \(Dense\)\s*\S\s*\(None, 1\)\s*\S\s*6\b", out), out
    assert "Total params: 146" in out
    assert "4 × ((1 + 1) × 5 + 5²) = 140" in out
    assert "(5 + 1) × 1 = 6" in out
    # the predictions table: step, input, target, predicted, |error|, one row per step
    assert "Predictions" in out
    for header in ("step", "input", "target", "predicted", "|error|"):
        assert header in out
    for step, value in enumerate(RAMP):
        assert re.search(rf"\b{step}\b\D+{value:.3f}\D+{value:.3f}\D+\d\.\d{{3}}\D+\d\.\d{{4}}", out), out
    words = " ".join(out.split())  # rich wraps the last line at the pipe's 80 columns
    assert "after 5 epochs" in words and "fit engine" in words
    assert "compiling" not in out and "training" not in out  # no progress bar when piped
    assert err == ""


def test_the_lab_refuses_a_dumb_terminal_or_a_pipe_in_one_line(cli_run) -> None:
    for env in ({"TERM": "dumb"}, {}):
        result = subprocess.run(
            [sys.executable, "-m", "tui_echo"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
            env={**os.environ, **env}, timeout=60,
        )
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.count("\n") == 1 and "tui-echo run" in result.stderr
