"""Read a contact export (CSV/TSV/TXT, XLSX/XLSM/XLSB, XLS, ODS) into a :class:`Table`.

The file's content decides how it is read, not its name: a workbook saved as ``.csv`` is
read as a workbook and a CSV saved as ``.xlsx`` as CSV (with a note). Text is streamed
through :mod:`csv` so a 100k-row export is held once, as the rows of the table; workbooks
go through python-calamine (Rust) and their cells are turned into the text a person sees
in Excel. What could not be read cleanly is reported, never silently dropped: ragged rows
become :class:`RowProblem` entries, and a file that cannot be read raises
:class:`InputError` with one line naming the file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gc
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import contains, itemgetter, not_
from pathlib import Path
from typing import Any

import python_calamine as calamine

from csvscore import sniff
from csvscore.errors import InputError
from csvscore.table import RowProblem, Table

TEXT_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".tab", ".text"})
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xlsb", ".xls", ".ods"})
WORKBOOK_LABELS = {
    "xlsx": "an Excel workbook",
    "xlsb": "an Excel binary workbook",
    "xls": "an Excel 97-2003 workbook",
    "ods": "an OpenDocument spreadsheet",
}
SUPPORTED = "csvscore reads CSV/TSV text, Excel (.xlsx, .xlsm, .xlsb, .xls) and .ods files"
MAX_RECORD_LINES = 500  # a quoted field longer than this is an unbalanced quote, not a note
PROBE_ROWS = 200  # rows of each sheet looked at when choosing the contacts sheet

_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> Table:
    """Read a contact export into a :class:`Table` of text cells.

    ``sheet`` chooses a workbook sheet by name (default: the first sheet that looks like a
    contact list); ``header_row`` is the 1-based line (CSV) or row (workbook) number of the
    header (default: found by :func:`csvscore.sniff.find_header`); ``encoding`` and
    ``delimiter`` override what is detected in text files ("tab" is accepted for a tab).

    Raises :class:`InputError` when the file cannot be read as a contact table.
    """
    path = Path(path)
    name = str(path)
    if header_row is not None and header_row < 1:
        raise InputError(f"{name}: header row must be 1 or more, not {header_row}")
    head, size = _read_head(path, name)
    kind = _container_kind(path, name, head)
    suffix = path.suffix.lower()
    if kind != "text":
        table = _read_workbook(path, name, kind, sheet, header_row)
        if encoding or delimiter:
            table.notes.append("The encoding and delimiter options apply to text files only.")
        if suffix in TEXT_SUFFIXES:
            table.notes.insert(
                1, f"The file is named {suffix} but is {WORKBOOK_LABELS[kind]}; read it as one."
            )
        return table
    table = _read_text(path, name, head, size <= len(head), header_row, encoding, delimiter)
    if suffix in WORKBOOK_SUFFIXES:
        table.notes.insert(1, f"The file is named {suffix} but contains text; read it as CSV.")
    if sheet is not None:
        table.notes.append(f"Sheet '{sheet}' was asked for, but a text file has no sheets.")
    return table


def _read_head(path: Path, name: str) -> tuple[bytes, int]:
    """The first bytes of the file and its size, with file-system errors as InputError."""
    try:
        with path.open("rb") as handle:
            size = path.stat().st_size
            head = handle.read(sniff.SAMPLE_BYTES)
    except FileNotFoundError:
        raise InputError(f"{name}: file not found") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a file") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied (cannot open the file)") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    if path.is_dir():  # some platforms open directories without error
        raise InputError(f"{name}: is a folder, not a file")
    if size == 0 or not head:
        raise InputError(f"{name}: the file is empty (0 bytes)")
    return head, size


def _container_kind(path: Path, name: str, head: bytes) -> str:
    """Say from the file's first bytes whether it is "xlsx", "xlsb", "ods", "xls" or "text"."""
    if head.startswith(sniff.ZIP_MAGICS):
        try:
            kind = sniff.zip_kind(path)
        except (zipfile.BadZipFile, OSError):
            raise InputError(
                f"{name}: is a damaged ZIP or workbook file (was it fully saved or downloaded?)"
            ) from None
        if kind not in WORKBOOK_LABELS:
            raise InputError(f"{name}: is {kind}; {SUPPORTED}")
        return kind
    if head.startswith(sniff.OLE_MAGIC):
        return "xls"  # or an encrypted workbook: calamine tells, see _workbook_error
    other = sniff.other_format(head)
    if other:
        raise InputError(f"{name}: is {other}; {SUPPORTED}")
    return "text"


