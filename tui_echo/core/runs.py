"""The run store: every training saved as it happens, read back without trusting the folder.

Layout of one run, ``<root>/<id>/`` (the folder's name is the run's ID, ``YYYYmmdd-HHMMSS-xxxx``):

- ``run.json``     id, config, start time, pid, host, status (and why it failed); rewritten at the end
- ``history.f32``  each epoch's loss as a little-endian float32 (4 bytes an epoch; NaN where the loss
                   diverged), appended during training; ``numpy.fromfile(path, "<f4")`` reads it.
                   The engine's losses are float32, so nothing is lost: 4 MB for 1,000,000 epochs.
                   A write cut short leaves a partial record at the end, which readers drop.
- ``val_history.f32``  each epoch's validation loss, the same way, for runs that had validation data
                   (appended with history.f32, never ahead of it)
- ``result.json``  the run record (see ``record.py``) less its history, once training ends
- ``model.keras``  the trained model, loadable with plain ``keras.models.load_model``
- ``progress.json`` a heartbeat while training, rewritten at most once a second: epoch, step, rates,
                   ETA and the status text, for ``tui-echo attach`` in another process
- ``stop-requested`` made by ``request_stop`` (an attached lab): the training's stop check sees it
                   within ``STOP_POLL_S`` and stops as for Ctrl+C, saving the run as stopped
- ``snapshots.npz``  the weights at the epochs ``snapshots.snapshot_epochs`` chose (arrays ``epochs``
                   and ``weights``, one flat float32 vector a row, ``get_weights`` order); ``numpy.load``
                   reads it. Bounded by ``snapshots.SNAPSHOT_BYTES``

Whole files are written under a hidden temporary name, fsynced, renamed into place and the folder
fsynced, so a crash never leaves half a file; a failed write removes its temporary file and marks
the run "failed" with the reason. A run whose ``run.json`` still says "running" but whose process is
gone is "interrupted". Runs saved by earlier versions (``history.txt``, one loss per line, and a
``result.json`` holding the history too) are still read.

Reading trusts nothing: a folder must be a real folder named like an ID that its ``run.json``
repeats; only regular files of bounded size are opened (never a FIFO, a device or a symlink); every
field is checked for type and range. A run that fails any check is one warning naming its folder and
what is wrong, and every other run is still listed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import shutil
import socket
import stat
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .config import RULES, Choice, Config, ConfigError, FloatRange, Text
from .formatting import format_loss
from .cells import CELLS
from . import progress
from .events import Epochs, Event
from .record import label
from .snapshots import SNAPSHOT_BYTES, Snapshots
from .tasks import TASKS
from .topologies import TOPOLOGIES

STATUSES = ("running", "finished", "stopped", "diverged", "failed", "interrupted")
ID_PATTERN = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{4}")
HISTORY = "history.f32"
VAL_HISTORY = "val_history.f32"
SNAPSHOTS = "snapshots.npz"
LOSS = np.dtype("<f4")
MAX_EPOCHS = RULES["epochs"].high
JSON_CAP = 64 * 2**20  # an old result.json held the whole history: ~25 MB for 1,000,000 epochs
FLUSH_EVERY_S = 1.0
LATEST = 253402300800  # 10000-01-01: times past it cannot be shown as dates
ID_ATTEMPTS = 8  # fresh random suffixes tried when another process took the ID this second
PROGRESS = "progress.json"
STOP_REQUESTED = "stop-requested"
HEARTBEAT_S = 1.0  # progress.json at most this often
STOP_POLL_S = 0.5  # the stop file is looked for at most this often (a stat)
STOP_GRACE_S = 1.0  # quitting: a training that has not begun saving by then is saved as it stands
SAVE_LIMIT_S = 30.0  # quitting: the longest a save in progress is waited for (a hung disk)


class RunError(ValueError):
    """A run folder that cannot be read; the message says which file and what is wrong."""


class BadRunId(ValueError):
    """Text that is not a run ID, so it can never name a run folder."""


def default_root() -> Path:
    """``$TUI_ECHO_RUNS_DIR``, else ``$XDG_DATA_HOME/tui-echo/runs`` (``~/.local/share/...``)."""
    if os.environ.get("TUI_ECHO_RUNS_DIR"):
        return Path(os.environ["TUI_ECHO_RUNS_DIR"])
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "tui-echo" / "runs"


def check_id(run_id: str) -> str:
    """``run_id`` if it is shaped like a run ID, else ``BadRunId`` (so no path can be smuggled in)."""
    if not isinstance(run_id, str) or not ID_PATTERN.fullmatch(run_id):
        raise BadRunId(f"{_shown(run_id)} is not a run ID (they look like 20250131-235959-0a1b)")
    return run_id


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


# --------------------------------------------------------------------------- writing


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Write the whole file under a hidden name, fsync it, rename it into place, fsync the folder.

    On failure the temporary file is removed, so a full disk is not kept full by leftovers.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        with open(partial, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    _fsync_folder(path.parent)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=1).encode()


def history_bytes(history: list[float | None]) -> bytes:
    """The history as ``history.f32`` stores it (None, a diverged epoch, becomes NaN)."""
    return np.array([math.nan if v is None else v for v in history], dtype=LOSS).tobytes()


def _save_model(model: Any, folder: Path) -> None:
    """``model.keras`` via a hidden temporary file, fsynced before its rename."""
    partial = folder / ".partial-model.keras"  # Keras insists on the .keras suffix
    try:
        model.save(partial)
        fd = os.open(partial, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, folder / "model.keras")
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    _fsync_folder(folder)


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


@dataclass(eq=False)
class RunWriter:
    """Records one training: a listener for its events, then ``finish`` with the result.

    A failed write ends the writing: the run is marked failed on disk where the disk allows it,
    and ``error`` says why (``run_experiment`` then stops the training and fails its record).
    ``saved`` is set once the run is on disk for good, which is what quitting waits for.
    """

    path: Path
    meta: dict[str, Any]
    warn: Callable[[str], None]
    error: str | None = None
    saved: threading.Event = field(default_factory=threading.Event)
    _history: Any = None
    _val_history: Any = None
    _flushed_at: float = field(default_factory=time.monotonic)
    _closed: bool = False  # finished or abandoned: nothing more is written
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _state: progress.RunState | None = None
    _beat_at: float = -math.inf
    _stop_checked_at: float = -math.inf

    def __call__(self, event: Event) -> None:
        """Append each epoch's loss (and validation loss) as it arrives; beat ``progress.json``."""
        self._heartbeat(event)
        if not isinstance(event, Epochs):
            return
        with self._lock:
            if self._closed or self.error is not None:
                return
            name = HISTORY
            try:
                if self._history is None:
                    self._history = open(self.path / HISTORY, "ab")
                self._history.write(np.asarray(event.losses, dtype=LOSS).tobytes())
                # Written after history.f32, as many bytes, flushed after it: on disk it is never
                # ahead of history.f32 (which a loaded run checks).
                if event.val_losses:
                    name = VAL_HISTORY
                    if self._val_history is None:
                        self._val_history = open(self.path / VAL_HISTORY, "ab")
                    self._val_history.write(np.asarray(event.val_losses, dtype=LOSS).tobytes())
                if time.monotonic() - self._flushed_at >= FLUSH_EVERY_S:
                    for name, file in ((HISTORY, self._history), (VAL_HISTORY, self._val_history)):
                        if file is not None:
                            file.flush()
                    self._flushed_at = time.monotonic()
            except OSError as error:
                self._fail(f"{name}: {_reason(error)}")

    def _heartbeat(self, event: Event) -> None:
        """Keep the training's state (the lab's reducer) and write it at most every HEARTBEAT_S."""
        now = time.monotonic()
        if self._state is None:
            self._state = progress.begun(int(self.meta["config"].get("epochs") or 0), ready=True)
        self._state = state = progress.advance(self._state, event, now)
        if now - self._beat_at < HEARTBEAT_S or self._closed:
            return
        self._beat_at = now
        beat = {"phase": str(state.phase), "epoch": state.epoch, "total": state.total, "step": state.step,
                "steps_per_epoch": state.steps_per_epoch, "epochs_per_s": state.rate,
                "steps_per_s": state.steps_per_s, "eta_s": state.eta_s, "text": progress.status(state)[1],
                "time": time.time()}
        partial = self.path / f".{PROGRESS}.tmp"
        with contextlib.suppress(OSError):  # a heartbeat is a courtesy: never fails the run
            partial.write_bytes(_json_bytes(beat))
            os.replace(partial, self.path / PROGRESS)  # no fsync: a lost beat costs nothing

    def stop_requested(self) -> bool:
        """Whether ``request_stop`` asked this run to stop (a stat at most every STOP_POLL_S)."""
        now = time.monotonic()
        if now - self._stop_checked_at < STOP_POLL_S:
            return False
        self._stop_checked_at = now
        return (self.path / STOP_REQUESTED).exists()

    def finish(self, record: dict[str, Any], model: Any = None, snapshots: Snapshots | None = None) -> None:
        """Write the history, result, model, snapshots and final status; a failure marks the run failed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self.error is None:
                self._save(record, model, snapshots)
        finally:
            self.saved.set()

    def abandon(self) -> bool:
        """Save a training that did not stop in time as "stopped" with the epochs written so far.

        False if its own save has begun meanwhile (then wait for ``saved`` instead).
        """
        with self._lock:
            if self._closed:
                return False
            self._closed = True
        try:
            self._close_history()
            self.meta.update(status="stopped", ended=time.time())
            write_atomically(self.path / "run.json", _json_bytes(self.meta))
        except OSError as error:
            self._fail(f"run.json: {_reason(error)}")
        finally:
            self.saved.set()
        return True

    def _save(self, record: dict[str, Any], model: Any, snapshots: Snapshots | None) -> None:
        step = HISTORY
        try:
            self._close_history()
            # Rewritten whole: the record's history is trimmed where a run diverged.
            write_atomically(self.path / HISTORY, history_bytes(record["history"]))
            if record.get("val_history") is not None:
                step = VAL_HISTORY
                write_atomically(self.path / step, history_bytes(record["val_history"]))
            step = "result.json"
            saved = {k: v for k, v in record.items() if k not in ("history", "val_history")}
            write_atomically(self.path / step, _json_bytes(saved))
            if model is not None:
                step = "model.keras"
                _save_model(model, self.path)
            if snapshots:
                step = SNAPSHOTS
                write_atomically(self.path / step, snapshots.to_bytes())
            step = "run.json"
            self.meta.update(status=record["status"], ended=time.time())
            write_atomically(self.path / step, _json_bytes(self.meta))
        # Keras reports a failed model write in its own exception types, not only OSError.
        except Exception as error:  # noqa: BLE001
            self._fail(f"{step}: {_reason(error) if isinstance(error, OSError) else error}")

    def _close_history(self) -> None:
        history, validation = self._history, self._val_history
        self._history = self._val_history = None
        for file in (history, validation):  # in this order: validation never ahead on disk
            if file is not None:
                file.close()

    def _fail(self, reason: str) -> None:
        """Stop writing, say why, and mark the run failed if the disk still takes a small file."""
        self.error = reason
        self.warn(f"run {self.meta['id']} could not be saved in {self.path}: {reason}")
        with contextlib.suppress(OSError):
            self._close_history()
        self.meta.update(status="failed", ended=time.time(), error=f"could not save the run: {reason}")
        with contextlib.suppress(OSError):
            write_atomically(self.path / "run.json", _json_bytes(self.meta))


# --------------------------------------------------------------------------- reading


def _read_file(folder_fd: int, name: str, cap: int) -> bytes | None:
    """The bytes of regular file ``name`` in an open folder, or None when there is none.

    O_NOFOLLOW refuses a symlink, O_NONBLOCK keeps a FIFO from blocking the open, fstat refuses
    anything but a regular file, and the cap bounds the memory one file can take.
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise RunError(f"{name} is a symbolic link" if error.errno == errno.ELOOP else f"{name}: {_reason(error)}")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RunError(f"{name} is not a regular file")
        chunks, size = [], 0
        while size <= cap:  # the file may grow while it is read: the cap holds regardless
            chunk = os.read(fd, min(cap + 1 - size, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise RunError(f"{name}: {_reason(error)}")
    finally:
        os.close(fd)
    if size > cap:
        raise RunError(f"{name} is larger than {cap:,} bytes")
    return b"".join(chunks)


def _read_json(folder_fd: int, name: str, cap: int = JSON_CAP) -> Any:
    data = _read_file(folder_fd, name, cap)
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as error:  # RecursionError: nested deeper than Python recurses
        raise RunError(f"{name} is not valid JSON ({' '.join(str(error).split())[:80]})")


def _need(ok: bool, what: str) -> None:
    if not ok:
        raise RunError(what)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_count(value: Any) -> bool:
    return _is_int(value) and 0 <= value <= 2**53


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 10_000


def _is_optional_number(value: Any) -> bool:
    return value is None or _is_number(value)


def _is_numbers(value: Any) -> bool:
    return isinstance(value, list) and all(_is_number(v) for v in value)


def _is_layers(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(layer, dict)
        and _is_text(layer.get("name"))
        and _is_text(layer.get("type"))
        and isinstance(layer.get("output_shape"), list)
        and all(d is None or _is_count(d) for d in layer["output_shape"])
        and _is_count(layer.get("params"))
        and _is_text(layer.get("formula", ""))
        for layer in value
    )


def _is_versions(value: Any) -> bool:
    return isinstance(value, dict) and all(_is_text(k) and (v is None or _is_text(v)) for k, v in value.items())


def _is_numbers_by_name(value: Any) -> bool:
    return isinstance(value, dict) and len(value) <= 10_000 and all(_is_text(k) and _is_number(v) for k, v in value.items())


# A csv run's data description (``csvdata.frame``): each key's check; any other key is refused.
DATA_FIELDS: dict[str, Callable[[Any], bool]] = {
    "file": _is_text,
    "rows": _is_count,
    "columns": lambda v: isinstance(v, list) and len(v) <= 10_000 and all(_is_text(c) for c in v),
    "target": _is_text,
    "window": _is_count,
    "windows": _is_count,
    "validation_windows": _is_count,
    "unused_rows": _is_count,
    "train_rows": _is_count,
    "mean": _is_numbers_by_name,
    "std": _is_numbers_by_name,
    "x_shape": lambda v: isinstance(v, list) and len(v) <= 8 and all(_is_count(d) for d in v),
    "y_shape": lambda v: isinstance(v, list) and len(v) <= 8 and all(_is_count(d) for d in v),
}


def _is_data(value: Any) -> bool:
    return isinstance(value, dict) and all(key in DATA_FIELDS and DATA_FIELDS[key](v) for key, v in value.items())


# What a saved result may hold, and the checks each value must pass; anything else is dropped.
RESULT_FIELDS: dict[str, Callable[[Any], bool]] = {
    "id": _is_text,
    "topology": _is_text,
    "status": lambda v: isinstance(v, str) and v in STATUSES,
    "layers": _is_layers,
    "params": _is_count,
    "final_loss": _is_optional_number,
    "final_val_loss": _is_optional_number,
    "best_val_loss": _is_optional_number,
    "best_epoch": lambda v: _is_int(v) and 1 <= v <= MAX_EPOCHS,  # early stopping's; checked against the history too
    "predictions": _is_numbers,
    "targets": _is_numbers,
    "inputs": _is_numbers,  # a callback or csv run's first sample, when it has one value a step
    "sample_sequences": _is_count,
    "wall_s": _is_optional_number,
    "compile_s": _is_optional_number,
    "epochs_per_s": _is_optional_number,
    "best_epoch": lambda v: _is_int(v) and 1 <= v <= MAX_EPOCHS,  # early stopping's kept epoch
    "engine": _is_text,
    "versions": _is_versions,
    "device": _is_text,
    "error": _is_text,
    "data": _is_data,
}  # (a sweep's id and trial come from run.json, checked by ``TAGS``)
RESULT_REQUIRED = ("topology", "layers", "params", "predictions", "targets")
SETTINGS = {f.name: f for f in fields(Config)}
REGISTRIES: dict[str, dict[str, Any]] = {"topology": TOPOLOGIES, "task": TASKS, "cell": CELLS}


def check_config(value: Any, *, lab: bool = True) -> dict[str, Any]:
    """A saved config that ``Config(**value)`` accepts: known settings, right types, in range.

    The batch size and delay are checked as whole numbers only: their upper bounds depend on the
    task's data, which is not drawn just to list a run. A run recorded by the Keras callback
    (``lab=False``) keeps only the settings that apply to someone's own model, so it may have no
    topology; its config is never the lab's problem (see ``record.first_inputs``).
    """
    _need(isinstance(value, dict), "config is not a JSON object")
    _need(not lab or isinstance(value.get("topology"), str), "config has no topology")
    for name, setting in value.items():
        _need(name in SETTINGS, f"config has an unknown setting {_shown(name)}")
        if setting is None:
            continue  # "the default"
        rule = RULES.get(name)
        if name in REGISTRIES:  # read live: a task or topology registered at run time is known
            ok = isinstance(setting, str) and setting in REGISTRIES[name]
            _need(ok, f"config: {name} {_shown(setting)} is not one this version knows")
            continue
        if isinstance(rule, (Choice, Text)):
            ok = isinstance(setting, str)
        elif isinstance(rule, FloatRange):
            ok = _is_number(setting)
        elif name in ("shuffle", "bidirectional"):
            ok = isinstance(setting, bool)
        else:
            ok = _is_int(setting) and (rule is not None or 1 <= setting <= 2**31)
        _need(ok, f"config: {name} has the wrong type ({_shown(setting)})")
        if rule is not None:
            try:
                rule.parse(name, setting)
            except ConfigError as error:
                raise RunError(f"config: {error}") from None
    config = Config(**value)
    try:
        config.delay_range.parse("delay", config.delay)
    except ConfigError as error:
        raise RunError(f"config: {error}") from None
    return value


# What run.json may hold beside a run's config, kept in the loaded record: a sweep's id and trial
# number, and where a run came from ("callback": recorded by ``TuiEchoCallback`` from someone's
# own ``model.fit``, whose ``keras`` settings then say what the lab's config cannot).
TAGS: dict[str, Callable[[Any], bool]] = {
    "sweep": _is_text,
    "trial": _is_count,
    "source": lambda v: v in ("lab", "callback"),
    "name": _is_text,
    "keras": lambda v: isinstance(v, dict) and all(_is_text(k) for k in v),
}


def _check_meta(meta: Any, name: str) -> dict[str, Any]:
    _need(meta is not None, "run.json is missing")
    _need(isinstance(meta, dict), "run.json is not a JSON object")
    _need(meta.get("id") == name, f"run.json names run {_shown(meta.get('id'))}, not its folder's name (a copy?)")
    _need(_is_number(meta.get("started")) and 0 <= meta["started"] < LATEST, "run.json: started is not a time")
    _need(isinstance(meta.get("status"), str) and meta["status"] in STATUSES, "run.json: status is not a run status")
    _need(_is_int(meta.get("pid", 0)) and 0 <= meta.get("pid", 0) < 2**31, "run.json: pid is not a process id")
    _need(_is_text(meta.get("host", "")), "run.json: host is not text")
    _need(_is_optional_number(meta.get("ended")), "run.json: ended is not a time")
    _need(_is_text(meta.get("error", "")), "run.json: error is not text")
    for key, ok in TAGS.items():
        _need(key not in meta or ok(meta[key]), f"run.json: {key} has the wrong type")
    check_config(meta.get("config"), lab=meta.get("source", "lab") == "lab")
    return meta


def _check_result(result: Any) -> dict[str, Any]:
    _need(isinstance(result, dict), "result.json is not a JSON object")
    missing = [key for key in RESULT_REQUIRED if key not in result]
    _need(not missing, f"result.json lacks {', '.join(missing)}")
    for key, ok in RESULT_FIELDS.items():
        _need(key not in result or ok(result[key]), f"result.json: {key} has the wrong type or range")
    return {key: result[key] for key in RESULT_FIELDS if key in result}


def _losses(values: Any) -> list[float | None]:
    """Losses as a list; NaN (or null, in old files) marks the epoch where a run diverged."""
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _f32_losses(binary: bytes) -> list[float | None]:
    """The losses a ``.f32`` history holds; a torn last record is dropped."""
    whole = len(binary) - len(binary) % LOSS.itemsize
    return _losses(np.frombuffer(binary[:whole], dtype=LOSS).tolist())


def _old_history(result: Any, text: bytes | None) -> list[float | None]:
    """The history of a run saved before history.f32: in result.json, else history.txt."""
    if isinstance(result, dict) and "history" in result:
        history = result["history"]
        _need(isinstance(history, list) and len(history) <= MAX_EPOCHS, "result.json: history is not a list of losses")
        _need(all(v is None or _is_number(v) for v in history), "result.json: history holds a value that is not a loss")
        return _losses(history)
    if text is None:
        return []
    lines = text.split(b"\n")
    lines.pop()  # after the last newline: empty, or a line a kill or a full disk cut short
    _need(len(lines) <= MAX_EPOCHS, "history.txt holds more epochs than a run can have")
    try:
        return _losses(float(line) for line in lines)
    except ValueError:
        raise RunError("history.txt holds a line that is not a number") from None


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
    task: str = ""
    cell: str = ""
    lr: float | None = None
    seed: int | None = None
    final_val_loss: float | None = None  # runs with validation data

    @property
    def when(self) -> str:
        """When it started, to the minute."""
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.started))

    def cells(self) -> dict[str, str]:
        """Its cells in a runs table, by column, the same in the CLI and the runs screen."""
        return {
            "id": self.id, "status": self.status, "final loss": format_loss(self.final_loss),
            "val loss": format_loss(self.final_val_loss),
            "topology": self.topology, "epochs": f"{self.epochs:,}", "task": self.task, "cell": self.cell,
            "lr": "-" if self.lr is None else f"{self.lr:g}", "seed": "-" if self.seed is None else str(self.seed),
            "started": self.when,
        }


