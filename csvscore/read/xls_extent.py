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
from dataclasses import dataclass
from pathlib import Path

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_FREE = 0xFFFFFFFF
_END = 0xFFFFFFFE
_SPECIAL = 0xFFFFFFFA  # this and above: no next sector
_STREAMS = ("workbook", "book")  # what calamine looks for, in this order

_DIMENSIONS = 0x0200
# Cell records: row (u16), column (u16) first. MULRK/MULBLANK end with the last column.
_CELLS = frozenset({0x0006, 0x00BD, 0x00BE, 0x00D6, 0x00FD, 0x0201, 0x0203, 0x0204, 0x0205, 0x027E})
_MULTI = frozenset({0x00BD, 0x00BE})
_U32 = 1 << 32


class NotCompound(ValueError):
    """The file is not a readable OLE2 compound file (calamine will say why)."""


@dataclass
class XlsSize:
    """The largest block calamine will reserve, and the reach of the cells themselves."""

    reserved: int = 0  # cells reserved for the largest DIMENSIONS record
    reserved_rows: int = 0
    reserved_columns: int = 0
    rows: int = 0  # last row holding a cell, plus one
    columns: int = 0  # last column holding a cell, plus one


def xls_size(path: Path, max_bytes: int) -> XlsSize:
    """Read the workbook stream and size it. NotCompound when the container cannot be followed."""
    stream = _workbook_stream(path.read_bytes(), max_bytes)
    return _biff_size(stream)


def _biff_size(stream: bytes) -> XlsSize:
    size = XlsSize()
    at = 0
    end = len(stream)
    unpack = struct.unpack_from
    while at + 4 <= end:
        kind, length = unpack("<HH", stream, at)
        body = at + 4
        at = body + length
        if at > end:
            break
        if kind == _DIMENSIONS:
            _dimensions(size, stream[body:at])
        elif kind in _CELLS and length >= 4:
            row, column = unpack("<HH", stream, body)
            if kind in _MULTI and length >= 6:
                (column,) = unpack("<H", stream, at - 2)
            size.rows = max(size.rows, row + 1)
            size.columns = max(size.columns, column + 1)
    return size


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
    if not data.startswith(OLE_MAGIC) or len(data) < 512:
        raise NotCompound("not an OLE2 compound file")
    shift, mini_shift = struct.unpack_from("<HH", data, 0x1E)
    if shift not in (9, 12) or mini_shift != 6:
        raise NotCompound("unknown sector size")
    sector = 1 << shift
    sectors = (len(data) - sector) // sector + 1
    fat_count, first_dir = struct.unpack_from("<II", data, 0x2C)
    cutoff, first_minifat, minifat_count, first_difat, difat_count = struct.unpack_from(
        "<IIIII", data, 0x38
    )

    def read_sector(n: int) -> bytes:
        if n >= sectors:
            raise NotCompound("a sector pointer leaves the file")
        at = (n + 1) * sector
        return data[at : at + sector]

    fat_sectors = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < _SPECIAL]
    n, seen = first_difat, 0
    per = sector // 4
    while n < _SPECIAL and seen < difat_count:
        block = struct.unpack(f"<{per}I", read_sector(n))
        fat_sectors.extend(x for x in block[:-1] if x < _SPECIAL)
        n, seen = block[-1], seen + 1
    if len(fat_sectors) > sectors:
        raise NotCompound("more FAT sectors than the file holds")
    fat: list[int] = []
    for n in fat_sectors[: max(fat_count, 0) or len(fat_sectors)]:
        fat.extend(struct.unpack(f"<{per}I", read_sector(n)))

    def chain(start: int, table: list[int]) -> list[int]:
        out: list[int] = []
        n = start
        while n < _SPECIAL:
            if n >= len(table) or len(out) > len(table):
                raise NotCompound("a sector chain leaves its table or loops")
            out.append(n)
            n = table[n]
        return out

    directory = b"".join(read_sector(n) for n in chain(first_dir, fat))
    entries = [directory[i : i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries:
        raise NotCompound("no directory")
    by_name: dict[str, tuple[int, int]] = {}
    for entry in entries:
        length = min(struct.unpack_from("<H", entry, 64)[0], 64)
        name = entry[: max(length - 2, 0)].decode("utf-16-le", "replace").lower()
        kind = entry[66]
        start_sector, stream_size = struct.unpack_from("<IQ", entry, 116)
        if kind == 2 and name not in by_name:
            by_name[name] = (start_sector, stream_size if shift == 12 else stream_size & 0xFFFFFFFF)
    wanted = next((by_name[n] for n in _STREAMS if n in by_name), None)
    if wanted is None:
        raise NotCompound("no Workbook stream")
    start_sector, stream_size = wanted
    if stream_size > max_bytes:
        raise NotCompound("the Workbook stream is larger than the limit")
    if stream_size >= cutoff:
        sectors_of = chain(start_sector, fat)
        return b"".join(read_sector(n) for n in sectors_of)[:stream_size]
    # A small stream lives in the mini stream (the root entry's chain), in 64-byte pieces.
    root_start = struct.unpack_from("<I", entries[0], 116)[0]
    mini_stream = b"".join(read_sector(n) for n in chain(root_start, fat))
    minifat_sectors = chain(first_minifat, fat)[: max(minifat_count, 0) or None]
    minifat: list[int] = []
    for n in minifat_sectors:
        minifat.extend(struct.unpack(f"<{per}I", read_sector(n)))
    pieces = []
    for n in chain(start_sector, minifat):
        at = n << mini_shift
        if at + 64 > len(mini_stream):
            raise NotCompound("a mini sector leaves the mini stream")
        pieces.append(mini_stream[at : at + 64])
    return b"".join(pieces)[:stream_size]
