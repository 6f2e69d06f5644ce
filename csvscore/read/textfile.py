"""Read a CSV/TSV/TXT contact export: encoding, delimiter, header and rows, via :mod:`csv`.

Text is streamed through :mod:`csv` so a 100k-row export is held once, as the rows of the
table. A clean file is read in one C-level pass; a file whose line numbers do not add up is
read again record by record. Rows that do not fit the header become :class:`RowProblem`
entries, and an unbalanced quote that swallows rows is an :class:`InputError`.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress, islice, repeat
from operator import contains, itemgetter, not_
from pathlib import Path

from csvscore.errors import InputError
from csvscore.read import sniff
from csvscore.read.controls import Removed, filtered_lines, text_file_has_controls
from csvscore.read.limits import ReadLimits, over_cells
from csvscore.read.rows import SUPPORTED, Rows, add_row, blank_row, gc_paused, make_table
from csvscore.read.shared import SharedValues
from csvscore.read.table import Table

# A quoted field running longer than this is taken for an unbalanced quote. Real notes can run to
# hundreds of lines (a CRM's activity history); a stray quote usually swallows the whole rest of
# the file, which the other checks (rows swallowed, a field open at the end) catch first.
MAX_RECORD_LINES = 100_000
# Records read per C-level batch. The cell limit is checked between batches, and each batch's
# repeating cells are shared (read/shared.py) before the next is read, so a batch is the most
# unshared text held at once: 16,384 rows of the benchmark export peak at 132 MB, 65,536 at 184.
BULK_ROWS = 16_384

_DELIMITER_ALIASES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


def read_text(
    path: Path,
    name: str,
    head: bytes,
    whole: bool,
    header_row: int | None,
    encoding: str | None,
    delimiter: str | None,
    limits: ReadLimits | None = None,
) -> Table:
    """Read a text file whose first bytes are ``head`` (``whole``: that is all of it).

    ``encoding`` and ``delimiter`` override what is detected; ``header_row`` is 1-based.
    Raises :class:`InputError` when the file is not a readable contact table or has more cells
    than ``limits`` allow.
    """
    limits = limits or ReadLimits()
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
    parse = _Parse(path, name, delim, width, header_row, limits)
    try:
        found = parse.text(detected)
    except UnicodeDecodeError:
        line = sniff.undecodable_line(path, detected)
        if chosen or detected is not sniff.UTF8:
            raise InputError(
                f"{name}: line {line}: bytes that are not valid {detected.label} text"
                + (" (is the encoding right?)" if chosen else "")
            ) from None
        # The sample was valid UTF-8 but a later part is not: Excel's "CSV" is cp1252 (or,
        # from Excel for Mac, Mac Roman: told apart on the lines that are not ASCII).
        detected = sniff.eight_bit(sniff.high_byte_lines(path))
        notes.append(
            f"The file starts as UTF-8 but line {line} is not; read it all as {detected.label}."
        )
        found = parse.text(detected)
    ends = sniff.LINE_ENDING_NAMES.get(line_ending or "", "none")
    notes.insert(
        0,
        f"Read as CSV: encoding {detected.label}, "
        f"delimiter {sniff.delimiter_name(delim)}, line ends {ends}",
    )
    removed = parse.removed.note()
    if removed:
        notes.append(removed)
    if detected is sniff.MAC_ROMAN:
        notes.append(
            "Read as Mac Roman (what Excel for Mac's 'CSV (Macintosh)' writes): its accented "
            "letters only make sense that way. If names look wrong, use --encoding cp1252."
        )
    return make_table(
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


@dataclass
class _Parse:
    """One text file's parse settings; ``text()`` reads it in an encoding."""

    path: Path
    name: str
    delimiter: str
    width: int
    header_row: int | None
    limits: ReadLimits

    def __post_init__(self) -> None:
        self.removed = Removed("line")

    def text(self, encoding: sniff.Encoding) -> Rows:
        """Read the file with csv: the fast bulk pass, else the line-tracking pass.

        Control characters are taken out on the way in when the file has any (checked first,
        at C speed, so an ordinary file is read exactly as before).
        """
        self.removed = Removed("line")
        dirty = text_file_has_controls(self.path, encoding.codec)
        options = (self.path, self.name, encoding, self.delimiter, self.width, self.header_row)
        with _field_limit(self.limits.max_bytes):
            try:
                return _parse_pass(
                    *options, track=False, limits=self.limits, removed=self.removed, dirty=dirty
                )
            except _NeedTracking:
                self.removed = Removed("line")
                return _parse_pass(
                    *options, track=True, limits=self.limits, removed=self.removed, dirty=dirty
                )


