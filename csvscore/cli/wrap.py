"""Fitting text to the window: display widths in terminal cells, word wrapping, clipping.

A terminal draws CJK characters and most emoji two cells wide, so widths are counted in cells
(``rich.cells.cell_len``), never in code points. Text is wrapped at spaces before it is
coloured (escape codes take no cells); a word longer than the line (a path, a URL) is kept whole,
because a path cut in two cannot be copied. Output that is not a terminal is never wrapped:
whatever reads it (a log, a script) wants one line per message.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TextIO

from rich.cells import cell_len, set_cell_size

__all__ = ["cell_len", "clip", "fit", "pad", "say", "terminal_width", "wrap"]

# Continuation lines of a wrapped paragraph are indented this much more than its first line.
HANG = "  "
NBSP = "\u00a0"  # joins two words that must stay on one line (a column's number and header)


def terminal_width(stream: TextIO) -> int | None:
    """Columns of the terminal ``stream`` writes to, or None when it is not a terminal."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):  # StringIO, pipes, closed streams
        return None


def clip(text: str, width: int) -> str:
    """``text`` on one line (whitespace folded), cut to ``width`` cells with "…" if longer."""
    text = " ".join(text.split())
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    # set_cell_size cuts at a cell boundary (and pads with a space if a wide character
    # straddles it), so the result is exactly width - 1 cells before the ellipsis.
    return set_cell_size(text, width - 1).rstrip() + "…"


def pad(text: str, width: int) -> str:
    """``text`` clipped to ``width`` cells, then padded with spaces to exactly ``width``."""
    text = clip(text, width)
    return text + " " * (width - cell_len(text))


def wrap(text: str, width: int) -> list[str]:
    """One paragraph (no newline) as lines of at most ``width - 1`` cells, broken at spaces.

    The paragraph's own leading spaces indent every line; continuation lines get two more.
    The last cell of the window is left free: some terminals wrap a line that reaches it.
    """
    stripped = text.lstrip(" ")
    indent = text[: len(text) - len(stripped)]
    limit = max(width - 1, 10)
    # Split at plain spaces only: a no-break space (U+00A0) holds two words together.
    words = [w for w in stripped.split(" ") if w]
    if not words:
        return [text.rstrip()]
    lines: list[str] = []
    line = indent + words[0]
    for word in words[1:]:
        if cell_len(line) + 1 + cell_len(word) <= limit:
            line += " " + word
        else:
            lines.append(line)
            line = indent + HANG + word
    lines.append(line)
    return lines


def fit(text: str, width: int | None, style: Callable[[str], str] | None = None) -> str:
    """Multi-line ``text`` wrapped to ``width`` (unchanged when None), each line ``style``d."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        lines = wrap(paragraph, width) if width and cell_len(paragraph) >= width else [paragraph]
        # A no-break space has done its job once the lines are cut: show a plain one.
        lines = [line.replace(NBSP, " ") for line in lines]
        out.extend(style(line) if style and line else line for line in lines)
    return "\n".join(out)


def say(stream: TextIO, text: str, style: Callable[[str], str] | None = None) -> None:
    """Print ``text`` to ``stream``, wrapped to its window when it is a terminal."""
    print(fit(text, terminal_width(stream), style), file=stream)
