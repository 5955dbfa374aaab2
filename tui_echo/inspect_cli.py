"""``tui-echo inspect ID``: the inside of a saved run's cells, as text or one JSON object."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .core import runtime
from .core.inspect import CHARACTER_RAMP, InspectError, Inspection, inspect_run, ramp_index, value_range
from .core.rules import ConfigError, IntRange
from .core.runs import BadRunId, RunError, RunStore

PROG = "tui-echo inspect"


def _refuse(message: str) -> int:
    sys.stderr.write(f"{PROG}: error: {message}\n")
    return 2


def _whole(option: str, text: str | None) -> int | None:
    """A non-negative whole number, or None when the option was not given."""
    return None if text is None else IntRange(0, 2**31 - 1).parse(option, text)


def text_report(found: Inspection) -> str:
    """Each state as rows of characters (units × timesteps), then the check and the gradient reach."""
    lines = [
        f"epoch {found.epoch:,} · sequence {found.sequence} · loss {found.loss:.4g} · "
        f"matches Keras: max |diff| {found.max_abs_diff:.1e}",
        "ramp (low to high): " + repr(CHARACTER_RAMP),
    ]
    for layer in found.layers:
        lines.append(f"\n{layer.name} ({layer.cell})")
        for state, values in layer.states.items():
            low, high = value_range(state, values)
            rows = ramp_index(values.T, low, high, len(CHARACTER_RAMP))
            for unit, row in enumerate(rows):
                label = f"{state} [{low:.3g}, {high:.3g}]" if unit == 0 else ""
                lines.append(f"  {label:<22} u{unit:<3} " + "".join(CHARACTER_RAMP[i] for i in row))
    reach = found.gradient_reach
    bars = ramp_index(reach, 0.0, float(reach.max()) or 1.0, len(CHARACTER_RAMP))
    lines.append(f"\ngradient reach |dloss/dh_t| {'':<5} " + "".join(CHARACTER_RAMP[i] for i in bars))
    lines.append("  per step: " + " ".join(f"{v:.2e}" for v in reach))
    return "\n".join(lines) + "\n"


def inspect_command(
    runs_dir: Path | None, run_id: str, epoch: str | None, sequence: str | None, *, as_json: bool
) -> int:
    """0 with the report on stdout; 2 with one line on stderr for a bad id, epoch or sequence."""
    try:
        epoch_number, sequence_number = _whole("--epoch", epoch), _whole("--sequence", sequence) or 0
    except ConfigError as error:
        return _refuse(str(error))
    warnings: list[str] = []
    store = RunStore(runs_dir, warn=warnings.append)
    try:
        record = store.load(run_id)
    except BadRunId as error:
        return _refuse(str(error))
    except KeyError:
        return _refuse(f"no run {run_id!r} in {store.root}")
    except RunError as error:
        return _refuse(f"run {run_id} cannot be read: {error}")
    try:
        snapshots = store.snapshots(run_id) if epoch_number is not None else None
    except RunError as error:
        return _refuse(f"run {run_id} cannot be read: {error}")
    try:
        runtime.load()
        found = inspect_run(record, sequence_number, epoch_number, snapshots)
    except (InspectError, runtime.DeviceError) as error:
        return _refuse(str(error))
    if as_json:
        sys.stdout.write(json.dumps(found.to_dict()) + "\n")
    else:
        sys.stdout.write(text_report(found))
    return 0
