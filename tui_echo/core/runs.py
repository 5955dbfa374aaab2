"""The run store: every training saved as it happens, so no result is ever lost.

Layout of one run, ``<root>/<id>/``:

- ``run.json``      config, start time, pid, status; rewritten (atomically) when the run ends
- ``history.txt``   one loss per line, appended during training and flushed at least every second
- ``result.json``   the full run record (see ``record.py``) once training ends
- ``model.keras``   the trained model, loadable with plain ``keras.models.load_model``

Whole files are written to a temporary name and renamed, so a crash never leaves half a JSON
file. A run whose ``run.json`` still says "running" but whose process is gone is reported as
"interrupted", with the history it had written.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .events import Epochs, Event

STATUSES = ("running", "finished", "stopped", "diverged", "failed", "interrupted")
FLUSH_EVERY_S = 1.0


def default_root() -> Path:
    """``$TUI_ECHO_RUNS_DIR``, else ``$XDG_DATA_HOME/tui-echo/runs`` (``~/.local/share/...``)."""
    if os.environ.get("TUI_ECHO_RUNS_DIR"):
        return Path(os.environ["TUI_ECHO_RUNS_DIR"])
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "tui-echo" / "runs"


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file under a temporary name, then rename it into place."""
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def _process_alive(pid: int, host: str) -> bool:
    if host != socket.gethostname():
        return True  # cannot tell from here; do not call another machine's run dead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _loss_text(loss: float | None) -> str:
    return "nan" if loss is None else repr(loss)


def _losses(lines: list[str]) -> list[float]:
    """Parse history lines, stopping at the first bad one (a kill can cut the last line short)."""
    losses = []
    for line in lines:
        try:
            losses.append(float(line))
        except ValueError:
            break
    return losses


@dataclass
class RunWriter:
    """Records one training: a listener for its events, then ``finish`` with the result."""

    path: Path
    meta: dict[str, Any]
    warn: Callable[[str], None]
    _history: Any = None
    _flushed_at: float = field(default_factory=time.monotonic)
    _broken: bool = False

    def __call__(self, event: Event) -> None:
        """Append each epoch's loss to history.txt as it arrives."""
        if self._broken or not isinstance(event, Epochs):
            return
        try:
            if self._history is None:
                self._history = open(self.path / "history.txt", "a", encoding="utf-8")
            self._history.write("".join(f"{loss!r}\n" for loss in event.losses))
            if time.monotonic() - self._flushed_at >= FLUSH_EVERY_S:
                self._history.flush()
                self._flushed_at = time.monotonic()
        except OSError as error:
            self._fail(error)

    def finish(self, record: dict[str, Any], model: Any = None) -> None:
        """Write the result, the model and the final status; failures become warnings."""
        if self._broken:
            return
        try:
            if self._history is not None:
                self._history.close()
            # Rewrite the history whole: it is the record's, trimmed if the run diverged.
            write_atomically(self.path / "history.txt", "".join(f"{_loss_text(v)}\n" for v in record["history"]))
            write_atomically(self.path / "result.json", json.dumps(record, indent=1))
            if model is not None:
                partial = self.path / "partial-model.keras"
                model.save(partial)
                os.replace(partial, self.path / "model.keras")
            self.meta.update(status=record["status"], ended=time.time())
            write_atomically(self.path / "run.json", json.dumps(self.meta, indent=1))
        except OSError as error:
            self._fail(error)

    def _fail(self, error: OSError) -> None:
        self._broken = True
        self.warn(f"run {self.meta['id']} could not be saved in {self.path}: {error.strerror or error}")


@dataclass(frozen=True)
class RunInfo:
    """One line of ``tui-echo runs``."""

    id: str
    started: float
    topology: str
    status: str
    epochs: int
    final_loss: float | None
    path: Path


class RunStore:
    """Runs under one folder: start new ones, list, load and remove them."""

    def __init__(self, root: Path | None = None, warn: Callable[[str], None] = lambda message: None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.warn = warn

    def start(self, config: dict[str, Any], tags: dict[str, Any] | None = None) -> RunWriter | None:
        """Create a run folder for a training about to start; None (and a warning) if it cannot.

        ``tags`` (e.g. a sweep's id and trial number) are kept in ``run.json``."""
        run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        meta = {
            "id": run_id,
            "started": time.time(),
            "status": "running",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "config": config,
            **(tags or {}),
        }
        path = self.root / run_id
        try:
            path.mkdir(parents=True)
            write_atomically(path / "run.json", json.dumps(meta, indent=1))
        except OSError as error:
            self.warn(f"runs folder {self.root} is not writable ({error.strerror or error}); this run will not be saved")
            return None
        return RunWriter(path, meta, self.warn)

    def list(self) -> list[RunInfo]:
        """Every readable run, newest first; unreadable ones are skipped with a warning."""
        if not self.root.is_dir():
            return []
        runs = []
        for folder in sorted(self.root.iterdir(), reverse=True):
            if not folder.is_dir() or folder.name.startswith("."):
                continue
            run = self._read(folder)
            if run is not None:
                history = run["history"]
                runs.append(
                    RunInfo(
                        id=run["id"],
                        started=run["started"],
                        topology=run["config"]["topology"],
                        status=run["status"],
                        epochs=len(history),
                        final_loss=history[-1] if history else None,
                        path=folder,
                    )
                )
        return runs

    def load(self, run_id: str) -> dict[str, Any]:
        """A run's record (its result, or what a running/interrupted run has so far)."""
        folder = self.root / run_id
        if not (folder / "run.json").is_file():
            raise KeyError(run_id)
        run = self._read(folder)
        if run is None:
            raise KeyError(run_id)
        return run

    def remove(self, run_id: str) -> None:
        """Delete one run folder."""
        folder = self.root / run_id
        if not (folder / "run.json").is_file():
            raise KeyError(run_id)
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()

    def _read(self, folder: Path) -> dict[str, Any] | None:
        """Merge run.json, result.json and history.txt; warn and return None if they are bad."""
        current = folder / "run.json"
        try:
            meta = json.loads(current.read_text(encoding="utf-8"))
            if not isinstance(meta, dict) or not {"id", "status", "config"} <= meta.keys():
                raise ValueError("not a tui-echo run")
            record: dict[str, Any] = {}
            current = folder / "result.json"
            if current.is_file():
                record = json.loads(current.read_text(encoding="utf-8"))
            current = folder / "history.txt"
            if "history" not in record:
                lines = current.read_text(encoding="utf-8").split() if current.is_file() else []
                record["history"] = _losses(lines)
        except (OSError, ValueError, UnicodeDecodeError) as error:
            self.warn(f"skipped {current}: {error}")
            return None
        status = meta["status"]
        if status == "running" and not _process_alive(int(meta.get("pid", 0)), meta.get("host", "")):
            status = "interrupted"
        return {**record, "id": meta["id"], "started": meta.get("started", 0.0), "status": status,
                "config": record.get("config", meta["config"]), "path": str(folder)}
