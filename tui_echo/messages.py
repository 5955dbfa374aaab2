"""Textual messages: what reaches the UI thread from the TensorFlow loader, the run store and jobs.

Worker threads talk to the UI only through ``post_message`` (thread-safe, and harmless once the
app has gone); ``training.TrainingService`` sends the job messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from textual.message import Message

if TYPE_CHECKING:  # pragma: no cover
    from .training import Job


class TensorFlowReady(Message):
    """TensorFlow finished loading in the background; ``device`` is where training will run."""

    def __init__(self, device: str) -> None:
        super().__init__()
        self.device = device


class TensorFlowFailed(Message):
    """TensorFlow could not be imported; ``reason`` is one line for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class JobProgress(Message):
    """A batch of what ``job`` reported (engine events, records), in the order it reported them."""

    def __init__(self, job: "Job", items: Sequence[Any]) -> None:
        super().__init__()
        self.job = job
        self.items = tuple(items)


class JobDone(Message):
    """``job``'s thread has really finished: ``result`` is what it returned, or ``error`` says why not."""

    def __init__(self, job: "Job", result: Any, error: str | None = None) -> None:
        super().__init__()
        self.job = job
        self.result = result
        self.error = error


class StoreWarning(Message):
    """The run store could not read or write something (sent from any thread)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
