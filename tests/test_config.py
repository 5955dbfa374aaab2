"""Config: defaults, the tutorial's values per topology, ranges, and the refusal messages."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_echo.core.config import ENGINES, MAX_SEED, RULES, Config, ConfigError
from tui_echo.core.tasks import TASKS
from tui_echo.core.topologies import TOPOLOGIES

TUTORIAL = {  # name: (X shape, y shape, epochs, batch)
    "one-to-one": ((5, 1, 1), (5, 1), 1000, 5),
    "many-to-one": ((1, 5, 1), (1, 5), 500, 1),
    "many-to-many": ((1, 5, 1), (1, 5, 1), 1000, 1),
    "many-to-many-dense": ((1, 5, 1), (1, 5, 1), 1000, 1),
}
RAMP = [0.0, 0.2, 0.4, 0.6, 0.8]


def test_registry_holds_the_four_topologies_in_tutorial_order():
    assert list(TOPOLOGIES) == list(TUTORIAL)
    assert set(TASKS) >= {"echo", "random-echo"}
    assert set(ENGINES) == {"fast", "fit"}


def test_plain_defaults():
    config = Config()
    assert (config.task, config.length, config.seed, config.engine) == ("echo", 5, 0, "fast")
    assert config.errors() == []
    resolved = config.resolved()
    assert resolved.units == 5  # units = length
    assert resolved.lr == 0.001  # Adam's default
    assert resolved.errors() == []
    assert Config(length=9).resolved().units == 9
    assert Config(length=9, units=3).resolved().units == 3


@pytest.mark.parametrize("name", TUTORIAL)
def test_tutorial_defaults_and_shapes(name):
    x_shape, y_shape, epochs, batch = TUTORIAL[name]
    config = Config(topology=name).resolved()
    assert config.epochs == epochs
    assert config.batch_size == batch
    assert config.units == 5
    problem = config.problem
    assert problem.X.shape == x_shape
    assert problem.y.shape == y_shape
    assert problem.X.dtype == np.float32 and problem.y.dtype == np.float32
    assert problem.samples == x_shape[0]
    # The tutorial's data: the ramp goes in, and the same ramp must come out.
    np.testing.assert_allclose(problem.X.ravel(), RAMP, rtol=0, atol=1e-7)
    np.testing.assert_allclose(problem.y.ravel(), RAMP, rtol=0, atol=1e-7)
    np.testing.assert_allclose(problem.inputs, [RAMP], atol=1e-7)
    np.testing.assert_allclose(problem.targets, [RAMP], atol=1e-7)


def test_batch_default_is_every_sample_for_one_to_one_whatever_the_length():
    assert Config(topology="one-to-one", length=12).resolved().batch_size == 12
    assert Config(topology="many-to-one", length=12).resolved().batch_size == 1


@pytest.mark.parametrize("length", [1, 2, 5, 10, 1000])
def test_echo_task_is_the_ramp_i_over_length(length):
    problem = Config(task="echo", length=length, topology="many-to-many").problem
    assert problem.inputs.shape == problem.targets.shape == (1, length)
    np.testing.assert_allclose(problem.inputs[0], [i / length for i in range(length)], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(problem.inputs, problem.targets)


def test_random_echo_is_seeded_and_echoes():
    def inputs(seed):
        problem = Config(task="random-echo", length=7, sequences=30, seed=seed).problem
        np.testing.assert_array_equal(problem.inputs, problem.targets)
        return problem.inputs

    a, b, c = inputs(1), inputs(1), inputs(2)
    assert a.shape == (30, 7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert ((a >= 0) & (a < 1)).all()


def test_random_echo_framings_and_batch_defaults():
    one = Config(topology="one-to-one", task="random-echo", length=4, sequences=10).resolved()
    assert one.problem.X.shape == (40, 1, 1) and one.problem.y.shape == (40, 1)
    assert one.batch_size == 40
    many = Config(topology="many-to-many", task="random-echo", length=4, sequences=10).resolved()
    assert many.problem.X.shape == (10, 4, 1) and many.problem.y.shape == (10, 4, 1)
    assert many.batch_size == 1
    # Every framing maps its outputs back onto (sequences, length) in the same order.
    np.testing.assert_array_equal(one.problem.as_sequences(one.problem.y), one.problem.targets)
    np.testing.assert_array_equal(many.problem.as_sequences(many.problem.y), many.problem.targets)


# --------------------------------------------------------------------------- accepted values


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("length", "1", 1),
        ("length", "1000", 1000),
        ("length", " 7 ", 7),
        ("length", 7, 7),
        ("length", 7.0, 7),
        ("length", "1,000", 1000),
        ("units", "1", 1),
        ("units", "1024", 1024),
        ("epochs", "1", 1),
        ("epochs", "1000000", 1_000_000),
        ("epochs", "1,000,000", 1_000_000),
        ("lr", "10", 10.0),
        ("lr", "1e-9", 1e-9),
        ("lr", 0.5, 0.5),
        ("lr", 3, 3.0),
        ("seed", "0", 0),
        ("seed", str(MAX_SEED), MAX_SEED),
        ("topology", "one-to-one", "one-to-one"),
        ("topology", " many-to-one ", "many-to-one"),
        ("engine", "fit", "fit"),
        ("task", "random-echo", "random-echo"),
        ("sequences", "100000", 100_000),
        ("optimizer", "rmsprop", "rmsprop"),
        ("momentum", "0", 0.0),  # Keras' default: plain SGD
        ("momentum", "0.99", 0.99),
        ("loss", "huber", "huber"),
        ("patience", "1", 1),
        ("patience", "1,000,000", 1_000_000),
    ],
)
def test_boundaries_and_forms_that_are_accepted(field, value, expected):
    config = Config.from_fields({field: value})
    assert getattr(config, field) == expected
    assert type(getattr(config, field)) is type(expected)
    assert config.errors() == []


@pytest.mark.parametrize("field", ["units", "epochs", "batch_size", "sequences"])
@pytest.mark.parametrize("blank", ["", None])
def test_blank_sizes_mean_the_default(field, blank):
    config = Config.from_fields({field: blank})
    assert getattr(config, field) is None
    assert config == Config()


def test_batch_size_range_follows_the_topologys_sample_count():
    assert Config.from_fields({"topology": "one-to-one", "batch_size": "5"}).batch_size == 5
    assert Config.from_fields({"topology": "one-to-one", "batch_size": "2"}).batch_size == 2
    assert Config.from_fields({"topology": "many-to-one", "batch_size": "1"}).batch_size == 1
    # the order of the fields must not matter
    assert Config.from_fields({"batch_size": "5", "topology": "one-to-one"}).batch_size == 5
    assert Config.from_fields({"batch_size": "8", "topology": "one-to-one", "length": "8"}).batch_size == 8
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"topology": "one-to-one", "batch_size": "6"})
    assert refused.value.field == "batch_size"
    assert "1 to 5" in refused.value.reason


# --------------------------------------------------------------------------- refused values

BAD = [
    ("length", "0", "1 to 1,000"),
    ("length", "1001", "1 to 1,000"),
    ("length", "abc", "1 to 1,000"),
    ("length", "-1", "1 to 1,000"),
    ("length", "1.5", "1 to 1,000"),
    ("length", 1.5, "1 to 1,000"),
    ("length", "", "1 to 1,000"),
    ("length", True, "1 to 1,000"),
    ("units", "0", "1 to 1,024"),
    ("units", "2000", "1 to 1,024"),
    ("epochs", "0", "1 to 1,000,000"),
    ("epochs", "1000001", "1 to 1,000,000"),
    ("epochs", "nan", "1 to 1,000,000"),
    ("epochs", math.nan, "1 to 1,000,000"),
    ("epochs", math.inf, "1 to 1,000,000"),
    ("epochs", 10**30, "1 to 1,000,000"),
    ("batch_size", "0", "1 to 1"),
    ("batch_size", "2", "1 to 1"),
    ("batch_size", "x", "1 to 1"),
    ("lr", "0", "greater than 0 and at most 10"),
    ("lr", "-1", "greater than 0 and at most 10"),
    ("lr", "nan", "greater than 0 and at most 10"),
    ("lr", "inf", "greater than 0 and at most 10"),
    ("lr", "-inf", "greater than 0 and at most 10"),
    ("lr", "11", "greater than 0 and at most 10"),
    ("lr", "abc", "greater than 0 and at most 10"),
    ("lr", "1e400", "greater than 0 and at most 10"),
    ("lr", math.nan, "greater than 0 and at most 10"),
    ("lr", False, "greater than 0 and at most 10"),
    ("seed", "-1", "0 to 2,147,483,647"),
    ("seed", str(2**31), "0 to 2,147,483,647"),
    ("topology", "seq2seq", "one-to-one, many-to-one, many-to-many, many-to-many-dense"),
    ("topology", 3, "one-to-one"),
    ("engine", "gpu", "fast, fit"),
    ("task", "no-such-task", "random-echo"),
    ("sequences", "0", "1 to 100,000"),
    ("optimizer", "adagrad", "adam, sgd, rmsprop, adamw"),
    ("momentum", "1", "from 0 to 0.99"),
    ("momentum", "-0.1", "from 0 to 0.99"),
    ("momentum", "nan", "from 0 to 0.99"),
    ("loss", "mape", "mse, mae, huber"),
    ("patience", "0", "1 to 1,000,000"),
]


@pytest.mark.parametrize("field, value, allowed", BAD)
def test_bad_values_are_refused_with_one_line_naming_field_and_range(field, value, allowed):
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({field: value})
    error = refused.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert allowed in error.reason
    assert str(error) == f"{field} {error.reason}"
    assert len(str(error).splitlines()) == 1


def test_message_shows_what_was_typed_on_one_line_even_with_newlines():
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"topology": "one\nto\rone"})
    assert len(str(refused.value).splitlines()) == 1
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"length": "9" * 500})
    assert len(str(refused.value)) < 200  # long input is shortened, not echoed whole


def test_unknown_field_is_refused():
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"dropout": "0.5"})
    assert refused.value.field == "dropout"


def test_errors_lists_every_bad_value_of_a_constructed_config():
    config = Config(length=0, units=5000, lr=-1.0, seed=-3, engine="gpu")
    assert [e.field for e in config.errors()] == ["length", "units", "lr", "seed", "engine"]
    with pytest.raises(ConfigError) as refused:
        config.check()
    assert refused.value.field == "length"
    assert Config(batch_size=2).errors()[0].field == "batch_size"
    good = Config(topology="one-to-one", batch_size=5)
    assert good.check() is good


def test_every_rule_is_a_setting():
    from dataclasses import fields

    assert set(RULES) <= {f.name for f in fields(Config)}
    assert {"topology", "length", "units", "epochs", "lr", "seed", "engine"} <= set(RULES)


@pytest.mark.parametrize("value", ["no", 0, 0.5, "x\ny", [1]])
def test_shuffle_must_be_a_bool(value):
    with pytest.raises(ConfigError) as refused:
        Config.from_fields({"shuffle": value})
    assert refused.value.field == "shuffle"
    assert len(str(refused.value).splitlines()) == 1
    assert Config.from_fields({"shuffle": False}).shuffle is False


def test_to_dict_is_plain_and_round_trips():
    config = Config(topology="many-to-one", epochs=7, lr=0.01, seed=3).resolved()
    data = config.to_dict()
    expected = {
        "topology": "many-to-one",
        "task": "echo",
        "length": 5,
        "sequences": 1,
        "units": 5,
        "epochs": 7,
        "batch_size": 1,
        "lr": 0.01,
        "seed": 3,
        "engine": "fast",
        "shuffle": True,
    }
    assert {key: data[key] for key in expected} == expected
    assert all(isinstance(v, (str, int, float, bool, type(None))) for v in data.values())
    assert Config(**data) == config
    assert Config.from_fields(data) == config