# --- text files -----------------------------------------------------------------------


@dataclass
class _Rows:
    """What the row loops collect, before it becomes a Table."""

    header: list[str]
    header_row: int
    rows: list[list[str]] = field(default_factory=list)
    source_rows: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    extra: int = 0  # most extra cells beyond the header in one row
    blank: int = 0  # blank rows below the header


def _read_text(
    path: Path,
    name: str,
    head: bytes,
    whole: bool,
    header_row: int | None,
    encoding: str | None,
    delimiter: str | None,
) -> Table:
    chosen = _forced_encoding(name, encoding, head) if encoding else None
    detected = chosen or sniff.detect_encoding(head, whole)
    if detected is None:
        raise InputError(f"{name}: contains binary data, not text or a spreadsheet; {SUPPORTED}")
    sample = sniff.decode_sample(head, detected, whole)
    markup = sniff.markup_kind(sample)
    if markup:
        raise InputError(
            f"{name}: is {markup}, not a CSV or Excel file; "
            "open it in Excel and save it as .xlsx or CSV"
        )
    if whole and not sample.strip():
        raise InputError(f"{name}: the file is empty (only blank lines or spaces)")
    if delimiter:
        delim, width = _forced_delimiter(name, delimiter), 0
    else:
        delim, width = sniff.sniff_delimiter(sample)
    line_ending = sniff.sniff_line_ending(sample)
    notes: list[str] = []
    try:
        found = _parse_text(path, name, detected, delim, width, header_row)
    except UnicodeDecodeError:
        line = sniff.undecodable_line(path, detected)
        if chosen or detected is not sniff.UTF8:
            raise InputError(
                f"{name}: line {line}: bytes that are not valid {detected.label} text"
                + (" (is the encoding right?)" if chosen else "")
            ) from None
        # The sample was valid UTF-8 but a later part is not: Excel's "CSV" is cp1252.
        notes.append(
            f"The file starts as UTF-8 but line {line} is not; read it all as Windows-1252."
        )
        detected = sniff.CP1252
        found = _parse_text(path, name, detected, delim, width, header_row)
    ends = sniff.LINE_ENDING_NAMES.get(line_ending or "", "none")
    notes.insert(
        0,
        f"Read as CSV: encoding {detected.label}, "
        f"delimiter {sniff.delimiter_name(delim)}, line ends {ends}",
    )
    return _make_table(
        path,
        "csv",
        found,
        notes,
        what="line",
        encoding=detected.codec,
        delimiter=delim,
        line_ending=line_ending,
    )


def _forced_encoding(name: str, encoding: str, head: bytes) -> sniff.Encoding:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"{name}: unknown encoding '{encoding}'") from None
    if codec == "utf-8" and head.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"  # asked for UTF-8: do not keep the BOM in the first header
    return sniff.Encoding(codec, f"{codec} (as asked)")


def _forced_delimiter(name: str, delimiter: str) -> str:
    delim = _DELIMITER_ALIASES.get(delimiter.lower(), delimiter)
    if len(delim) != 1 or delim in '\r\n"':
        raise InputError(f"{name}: the delimiter must be one character, not {delimiter!r}")
    return delim


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off the rows while they are built.

    Each row is a new list, so CPython would run its collector every few hundred rows,
    walking every row built so far (about a third of the read time), and once more when
    re-enabled. Rows hold only strings, so they cannot form cycles: while reading, the
    collector is off; afterwards ``freeze()`` + ``unfreeze()`` moves every tracked object,
    the new rows included, into the oldest generation, where the next full collection
    sees them as usual, instead of a young-generation pass over all of them right away.
    The caller's own settings are respected: if the collector was off, it stays off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _parse_text(
    path: Path,
    name: str,
    encoding: sniff.Encoding,
    delimiter: str,
    width: int,
    header_row: int | None,
) -> _Rows:
    """Read the file with csv: the fast bulk pass, else the line-tracking pass."""
    try:
        return _parse_pass(path, name, encoding, delimiter, width, header_row, track=False)
    except _NeedTracking:
        return _parse_pass(path, name, encoding, delimiter, width, header_row, track=True)


