"""A person's own series from a CSV file: read strictly, windowed, with a target, normalised.

``read`` parses a file once per version of it (path, modification time and size), so checking a
config, counting its windows or previewing its shapes never reads the file again; a refusal found
by parsing is kept too. ``would_parse`` says, at the cost of a ``stat``, whether ``read`` would
parse now: the lab reads such a file in the background and checks the config once it is cached. Every refusal
is a ``ConfigError`` naming the setting (``data``, ``columns`` or ``target``) and, for a bad cell,
the row (the file's line number, header included) and the column: the CLI prints it as one line,
the lab shows it under the field.

Rows are in time order. Windows are consecutive and do not overlap, so holding out the last
windows for validation is a split by time that shares no input row; whatever rows are left over
after the last whole window are not used. Columns are z-scored with the mean and standard
deviation of the training windows' rows only, so nothing about the validation rows leaks in.
"""

from __future__ import annotations

import csv
import gc
import io
import math
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .rules import ConfigError

MAX_BYTES = 20_000_000  # 20 MB
MAX_ROWS = 1_000_000
TARGET_WORDS = ("next", "same")
_CACHED = 4  # files kept parsed (a few, for switching between them in the lab)
# Rows converted per step: each step's ``zip`` and numpy calls hold the GIL, so a read in a
# background thread keeps the UI thread waiting ~15 ms at most, not a whole column's ~150 ms.
_CHUNK = 65_536


@dataclass(frozen=True)
class Table:
    """A parsed file: its column names, and each column's values (None: not numeric)."""

    path: str
    names: tuple[str, ...]
    columns: tuple[np.ndarray | None, ...]  # float64, one value per data row; None: a cell is not a number
    first_line: int  # the file line of the first data row (2 after a header)
    bad: tuple[tuple[int, str] | None, ...]  # per column: its first cell that is not a number (line, text)
    rows: int
    delimiter: str
    header: bool

    def column_text(self, index: int) -> str:
        """How a message names a column: its header name, else its 1-based number."""
        return repr(self.names[index])

    def is_numeric(self, index: int) -> bool:
        """A column is numeric when its first value is a number: a later cell that is not one is
        an error when the column is used; a column of text (dates, labels) is simply not offered."""
        problem = self.bad[index]
        return problem is None or problem[0] != self.first_line


@dataclass(frozen=True)
class Series:
    """What a config takes from a table: input columns, the target, and the window length."""

    table: Table
    inputs: tuple[int, ...]
    target: str  # "next", "same", "delay" or "column"
    shift: int  # next: 1 row ahead; delay: K rows back; else 0
    target_column: int  # the first input column, or the one --target names
    length: int

    @property
    def windows(self) -> int:
        """Whole windows of ``length`` rows (the next-value target needs one row after the last)."""
        usable = self.table.rows - (1 if self.target == "next" else 0)
        return max(0, usable) // self.length

    @property
    def target_text(self) -> str:
        column = self.table.names[self.target_column]
        return {"next": f"next {column}", "same": f"{column} (echo)", "delay": f"{column} {self.shift} rows back",
                "column": column}[self.target]


class ReadStopped(Exception):
    """``read`` was asked to stop (a newer file was chosen): nothing is cached."""


_cache: "OrderedDict[tuple, Table | str]" = OrderedDict()  # a str: the refusal after "path: "
_cache_lock = threading.Lock()


def stat_check(path: str) -> tuple:
    """The refusals a ``stat`` can tell (missing, not a file, too big), as ``ConfigError`` on
    ``data``; else the key of this version of the file in the cache."""
    try:
        info = os.stat(os.path.expanduser(path))
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ConfigError("data", f"{path}: cannot be read ({reason})") from None
    if not os.path.isfile(os.path.expanduser(path)):
        raise ConfigError("data", f"{path}: is not a file")
    if info.st_size > MAX_BYTES:
        raise ConfigError("data", f"{path}: is {info.st_size / 1e6:,.1f} MB; the limit is {MAX_BYTES / 1e6:g} MB")
    return os.path.realpath(os.path.expanduser(path)), info.st_mtime_ns, info.st_size


