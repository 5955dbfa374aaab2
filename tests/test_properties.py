"""Arbitrary values at every setting: a valid Config or a one-line refusal, never anything else."""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import fields

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tui_echo.__main__ import OPTIONS, build_parser, config_from_args, main
from tui_echo.core.config import ENGINES, MAX_SEED, RULES, Config, ConfigError, FloatRange, IntRange, Text
from tui_echo.core.tasks import TASKS
from tui_echo.core.topologies import TOPOLOGIES

FIELDS = [f.name for f in fields(Config)]
NAMES = [*TOPOLOGIES, *TASKS, *ENGINES]
FILE_FIELDS = ("data", "columns", "target")
SETTINGS = settings(max_examples=80, deadline=None)

# Strings a person might type: numbers in every spelling, names, near-misses, and junk.
TYPED = st.one_of(
    st.text(max_size=30),
    st.integers(-(2**40), 2**40).map(str),
    st.integers(-5, 1_100_000).map(lambda n: f"{n:,}"),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.floats(-20, 20).map(lambda x: f"{x:.3g}"),
    st.sampled_from(NAMES).map(lambda name: f"  {name}\t"),
    st.sampled_from(NAMES),
    st.sampled_from(["", " ", "nan", "-nan", "inf", "-inf", "Infinity", "1e400", "-0", "0x10", "1_000", "١٢", "5\n"]),
)

ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**400), 10**400),  # far past what a float can hold
    st.integers(-5, 1_100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-20, 20),
    TYPED,
)


def check_valid(config: Config) -> None:
    """A Config that from_fields returned holds only values its rules allow."""
    assert config.errors() == []
    assert config.check() is config
    for name, rule in RULES.items():
        value = getattr(config, name)
        if value is None:
            continue
        if isinstance(rule, IntRange):
            assert type(value) is int and rule.low <= value <= rule.high, (name, value)
        elif isinstance(rule, FloatRange):
            above = rule.low <= value if rule.low_allowed else rule.low < value
            assert type(value) is float and math.isfinite(value) and above and value <= rule.high, (name, value)
        else:
            assert value in rule.options, (name, value)
    if config.batch_size is not None:
        assert type(config.batch_size) is int and 1 <= config.batch_size <= config.problem.samples
    resolved = config.resolved()
    assert resolved.errors() == []
    assert 0 <= resolved.seed <= MAX_SEED


def check_refusal(error: ConfigError, field: str) -> None:
    """A refusal names the field, says what is allowed, and fits on one line."""
    message = str(error)
    assert error.field == field
    assert message.startswith(f"{field} ")
    if field in FILE_FIELDS:  # what is wrong with the file, its columns or target, in one line
        assert error.reason
    else:
        assert "must be" in error.reason or "is not a setting" in error.reason
    assert len(message.splitlines()) == 1 and "\n" not in message and "\r" not in message
    assert len(message) < 300


@SETTINGS
@given(field=st.sampled_from(FIELDS), value=ANY)
@example(field="lr", value=float("nan"))
@example(field="epochs", value=float("inf"))
@example(field="length", value=True)
@example(field="seed", value=2**31)
@example(field="batch_size", value="1e400")
@example(field="units", value="9" * 5000)  # longer than int() will parse
def test_any_value_for_one_field(field, value):
    try:
        config = Config.from_fields({field: value})
    except ConfigError as error:
        check_refusal(error, field)
    else:
        check_valid(config)


@SETTINGS
@given(
    values=st.dictionaries(
        # sequences is left out so no draw asks for 100,000 random sequences of 1,000 steps
        st.sampled_from([name for name in FIELDS if name != "sequences"]),
        st.one_of(ANY, st.sampled_from(NAMES), st.integers(1, 12)),
        max_size=6,
    )
)
def test_any_values_for_several_fields(values):
    try:
        config = Config.from_fields(values)
    except ConfigError as error:
        check_refusal(error, error.field)
        # the csv task (a task name among the values) asks for the file it was not given
        assert error.field in values or error.field == "data" and values.get("task") == "csv"
    else:
        check_valid(config)


def test_huge_int_learning_rate_is_refused():
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"lr": 10**400})
    assert refused.value.field == "lr"


@SETTINGS
@given(field=st.sampled_from(["shuffle", "bidirectional"]), value=ANY)
def test_flags_are_bools_or_refused(field, value):
    assume(value is not None)
    try:
        config = Config.from_fields({field: value})
    except ConfigError as error:
        check_refusal(error, field)
    else:
        assert getattr(config, field) is value and isinstance(value, bool)


# --------------------------------------------------------------------------- the command line


def parse(argv: list[str]) -> tuple[Config | None, int | None, str, str]:
    """The CLI's own parsing path, stopping before any training: (config, exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    config, code = None, None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args(argv)
            config = config_from_args(args, "tui-echo run" if args.command == "run" else "tui-echo")
        except SystemExit as exited:
            code = exited.code
    return config, code, out.getvalue(), err.getvalue()


def check_cli_refusal(argv: list[str], option: str) -> None:
    config, code, out, err = parse(argv)
    if code is None:
        assert isinstance(config, Config) and out == "" and err == ""
        check_valid(config)
        return
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1 and "\r" not in err, repr(err)
    # (--task csv alone asks for the file it was not given)
    assert option in err or option == "--task" and "--data is needed by the csv task" in err
    assert "Traceback" not in err
    # main() itself refuses the same way (it exits before any training can start)
    with contextlib.redirect_stdout(io.StringIO()) as main_out, contextlib.redirect_stderr(io.StringIO()) as main_err:
        with pytest.raises(SystemExit) as exited:
            main(argv)
    assert exited.value.code == 2
    assert main_err.getvalue() == err and main_out.getvalue() == ""


@SETTINGS
@given(option=st.sampled_from(list(OPTIONS)), value=TYPED, command=st.sampled_from([["run"], []]))
@example(option="--lr", value="-inf", command=["run"])
@example(option="--epochs", value="1e3", command=["run"])
@example(option="--topology", value="one-to-one\nx", command=[])
def test_any_typed_option_value(option, value, command):
    check_cli_refusal([*command, f"{option}={value}"], option)


@SETTINGS
@given(option=st.sampled_from(list(OPTIONS)), value=TYPED)
@example(option="--length", value="-1")
@example(option="--lr", value="-1e5")
@example(option="--seed", value="--")
def test_any_typed_option_value_as_its_own_argument(option, value):
    # "--lr -1e5" is read by argparse as a missing value: still one line, naming the option.
    check_cli_refusal(["run", option, value], option)
