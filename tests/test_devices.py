"""Device set-up: CPU-only doctor output, and GPU settings applied before TensorFlow uses a GPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tui_echo.__main__ import main
from tui_echo.core import runtime


class FakeTF:
    """Records the device calls tui-echo makes, in order, for a machine with two GPUs."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.gpus = ["GPU:0", "GPU:1"]
        experimental = SimpleNamespace(set_memory_growth=lambda gpu, on: self.calls.append(("growth", gpu, on)))
        self.config = SimpleNamespace(
            list_physical_devices=lambda kind: list(self.gpus),
            set_visible_devices=lambda devices, kind: self.calls.append(("visible", list(devices))),
            experimental=experimental,
        )


def test_memory_growth_is_set_for_every_gpu_by_default() -> None:
    tf = FakeTF()
    runtime.prepare_devices(tf, runtime.Settings())
    assert tf.calls == [("growth", "GPU:0", True), ("growth", "GPU:1", True)]


def test_choosing_a_gpu_hides_the_others_then_sets_growth() -> None:
    tf = FakeTF()
    runtime.prepare_devices(tf, runtime.Settings(device="gpu:1", memory_growth=False))
    assert tf.calls == [("visible", ["GPU:1"]), ("growth", "GPU:1", False)]


def test_cpu_hides_every_gpu() -> None:
    tf = FakeTF()
    runtime.prepare_devices(tf, runtime.Settings(device="cpu"))
    assert tf.calls == [("visible", [])]


def test_a_missing_gpu_is_a_clear_error() -> None:
    with pytest.raises(runtime.DeviceError, match="gpu:2: TensorFlow sees 2 GPUs"):
        runtime.prepare_devices(FakeTF(), runtime.Settings(device="gpu:2"))


def test_devices_are_prepared_before_the_first_tensorflow_op(monkeypatch: pytest.MonkeyPatch) -> None:
    import tensorflow as tf

    order: list[str] = []
    monkeypatch.setattr(runtime, "_modules", None)
    monkeypatch.setattr(runtime, "prepare_devices", lambda tf_, chosen: order.append("prepare"))
    real_constant = tf.constant
    monkeypatch.setattr(tf, "constant", lambda *a, **k: (order.append("first op"), real_constant(*a, **k))[1])
    runtime.load()
    assert order[:2] == ["prepare", "first op"]


def test_changing_devices_after_load_is_refused() -> None:
    runtime.load()
    runtime.configure(device=runtime.settings.device)  # no change: fine
    with pytest.raises(RuntimeError, match="already loaded"):
        runtime.configure(device="cpu" if runtime.settings.device != "cpu" else "gpu")


def test_doctor_json_on_a_cpu_only_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["cpu"]["cores"] >= 1 and report["cpu"]["name"]
    assert report["gpus"] == [] and report["training_device"] == "CPU"
    assert {"python", "tensorflow", "keras", "tui-echo"} <= set(report["versions"])
    assert report["settings"]["memory_growth"] is True and report["settings"]["device"] == "auto"
    assert report["settings"]["onednn"] is False  # Eigen's kernels: exact reruns


def test_onednn_kernels_when_asked_for() -> None:
    """``TF_ENABLE_ONEDNN_OPTS=1`` wins over the lab's default (off; see test_engine's rerun test)."""
    code = "from tui_echo.core import runtime; print(runtime.doctor()['settings']['onednn'])"
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "True"


def test_device_gpu_without_one_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui_echo", "run", "--device", "gpu", "--epochs", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "tui-echo run: error: --device gpu: TensorFlow sees 0 GPUs"


def test_cpu_threads_are_set_before_tensorflow_starts_and_reported() -> None:
    """The lab leaves a core to the UI: TensorFlow's thread pools are sized before its first op."""
    code = (
        "import json; from tui_echo.core import runtime\n"
        "runtime.configure(cpu_threads=1); tf, _ = runtime.load()\n"
        "print(json.dumps([tf.config.threading.get_intra_op_parallelism_threads(),\n"
        "    tf.config.threading.get_inter_op_parallelism_threads(), runtime.doctor()['settings']['cpu_threads']]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [1, 1, 1]
