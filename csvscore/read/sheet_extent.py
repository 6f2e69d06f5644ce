"""How far a workbook sheet reaches (its last row and column), found before calamine reads it.

calamine builds every sheet as one dense block from A1 to the sheet's last row and column, so a
sheet of a few bytes with one cell at XFD1048576 asks for 17 billion cells and aborts the process
(a Rust allocation failure cannot be caught). So the sheet part is streamed here first and its
reach measured the way calamine will see it:

- **XLSX**: every ``<c>`` cell takes its position from its ``r`` attribute (``r="AD12"``), else
  from counters (one more column per cell, one more row per ``</row>``, a ``<row r>`` resets). The
  common shape (every cell tag written ``<c r="REF"``, no other ``r`` attribute) is checked with
  numpy over whole chunks (a 180 MB sheet costs about 0.5 s, its unpacking overlapped on a helper
  thread); anything else (namespace prefixes, cells without ``r``, odd spacing, a second ``r``)
  is read again by a precise tag scan. The fast scan counts every cell tag, empty ones too; the
  precise one leaves out only the self-closing ones, which calamine drops too: neither
  underestimates the reach.
- **XLSB**: binary records; cell records carry a 4-byte column, row headers a 4-byte row.

Cells outside Excel's grid are refused outright; otherwise the caller compares
``(last row + 1) x (last column + 1)`` with the cell limit (that block is what ends up in memory).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from csvscore.read.limits import EXCEL_COLUMNS, EXCEL_ROWS


@dataclass
class Reach:
    """The last row and column (0-based) holding a cell; -1 while there is none."""

    row: int = -1
    column: int = -1

    @property
    def rows(self) -> int:
        return self.row + 1

    @property
    def columns(self) -> int:
        return self.column + 1

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    def add(self, row: int, column: int) -> None:
        if row > self.row:
            self.row = row
        if column > self.column:
            self.column = column

    def off_grid(self) -> bool:
        return self.row >= EXCEL_ROWS or self.column >= EXCEL_COLUMNS


# -- XLSX ----------------------------------------------------------------------------------------


def xlsx_reach(
    chunks: Iterable[bytes], again: Iterable[bytes] | None = None, max_cells: int | None = None
) -> Reach:
    """The reach of an XLSX worksheet part given as decompressed chunks.

    ``again`` yields the same part once more, for the precise scan when the fast one meets a
    shape it does not cover (without it, ``chunks`` must be re-iterable). The precise scan also
    settles a fast result over ``max_cells`` or off Excel's grid: the fast scan counts empty
    styled cells (``<c r="Z9999" s="3"/>``), which calamine leaves out, and a refusal must not
    rest on them.
    """
    fast = _FastXlsx()
    for data, cut in _padded_tags(chunks):
        if not fast.chunk(data, cut):
            break
    else:
        over = max_cells is not None and fast.reach.cells > max_cells
        if not over and not fast.reach.off_grid():
            return fast.reach
    return _precise_xlsx(tag_aligned(again if again is not None else chunks))


def tag_aligned(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Chunks cut before their last ``<``, so that no tag is split between two of them."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"<")
        if cut <= 0:
            carry = data
            continue
        carry = data[cut:]
        yield data[:cut]
    if carry:
        yield carry


_LOOK_AHEAD = 32  # bytes read past a tag's start (REF, attributes) without leaving the chunk


def _padded_tags(chunks: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
    """(data, cut): the tags starting before ``cut`` are whole, with 32 bytes after each.

    The cut is at the last ``<`` at least 32 bytes before the end, so no padding copy is needed
    (only the last chunk gets some); the rest is carried into the next chunk.
    """
    carry = b""
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"<", 0, len(data) - _LOOK_AHEAD)
        if cut <= 0:
            carry = data
            continue
        carry = data[cut:]
        yield data, cut
    if carry:
        yield carry + b"\0" * _LOOK_AHEAD, len(carry)


def _little(text: bytes) -> int:
    return int.from_bytes(text, "little")


_C_TAG = _little(b"<c")
_R_TAG = _little(b"<r")


class _FastXlsx:
    """The numpy scan of the usual shape; ``chunk()`` says False when it does not apply.

    The usual shape is what Excel, openpyxl and most writers produce: no tag name has a
    namespace prefix, every cell tag starts ``<c r="REF"`` (REF: 1-3 capital letters, 1-7
    digits), and the only ``r`` attributes are those of the cells and of rows that have it first.
    Then each cell's position is its REF and the reach is the largest REF. "Only": every byte
    ``r`` standing alone (after a space or a quote, before a space or ``=``: what calamine would
    take for an attribute called r) is counted, and must match; a second ``r`` in a cell, which
    calamine would use, cannot hide. Tags are found by comparing 2-byte words at both offsets.
    """

    def __init__(self) -> None:
        import numpy as np  # a dependency already (rapidfuzz's matrices); loaded only for workbooks

        self.np: Any = np
        self.reach = Reach()

    def _find(self, a: Any, pattern: int) -> Any:
        """Positions of a 2-byte little-endian ``pattern`` at either offset (unordered)."""
        np = self.np
        found = []
        for offset in (0, 1):
            words = (len(a) - offset) // 2
            if words > 0:
                view = a[offset : offset + words * 2].view("<u2")
                found.append(np.flatnonzero(view == pattern) * 2 + offset)
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def chunk(self, data: bytes, cut: int) -> bool:
        np = self.np
        padded = np.frombuffer(data, np.uint8)
        a = padded[:cut]
        at = padded.__getitem__  # bytes at positions (up to 32 past ``cut``: still in ``data``)

        # Namespace-prefixed cell or row tags ("<x:c", "<x:row"): the precise scan.
        colons = np.flatnonzero(a == 58)
        if colons.size:
            after = at(colons + 1)
            cell = (after == 99) & _delimiter(np, at(colons + 2))
            row = (after == 114) & (at(colons + 2) == 111) & (at(colons + 3) == 119)
            if (cell | (row & _delimiter(np, at(colons + 4)))).any():
                return False
        cells = self._find(a, _C_TAG)
        cells = cells[_delimiter(np, at(cells + 2))]  # "<c" then a delimiter: a cell tag
        plain = (at(cells + 2) == 32) & (at(cells + 3) == 114) & (at(cells + 4) == 61)
        plain &= at(cells + 5) == 34
        if not plain.all():
            return False  # a cell without r, or with r not first
        rows = self._find(a, _R_TAG)
        rows = rows[(at(rows + 2) == 111) & (at(rows + 3) == 119)]
        rows_r_first = int(((at(rows + 4) == 32) & (at(rows + 5) == 114)).sum())
        letters_r = np.flatnonzero(a == 114)
        letters_r = letters_r[letters_r >= 1]
        before, after = at(letters_r - 1), at(letters_r + 1)
        alone = (_space(np, before) | (before == 34) | (before == 39)) & (
            _space(np, after) | (after == 61)
        )
        if int(alone.sum()) != cells.size + rows_r_first:
            return False  # another r attribute (a second one in a cell, r = "...", ...)
        if not cells.size:
            return True
        return self._references(at, cells + 6) is not None

    def _references(self, at: Any, start: Any) -> Any:
        """Read "REF" at ``start`` into the reach; the positions of the closing quotes, or None
        when a REF is not 1-3 capital letters, 1-7 digits and a quote."""
        np = self.np
        b0 = at(start).astype(np.int32)
        b1 = at(start + 1).astype(np.int32)
        b2 = at(start + 2).astype(np.int32)
        b3 = at(start + 3)
        second = (b1 >= 65) & (b1 <= 90)
        third = second & (b2 >= 65) & (b2 <= 90)
        if not ((b0 >= 65) & (b0 <= 90)).all() or (third & (b3 >= 65) & (b3 <= 90)).any():
            return None  # lower case, no letters, or four letters: the precise scan decides
        column = np.where(
            third,
            (b0 - 64) * 676 + (b1 - 64) * 26 + (b2 - 64),
            np.where(second, (b0 - 64) * 26 + (b1 - 64), b0 - 64),
        )
        digits_at = start + 1 + second + third
        digits = np.zeros(start.size, np.int32)
        live = np.ones(start.size, bool)
        for k in range(8):
            ch = at(digits_at + k)
            live &= (ch >= 48) & (ch <= 57)
            if not live.any():
                break
            digits += live
        close = digits_at + digits
        if not (((digits >= 1) & (digits <= 7)) & (at(close) == 34)).all():
            return None
        # The largest row: the most digits first, then the largest number among those.
        longest = int(digits.max())
        pick = digits_at[digits == longest]
        row = np.zeros(pick.size, np.int64)
        for k in range(longest):
            row = row * 10 + (at(pick + k).astype(np.int64) - 48)
        self.reach.add(max(int(row.max()) - 1, 0), int(column.max()) - 1)
        return close


def _delimiter(np: Any, values: Any) -> Any:
    """Bytes that end a tag name: white space, ">" or "/"."""
    return (values == 62) | (values == 47) | _space(np, values)


def _space(np: Any, values: Any) -> Any:
    """What XML (and calamine's attribute reader) takes for white space, form feed included."""
    return (values == 32) | (values == 9) | (values == 10) | (values == 13) | (values == 12)


# The precise scan: cell, row and sheetData tags with any prefix and attribute layout. Attribute
# values may hold ">" in quotes, so the attribute part is matched value by value.
_TAG = re.compile(
    rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(c|row|sheetData)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
)
_ATTR = re.compile(rb"""([\w.\-:]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"([A-Za-z]*)([0-9]*)")


def _precise_xlsx(bodies: Iterable[bytes]) -> Reach:
    """Emulate calamine's cell positions tag by tag (slow; only for unusual sheets)."""
    reach = Reach()
    row_index = 0
    col_index = 0
    for body in bodies:
        for match in _TAG.finditer(body):
            closing, name, attrs = match.group(1), match.group(2), match.group(3)
            if name == b"sheetData":
                if closing:
                    return reach
                continue
            empty = attrs.endswith(b"/")
            if name == b"row":
                if closing:
                    row_index += 1
                    col_index = 0
                    continue
                ref = _last_r(attrs)
                if ref is not None:
                    row_index = _row_of(ref)
                if empty:  # calamine expands <row/> to a start and an end
                    row_index += 1
                    col_index = 0
                continue
            if closing:
                continue
            ref = _last_r(attrs)
            if ref is not None:
                row, col_index = _row_of(ref), _column_of(ref)
            else:
                row = row_index
            if not empty:  # an empty cell holds no value: calamine keeps no cell for it
                reach.add(row, col_index)
                if reach.off_grid():
                    return reach
            col_index += 1
    return reach


def _last_r(attrs: bytes) -> bytes | None:
    found = None
    for key, double, single in _ATTR.findall(attrs):
        if key == b"r":
            found = double or single
    return found


def _row_of(ref: bytes) -> int:
    digits = _REF.match(ref.strip())
    number = int(digits.group(2)) if digits and digits.group(2) else 0
    return max(number - 1, 0)


def _column_of(ref: bytes) -> int:
    letters = _REF.match(ref.strip())
    column = 0
    for ch in (letters.group(1) if letters else b"").upper():
        column = column * 26 + ch - 64
    return max(column - 1, 0)


# -- XLSB ----------------------------------------------------------------------------------------

# Record types calamine reads as cells (MS-XLSB: BrtCellRk .. BrtFmlaError); 0 is BrtRowHdr.
_XLSB_CELLS = frozenset(range(2, 12))
_XLSB_ROW = 0x0000


def xlsb_reach(chunks: Iterable[bytes]) -> Reach:
    """The reach of an XLSB worksheet part (records: type, size, payload; both varints)."""
    data = b"".join(chunks)  # the part's size was checked against the limit before
    reach = Reach()
    row = 0
    at = 0
    end = len(data)
    while at < end:
        kind, at = _varint(data, at, 2)
        size, at = _varint(data, at, 4)
        if kind < 0 or size < 0:
            break
        payload = data[at : at + size]
        at += size
        if kind == _XLSB_ROW and len(payload) >= 4:
            row = int.from_bytes(payload[:4], "little")
            if row > EXCEL_ROWS:  # calamine stops reading the sheet there
                break
        elif kind in _XLSB_CELLS and len(payload) >= 4:
            reach.add(row, int.from_bytes(payload[:4], "little"))
            if reach.off_grid():
                break
    return reach


def _varint(data: bytes, at: int, most: int) -> tuple[int, int]:
    """A little-endian base-128 number of at most ``most`` bytes (-1 when cut off)."""
    value = 0
    for shift in range(most):
        if at >= len(data):
            return -1, at
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << (7 * shift)
        if not byte & 0x80:
            break
    return value, at
