"""``--ascii``: a last pass over every painted line that leaves only ASCII on the terminal.

The widgets already draw ASCII where it carries meaning (borders, charts, toggles, marks); this
catches what Textual and Rich draw themselves: Select's ``▼``, a cut cell's ``…``, scrollbar
blocks, and the ``·``/``–`` of our own text. Each character is replaced by one of the same width,
so nothing moves.
"""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

REPLACEMENTS = {
    "·": "|", "–": "-", "—": "-", "…": "~", "▼": "v", "▲": "^", "▶": ">", "◀": "<", "✓": "+", "✔": "+",
    "✗": "x", "×": "x", "⚠": "!", "━": "-", "─": "-", "│": "|", "┃": "|", "┤": "+", "└": "+",
    "←": "<", "→": ">", "↑": "^", "↓": "v", "≤": "<", "≥": ">", "●": "*", "○": "o", "▐": "[", "▌": "]",
    "█": "#", "▉": "#", "▊": "#", "▋": "#", "▍": " ", "▎": " ", "▏": " ",
    "▁": " ", "▂": " ", "▃": " ", "▄": " ", "▅": " ", "▆": " ", "▇": " ",
    "’": "'", "‘": "'", "“": '"', "”": '"', "≈": "~", "⣿": "#", "±": "~",
}

def _box_drawing() -> dict[str, str]:
    """Every box-drawing character (Rich's tables use many): lines as ``-`` and ``|``, the rest ``+``."""
    table = {}
    for code in range(0x2500, 0x2580):
        name = unicodedata.name(chr(code), "")
        across, down = "HORIZONTAL" in name, "VERTICAL" in name
        table[chr(code)] = "-" if across and not down else "|" if down and not across else "+"
    return table


_TABLE = str.maketrans({**_box_drawing(), **REPLACEMENTS})


def to_ascii(text: str) -> str:
    """``text`` with every character ASCII, each taking the cells the original took."""
    text = text.translate(_TABLE)
    if text.isascii():
        return text
    return "".join(c if c.isascii() else "?" * cell_len(c) for c in text)


class AsciiFilter(LineFilter):
    """Replaces what is left of non-ASCII in painted lines; a scrollbar's thumb becomes ``#``."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        out = []
        for text, style, control in segments:
            if style is not None and style.reverse and not text.strip() and style.meta.get("@mouse.down") == "grab":
                text = "#" * cell_len(text)  # the thumb: told apart by shape, not only by colour
            elif not text.isascii():
                text = to_ascii(text)
            out.append(Segment(text, style, control))
        return out
