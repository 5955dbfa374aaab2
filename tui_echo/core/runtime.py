"""Loading TensorFlow quietly, once, and saying which device it runs on.

TensorFlow is heavy (seconds) and chatty: its C++ runtime writes oneDNN/absl lines straight to
file descriptor 2 at import, even with ``TF_CPP_MIN_LOG_LEVEL=2``. Everything that needs
TensorFlow goes through ``load()``, which silences those lines and imports it exactly once.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from types import ModuleType
from typing import Iterator

_lock = threading.Lock()
_modules: tuple[ModuleType, ModuleType] | None = None


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


def is_loaded() -> bool:
    """True once TensorFlow has been imported through ``load``."""
    return _modules is not None


def load() -> tuple[ModuleType, ModuleType]:
    """Import and return ``(tensorflow, keras)``, silencing the import's native log lines."""
    global _modules
    with _lock:
        if _modules is None:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
            os.environ.setdefault("KERAS_BACKEND", "tensorflow")
            with quiet_fd2():
                import tensorflow as tf
                import keras

                # Build and run one tiny op so first-use logs (device discovery) happen here too.
                tf.constant(0.0) + 1.0
            tf.get_logger().setLevel("ERROR")
            _modules = (tf, keras)
        return _modules


def device_name() -> str:
    """Where training runs: the first GPU's name if TensorFlow sees one, else the CPU."""
    tf, _ = load()
    gpus = tf.config.list_logical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        return f"GPU {details.get('device_name', gpus[0].name)}"
    return "CPU"


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
