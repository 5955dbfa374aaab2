"""Loading TensorFlow quietly, once, on the device the person chose.

TensorFlow is heavy (seconds) and chatty: its C++ runtime writes oneDNN/absl lines straight to
file descriptor 2 at import, even with ``TF_CPP_MIN_LOG_LEVEL=2``. Everything that needs
TensorFlow goes through ``load()``, which silences those lines and imports it exactly once.

On a shared GPU box TensorFlow would take all GPU memory by default; ``load()`` turns memory
growth on for every GPU before TensorFlow first touches one (``configure(memory_growth=False)``
opts out), and hides the devices that ``configure(device=...)`` did not choose.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import sys
import threading
from dataclasses import asdict, dataclass
from types import ModuleType
import time
from typing import Any, Callable, Iterator, TypeVar

_lock = threading.Lock()
_modules: tuple[ModuleType, ModuleType] | None = None

DEVICE_PATTERN = re.compile(r"auto|cpu|gpu|gpu:[0-9]+")


@dataclass
class Settings:
    """How TensorFlow is set up; fixed once it has loaded."""

    device: str = "auto"  # auto | cpu | gpu | gpu:N
    memory_growth: bool = True
    cpu_threads: int | None = None  # threads per TensorFlow op (intra-op); None: its default


settings = Settings()


class DeviceError(RuntimeError):
    """The chosen device is not there."""


def configure(
    *, device: str | None = None, memory_growth: bool | None = None, cpu_threads: int | None = None
) -> None:
    """Choose the device, memory policy and CPU threads; a change must happen before ``load()``."""
    unchanged = (
        device in (None, settings.device)
        and memory_growth in (None, settings.memory_growth)
        and cpu_threads in (None, settings.cpu_threads)
    )
    if _modules is not None and not unchanged:
        raise RuntimeError("TensorFlow is already loaded; configure devices before training")
    if device is not None:
        if not DEVICE_PATTERN.fullmatch(device):  # fullmatch: "$" would let "cpu\n" through
            raise ValueError(f"device must be auto, cpu, gpu or gpu:N (got {device!r})")
        settings.device = device
    if memory_growth is not None:
        settings.memory_growth = memory_growth
    if cpu_threads is not None:
        settings.cpu_threads = max(1, cpu_threads)


@contextlib.contextmanager
def quiet_fd2() -> Iterator[None]:
    """Send whatever native code writes to fd 2 into /dev/null for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class KerasLock:
    """Work that builds or trains Keras models, one at a time in this process.

    Building a model reseeds Keras' global random state (``engine.build_model``), so a model built
    in one thread while another builds its own would change that one's initial weights.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def held(self, give_up: Callable[[], bool] = lambda: False) -> Iterator[bool]:
        """Hold the lock for the block; yields False (not holding it) if ``give_up()`` said so first."""
        acquired = self._lock.acquire(timeout=0.05)
        while not acquired and not give_up():
            acquired = self._lock.acquire(timeout=0.05)
        try:
            yield acquired
        finally:
            if acquired:
                self._lock.release()

    def busy(self) -> bool:
        """Whether some work holds it now."""
        return self._lock.locked()


keras_lock = KerasLock()


def is_loaded() -> bool:
    """True once TensorFlow has been imported through ``load``."""
    return _modules is not None


def prepare_devices(tf: Any, chosen: Settings) -> None:
    """Hide unchosen GPUs and set memory growth: both only work before TensorFlow uses a GPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if chosen.device == "cpu":
        tf.config.set_visible_devices([], "GPU")
        return
    if chosen.device.startswith("gpu"):
        index = int(chosen.device.partition(":")[2] or 0)
        if index >= len(gpus):
            found = f"{len(gpus)} GPU{'s' if len(gpus) != 1 else ''}"
            raise DeviceError(f"--device {chosen.device}: TensorFlow sees {found}")
        gpus = [gpus[index]]
        tf.config.set_visible_devices(gpus, "GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, chosen.memory_growth)


def load() -> tuple[ModuleType, ModuleType]:
    """Import and return ``(tensorflow, keras)``, silencing the import's native log lines."""
    global _modules
    with _lock:
        if _modules is None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            os.environ.setdefault("KERAS_BACKEND", "tensorflow")
            # TensorFlow's oneDNN kernels round differently from one run to the next: the same
            # config trained in 40 processes at once on 2 cores gave 2 histories that parted in
            # the last bits (0 in 140 with Eigen's kernels). Reruns to the bit are a promise
            # (engine.py); on a CPU, oneDNN was ~1.5x faster only for units 256 and up
            # (docs/performance.md). Read once, at TensorFlow's import; an explicit setting wins.
            os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
            with quiet_fd2():
                import tensorflow as tf
                import keras

                prepare_devices(tf, settings)
                # One op at a time: with TensorFlow's default inter-op pool, two processes on a
                # busy machine gave predictions 1 ulp apart (1 run in 9; 0 in 36 with one thread),
                # and these programs are chains of small ops that gain nothing from it.
                tf.config.threading.set_inter_op_parallelism_threads(1)
                if settings.cpu_threads:
                    tf.config.threading.set_intra_op_parallelism_threads(settings.cpu_threads)
                # Run one tiny op so first-use logs (device discovery) happen in here too.
                tf.constant(0.0) + 1.0
            tf.get_logger().setLevel("ERROR")
            _modules = (tf, keras)
        return _modules


def device_name() -> str:
    """Where training runs: the first visible GPU's name, else the CPU."""
    tf, _ = load()
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU {details.get('device_name', gpus[0].name)}"
    return "CPU"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _gpu_memory_mib(index: int) -> int | None:
    """Total memory of GPU ``index`` from nvidia-smi, if it is there (TensorFlow does not say)."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits", f"--id={index}"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
        return int(out.strip().splitlines()[0])
    return None


def doctor() -> dict[str, Any]:
    """Devices, versions and settings in force, for ``tui-echo doctor``."""
    tf, keras = load()
    build = tf.sysconfig.get_build_info()
    gpus = []
    for index, gpu in enumerate(tf.config.list_physical_devices("GPU")):
        details = tf.config.experimental.get_device_details(gpu)
        gpus.append({
            "name": details.get("device_name", gpu.name),
            "device": gpu.name,
            "memory_mib": _gpu_memory_mib(index),
            "memory_growth": tf.config.experimental.get_memory_growth(gpu),
        })
    return {
        "cpu": {"name": _cpu_model(), "cores": os.cpu_count()},
        "gpus": gpus,
        "training_device": device_name(),
        "versions": {**versions(), "cuda_build": build.get("cuda_version"), "cudnn_build": build.get("cudnn_version")},
        "settings": {
            **asdict(settings),
            "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
            "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
            "KERAS_BACKEND": os.environ.get("KERAS_BACKEND"),
            "onednn": onednn_enabled(),
        },
    }


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its oneDNN CPU kernels (off unless ``TF_ENABLE_ONEDNN_OPTS=1``, or
    TensorFlow was imported before ``load()``): reruns are exact to the bit only without them."""
    load()
    from tensorflow.python.util import _pywrap_util_port

    return bool(_pywrap_util_port.IsMklEnabled())


def versions() -> dict[str, str]:
    """Python, TensorFlow, Keras and tui-echo versions, for run records."""
    from .. import __version__

    tf, keras = load()
    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tui-echo": __version__,
    }


T = TypeVar("T")


def run_in_daemon(
    work: Callable[[], T], give_up: Callable[[], bool], grace: float = 0.5, poll: float = 0.02
) -> T | None:
    """Run ``work`` in a daemon thread and wait for it; return ``None`` if it is still running
    ``grace`` seconds after ``give_up()`` first says so.

    A thread the interpreter joins at exit (Textual's thread workers, the main thread of a
    headless run) stuck in an uninterruptible call (a TensorFlow import, a graph compile) would
    keep the process alive after the user quit. Waiting here instead lets it return soon after a
    stop, while work that can stop (a training polling its stop flag)
    still gets ``grace`` seconds to finish cleanly. A dropped daemon thread dies with the process.
    """
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # re-raised in the waiting thread
            result["error"] = error

    thread = threading.Thread(target=target, name="tui-echo-work", daemon=True)
    thread.start()
    deadline: float | None = None
    while thread.is_alive():
        thread.join(poll)
        if thread.is_alive() and give_up():
            deadline = deadline or time.monotonic() + grace
            if time.monotonic() >= deadline:
                return None
    if "error" in result:
        raise result["error"]
    return result.get("value")
