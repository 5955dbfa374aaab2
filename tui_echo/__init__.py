"""tui-echo: a terminal lab for Keras LSTM topologies.

``from tui_echo import TuiEchoCallback`` loads Keras only then: ``import tui_echo`` stays cheap
(the command line and the lab import it before they decide whether TensorFlow is needed).
"""

from typing import Any

from .version import __version__

__all__ = ["TuiEchoCallback", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "TuiEchoCallback":
        from .callback import TuiEchoCallback

        return TuiEchoCallback
    raise AttributeError(f"module 'tui_echo' has no attribute {name!r}")
