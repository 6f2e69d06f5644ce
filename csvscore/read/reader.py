"""Read a contact export (CSV/TSV/TXT, XLSX/XLSM/XLSB, XLS, ODS) into a :class:`Table`.

The file's content decides how it is read, not its name: a workbook saved as ``.csv`` is
read as a workbook and a CSV saved as ``.xlsx`` as CSV (with a note). Text is streamed
through :mod:`csv` so a 100k-row export is held once, as the rows of the table; workbooks
go through python-calamine (Rust) and their cells are turned into the text a person sees
in Excel. What could not be read cleanly is reported, never silently dropped: ragged rows
become :class:`RowProblem` entries, and a file that cannot be read raises
:class:`InputError` with one line naming the file.

This module decides what kind of file it is and hands it on: text to :mod:`csvscore.read.textfile`,
workbooks to :mod:`csvscore.read.sheets`; both build the table with :mod:`csvscore.read.rows`.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from pathlib import Path

from csvscore.errors import InputError
from csvscore.read import sniff
from csvscore.read.limits import ReadLimits
from csvscore.read.rows import SUPPORTED
from csvscore.read.sheets import WORKBOOK_LABELS, read_workbook
from csvscore.read.table import Table
from csvscore.read.textfile import read_text
from csvscore.read.workbook_guard import check_file_size
from csvscore.read.zipparts import ZipParts

TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".tab", ".text"})
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xlsb", ".xls", ".ods"})


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    limits: ReadLimits | None = None,
) -> Table:
    """Read a contact export into a :class:`Table` of text cells.

    ``sheet`` chooses a workbook sheet by name (default: the first sheet that looks like a
    contact list); ``header_row`` is the 1-based line (CSV) or row (workbook) number of the
    header (default: found by :func:`csvscore.read.sniff.find_header`); ``encoding`` and
    ``delimiter`` override what is detected in text files ("tab" is accepted for a tab).
    ``limits`` bound what is read (:class:`~csvscore.read.limits.ReadLimits`: file size,
    cells); a file over them is refused before it is read, whatever it declares.

    Raises :class:`InputError` when the file cannot be read as a contact table.
    """
    path = Path(path)
    name = str(path)
    limits = limits or ReadLimits()
    if header_row is not None and header_row < 1:
        raise InputError(f"{name}: header row must be 1 or more, not {header_row}")
    head, size = _read_head(path, name)
    check_file_size(name, size, limits)
    kind = _container_kind(path, name, head, limits)
    suffix = path.suffix.lower()
    if kind != "text":
        table = read_workbook(path, name, kind, sheet, header_row, limits)
        if encoding or delimiter:
            table.notes.append("The encoding and delimiter options apply to text files only.")
        if suffix in TEXT_SUFFIXES:
            table.notes.insert(
                1, f"The file is named {suffix} but is {WORKBOOK_LABELS[kind]}; read it as one."
            )
        return table
    table = read_text(path, name, head, size <= len(head), header_row, encoding, delimiter, limits)
    if suffix in WORKBOOK_SUFFIXES:
        table.notes.insert(1, f"The file is named {suffix} but contains text; read it as CSV.")
    if sheet is not None:
        table.notes.append(f"Sheet '{sheet}' was asked for, but a text file has no sheets.")
    return table


def _read_head(path: Path, name: str) -> tuple[bytes, int]:
    """The first bytes of the file and its size, with file-system errors as InputError.

    Only a regular file is opened: a named pipe would block the open until someone writes to
    it, and a device such as /dev/zero reports a size of 0 and never ends.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{name}: is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{name}: is {_special_kind(info.st_mode)}, not a file; {SUPPORTED}")
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(sniff.SAMPLE_BYTES)
    except OSError as exc:
        raise _unreadable(name, exc) from None
    if path.is_dir():  # some platforms open directories without error
        raise InputError(f"{name}: is a folder, not a file")
    if size == 0 or not head:
        raise InputError(f"{name}: the file is empty (0 bytes)")
    return head, size


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _container_kind(path: Path, name: str, head: bytes, limits: ReadLimits) -> str:
    """Say from the file's first bytes whether it is "xlsx", "xlsb", "ods", "xls" or "text"."""
    if head.startswith(sniff.ZIP_MAGICS):
        try:
            with ZipParts(path, name, limits) as parts:
                # Only the start of "mimetype": a hostile one may unpack to gigabytes.
                mimetype = parts.head("mimetype", 200).decode("ascii", "replace")
                kind = sniff.zip_kind(set(parts.names()), mimetype)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            OSError,
            EOFError,
            ValueError,
            NotImplementedError,
            RuntimeError,
            zlib.error,
        ):
            raise InputError(
                f"{name}: is a damaged ZIP or workbook file (was it fully saved or downloaded?)"
            ) from None
        if kind not in WORKBOOK_LABELS:
            raise InputError(f"{name}: is {kind}; {SUPPORTED}")
        return kind
    if head.startswith(sniff.OLE_MAGIC):
        return "xls"  # or an encrypted workbook: calamine tells, see sheets._workbook_error
    other = sniff.other_format(head)
    if other:
        raise InputError(f"{name}: is {other}; {SUPPORTED}")
    return "text"


def _unreadable(name: str, exc: OSError) -> InputError:
    """The one-line error for a file that cannot be looked at or opened."""
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{name}: file not found")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{name}: is a folder, not a file")
    if isinstance(exc, PermissionError):
        return InputError(f"{name}: permission denied (cannot open the file)")
    return InputError(f"{name}: cannot be read ({exc.strerror or exc})")