def would_parse(path: str) -> bool:
    """Whether ``read(path)`` would parse the file now: it passes ``stat_check`` and this version
    of it is not cached. Costs a ``stat``."""
    try:
        key = stat_check(path)
    except ConfigError:
        return False
    with _cache_lock:
        return key not in _cache


def read(path: str, should_stop: Callable[[], bool] | None = None) -> Table:
    """The parsed file at ``path`` (parsed once per version of the file); ``ConfigError`` on
    ``data`` when it cannot be read, is too big, or is not a table of rows of equal length;
    ``ReadStopped`` when ``should_stop()`` says so while parsing."""
    key = stat_check(path)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            kept = _cache[key]
            if isinstance(kept, str):
                raise ConfigError("data", f"{path}: {kept}")
            return kept
    # A million rows are millions of young objects: the collector's passes over them took three
    # quarters of the parse (9.5 s against 2.2 s, measured), and none of them is garbage.
    collecting = gc.isenabled()
    gc.disable()
    try:
        kept = _parse(path, should_stop or (lambda: False))
    except ConfigError as error:
        # Every refusal of a file's content starts with its path: kept without it, so the same
        # file under another spelling is named as given.
        kept = error.reason.removeprefix(f"{path}: ")
    finally:
        if collecting:
            gc.enable()
    with _cache_lock:
        _cache[key] = kept
        while len(_cache) > _CACHED:
            _cache.popitem(last=False)
    if isinstance(kept, str):
        raise ConfigError("data", f"{path}: {kept}")
    return kept


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _column_values(cells: tuple[str, ...]) -> np.ndarray | None:
    """A column's cells as float64, or None when one is not a finite number (numpy converts a
    million cells ~20 times faster than ``float`` one by one; ``_number`` then finds the culprit)."""
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def _too_many(path: str) -> str:
    return f"{path}: has more than {MAX_ROWS:,} rows of data; the limit is {MAX_ROWS:,}"


def _parse(path: str, should_stop: Callable[[], bool]) -> Table:
    try:
        with open(os.path.expanduser(path), encoding="utf-8-sig", newline="") as file:
            text = file.read()
    except UnicodeDecodeError as error:
        raise ConfigError("data", f"{path}: is not UTF-8 text (byte {error.start:,})") from None
    except OSError as error:
        raise ConfigError("data", f"{path}: cannot be read ({error.strerror or error})") from None
    first = text.split("\n", 1)[0]
    # Comma-separated; a first line with no comma but semicolons or tabs names its own separator.
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    lines: list[int] = []  # each kept row's line in the file
    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines carry no time step
            lines.append(reader.line_num)
            rows.append(row)
            if len(rows) % _CHUNK == 0 and should_stop():
                raise ReadStopped(path)
            if len(rows) > MAX_ROWS + 1:  # (a header and the limit): stop reading here
                raise ConfigError("data", _too_many(path))
    except csv.Error as error:
        raise ConfigError("data", f"{path}: row {reader.line_num}: {error}") from None
    if not rows:
        raise ConfigError("data", f"{path}: is empty; expected rows of numbers, one row per time step")
    # A header is a first row with no number in it.
    header = all(_number(cell) is None for cell in rows[0])
    width = len(rows[0])
    names = tuple(cell.strip() for cell in rows[0]) if header else tuple(str(i) for i in range(1, width + 1))
    skip = 1 if header else 0
    data, lines_of_data = rows[skip:], lines[skip:]
    if not data:
        raise ConfigError("data", f"{path}: has a header but no rows of data")
    if len(data) > MAX_ROWS:
        raise ConfigError("data", _too_many(path))
    if any(len(row) != width for row in data):
        at = next(i for i, row in enumerate(data) if len(row) != width)
        raise ConfigError(
            "data", f"{path}: row {lines_of_data[at]} has {len(data[at])} cells, expected {width} (as in row {lines[0]})"
        )
    parts: list[list[np.ndarray] | None] = [[] for _ in range(width)]  # None: a cell is not a number
    for start in range(0, len(data), _CHUNK):
        if should_stop():
            raise ReadStopped(path)
        for index, cells in enumerate(zip(*data[start:start + _CHUNK])):
            kept = parts[index]
            if kept is not None:
                values = _column_values(cells)
                if values is None:
                    parts[index] = None
                else:
                    kept.append(values)
    columns: list[np.ndarray | None] = []
    bad: list[tuple[int, str] | None] = []
    for index, kept in enumerate(parts):
        first_bad = None
        if kept is None:  # find the first cell that is not a number, the slow way
            at = next(i for i, row in enumerate(data) if _number(row[index]) is None)
            first_bad = (lines_of_data[at], data[at][index].strip())
        columns.append(None if kept is None else np.concatenate(kept))
        bad.append(first_bad)
    # Freed a chunk at a time: freeing a million rows at once held the GIL ~0.2 s on a busy machine.
    count, first_line = len(data), lines_of_data[0]
    del data, lines_of_data
    while rows:
        del rows[-_CHUNK:]
    return Table(path, names, tuple(columns), first_line, tuple(bad), count, delimiter, header)