class _NeedTracking(Exception):
    """The bulk pass cannot tell every record's line: read again, tracking line_num."""


def _parse_pass(
    path: Path,
    name: str,
    encoding: sniff.Encoding,
    delimiter: str,
    width: int,
    header_row: int | None,
    *,
    track: bool,
) -> _Rows:
    """Stream the file through csv.reader, find the header and collect the rows.

    The first records are read one by one to find the header. Unless ``track``, the rest
    is read in one C-level ``list(reader)`` and line numbers are worked out afterwards
    (:func:`_record_starts`); if they do not add up, or csv fails, :class:`_NeedTracking`
    asks for a pass that tracks ``reader.line_num`` record by record.
    ``width`` is the delimiter sniff's row width, used to spot unbalanced quotes before
    the header is known. Lets UnicodeDecodeError through for the caller to handle.
    """
    last = 0  # physical line where the previous record ended
    try:
        with (
            _gc_paused(),
            path.open(encoding=encoding.codec, errors=encoding.errors, newline="") as handle,
        ):
            reader = csv.reader(handle, delimiter=delimiter, strict=False)
            check = _SpanCheck(name, delimiter, width)
            head: list[list[str]] = []
            head_lines: list[int] = []
            blank_lines: list[int] = []
            for row in reader:
                start = last + 1
                last = reader.line_num
                if last != start:
                    check(row, start, last)
                if _blank(row):
                    if start == header_row:
                        raise InputError(
                            f"{name}: line {start} (the header row asked for) is blank"
                        )
                    blank_lines.append(start)
                    continue
                if header_row is not None:
                    if start < header_row:
                        if last >= header_row:
                            raise InputError(
                                f"{name}: line {header_row} (the header row asked for) is inside "
                                f"a quoted field that starts on line {start}"
                            )
                        continue
                    head.append(row)
                    head_lines.append(start)
                    break
                head.append(row)
                head_lines.append(start)
                if len(head) >= sniff.HEADER_SEARCH_ROWS:
                    break
            if not head:
                if header_row is not None:
                    raise InputError(
                        f"{name}: has {last} lines; header row {header_row} is past the end"
                    )
                raise InputError(f"{name}: the file is empty (only blank lines or spaces)")
            index = sniff.find_header(head)
            found = _Rows(header=head[index], header_row=head_lines[index])
            found.blank = sum(1 for line in blank_lines if line > found.header_row)
            size = len(found.header)
            check.width = sniff.filled_count(found.header)
            for row, line in zip(head[index + 1 :], head_lines[index + 1 :], strict=True):
                _add_row(found, row, line, size)
            del head, head_lines, blank_lines

            if not track:
                rest = list(reader)
                starts = _record_starts(rest, last, reader.line_num, check)
                if starts is None:
                    raise _NeedTracking
                check.at_end(reader.line_num)
                _add_bulk(found, rest, starts, size)
                return found

            # Line-tracking loop: most rows have exactly the header's cell count and a first
            # cell, so they cost a few comparisons and two appends; the rest go to _add_row.
            rows_append = found.rows.append
            lines_append = found.source_rows.append
            for row in reader:
                start = last + 1
                last = reader.line_num
                if last != start:
                    check(row, start, last)
                if len(row) == size:
                    first = row[0]
                    if (not first or first.isspace()) and _blank(row):
                        found.blank += 1
                        continue
                    rows_append(row)
                    lines_append(start)
                else:
                    _add_row(found, row, start, size)
            check.at_end(last)
    except csv.Error as exc:
        # The only csv.Error left with strict=False is a field over csv.field_size_limit():
        # a quote that is never closed and swallows the rest of the file. The bulk pass
        # does not know its line; the tracking pass does.
        if not track:
            raise _NeedTracking from None
        raise InputError(
            f"{name}: line {last + 1}: unbalanced quote: a quoted field that starts on or "
            f"after this line never ends ({exc})"
        ) from None
    return found


_LINE_BREAK = re.compile("[\r\n]")


