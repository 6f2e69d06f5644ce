"""What an Excel 97-2003 workbook (.xls) will make calamine allocate, found before it opens it.

An ``.xls`` file is an OLE2 compound file whose "Workbook" stream is a sequence of BIFF records.
Cells carry 16-bit rows and columns (at most 65,536 x 256), but each sheet's DIMENSIONS record
declares 32-bit rows, and calamine reserves room for rows x columns of it up front: a 20-byte edit
of an ordinary file (rows = 4,294,967,280) aborts the process. So the stream is read here (the
compound file's sector chains followed as the format says, loops and stray pointers refused) and
every DIMENSIONS record is sized with calamine's own arithmetic, 32-bit wrap-around included.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END = 0xFFFFFFFE  # ENDOFCHAIN
_DIFSECT = 0xFFFFFFFC  # this and above: not a sector
_MINI_CUTOFF = 4096  # streams below this size live in the mini stream (calamine ignores the header)
_STREAMS = ("Workbook", "Book")  # what calamine looks for, in this order

_DIMENSIONS = 0x0200
_BOUNDSHEET = 0x0085
_BOF = 0x0809
_EOF = 0x000A
# Cell records: row (u16), column (u16) first. MULRK/MULBLANK end with the last column.
_CELLS = frozenset({0x0006, 0x00BD, 0x00BE, 0x00D6, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E})
_MULTI = frozenset({0x00BD, 0x00BE})
_U32 = 1 << 32


class NotCompound(ValueError):
    """Not an OLE2 compound file, or no workbook stream in it (calamine will say what it is)."""


class Damaged(ValueError):
    """The compound file's structure is broken (a chain that loops or leaves the file...).

    Refused: calamine follows such a file more loosely and reads garbage as records (the fuzzer
    found one that aborted it), and an Excel-written file is never like this.
    """


@dataclass
class XlsSize:
    """The largest block calamine will reserve, and the reach of the cells themselves."""

    reserved: int = 0  # cells reserved for the largest DIMENSIONS record
    reserved_rows: int = 0
    reserved_columns: int = 0
    rows: int = 0  # last row holding a cell, plus one
    columns: int = 0  # last column holding a cell, plus one


def xls_size(path: Path, max_bytes: int) -> XlsSize:
    """Read the workbook stream and size it.

    NotCompound when there is none to read; Damaged when the container cannot be followed.
    """
    try:
        stream = _workbook_stream(path.read_bytes(), max_bytes)
    except (struct.error, IndexError, OverflowError) as exc:
        raise Damaged(f"its structure cannot be read ({exc})") from None
    return _biff_size(stream)


def _biff_size(stream: bytes) -> XlsSize:
    """Walk the stream as calamine does: the workbook globals from the start to their EOF record,
    then each sheet from the position its BOUNDSHEET record gives, to the sheet's EOF. (A damaged
    record length in the globals does not change where calamine reads a sheet: it was found by
    the fuzzer that only a walk from those positions sees the DIMENSIONS record calamine reads.)
    """
    size = XlsSize()
    sheets: set[int] = set()
    for kind, body, end in _records(stream, 0):
        if kind == _BOUNDSHEET and end - body >= 4:
            sheets.add(struct.unpack_from("<I", stream, body)[0])
        elif kind == _DIMENSIONS:
            _dimensions(size, stream[body:end])
        elif kind == _EOF:
            break
    for start in sorted(sheets):
        _walk_sheet(stream, start, size)
    return size


_HEAD = struct.Struct("<HH")


def _walk_sheet(stream: bytes, start: int, size: XlsSize) -> None:
    """One sheet's records, from its BOF to its EOF (nested substreams included), as calamine
    reads them: DIMENSIONS records sized, cell positions noted. A tight loop: a big .xls has
    millions of records."""
    unpack = _HEAD.unpack_from
    cells = _CELLS
    end = len(stream)
    at = start
    depth = 0
    seen_bof = False
    rows = columns = 0
    while at + 4 <= end:
        kind, length = unpack(stream, at)
        body = at + 4
        at = body + length
        if at > end:
            break
        if kind in cells:
            if length >= 4:
                row, column = unpack(stream, body)
                if kind in _MULTI and length >= 6:
                    column = unpack(stream, at - 4)[1]
                if row >= rows:
                    rows = row + 1
                if column >= columns:
                    columns = column + 1
        elif kind == _BOF:
            if seen_bof:
                depth += 1
            seen_bof = True
        elif kind == _EOF:
            if depth == 0:
                break
            depth -= 1
        elif kind == _DIMENSIONS:
            _dimensions(size, stream[body:at])  # nested ones too: a superset
    size.rows = max(size.rows, rows)
    size.columns = max(size.columns, columns)


def _records(stream: bytes, start: int) -> Iterator[tuple[int, int, int]]:
    """(type, body start, body end) of each record from ``start``, until one overruns."""
    at = start
    end = len(stream)
    while at + 4 <= end:
        kind, length = struct.unpack_from("<HH", stream, at)
        body = at + 4
        at = body + length
        if at > end:
            return
        yield kind, body, at


def _dimensions(size: XlsSize, data: bytes) -> None:
    """calamine's ``parse_dimensions`` and ``cells.reserve(rows * cols)`` (xls.rs), in u32."""
    if len(data) == 10:
        rf, rl, cf, cl = struct.unpack_from("<HHHH", data)
    elif len(data) == 14:
        rf, rl, cf, cl = struct.unpack_from("<IIHH", data)
    else:
        return  # calamine refuses the file
    if cf > 0xFF or cl < cf:
        cf = 0
    if rl >= 1 and cl >= 1:
        start, stop = (rf, cf), (rl - 1, cl - 1)
    else:
        start, stop = (rf, cf), (rf, cf)
    rows = ((stop[0] - start[0]) % _U32 + 1) % _U32
    columns = ((stop[1] - start[1]) % _U32 + 1) % _U32
    if rows * columns > size.reserved:
        size.reserved, size.reserved_rows, size.reserved_columns = rows * columns, rows, columns