@contextmanager
def _field_limit(size: int) -> Iterator[None]:
    """Let csv read cells as long as the file may be (its default stops at 128 KiB).

    ``csv.field_size_limit`` is process-wide: it is only ever raised here, and put back after.
    """
    before = csv.field_size_limit()
    if size > before:
        csv.field_size_limit(size)
    try:
        yield
    finally:
        if size > before:
            csv.field_size_limit(before)


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
    limits: ReadLimits | None = None,
    removed: Removed | None = None,
    dirty: bool = False,
) -> Rows:
    """Stream the file through csv.reader, find the header and collect the rows.

    The first records are read one by one to find the header. Unless ``track``, the rest
    is read in C-level batches of ``list(islice(reader, BULK_ROWS))`` and line numbers are worked
    out afterwards (:func:`_record_starts`); if they do not add up, or csv fails,
    :class:`_NeedTracking` asks for a pass that tracks ``reader.line_num`` record by record.
    ``width`` is the delimiter sniff's row width, used to spot unbalanced quotes before
    the header is known. ``dirty``: the lines go through the control-character filter first.
    Lets UnicodeDecodeError through for the caller to handle.
    """
    limits = limits or ReadLimits()
    removed = removed or Removed("line")
    cells = _CellCount(name, limits)
    last = 0  # physical line where the previous record ended
    try:
        with (
            gc_paused(),
            path.open(encoding=encoding.codec, errors=encoding.errors, newline="") as handle,
        ):
            lines: Iterable[str] = filtered_lines(handle, removed) if dirty else handle
            reader = csv.reader(lines, delimiter=delimiter, strict=False)
            check = _SpanCheck(name, delimiter, width)
            head: list[list[str]] = []
            head_lines: list[int] = []
            blank_lines: list[int] = []
            for row in reader:
                start = last + 1
                last = reader.line_num
                if last != start:
                    check(row, start, last)
                if blank_row(row):
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
            found = Rows(header=head[index], header_row=head_lines[index])
            found.blank = sum(1 for line in blank_lines if line > found.header_row)
            size = len(found.header)
            check.width = sniff.filled_count(found.header)
            for row, line in zip(head[index + 1 :], head_lines[index + 1 :], strict=True):
                add_row(found, row, line, size)
            del head, head_lines, blank_lines

            cells.add(sum(map(len, found.rows)) + len(found.header), found, size)
            share = SharedValues(size)
            shared_up_to = 0  # found.rows before this are shared (the header search's rows too)
            if not track:
                while rest := list(islice(reader, BULK_ROWS)):
                    starts = _record_starts(rest, last, reader.line_num, check)
                    if starts is None:
                        raise _NeedTracking
                    last = reader.line_num
                    cells.add(_add_bulk(found, rest, starts, size), found, size)
                    share(found.rows[shared_up_to:])
                    shared_up_to = len(found.rows)
                check.at_end(reader.line_num)
                return found

            # Line-tracking loop: most rows have exactly the header's cell count and a first
            # cell, so they cost a few comparisons and two appends; the rest go to add_row.
            rows_append = found.rows.append
            lines_append = found.source_rows.append
            for row in reader:
                start = last + 1
                last = reader.line_num
                if last != start:
                    check(row, start, last)
                cells.count += len(row)
                if cells.count > cells.next_check:
                    cells.add(0, found, size)
                    share(found.rows[shared_up_to:])
                    shared_up_to = len(found.rows)
                if len(row) == size:
                    first = row[0]
                    if (not first or first.isspace()) and blank_row(row):
                        found.blank += 1
                        continue
                    rows_append(row)
                    lines_append(start)
                else:
                    add_row(found, row, start, size)
            share(found.rows[shared_up_to:])
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


class _CellCount:
    """Cells read so far, refused past the limit (checked per batch, not per cell)."""

    def __init__(self, name: str, limits: ReadLimits) -> None:
        self.name = name
        self.limits = limits
        self.count = 0
        self.next_check = min(limits.max_cells, 1 << 20)

    def add(self, cells: int, found: Rows, width: int) -> None:
        self.count += cells
        if self.count > self.limits.max_cells:
            rows = len(found.rows) + 1
            what = f"the file (at least, up to row {rows:,})"
            columns = max(width, -(-self.count // rows))
            raise InputError(over_cells(self.name, what, rows, columns, self.limits))
        self.next_check = min(self.limits.max_cells, self.count + (1 << 20))


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


def _add_bulk(found: Rows, rows: list[list[str]], starts: Sequence[int], size: int) -> int:
    """Add rows read in bulk, ``rows[i]`` starting on line ``starts[i]``; return their cells.

    Finds the rows needing attention (another cell count than the header, or a blank
    first cell, which every blank row has) with C-level passes, and copies the runs of
    ordinary rows between them as slices, so a clean file costs no Python per row.
    """
    count = len(rows)
    lengths = list(map(len, rows))
    cells = sum(lengths)  # as read, before padding: what the cell limit counts
    odd = set(compress(range(count), map(size.__ne__, lengths)))
    # Empty lines have no cell for itemgetter(0); next(iter(row), "") copes, but slower.
    empty_lines = 0 in lengths
    firsts = map(next, map(iter, rows), repeat("")) if empty_lines else map(itemgetter(0), rows)
    odd.update(compress(range(count), map(not_, map(str.strip, firsts))))
    done = 0
    for index in sorted(odd):
        found.rows.extend(rows[done:index])
        found.source_rows.extend(starts[done:index])
        add_row(found, rows[index], starts[index], size)
        done = index + 1
    found.rows.extend(rows[done:] if done else rows)
    found.source_rows.extend(starts[done:] if done else starts)
    return cells


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

    def __call__(self, row: list[str], start: int, end: int) -> None:
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