def _record_starts(
    rows: list[list[str]], last: int, end: int, check: _SpanCheck
) -> Sequence[int] | None:
    """The line each of ``rows`` starts on, read after line ``last`` up to line ``end``.

    When there are as many records as lines, that is a ``range``. Otherwise some quoted
    fields hold line breaks: those records are found with C-level passes, their spans
    counted and checked for unbalanced quotes. None if the count still disagrees with
    ``end`` (then the caller tracks ``line_num`` record by record instead).
    """
    count = len(rows)
    if end - last == count:
        return range(last + 1, end + 1)
    if not rows:
        return None
    # "\n" covers LF and CRLF breaks and is ~3x cheaper to look for than a regex; a lone
    # CR inside a field (old Mac files) needs the second, slower look.
    finders = (
        map(contains, map("".join, rows), repeat("\n")),
        map(_LINE_BREAK.search, map("".join, rows)),
    )
    for found in finders:
        starts = _starts_around(rows, last, compress(range(count), found), check)
        if starts[-1] + _span_of(rows[-1]) - 1 == end:
            return starts
    return None


def _starts_around(
    rows: list[list[str]], last: int, multiline: Iterable[int], check: _SpanCheck
) -> list[int]:
    """Start lines of ``rows`` when the records at indexes ``multiline`` span lines."""
    starts: list[int] = []
    line = last + 1  # where the next record starts
    done = 0
    for index in multiline:
        starts.extend(range(line, line + index - done))
        line += index - done
        starts.append(line)
        span = _span_of(rows[index])
        check(rows[index], line, line + span - 1)
        line += span
        done = index + 1
    starts.extend(range(line, line + len(rows) - done))
    return starts


def _span_of(row: list[str]) -> int:
    """Physical lines a record covers: one more than the line breaks inside its fields."""
    text = "".join(row)
    if "\n" not in text and "\r" not in text:
        return 1
    return 1 + text.count("\n") + text.count("\r") - text.count("\r\n")


def _add_bulk(found: _Rows, rows: list[list[str]], starts: Sequence[int], size: int) -> None:
    """Add rows read in bulk, ``rows[i]`` starting on line ``starts[i]``.

    Finds the rows needing attention (another cell count than the header, or a blank
    first cell, which every blank row has) with C-level passes, and copies the runs of
    ordinary rows between them as slices, so a clean file costs no Python per row.
    """
    count = len(rows)
    lengths = list(map(len, rows))
    odd = set(compress(range(count), map(size.__ne__, lengths)))
    # Empty lines have no cell for itemgetter(0); next(iter(row), "") copes, but slower.
    empty_lines = 0 in lengths
    firsts = map(next, map(iter, rows), repeat("")) if empty_lines else map(itemgetter(0), rows)
    odd.update(compress(range(count), map(not_, map(str.strip, firsts))))
    done = 0
    for index in sorted(odd):
        found.rows.extend(rows[done:index])
        found.source_rows.extend(starts[done:index])
        _add_row(found, rows[index], starts[index], size)
        done = index + 1
    found.rows.extend(rows[done:] if done else rows)
    found.source_rows.extend(starts[done:] if done else starts)


class _SpanCheck:
    """Spot an unbalanced quote: a quoted field that swallowed the rows after it.

    Called only for records that span several physical lines (rare). A legitimate quoted
    note may hold line breaks, but not lines with as many delimiters as a whole row, and
    it does not run to the end of the file still open.
    """

    def __init__(self, name: str, delimiter: str, width: int) -> None:
        self.name = name
        self.delimiter = delimiter
        self.width = width
        self.last_start = 0
        self.last_end = 0
        self.last_open = False
        self.spanned = False  # some record spanned several lines

    def __call__(self, row: list[str], start: int, end: int) -> None:
        self.spanned = True
        if end - start >= MAX_RECORD_LINES:
            self._fail(start, f"runs on for {end - start + 1} lines")
        if self.width >= 3:
            need = self.width - 1
            # A short table needs two swallowed rows as evidence; a wide one, one.
            evidence = 1 if self.width >= 5 else 2
            found = 0
            for cell in row:
                if "\n" in cell or "\r" in cell:
                    for inner in cell.splitlines()[1:]:
                        if inner.count(self.delimiter) >= need:
                            found += 1
            if found >= evidence:
                self._fail(start, f"runs to line {end} and swallows the rows in between")
        self.last_start, self.last_end = start, end
        # A field still open at the end of the file keeps the final line break inside it.
        self.last_open = bool(row) and row[-1].endswith(("\n", "\r"))

    def at_end(self, last: int) -> None:
        """Fail if the file's last record is a multi-line field still open at the end."""
        if self.last_end == last and self.last_open:
            self._fail(self.last_start, "is never closed (it runs to the end of the file)")

    def _fail(self, start: int, how: str) -> None:
        raise InputError(
            f'{self.name}: line {start}: unbalanced quote: a field opened with " on this line '
            f"{how}; fix the quote and read the file again"
        )