# -- the compound file -------------------------------------------------------------------------


def _workbook_stream(data: bytes, max_bytes: int) -> bytes:
    """The workbook stream, read as calamine's ``cfb.rs`` reads it, with every chain checked.

    calamine follows the DIFAT and directory chains until their end marker without looking for
    loops, and reads the mini stream and mini FAT to the lengths the file declares: a loop or a
    huge length there grows its memory without end. Each is refused here (Damaged) first.
    """
    if not data.startswith(OLE_MAGIC) or len(data) < 512:
        raise NotCompound("not an OLE2 compound file")
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        raise Damaged("unknown sector size")
    sector = 1 << shift
    sectors = len(data) // sector  # calamine: maxid = len / sector_size
    first_dir = struct.unpack_from("<I", data, 0x30)[0]
    first_minifat, minifat_count, first_difat = struct.unpack_from("<III", data, 0x3C)
    per = sector // 4

    def read_sector(n: int) -> bytes:
        at = (n + 1) * sector
        if n >= sectors or at + sector > len(data):
            raise Damaged("a sector pointer leaves the file")
        return data[at : at + sector]

    difat = [n for n in struct.unpack_from("<109I", data, 0x4C)]
    n, seen = first_difat, set()
    while n < _DIFSECT:
        if n in seen:
            raise Damaged("its DIFAT chain loops")
        seen.add(n)
        block = list(struct.unpack(f"<{per}I", read_sector(n)))
        difat.extend(block[:-1])
        n = block[-1]
    fat: list[int] = []
    for n in (x for x in difat if x < _DIFSECT):
        fat.extend(struct.unpack(f"<{per}I", read_sector(n)))

    def chain(start: int, table: list[int], most: int | None = None) -> list[int]:
        """Sector numbers from ``start`` to the end marker (or ``most`` of them, when calamine
        stops at a length): Damaged when the chain loops or leaves its table first."""
        out: list[int] = []
        seen: set[int] = set()
        n = start
        while n != _END:
            if n >= len(table) or n in seen:
                raise Damaged("a sector chain leaves its table or loops")
            seen.add(n)
            out.append(n)
            if most is not None and len(out) >= most:
                break
            n = table[n]
        return out

    directory = b"".join(read_sector(n) for n in chain(first_dir, fat))  # to its end, as calamine
    entries = [directory[i : i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise Damaged("no directory")

    def stream_size(entry: bytes) -> int:
        size = struct.unpack_from("<Q", entry, 120)[0]
        return size if shift == 12 else size & 0xFFFFFFFF

    mini_stream = b""
    minifat: list[int] = []
    if minifat_count > 0:  # calamine loads both when the file is opened
        root_size = stream_size(entries[0])
        if root_size > max_bytes or minifat_count * sector > max_bytes:
            raise Damaged("its mini stream is declared larger than the limit")
        root_start = struct.unpack_from("<I", entries[0], 116)[0]
        root = chain(root_start, fat, -(-root_size // sector) or 1)
        mini_stream = b"".join(read_sector(n) for n in root)[:root_size]
        for n in chain(first_minifat, fat, minifat_count):
            minifat.extend(struct.unpack(f"<{per}I", read_sector(n)))
    # Names as calamine reads them: the 64 bytes decoded, cut at the first NUL (the length field
    # and the entry type are not looked at); the first entry of a name wins, case counts.
    by_name: dict[str, tuple[int, int]] = {}
    for entry in entries:
        name = entry[:64].decode("utf-16-le", "replace").split("\0", 1)[0]
        if name not in by_name:
            by_name[name] = (struct.unpack_from("<I", entry, 116)[0], stream_size(entry))
    wanted = next((by_name[n] for n in _STREAMS if n in by_name), None)
    if wanted is None:
        raise NotCompound("no Workbook stream")
    start_sector, size = wanted
    if size > max_bytes:
        raise Damaged("its Workbook stream is declared larger than the limit")
    if size >= _MINI_CUTOFF:
        sectors_of = chain(start_sector, fat, -(-size // sector))
        return b"".join(read_sector(n) for n in sectors_of)[:size]
    # A small stream lives in the mini stream, in 64-byte pieces (calamine: below 4096 bytes,
    # whatever the header says).
    pieces = []
    for n in chain(start_sector, minifat, -(-size // 64) or 1):
        at = n << mini_shift
        if at + 64 > len(mini_stream):
            raise Damaged("a mini sector leaves the mini stream")
        pieces.append(mini_stream[at : at + 64])
    return b"".join(pieces)[:size]
