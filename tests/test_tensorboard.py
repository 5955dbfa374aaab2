"""TensorBoard export, read back with TensorBoard's own event reader."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tui_echo.__main__ import main
from tui_echo.core.config import Config
from tui_echo.core.experiment import run_experiment
from tui_echo.core.runs import RunStore

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.plugin_event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.plugins.hparams import metadata as hparams_metadata  # noqa: E402

SHORT = Config(topology="many-to-one", epochs=25)


def read(folder: Path) -> EventAccumulator:
    events = EventAccumulator(str(folder), size_guidance={"tensors": 0})
    events.Reload()
    return events


def scalars(events: EventAccumulator, tag: str) -> tuple[list[int], list[float]]:
    import tensorflow as tf

    found = events.Tensors(tag)
    return [e.step for e in found], [float(tf.make_ndarray(e.tensor_proto)) for e in found]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> RunStore:
    """One real training, and two runs of a sweep saved through the store with a validation history."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    record = run_experiment(SHORT, store=store)
    for trial, lr in enumerate((0.01, 0.02)):
        config = replace(SHORT, lr=lr).resolved()
        writer = store.start(config.to_dict(), {"sweep": "abc123", "trial": trial})
        history = [h * (trial + 1) for h in record["history"]]
        writer.finish({**record, "config": config.to_dict(), "history": history,
                       "val_history": [h * 2 for h in history]})
    return store


def test_each_run_exports_its_losses_per_epoch_and_its_settings(store: RunStore, tmp_path: Path, capsys) -> None:
    runs = store.list()
    single = next(r for r in runs if not (r.path / "val_history.f32").exists())
    assert main(["runs", "export", single.id, "--tensorboard", str(tmp_path), "--runs-dir", str(store.root)]) == 0
    assert f"tensorboard --logdir {tmp_path}" in capsys.readouterr().out
    events = read(tmp_path / single.id)
    steps, losses = scalars(events, "loss")
    history = store.load(single.id)["history"]
    assert steps == list(range(1, 26))
    np.testing.assert_array_equal(np.float32(losses), np.float32(history))
    assert "val_loss" not in events.Tags()["tensors"]
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = hparams_metadata.parse_session_start_info_plugin_data(content)
    assert start.group_name == single.id
    assert start.hparams["topology"].string_value == "many-to-one"
    assert start.hparams["epochs"].number_value == 25
    assert start.hparams["lr"].number_value == pytest.approx(0.001)


def test_a_sweep_is_one_hparams_experiment_with_validation_loss(store: RunStore, tmp_path: Path) -> None:
    members = [r for r in store.list() if (r.path / "val_history.f32").exists()]
    assert main(["runs", "export", *(r.id for r in members), "--tensorboard", str(tmp_path),
                 "--runs-dir", str(store.root)]) == 0
    sweep = tmp_path / "sweep-abc123"
    experiment = hparams_metadata.parse_experiment_plugin_data(
        read(sweep).PluginTagToContent("hparams")["_hparams_/experiment"]
    )
    domains = {h.name: [v.number_value or v.string_value for v in h.domain_discrete.values]
               for h in experiment.hparam_infos}
    assert domains["lr"] == [0.01, 0.02]
    assert [m.name.tag for m in experiment.metric_infos] == ["loss", "val_loss"]
    for run in members:
        _, val = scalars(read(sweep / run.id), "val_loss")
        np.testing.assert_array_equal(np.float32(val), np.float32(store.load(run.id)["val_history"]))


def test_without_tensorboard_one_line_says_what_to_install(store, tmp_path, monkeypatch, capsys) -> None:
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else find_spec(name, *a))
    run_id = store.list()[0].id
    assert main(["runs", "export", run_id, "--tensorboard", str(tmp_path), "--runs-dir", str(store.root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'tui-echo[tensorboard]'" in err


@pytest.mark.parametrize("bad", ["not-an-id", "20250101-000000-ffff"])
def test_bad_ids_are_one_line_and_exit_2(store, tmp_path, capsys, bad) -> None:
    assert main(["runs", "export", bad, "--tensorboard", str(tmp_path), "--runs-dir", str(store.root)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not any(tmp_path.iterdir())