def _blank(row: list[str]) -> bool:
    """True when every cell is empty or whitespace (stops at the first real cell)."""
    # A plain loop: about twice as fast as any() over a generator, and this runs per row.
    for cell in row:  # noqa: SIM110
        if cell and not cell.isspace():
            return False
    return True


def _add_row(found: _Rows, row: list[str], line: int, size: int) -> None:
    """Add a row whose cell count differs from the header's ``size`` (or any row, slowly).

    Short rows are padded; long rows lose trailing empty cells silently (a trailing
    delimiter is not a problem) and keep non-empty extra cells for "Extra N" columns.
    """
    if _blank(row):
        found.blank += 1
        return
    count = len(row)
    if count < size:
        if count < sniff.span(found.header):
            found.problems.append(
                RowProblem(
                    line,
                    f"has {count} cells, header has {sniff.span(found.header)}: "
                    "the missing cells are left empty",
                )
            )
        row.extend([""] * (size - count))
    elif count > size:
        span = sniff.span(row)
        if span > size:
            extra = span - size
            found.problems.append(
                RowProblem(
                    line,
                    f"has {span} cells, header has {size}: extra cells kept as "
                    f"{_extra_names(extra)}",
                )
            )
            found.extra = max(found.extra, extra)
            del row[span:]
        else:
            del row[size:]
    found.rows.append(row)
    found.source_rows.append(line)


def _extra_names(count: int) -> str:
    if count == 1:
        return "'Extra 1'"
    if count == 2:
        return "'Extra 1', 'Extra 2'"
    return f"'Extra 1' to 'Extra {count}'"


def _make_table(
    path: Path,
    fmt: str,
    found: _Rows,
    notes: list[str],
    *,
    what: str,
    **detected: Any,
) -> Table:
    """Settle the columns (trailing blank headers, Extra N) and build the Table."""
    if not found.rows:
        raise InputError(
            f"{path}: has a header ({what} {found.header_row}) but no contact rows below it"
        )
    header = found.header
    size = len(header)
    width = size + found.extra
    if not found.extra:
        # Trailing blank header cells (e.g. a delimiter at the end of every line) become
        # columns only if some row has data under them.
        width = sniff.span(header)
        for index in range(size - 1, width - 1, -1):
            if any(row[index] and not row[index].isspace() for row in found.rows):
                width = index + 1
                break
    headers = header[:width] + [f"Extra {n}" for n in range(1, found.extra + 1)]
    headers += [""] * (width - len(headers))
    if width != size or found.extra:
        for row in found.rows:
            count = len(row)
            if count < width:
                row.extend([""] * (width - count))
            elif count > width:
                del row[width:]
    if found.header_row != 1:
        notes.append(
            f"Header found on {what} {found.header_row}; "
            f"the {found.header_row - 1} {what}s above it were skipped."
        )
    if found.blank:
        plural = "s" if found.blank != 1 else ""
        notes.append(f"Skipped {found.blank} blank {what}{plural} (not contacts).")
    if found.problems:
        plural = "s" if len(found.problems) != 1 else ""
        notes.append(f"{len(found.problems)} {what}{plural} did not fit the header (see problems).")
    return Table(
        path=path,
        format=fmt,
        headers=headers,
        rows=found.rows,
        source_rows=found.source_rows,
        header_row=found.header_row,
        problems=found.problems,
        notes=notes,
        **detected,
    )


# --- workbooks ------------------------------------------------------------------------


