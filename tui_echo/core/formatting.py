"""How numbers read, the same in the TUI, the CLI and exports."""

from __future__ import annotations

import math


def format_loss(loss: float | None) -> str:
    """``1.1102e-17``: four decimals in scientific notation, so a tiny loss never reads as 0.

    ``-`` when there is none; ``nan`` and ``inf`` as Python writes them.
    """
    if loss is None:
        return "-"
    if not math.isfinite(loss):
        return str(loss)
    return f"{loss:.4e}"


def short_number(value: float, width: int = 5) -> str:
    """``value`` in at most ``width`` characters (axis labels): ``0.25``, ``2e-05``, ``1.2e3``."""
    if value == 0:
        return "0"
    for digits in range(3, 0, -1):
        for text in (f"{value:.{digits}g}", f"{value:.{max(0, digits - 1)}e}".replace("e-0", "e-").replace("e+0", "e")):
            if len(text) <= width:
                return text
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")[:width]


def format_bytes(count: float) -> str:
    """``512 KB``, ``1.2 GB``: decimal units, at most three significant digits."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1000 or unit == "TB":
            return f"{count:.0f} {unit}" if unit == "B" or count >= 100 else f"{count:.3g} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3m12s``, ``5h07m``, ``3d04h``: an ETA or an estimate at a glance."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