def _column(table: Table, word: str, setting: str) -> int:
    """A column by header name or 1-based number."""
    if word in table.names:
        return table.names.index(word)
    if word.isdigit() and 1 <= int(word) <= len(table.names):
        return int(word) - 1
    known = ", ".join(table.names)
    raise ConfigError(setting, f"{word!r} is not a column of {table.path} (it has {known}, or 1 to {len(table.names)})")


def _numeric(table: Table, index: int, setting: str) -> int:
    """``index``, if its column holds a number in every row."""
    name = table.column_text(index)
    if not table.is_numeric(index):
        line, text = table.bad[index]
        raise ConfigError(setting, f"column {name} of {table.path} is not numeric (row {line}: {text!r})")
    problem = table.bad[index]
    if problem is not None:
        line, text = problem
        what = "is empty" if text == "" else f"{text!r} is not a number"
        raise ConfigError("data", f"{table.path}: row {line}, column {name}: {what}")
    return index


def select(path: str, columns: str | None, target: str | None, length: int) -> Series:
    """The series a config describes, checked: columns exist and are numeric, the target is one of
    next, same, delay:K (1 to length - 1) or a column, and the file holds at least one window."""
    table = read(path)
    if columns:
        words = [word.strip() for word in columns.split(",")]
        if not all(words):
            raise ConfigError("columns", f"must be comma-separated column names or numbers (got {columns!r})")
        chosen = tuple(dict.fromkeys(_numeric(table, _column(table, w, "columns"), "columns") for w in words))
    else:
        chosen = tuple(i for i in range(len(table.names)) if table.is_numeric(i))
        if not chosen:
            raise ConfigError("data", f"{table.path}: has no numeric column (one whose first value is a number)")
        chosen = tuple(_numeric(table, index, "columns") for index in chosen)
    word = (target or "next").strip()
    kind, shift, target_column = word, 0, chosen[0]
    if word == "next":
        shift = 1
    elif word.startswith("delay:"):
        kind, k = "delay", word.removeprefix("delay:").strip()
        if not k.isdigit() or not 1 <= int(k) <= max(1, length - 1):
            raise ConfigError("target", f"delay:K needs K from 1 to length - 1 = {max(1, length - 1)} (got {word!r})")
        shift = int(k)
    elif word != "same":
        try:
            target_column = _numeric(table, _column(table, word, "target"), "target")
        except ConfigError as error:
            if error.field != "target":
                raise
            raise ConfigError("target", f"must be next, same, delay:K or a column ({error.reason})") from None
        kind = "column"
    series = Series(table, chosen, kind, shift, target_column, length)
    if series.windows < 1:
        need = length + (1 if kind == "next" else 0)
        raise ConfigError(
            "data", f"{table.path}: has {table.rows:,} row{'s' * (table.rows != 1)} of data; "
            f"a window of length {length} with target {word} needs at least {need}",
        )
    return series