def _read_workbook(
    path: Path, name: str, kind: str, sheet: str | None, header_row: int | None
) -> Table:
    # from_filelike sniffs the content; from_path trusts the extension and would fail
    # on an .ods named .xlsx or a workbook named .csv.
    try:
        with path.open("rb") as handle:
            book = calamine.CalamineWorkbook.from_filelike(handle)
    except Exception as exc:  # calamine raises several types; all mean "unreadable"
        raise _workbook_error(path, name, kind, exc) from None
    try:
        names = list(book.sheet_names)
        if sheet is not None:
            chosen = _named_sheet(name, names, sheet)
            loaded = _load_sheet(path, name, kind, _get_sheet(path, name, kind, book, chosen))
            why = ", as asked"
        else:
            chosen, loaded, why = _choose_sheet(path, name, kind, book)
    finally:
        book.close()
    position = names.index(chosen)
    where = "the only sheet" if len(names) == 1 else f"{_ordinal(position + 1)} of {len(names)}"
    notes = [
        f"Read as {WORKBOOK_LABELS[kind]}.",
        f"Read sheet '{chosen}' ({where}){why}.",
    ]
    data, first_column = loaded
    with _gc_paused():
        found = _sheet_rows(f"{name}: sheet '{chosen}'", data, first_column, header_row)
    del data
    return _make_table(
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


def _get_sheet(path: Path, name: str, kind: str, book: Any, sheet: str) -> Any:
    try:
        return book.get_sheet_by_name(sheet)
    except Exception as exc:
        raise _workbook_error(path, name, kind, exc) from None


def _load_sheet(path: Path, name: str, kind: str, sheet: Any) -> Loaded:
    """All cells of a sheet (rows numbered from row 1) and the first used column."""
    try:
        start = sheet.start
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:
        raise _workbook_error(path, name, kind, exc) from None
    return rows, (start[1] if start else 0)


def _choose_sheet(path: Path, name: str, kind: str, book: Any) -> tuple[str, Loaded, str]:
    """The first sheet that looks like a contact list, else the first sheet with data.

    Visible worksheets are tried before hidden ones; chart and macro sheets never. Each
    sheet is parsed once: the chosen sheet's object is kept and converted in full.
    """
    metas = list(book.sheets_metadata)
    visible = calamine.SheetVisibleEnum.Visible
    order = [m for m in metas if m.visible == visible] + [m for m in metas if m.visible != visible]
    fallback: tuple[str, Any] | None = None
    passed_over: list[str] = []
    for meta in order:
        if meta.typ != calamine.SheetTypeEnum.WorkSheet:
            continue
        sheet = _get_sheet(path, name, kind, book, meta.name)
        try:
            probe = sheet.to_python(nrows=PROBE_ROWS)
        except Exception as exc:
            raise _workbook_error(path, name, kind, exc) from None
        rows = [_cells_text(row) for row in probe]
        rows = [row for row in rows if not _blank(row)]
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
) -> _Rows:
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
        if _blank(row):
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
    found = _Rows(header=data[at], header_row=at + 1)
    size = len(found.header)
    rows_append = found.rows.append
    lines_append = found.source_rows.append
    for index in range(at + 1, len(data)):
        row = data[index]
        if index > converted:
            row = convert(row)
        first = row[0] if row else ""
        if (not first or first.isspace()) and _blank(row):
            found.blank += 1
            continue
        if len(row) != size:  # never for calamine's rectangular ranges; kept for safety
            _add_row(found, row, index + 1, size)
            continue
        rows_append(row)
        lines_append(index + 1)
    return found


_STR_ONLY = frozenset({str})


def _row_converter(first_column: int) -> Callable[[list[Any]], list[str]]:
    """A function turning one calamine row into text cells, dropping unused left columns."""

    def convert(row: list[Any]) -> list[str]:
        if first_column:
            del row[:first_column]
        # Most rows are all text: one C-level pass over the types decides, no per-cell call.
        if set(map(type, row)) <= _STR_ONLY:
            return row
        return [cell if type(cell) is str else _cell_text(cell) for cell in row]

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


def _workbook_error(path: Path, name: str, kind: str, exc: Exception) -> InputError:
    """Turn a calamine failure into a sentence a person can act on."""
    text = " ".join(str(exc).split())
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
