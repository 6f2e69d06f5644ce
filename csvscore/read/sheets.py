"""Read a workbook (XLSX/XLSM/XLSB, XLS, ODS) with python-calamine (Rust).

Chooses the sheet that looks like a contact list (or the one asked for), turns its cells into
the text a person sees in Excel, and finds the header and rows. Calamine failures become one
:class:`InputError` sentence a person can act on (password-protected, a Word document...).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import python_calamine as calamine

from csvscore.errors import InputError
from csvscore.read import sniff
from csvscore.read.controls import Removed, clean_rows
from csvscore.read.limits import ReadLimits
from csvscore.read.rows import SUPPORTED, Rows, add_row, blank_row, gc_paused, make_table
from csvscore.read.shared import SharedValues
from csvscore.read.table import Table
from csvscore.read.workbook_guard import WorkbookGuard

WORKBOOK_LABELS = {
    "xlsx": "an Excel workbook",
    "xlsb": "an Excel binary workbook",
    "xls": "an Excel 97-2003 workbook",
    "ods": "an OpenDocument spreadsheet",
}
PROBE_ROWS = 200  # rows of each sheet looked at when choosing the contacts sheet
SHARE_ROWS = 16_384  # rows shared at a time (read/shared.py)


def read_workbook(
    path: Path,
    name: str,
    kind: str,
    sheet: str | None,
    header_row: int | None,
    limits: ReadLimits | None = None,
) -> Table:
    """Read the contacts sheet (or ``sheet``) of a workbook of ``kind`` ("xlsx", "xls"...).

    Every part calamine will build is measured first (:class:`WorkbookGuard`): calamine cannot
    be stopped once it allocates. Raises :class:`InputError` when the workbook or the sheet
    cannot be read as contacts, or is over ``limits``.
    """
    guard = WorkbookGuard(path, name, kind, limits or ReadLimits())
    _guarded(path, name, kind, guard.before_open)
    # from_filelike sniffs the content; from_path trusts the extension and would fail
    # on an .ods named .xlsx or a workbook named .csv.
    try:
        with path.open("rb") as handle:
            book = _calamine(path, name, kind, calamine.CalamineWorkbook.from_filelike, handle)
    except OSError as exc:
        raise _workbook_error(path, name, kind, exc) from None
    try:
        names = list(book.sheet_names)
        if sheet is not None:
            chosen = _named_sheet(name, names, sheet)
            _guarded(path, name, kind, guard.before_sheet, chosen)
            loaded = _load_sheet(path, name, kind, _get_sheet(path, name, kind, book, chosen))
            why = ", as asked"
        else:
            chosen, loaded, why = _choose_sheet(path, name, kind, book, guard)
    finally:
        book.close()
    position = names.index(chosen)
    where = "the only sheet" if len(names) == 1 else f"{_ordinal(position + 1)} of {len(names)}"
    notes = [
        f"Read as {WORKBOOK_LABELS[kind]}.",
        f"Read sheet '{chosen}' ({where}){why}.",
    ]
    data, first_column = loaded
    with gc_paused():
        found = _sheet_rows(f"{name}: sheet '{chosen}'", data, first_column, header_row)
    del data
    removed = Removed("row")
    clean_rows([found.header], [found.header_row], removed)
    clean_rows(found.rows, found.source_rows, removed)
    if removed.note():
        notes.append(str(removed.note()))
    return make_table(
        path,
        "ods" if kind == "ods" else ("xls" if kind == "xls" else "xlsx"),
        found,
        notes,
        what="row",
        sheet=chosen,
        sheets=names,
    )


def _named_sheet(name: str, names: list[str], wanted: str) -> str:
    """The sheet called ``wanted`` (exactly, else ignoring case and outer spaces)."""
    if wanted in names:
        return wanted
    loose = [sheet for sheet in names if sheet.strip().casefold() == wanted.strip().casefold()]
    if len(loose) == 1:
        return loose[0]
    listed = ", ".join(f"'{sheet}'" for sheet in names)
    raise InputError(f"{name}: no sheet named '{wanted}'; the sheets are: {listed}")


Loaded = tuple[list[list[Any]], int]


# What reading a damaged ZIP's parts can raise (CRC, truncated or undecodable data, a
# compression method Python lacks, a part listed twice...).
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    zlib.error,
    RuntimeError,
    NotImplementedError,
    OSError,
    ValueError,
)


def _guarded(path: Path, name: str, kind: str, check: Callable[..., None], *args: Any) -> None:
    """Run a guard check; a damaged container becomes the usual one-line error."""
    try:
        check(*args)
    except _DAMAGED as exc:
        raise _workbook_error(path, name, kind, exc) from None


def _calamine(path: Path, name: str, kind: str, call: Callable[..., Any], *args: Any) -> Any:
    """Call into calamine; whatever it raises (a Rust panic included) becomes an InputError."""
    try:
        with _rust_panics_quiet():
            return call(*args)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as exc:  # pyo3's PanicException (a Rust panic) is a BaseException
        raise _workbook_error(path, name, kind, exc) from None


_stderr_lock = threading.Lock()


@contextmanager
def _rust_panics_quiet() -> Iterator[None]:
    """Keep a Rust panic's message and backtrace off the terminal while calamine runs.

    A malformed file can make calamine panic; pyo3 turns the panic into an exception (made an
    InputError above), but Rust's panic hook has already written its message, and with
    RUST_BACKTRACE set a whole backtrace, straight to file descriptor 2. The user gets the one
    line instead: descriptor 2 points at the null device for the call (a lock keeps two
    readers from swapping it at once; a process without a descriptor 2 is left alone). The
    price: another thread writing to standard error during those seconds is not seen; csvscore
    itself runs nothing else while it reads.
    """
    with _stderr_lock:
        try:
            saved = os.dup(2)
        except OSError:
            yield
            return
        try:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, 2)
            finally:
                os.close(null)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _get_sheet(path: Path, name: str, kind: str, book: Any, sheet: str) -> Any:
    return _calamine(path, name, kind, book.get_sheet_by_name, sheet)


def _load_sheet(path: Path, name: str, kind: str, sheet: Any) -> Loaded:
    """All cells of a sheet (rows numbered from row 1) and the first used column."""
    start = _calamine(path, name, kind, getattr, sheet, "start")
    rows = _calamine(path, name, kind, sheet.to_python, False)
    return rows, (start[1] if start else 0)


def _choose_sheet(
    path: Path, name: str, kind: str, book: Any, guard: WorkbookGuard
) -> tuple[str, Loaded, str]:
    """The first sheet that looks like a contact list, else the first sheet with data.

    Visible worksheets are tried before hidden ones; chart and macro sheets never. Each
    sheet is parsed once: the chosen sheet's object is kept and converted in full.
    """
    metas = list(_calamine(path, name, kind, getattr, book, "sheets_metadata"))
    visible = calamine.SheetVisibleEnum.Visible
    order = [m for m in metas if m.visible == visible] + [m for m in metas if m.visible != visible]
    fallback: tuple[str, Any] | None = None
    passed_over: list[str] = []
    for meta in order:
        if meta.typ != calamine.SheetTypeEnum.WorkSheet:
            continue
        _guarded(path, name, kind, guard.before_sheet, meta.name)
        sheet = _get_sheet(path, name, kind, book, meta.name)
        probe = _calamine(path, name, kind, sheet.to_python, True, PROBE_ROWS)
        rows = [_cells_text(row) for row in probe]
        rows = [row for row in rows if not blank_row(row)]
        if not rows:
            continue
        head = rows[: sniff.HEADER_SEARCH_ROWS]
        index = sniff.find_header(head)
        if sniff.contact_header_count(head[index]) >= 2 and len(rows) > index + 1:
            why = ""
            if passed_over:
                listed = ", ".join(f"'{sheet}'" for sheet in passed_over)
                why = f"; {listed} did not look like contacts"
            return meta.name, _load_sheet(path, name, kind, sheet), why
        passed_over.append(meta.name)
        if fallback is None:
            fallback = (meta.name, sheet)
    if fallback is None:
        listed = ", ".join(f"'{sheet}'" for sheet in book.sheet_names)
        raise InputError(f"{name}: the workbook has no data (sheets: {listed})")
    return (
        fallback[0],
        _load_sheet(path, name, kind, fallback[1]),
        "; no sheet looked like contacts, so the first with data was read",
    )


def _sheet_rows(
    where: str, data: list[list[Any]], first_column: int, header_row: int | None
) -> Rows:
    """Convert cells to text in place, find the header and collect the non-blank rows.

    ``where`` starts error messages ("book.xlsx: sheet 'Contacts'").
    """
    convert = _row_converter(first_column)
    head: list[list[str]] = []
    head_index: list[int] = []
    converted = -1
    for index in range(len(data)):
        row = data[index] = convert(data[index])
        converted = index
        number = index + 1
        if blank_row(row):
            if number == header_row:
                raise InputError(f"{where}: row {number} (the header row asked for) is blank")
            continue
        if header_row is not None:
            if number < header_row:
                continue
            head, head_index = [row], [index]
            break
        head.append(row)
        head_index.append(index)
        if len(head) >= sniff.HEADER_SEARCH_ROWS:
            break
    if not head:
        raise InputError(
            f"{where}: has {len(data)} rows; header row {header_row} is past the end"
            if header_row is not None
            else f"{where}: is empty"
        )
    at = head_index[sniff.find_header(head)]
    found = Rows(header=data[at], header_row=at + 1)
    size = len(found.header)
    rows_append = found.rows.append
    lines_append = found.source_rows.append
    for index in range(at + 1, len(data)):
        row = data[index]
        if index > converted:
            row = convert(row)
        first = row[0] if row else ""
        if (not first or first.isspace()) and blank_row(row):
            found.blank += 1
            continue
        if len(row) != size:  # never for calamine's rectangular ranges; kept for safety
            add_row(found, row, index + 1, size)
            continue
        rows_append(row)
        lines_append(index + 1)
    # calamine's cells are new strings too: share the repeating ones, a run at a time, for the
    # rest of the run (calamine's own copy is the read's peak; this is what stays).
    share = SharedValues(size)
    for start in range(0, len(found.rows), SHARE_ROWS):
        share(found.rows[start : start + SHARE_ROWS])
    return found


_PLANS_KEPT = 4096  # row type patterns remembered (a sheet has a handful; a hostile one, many)


def _row_converter(first_column: int) -> Callable[[list[Any]], list[str]]:
    """A function turning one calamine row into text cells, dropping unused left columns.

    Rows of a sheet share a few patterns of cell types (text here, a number there), so the
    positions of non-text cells are worked out once per pattern: a row then costs one C-level
    pass over its types and one call per non-text cell.
    """
    plans: dict[tuple[type, ...], tuple[int, ...]] = {}

    def convert(row: list[Any]) -> list[str]:
        if first_column:
            del row[:first_column]
        kinds = tuple(map(type, row))
        plan = plans.get(kinds)
        if plan is None:
            plan = tuple(i for i, kind in enumerate(kinds) if kind is not str)
            if len(plans) < _PLANS_KEPT:
                plans[kinds] = plan
        for i in plan:
            row[i] = _cell_text(row[i])
        return row

    return convert


def _cells_text(row: list[Any]) -> list[str]:
    return [cell if type(cell) is str else _cell_text(cell) for cell in row]


def _cell_text(value: Any) -> str:
    """The text Excel shows for a non-text cell (General format)."""
    kind = type(value)
    if kind is float:
        if value.is_integer() and -1e15 < value < 1e15:
            return str(int(value))  # 4155550134.0 -> "4155550134"
        return format(value, ".15g")  # Excel shows 15 significant digits
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is int:
        return str(value)
    if kind is dt.datetime:
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if kind is dt.date:
        return value.isoformat()
    if kind is dt.time:
        return value.isoformat(timespec="seconds")
    if kind is dt.timedelta:
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    if value is None:
        return ""
    return str(value)


def _workbook_error(path: Path, name: str, kind: str, exc: BaseException) -> InputError:
    """Turn a calamine failure into a sentence a person can act on."""
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157].rstrip() + "..."
    lowered = text.lower()
    if (
        isinstance(exc, calamine.PasswordError)
        or "password" in lowered
        or "encrypt" in lowered
        or (kind == "xls" and sniff.ole_has_stream(path, "EncryptionInfo"))
    ):
        return InputError(
            f"{name}: the workbook is password-protected (encrypted); open it in Excel, "
            "remove the password and save a copy, then read that copy"
        )
    if kind == "xls" and sniff.ole_has_stream(path, "WordDocument"):
        return InputError(f"{name}: is a Word document; {SUPPORTED}")
    if kind == "xls":
        return InputError(
            f"{name}: is an Office file but not a readable Excel workbook ({text or 'unknown'})"
        )
    return InputError(f"{name}: cannot be read as {WORKBOOK_LABELS[kind]} ({text or 'unknown'})")


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
