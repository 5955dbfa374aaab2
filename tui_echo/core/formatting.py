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