AGE = re.compile(r"([0-9]{1,9})([smhdw])")
AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> float:
    """``7d`` (or s, m, h, w) in seconds; ``ValueError`` naming the option otherwise."""
    match = AGE.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"--older-than must be a whole number and a unit (s, m, h, d or w), like 7d or 12h (got {_shown(text)})"
        )
    return int(match[1]) * AGE_UNITS[match[2]]


def parse_statuses(text: str) -> set[str]:
    """``stopped,failed`` as a set; ``ValueError`` naming the option for anything else."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    if not names or not names <= set(STATUSES):
        raise ValueError(f"--status must list some of {', '.join(STATUSES)} (got {_shown(text)})")
    return names


def prunable(
    runs: list[RunInfo], *, older_than_s: float | None, statuses: set[str] | None, keep: int, now: float
) -> list[RunInfo]:
    """The runs ``runs prune`` removes: all but the ``keep`` newest, started more than
    ``older_than_s`` ago, with one of ``statuses``. A running training is never pruned."""
    newest_first = sorted(runs, key=lambda r: r.started, reverse=True)
    return [
        r
        for r in newest_first[keep:]
        if r.status != "running"
        and (older_than_s is None or r.started < now - older_than_s)
        and (statuses is None or r.status in statuses)
    ]


def folder_bytes(folder: Path) -> int:
    """The size of the regular files in a folder and its subfolders (symlinks not followed)."""
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                info = os.lstat(os.path.join(parent, name))
                total += info.st_size if stat.S_ISREG(info.st_mode) else 0
    return total


def request_stop(folder: Path) -> None:
    """Ask the training writing the run in ``folder`` (any process) to stop and save it as stopped.

    A file rather than SIGTERM to the run's pid: it works from another host sharing the folder, in
    another PID namespace or as another user allowed to write there, and the training sees it in
    its stop check (``RunWriter.stop_requested``) like Ctrl+C, so it stops between chunks and saves.
    """
    (folder / STOP_REQUESTED).touch()


class RunFollower:
    """A run that another process is writing, read as it grows (``tui-echo attach``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._offsets = {HISTORY: 0, VAL_HISTORY: 0}  # bytes of each file read so far

    def new_losses(self) -> tuple[list[float | None], list[float | None], bool]:
        """Losses and validation losses added since the last call (validation ones never for
        more epochs than the losses so far), and whether the history shrank: then both are read
        again from the start (the final save trims a diverged run's history)."""
        losses, restart = self._tail(HISTORY)
        if restart:
            self._offsets[VAL_HISTORY] = 0
        read = self._offsets[HISTORY] // LOSS.itemsize
        validation, _ = self._tail(VAL_HISTORY, limit=read * LOSS.itemsize)
        return losses, validation, restart

    def _tail(self, name: str, limit: int | None = None) -> tuple[list[float | None], bool]:
        """What was appended to ``name`` since the last read (whole records, up to byte ``limit``),
        and whether the file shrank (then it is read from the start)."""
        offset = self._offsets[name]
        try:
            fd = os.open(self.folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return [], False  # not written yet (or refused: nothing is read through a link)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return [], False
            restart = info.st_size < offset
            start = 0 if restart else offset
            end = info.st_size if limit is None else min(info.st_size, limit)
            whole = max(0, end - start) // LOSS.itemsize * LOSS.itemsize  # never a torn record
            binary = os.pread(fd, whole, start) if whole else b""
        finally:
            os.close(fd)
        self._offsets[name] = start + len(binary)
        return _f32_losses(binary), restart

    def meta(self) -> dict[str, Any]:
        """run.json as it stands, with "interrupted" for a run whose process is gone ({} unreadable)."""
        meta = self._json("run.json")
        if meta.get("status") == "running" and not _process_alive(meta.get("pid", 0), meta.get("host", "")):
            meta["status"] = "interrupted"
        return meta

    def heartbeat(self) -> dict[str, Any]:
        """The training's latest ``progress.json`` ({} before the first)."""
        return self._json(PROGRESS)

    def _json(self, name: str) -> dict[str, Any]:
        try:
            folder_fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return {}
        try:
            value = _read_json(folder_fd, name, 2**20)
        except RunError:
            return {}  # caught mid-replace or damaged: the next poll reads it again
        finally:
            os.close(folder_fd)
        return value if isinstance(value, dict) else {}


class RunStore:
    """Runs under one folder: start new ones, list, load and remove them."""

    def __init__(self, root: Path | None = None, warn: Callable[[str], None] = lambda message: None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.warn = warn
        self._writers: list[RunWriter] = []
        self.last_started: str | None = None  # the ID of the latest run ``start`` made here

    def start(self, config: dict[str, Any], tags: dict[str, Any] | None = None) -> RunWriter | None:
        """Create a run folder for a training about to start; None (and a warning naming why) if it cannot.

        ``tags`` (see ``TAGS``: a sweep's id and trial, a callback run's source and settings) are
        kept in ``run.json``."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self.warn(f"this run will not be saved: cannot create the runs folder {self.root}: {_reason(error)}")
            return None
        for _ in range(ID_ATTEMPTS):
            run_id = time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
            path = self.root / run_id
            try:
                path.mkdir()  # fails if the ID is taken, also by another process this same second
            except FileExistsError:
                continue
            except OSError as error:
                self.warn(f"this run will not be saved: cannot create {path}: {_reason(error)}")
                return None
            break
        else:
            self.warn(f"this run will not be saved: {ID_ATTEMPTS} new run IDs in a row were taken in {self.root}")
            return None
        meta = {
            "id": run_id,
            "started": time.time(),
            "status": "running",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "config": config,
            **(tags or {}),
        }
        try:
            write_atomically(path / "run.json", _json_bytes(meta))
        except OSError as error:
            with contextlib.suppress(OSError):
                path.rmdir()  # an empty run folder would only be warned about forever
            self.warn(f"this run will not be saved: cannot write {path / 'run.json'}: {_reason(error)}")
            return None
        writer = RunWriter(path, meta, self.warn)
        self._writers = [w for w in self._writers if not w.saved.is_set()] + [writer]
        self.last_started = run_id
        return writer

    def wait_saved(self, grace: float = STOP_GRACE_S, limit: float = SAVE_LIMIT_S) -> None:
        """Block until every run started here is saved; call it after asking the trainings to stop.

        A training that has not begun saving ``grace`` seconds from now cannot stop (e.g. in an
        uninterruptible compile): it is saved as "stopped" with its epochs so far and left behind.
        A save in progress is waited for, up to ``limit`` seconds.
        """
        began = time.monotonic()
        for writer in list(self._writers):
            while not writer.saved.wait(0.02):
                waited = time.monotonic() - began
                if waited >= limit or (waited >= grace and writer.abandon()):
                    break

    def scan(self) -> tuple[list[RunInfo], list[str]]:
        """Every readable run, newest first, and one line for each folder that is not one."""
        runs, problems = [], []
        try:
            entries = sorted(os.scandir(self.root), key=lambda entry: entry.name, reverse=True)
        except FileNotFoundError:
            return [], []
        except OSError as error:
            return [], [f"cannot read the runs folder {self.root}: {_reason(error)}"]
        for entry in entries:
            if entry.name.startswith("."):
                continue  # temporary files and runs being removed
            try:
                if entry.is_symlink():
                    raise RunError("is a symbolic link, not a run folder")
                if not entry.is_dir(follow_symlinks=False):
                    continue  # a stray file beside the runs
                run = self._read(entry.name)
            except KeyError:
                continue  # removed since the folder was listed
            except (RunError, OSError) as error:
                problems.append(f"skipped {self.root / entry.name}: {error}")
                continue
            history, validation = run["history"], run.get("val_history") or []
            runs.append(
                RunInfo(
                    id=run["id"],
                    started=run["started"],
                    topology=label(run),
                    status=run["status"],
                    epochs=len(history),
                    final_loss=history[-1] if history else None,
                    path=self.root / entry.name,
                    task=run["config"].get("task", ""),
                    cell=run["config"].get("cell", ""),
                    lr=run["config"].get("lr"),
                    seed=run["config"].get("seed"),
                    final_val_loss=validation[-1] if validation else None,
                )
            )
        return runs, problems

    def list(self) -> list[RunInfo]:
        """Every readable run, newest first; each folder that is not one is a warning."""
        runs, problems = self.scan()
        for problem in problems:
            self.warn(problem)
        return runs

    def load(self, run_id: str) -> dict[str, Any]:
        """A run's record (its result, or what a running/interrupted run has so far).

        ``BadRunId`` for text that is not an ID, ``KeyError`` when there is no such run,
        ``RunError`` when its folder cannot be read.
        """
        return self._read(check_id(run_id))

    def remove(self, run_id: str) -> None:
        """Delete one run folder, all or nothing: it is renamed aside (out of every listing) first.

        Only a real folder directly inside the runs folder, named like an ID, is ever removed.
        ``BadRunId``, ``KeyError`` (no such run) or ``OSError`` (renaming it aside failed).
        """
        folder = self.root / check_id(run_id)
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            raise KeyError(run_id) from None
        if not stat.S_ISDIR(info.st_mode):
            raise KeyError(run_id)  # a symlink or a file named like a run is not one
        aside = self.root / f".removing-{run_id}-{secrets.token_hex(4)}"
        os.rename(folder, aside)
        try:
            shutil.rmtree(aside)
        except OSError as error:
            self.warn(f"removed run {run_id}, but some of its files are left in {aside}: {_reason(error)}")

    def snapshots(self, run_id: str) -> Snapshots | None:
        """A run's snapshots, or None when it has none (a run saved before them, or stopped early).

        ``BadRunId``, ``KeyError`` or ``RunError`` as ``load``; ``RunError`` too when the file is
        over its bound or not exactly the arrays ``RunWriter`` writes.
        """
        folder_fd = self._open_folder(check_id(run_id))
        try:
            data = _read_file(folder_fd, SNAPSHOTS, SNAPSHOT_BYTES + 2**20)  # + the arrays' headers
        finally:
            os.close(folder_fd)
        if data is None:
            return None
        try:
            return Snapshots.from_bytes(data, MAX_EPOCHS)
        except ValueError as error:
            raise RunError(str(error)) from None

    def _open_folder(self, name: str) -> int:
        """An fd of the run folder ``name``, refusing a symlink; ``KeyError`` when there is none."""
        if not ID_PATTERN.fullmatch(name):
            raise RunError("folder name is not a run ID")
        try:
            return os.open(self.root / name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise KeyError(name) from None
        except OSError as error:
            raise RunError("is a symbolic link" if error.errno == errno.ELOOP else _reason(error)) from None

    def _read(self, name: str) -> dict[str, Any]:
        """Merge run.json, result.json and the history of the folder ``name``, checking each."""
        folder_fd = self._open_folder(name)
        try:
            meta = _check_meta(_read_json(folder_fd, "run.json", 2**20), name)
            raw = _read_json(folder_fd, "result.json")
            record = _check_result(raw) if raw is not None else {}
            binary = _read_file(folder_fd, HISTORY, LOSS.itemsize * MAX_EPOCHS)
            if binary is not None:
                losses = _f32_losses(binary)
            else:
                losses = _old_history(raw, _read_file(folder_fd, "history.txt", JSON_CAP))
            validation = _read_file(folder_fd, VAL_HISTORY, LOSS.itemsize * MAX_EPOCHS)
        finally:
            os.close(folder_fd)
        status = meta["status"]
        if status == "running" and not _process_alive(meta.get("pid", 0), meta.get("host", "")):
            status = "interrupted"
        record.update(
            history=losses, id=name, started=meta["started"], status=status, config=meta["config"],
            path=str(self.root / name),
        )
        _need("best_epoch" not in record or record["best_epoch"] <= len(losses),
              f"result.json: best_epoch {record.get('best_epoch')} is past the last epoch ({len(losses):,})")
        if "error" in meta and "error" not in record:
            record["error"] = meta["error"]
        record.update({key: meta[key] for key in TAGS if key in meta})
        if validation is not None:
            record["val_history"] = _f32_losses(validation)
            _need(len(record["val_history"]) <= len(losses), f"{VAL_HISTORY} holds more epochs than {HISTORY}")
        return record
