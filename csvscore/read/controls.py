"""Control characters (NUL, ESC, ...) taken out of what is read, and said so.

Exports sometimes carry NUL bytes or other control characters in cells (a CRM's bad import, a
binary paste). They are never data a person meant: sent to TitanX they are stored as they are,
written to a workbook XML forbids them, and printed on a terminal an ESC can rewrite the screen.
So the reader removes them, once, for everything downstream (the review, the contacts, the result
files), and adds a note saying how many it removed and where.

Removed: the C0 controls except tab, line feed and carriage return, DEL, and the C1 controls
(U+0080-U+009F). Finding them must not slow down ordinary files: a text file's bytes are checked in
one C-level pass before parsing (:func:`text_file_has_controls`), and only a file that has some is
parsed through the filtering line iterator; a workbook's rows are checked with ``str.isprintable``
(C-level) and only rows it flags are looked at closely.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import compress
from operator import not_
from pathlib import Path

CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NAMES = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL", 0x0B: "VT", 0x0C: "FF", 0x08: "BS", 0x07: "BEL"}
_C0_DEL = bytes([*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
# Bytes that decode to a control character, per codec, for the encodings csvscore detects.
_CONTROL_BYTES = {
    "utf-8": _C0_DEL,
    "utf-8-sig": _C0_DEL,
    "mac_roman": _C0_DEL,
    "cp1252": _C0_DEL + b"\x81\x8d\x8f\x90\x9d",  # undefined in cp1252: decoded as C1
    "latin-1": _C0_DEL + bytes(range(0x80, 0xA0)),
    "iso8859-1": _C0_DEL + bytes(range(0x80, 0xA0)),
}
_C1_IN_UTF8 = re.compile(b"\xc2[\x80-\x9f]")
_MAX_LINES_LISTED = 5


def text_file_has_controls(path: Path, codec: str) -> bool:
    """Whether a text file in ``codec`` may hold control characters (True when unsure)."""
    wanted = _CONTROL_BYTES.get(codec)
    if wanted is None:
        return True  # UTF-16/32 or an encoding asked for: filter every line
    keep = bytes(b for b in range(256) if b not in wanted)
    utf8 = codec.startswith("utf-8")
    with path.open("rb") as handle:
        tail = b""
        while chunk := handle.read(1 << 20):
            if len(chunk.translate(None, keep)):
                return True
            if utf8 and b"\xc2" in chunk and _C1_IN_UTF8.search(tail + chunk):
                return True
            tail = chunk[-1:]
    return False


class Removed:
    """What was removed: how many characters of which kind, on which lines or rows."""

    def __init__(self, what: str) -> None:
        self.what = what  # "line" or "row"
        self.kinds: Counter[str] = Counter()
        self.where: list[int] = []

    def add(self, text: str, where: int) -> str:
        """``text`` without its control characters, noting what went."""
        found = CONTROL_RE.findall(text)
        if not found:
            return text
        self.kinds.update(_name(ch) for ch in found)
        if not self.where or self.where[-1] != where:
            self.where.append(where)
        return CONTROL_RE.sub("", text)

    def note(self) -> str | None:
        """One sentence for the table's notes, or None when nothing was removed."""
        total = sum(self.kinds.values())
        if not total:
            return None
        kinds = ", ".join(f"{count} {name}" for name, count in self.kinds.most_common())
        places = ", ".join(f"{n:,}" for n in self.where[:_MAX_LINES_LISTED])
        if len(self.where) > _MAX_LINES_LISTED:
            places += f" and {len(self.where) - _MAX_LINES_LISTED:,} more"
        plural = "s" if len(self.where) != 1 else ""
        return (
            f"Removed {total:,} control character{'s' if total != 1 else ''} ({kinds}) from "
            f"{self.what}{plural} {places}: they are not sent to TitanX nor written to the result."
        )


def _name(ch: str) -> str:
    code = ord(ch)
    return _NAMES.get(code, f"U+{code:04X}")


def filtered_lines(lines: Iterable[str], removed: Removed) -> Iterator[str]:
    """``lines`` (a text file's physical lines) without control characters, line by line."""
    search = CONTROL_RE.search
    for number, line in enumerate(lines, 1):
        yield removed.add(line, number) if search(line) else line


_KEEP = bytes(b for b in range(256) if b not in _C0_DEL)
_BLOCK = 8192  # rows checked per C-level pass


def rows_have_controls(rows: list[list[str]]) -> bool:
    """Whether any cell holds a control character: C-level passes over the rows' UTF-8 bytes
    (C0 and DEL are single bytes there; C1 starts with C2), a block of rows at a time."""
    for start in range(0, len(rows), _BLOCK):
        text = "".join(map("".join, rows[start : start + _BLOCK]))
        data = text.encode("utf-8", "surrogatepass")
        if len(data.translate(None, _KEEP)):
            return True
        if b"\xc2" in data and _C1_IN_UTF8.search(data):
            return True
    return False


def clean_rows(rows: list[list[str]], numbers: list[int], removed: Removed) -> None:
    """Remove control characters from ``rows`` in place (``numbers``: their row numbers).

    The rows are checked at C speed first (:func:`rows_have_controls`); only when something is
    found is each row looked at, and only the rows ``str.isprintable`` flags (it is also False
    for tabs and line breaks) are searched with the exact pattern.
    """
    if not rows_have_controls(rows):
        return
    flagged = compress(range(len(rows)), map(not_, map(str.isprintable, map("".join, rows))))
    for index in flagged:
        row = rows[index]
        if CONTROL_RE.search("".join(row)) is None:
            continue
        for i, cell in enumerate(row):
            row[i] = removed.add(cell, numbers[index])
