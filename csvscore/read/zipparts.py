"""The parts of a ZIP container (XLSX, XLSB, ODS), checked before anything is decompressed.

A workbook is a ZIP archive whose central directory says how many parts it has and how big each
one is once decompressed. Those declared sizes are what this module checks: Python's ``zipfile``
and the ZIP reader inside calamine both stop at a part's declared size (a part that decompresses
to more fails its check instead), so a declared size within the limit bounds what is read. The
number of parts is read from the end-of-archive record before ``zipfile`` builds its directory, so
an archive of a million empty parts is refused before it costs memory.

Part names are looked up the way calamine does: ASCII case ignored, backslashes as slashes.
"""

from __future__ import annotations

import queue
import struct
import threading
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from csvscore.errors import InputError
from csvscore.read.limits import ReadLimits, over_size

# A workbook from Excel has a few dozen parts; one with charts, pivot tables and a hundred sheets
# a few thousand.
MAX_PARTS = 10_000
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_TAIL = 22 + 0xFFFF  # the end record and the longest archive comment


def part_count(path: Path) -> int | None:
    """The number of parts the archive's end record declares (None: no end record found)."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        start = max(0, size - _TAIL)
        handle.seek(start)
        tail = handle.read()
        at = tail.rfind(_EOCD)
        if at < 0 or at + 22 > len(tail):
            return None
        entries, directory_size = struct.unpack_from("<HI", tail, at + 10)
        if entries != 0xFFFF and directory_size != 0xFFFFFFFF:
            return int(entries)
        # ZIP64: the locator sits just before the end record and points at the real one.
        locator = at - 20
        if locator < 0 or tail[locator : locator + 4] != _EOCD64_LOCATOR:
            return int(entries)
        (offset,) = struct.unpack_from("<Q", tail, locator + 8)
        if offset >= size:
            return None
        handle.seek(offset)
        record = handle.read(56)
        if len(record) < 56 or not record.startswith(_EOCD64):
            return None
        (total,) = struct.unpack_from("<Q", record, 32)
        return int(total)


def normalise(name: str) -> str:
    """A part name as calamine looks it up: slashes, ASCII lower case."""
    return name.replace("\\", "/").lower()


class ZipParts:
    """An open workbook archive whose parts are read within ``limits``.

    Raises :class:`InputError` for too many parts; :class:`zipfile.BadZipFile` and
    :class:`OSError` pass through for the caller to word ("damaged ZIP").
    """

    def __init__(self, path: Path, name: str, limits: ReadLimits) -> None:
        self.name = name
        self.limits = limits
        count = part_count(path)
        if count is not None and count > MAX_PARTS:
            raise InputError(
                f"{name}: the archive declares {count:,} parts; a workbook has at most a few "
                f"thousand (csvscore reads up to {MAX_PARTS:,}); the file is damaged or not a "
                "workbook"
            )
        self.archive = zipfile.ZipFile(path)
        self._by_name: dict[str, list[zipfile.ZipInfo]] = {}
        for info in self.archive.infolist():
            self._by_name.setdefault(normalise(info.filename), []).append(info)

    def close(self) -> None:
        self.archive.close()

    def __enter__(self) -> ZipParts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def names(self) -> list[str]:
        """Every part's normalised name."""
        return list(self._by_name)

    def find(self, name: str) -> list[zipfile.ZipInfo]:
        """Every part called ``name`` (normalised; a hostile archive may repeat a name)."""
        return self._by_name.get(normalise(name), [])

    def has(self, name: str) -> bool:
        return bool(self.find(name))

    def check_size(self, info: zipfile.ZipInfo) -> None:
        """Refuse a part whose declared decompressed size is over the limit."""
        if info.file_size > self.limits.max_bytes:
            what = f"the part {info.filename}"
            raise InputError(over_size(self.name, what, info.file_size, self.limits))

    def head(self, name: str, size: int) -> bytes:
        """The first ``size`` bytes of part ``name`` (empty if there is none)."""
        infos = self.find(name)
        if not infos:
            return b""
        with self.archive.open(infos[-1]) as handle:
            return handle.read(size)

    def read_small(self, name: str, limit: int) -> bytes | None:
        """Part ``name`` whole if it declares at most ``limit`` bytes; None if absent or larger."""
        infos = self.find(name)
        if not infos or infos[-1].file_size > limit:
            return None
        with self.archive.open(infos[-1]) as handle:
            return handle.read(limit)

    def chunks(self, info: zipfile.ZipInfo, size: int = 1 << 20) -> Iterator[bytes]:
        """Part ``info`` decompressed, ``size`` bytes at a time (size checked first)."""
        self.check_size(info)
        with self.archive.open(info) as handle:
            while chunk := handle.read(size):
                yield chunk


_DONE = object()


def prefetched(chunks: Iterable[bytes], depth: int = 2) -> Iterator[bytes]:
    """``chunks`` produced on a helper thread, ``depth`` ahead of the consumer.

    Decompressing releases the GIL, so on a second core the next chunk is being unpacked while
    this one is measured. An error on the helper thread is raised here; stopping early (the
    generator closed) stops the helper.
    """
    ahead: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        """Queue ``item`` unless the consumer has stopped (then say so)."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not hand_over(chunk):
                    return
            hand_over(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            hand_over(exc)

    helper = threading.Thread(target=produce, name="csvscore-unzip", daemon=True)
    helper.start()
    try:
        while True:
            item = ahead.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        helper.join()