@dataclass(frozen=True)
class Windows:
    """The framed data: normalised inputs and targets, and how they were made (saved with a run)."""

    inputs: np.ndarray  # (windows, length, features), float32
    targets: np.ndarray  # (windows, length), float32
    description: dict[str, Any]


def frame(series: Series, held: int, first: int | None = None) -> Windows:
    """Cut ``series`` into its windows; statistics come from the rows of all but the last ``held``.
    ``first``: cut only that many windows (the lab's preview: a million rows' windows took ~0.1 s),
    with the same statistics."""
    table, length, count = series.table, series.length, series.windows
    rows = count * length
    cut = count if first is None else min(first, count)
    train_rows = (count - held) * length
    used = tuple(dict.fromkeys((*series.inputs, series.target_column)))
    mean = {i: float(table.columns[i][:train_rows].mean()) for i in used}
    # A constant column keeps its scale: dividing by a zero deviation would make it NaN.
    std = {i: float(table.columns[i][:train_rows].std()) or 1.0 for i in used}

    def z(index: int, start: int, stop: int) -> np.ndarray:
        return (table.columns[index][start:stop] - mean[index]) / std[index]

    end = cut * length
    inputs = np.stack([z(i, 0, end) for i in series.inputs], axis=-1).reshape(cut, length, len(series.inputs))
    source = series.target_column
    if series.target == "next":
        targets = z(source, 1, end + 1).reshape(cut, length)
    elif series.target == "delay":
        # As the delay task: within each window, x[t - K], and 0 for the first K steps.
        echo = z(source, 0, end).reshape(cut, length)
        targets = np.zeros_like(echo)
        targets[:, series.shift:] = echo[:, : length - series.shift]
    else:
        targets = z(source, 0, end).reshape(cut, length)
    names = table.names
    description = {
        "file": os.path.abspath(os.path.expanduser(table.path)),
        "rows": table.rows,
        "columns": [names[i] for i in series.inputs],
        "target": series.target_text,
        "window": length,
        "windows": count,
        "validation_windows": held,
        "unused_rows": table.rows - rows - (1 if series.target == "next" else 0),
        "train_rows": train_rows,
        "mean": {names[i]: mean[i] for i in used},
        "std": {names[i]: std[i] for i in used},
    }
    return Windows(inputs.astype(np.float32), targets.astype(np.float32), description)


def code(series: Series, description: dict[str, Any]) -> str:
    """Numpy statements that read ``series``'s file again and make the same ``inputs`` and
    ``targets`` as ``frame`` (the statistics are the lab's, written in): for exported scripts."""
    table, length = series.table, series.length
    used = tuple(dict.fromkeys((*series.inputs, series.target_column)))
    mean = {i: description["mean"][table.names[i]] for i in used}
    std = {i: description["std"][table.names[i]] for i in used}
    source, k = series.target_column, series.shift
    targets = {
        "next": "targets = z(target, 1, count * length + 1).reshape(count, length)",
        "delay": "echo = z(target, 0, count * length).reshape(count, length)\n"
                 f"targets = np.zeros_like(echo)\ntargets[:, {k}:] = echo[:, : length - {k}]",
    }.get(series.target, "targets = z(target, 0, count * length).reshape(count, length)")
    names = ", ".join(table.names[i] for i in series.inputs)
    return f"""import csv

path, length, count = {description["file"]!r}, {length}, {series.windows}
columns, target = {list(series.inputs)}, {source}  # 0-based: {names}; target {series.target_text}
# each column's mean and standard deviation over the training rows, as the lab computed them
mean, std = {mean!r}, {std!r}
with open(path, encoding="utf-8-sig", newline="") as file:
    rows = [row for row in csv.reader(file, delimiter={table.delimiter!r}) if any(cell.strip() for cell in row)]
rows = rows[{1 if table.header else 0}:]


def z(index, start, stop):
    values = np.array([float(row[index]) for row in rows[start:stop]])
    return (values - mean[index]) / std[index]


inputs = np.stack([z(i, 0, count * length) for i in columns], axis=-1).reshape(count, length, len(columns))
{targets}
inputs, targets = inputs.astype(np.float32), targets.astype(np.float32)"""
