"""Write a run's result beside the input: an xlsx workbook, or a set of CSV files.

The xlsx workbook has these sheets, in this order:

* ``Results`` - every input row in input order with all its original columns (headers as in
  the file, repeats kept), then ``TitanX Status``, ``TitanX Reason``, ``TitanX Job ID``,
  ``TitanX Batch`` and ``Source Row`` (the row's line or row number in the input file). Past
  Excel's 1,048,575 data rows the rows continue on ``Results (2)``, ``Results (3)``...
* ``Rejected`` - the same columns for the rows a person should fix or resend (statuses in
  :data:`csvscore.results.NEEDS_ATTENTION`), split the same way.
* ``Jobs`` - one row per batch: job ID, counts, credits, outcome.
* ``Summary`` - ``Item`` / ``Value`` pairs: input file and fingerprint, counts, credits, times,
  version, dry-run estimate, notes.
* ``Mapping`` - one row per input column: which API field it went to, and why.

Every sheet has a bold, frozen header row and an autofilter. Export values are stored as
text, never as formulas (see :mod:`csvscore.output.cells`). Credit figures are numbers shown with
exactly the decimals they came with (0.05 shows as 0.05).

Files are written to a temporary file in the same folder and renamed into place, so a crash
or Ctrl-C never leaves a half-written result, and the input file is never written to.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from csvscore.errors import OutputError, UsageError
from csvscore.mapping.model import Mapping
from csvscore.output.cells import excel_row, excel_value
from csvscore.output.csv_result import all_columns_writer, csv_writers
from csvscore.output.report import (
    JOB_COLUMNS,
    MAPPING_COLUMNS,
    SUMMARY_COLUMNS,
    Percent,
    job_rows,
    mapping_rows,
    result_header,
    results_by_index,
    summary_rows,
)
from csvscore.output.sheet_width import all_columns_path, shown_columns, too_wide, width_notes
from csvscore.read.table import Table
from csvscore.results import NEEDS_ATTENTION, RowResult, RunResult

FORMATS = ("xlsx", "csv")
# Excel allows 1,048,576 rows per sheet; one of them is the header.
EXCEL_MAX_DATA_ROWS = 1_048_575

_WIDTH_SAMPLE_ROWS = 200
_MIN_WIDTH = 8
_MAX_WIDTH = 50
_BOLD = Font(bold=True)


def default_output_path(input_path: Path, fmt: str = "xlsx") -> Path:
    """Where the result goes by default: ``<input stem>.scored.<fmt>`` beside the input.

    ``contacts.csv`` gives ``contacts.scored.xlsx`` (or ``contacts.scored.csv``); the name
    always differs from the input's, so the input is never overwritten.
    """
    _check_format(fmt)
    input_path = Path(input_path)
    return input_path.with_name(f"{input_path.stem}.scored.{fmt}")


class LiveResult(Protocol):
    """A run still in progress: row results arrive in table order as batches are answered.

    Lets the Results sheet be written while batches are still being sent (the write costs as
    much as the whole send at 100k rows, so doing both at once nearly halves the run).
    """

    def row_results(self) -> Iterator[RowResult]:
        """Every row's final result, in table order; blocks until each one is known."""
        ...

    def final(self) -> RunResult:
        """The finished run (blocks until it is)."""
        ...


def write_result(
    path: Path,
    table: Table,
    mapping: Mapping,
    result: RunResult | LiveResult,
    *,
    fmt: str = "xlsx",
    max_rows_per_sheet: int = EXCEL_MAX_DATA_ROWS,
) -> list[Path]:
    """Write the result of a run and return the files written (the main one first).

    ``fmt="xlsx"`` writes one workbook at ``path`` (sheets described in the module docstring).
    ``fmt="csv"`` writes the Results as CSV at ``path`` and, beside it, one CSV per other
    sheet: ``<stem>.rejected.csv``, ``<stem>.jobs.csv``, ``<stem>.summary.csv`` and
    ``<stem>.mapping.csv`` (``contacts.scored.csv`` -> ``contacts.scored.jobs.csv``...). The CSV
    files are UTF-8 with a BOM, use the input's delimiter when the input was a CSV (else a
    comma), and are not split or cut. Any field starting with ``=``, ``+``, ``-``, ``@``, tab
    or CR gets a leading ``'`` so a spreadsheet shows it as text instead of evaluating it
    (OWASP's CSV-injection advice); phone numbers like ``+1 415...`` therefore read ``'+1 415...``.

    If ``path`` does not end in ``.<fmt>``, an ``.xlsx``/``.csv`` suffix is swapped and any
    other is kept with ``.<fmt>`` appended. ``max_rows_per_sheet`` (tests use small values) is
    the number of data rows per Results/Rejected sheet before the next one starts.

    Raises :class:`~csvscore.errors.UsageError` for an unknown format,
    :class:`~csvscore.errors.OutputError` when a file cannot be written (missing folder, no
    permission, file open in Excel) or would overwrite the input. Nothing is left behind on
    failure: each file is written to a temporary name in its folder, then renamed into place.
    """
    _check_format(fmt)
    if not 1 <= max_rows_per_sheet <= EXCEL_MAX_DATA_ROWS:
        raise ValueError(f"max_rows_per_sheet must be 1..{EXCEL_MAX_DATA_ROWS}")
    target = _with_format_suffix(Path(path), fmt)
    writers: list[tuple[Path, Callable[[Path], None]]]
    if fmt == "xlsx":
        notes = width_notes(table, fmt, target)
        writers = [
            (
                target,
                lambda tmp: _write_xlsx(tmp, table, mapping, result, max_rows_per_sheet, notes),
            )
        ]
        if too_wide(table):
            # Written after the workbook, so a live result is final by then.
            writers.append((all_columns_path(target), lambda tmp: _all_columns(tmp, table, result)))
    else:  # CSV files are written after the run (a live result is waited for)
        done = result if isinstance(result, RunResult) else result.final()
        writers = csv_writers(target, table, mapping, done)
    return _write_atomically(writers, table.path)


# Widths of the TitanX columns while the results are not known yet (live writing).
_LIVE_RESULT_WIDTHS = [12, _MAX_WIDTH, 38, 8, 11]


def _column_widths(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> list[int]:
    """Widths from the header (bold, so a little wider) and a sample of values, capped."""
    widths = [len(str(h)) + 3 for h in header]
    n = len(widths)
    for row in rows:
        for i in range(min(n, len(row))):
            value = row[i]
            if value is None:
                continue
            length = (len(value) if isinstance(value, str) else len(str(value))) + 1
            if length > widths[i]:
                widths[i] = length
    return [min(_MAX_WIDTH, max(_MIN_WIDTH, w)) for w in widths]


def _sample_result_rows(
    table: Table, row_results: list[RowResult], shown: int | None
) -> Iterator[list[Any]]:
    for i, row in enumerate(table.rows[:_WIDTH_SAMPLE_ROWS]):
        r = row_results[i]
        yield [*row[:shown], r.status, r.reason, r.job_id, r.batch, table.source_rows[i]]


def _all_columns(tmp: Path, table: Table, result: RunResult | LiveResult) -> None:
    done = result if isinstance(result, RunResult) else result.final()
    all_columns_writer(table, done)(tmp)


# --- xlsx ---------------------------------------------------------------------------------


def _write_xlsx(
    tmp: Path,
    table: Table,
    mapping: Mapping,
    result: RunResult | LiveResult,
    max_rows: int,
    notes: list[str],
) -> None:
    wb = Workbook(write_only=True)
    try:
        _fill_workbook(wb, table, mapping, result, max_rows, notes)
        with open(tmp, "xb") as fh:
            wb.save(fh)
    except BaseException:
        _discard_workbook(wb)
        raise


def _fill_workbook(
    wb: Any,
    table: Table,
    mapping: Mapping,
    result: RunResult | LiveResult,
    max_rows: int,
    notes: list[str],
) -> None:
    # Past Excel's 16,384 columns a sheet shows the first ones (sheet_width.py says so).
    shown = shown_columns(table) if too_wide(table) else None
    header = result_header(table)
    if shown is not None:
        header = header[:shown] + header[len(table.headers) :]
    if isinstance(result, RunResult):
        known = results_by_index(table, result)
        widths = _column_widths(header, _sample_result_rows(table, known, shown))
        row_results: Iterator[RowResult] = iter(known)
    else:
        sample = (list(row[:shown]) for row in table.rows[:_WIDTH_SAMPLE_ROWS])
        widths = _column_widths(table.headers[:shown], sample) + _LIVE_RESULT_WIDTHS
        row_results = result.row_results()
    results = _SheetSeries(wb, "Results", header, widths, max_rows)
    rejected = _SheetSeries(wb, "Rejected", header, widths, max_rows)
    owner = results.current  # any sheet of the workbook can own text cells' styles
    source_rows = table.source_rows
    attention = frozenset(NEEDS_ATTENTION)

    # The hot loop: one row of the input per pass, kept free of per-cell work where possible.
    for i, (row, r) in enumerate(zip(table.rows, row_results, strict=True)):
        values = excel_row(owner, row if shown is None else row[:shown])
        values.append(excel_value(owner, r.status))
        values.append(excel_value(owner, r.reason))
        values.append(excel_value(owner, r.job_id))
        values.append(r.batch)
        values.append(source_rows[i])
        results.append(values)
        if r.status in attention:
            rejected.append(values)
    results.finish()
    rejected.finish()

    if not isinstance(result, RunResult):
        result = result.final()
    _write_small_sheet(wb, "Jobs", JOB_COLUMNS, job_rows(result))
    summary = summary_rows(table, mapping, result, extra_notes=notes)
    _write_small_sheet(wb, "Summary", SUMMARY_COLUMNS, summary)
    _write_small_sheet(wb, "Mapping", MAPPING_COLUMNS, mapping_rows(mapping))


class _SheetSeries:
    """A sheet that continues on "<title> (2)", "<title> (3)"... when it is full."""

    def __init__(
        self, wb: Any, title: str, header: Sequence[Any], widths: list[int], limit: int
    ) -> None:
        self.wb = wb
        self.title = title
        self.header = header
        self.widths = widths
        self.limit = limit
        self.sheets: list[Any] = []
        self.counts: list[int] = []
        self.count = 0
        self.current: Any = self._new_sheet()

    def _new_sheet(self) -> Any:
        if self.sheets:
            self.counts.append(self.count)
            self.count = 0
            title = f"{self.title} ({len(self.sheets) + 1})"
            ws = self.wb.create_sheet(title, self.wb.index(self.sheets[-1]) + 1)
        else:
            ws = self.wb.create_sheet(self.title)
        _start_sheet(ws, self.header, self.widths)
        self.sheets.append(ws)
        return ws

    def append(self, values: list[Any]) -> None:
        if self.count == self.limit:
            self.current = self._new_sheet()
        self.current.append(values)
        self.count += 1

    def finish(self) -> None:
        self.counts.append(self.count)
        for ws, count in zip(self.sheets, self.counts, strict=True):
            _set_filter(ws, len(self.header), count)


def _start_sheet(ws: Any, header: Sequence[Any], widths: list[int]) -> None:
    """Column widths and frozen header: both must be set before the first row is written."""
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    cells = []
    for text in header:
        value = excel_value(ws, text)
        cell = value if isinstance(value, Cell) else WriteOnlyCell(ws, value)
        cell.font = _BOLD
        cells.append(cell)
    ws.append(cells)


def _set_filter(ws: Any, columns: int, data_rows: int) -> None:
    ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{data_rows + 1}"


def _write_small_sheet(wb: Any, title: str, header: Sequence[str], rows: list[list[Any]]) -> None:
    ws = wb.create_sheet(title)
    _start_sheet(ws, header, _column_widths(header, rows))
    for row in rows:
        ws.append([_xlsx_value(ws, v) for v in row])
    _set_filter(ws, len(header), len(rows))


def _xlsx_value(ws: Any, value: Any) -> Any:
    if isinstance(value, Decimal):
        return _decimal_cell(ws, value)
    if isinstance(value, Percent):
        cell = WriteOnlyCell(ws, float(value))
        cell.number_format = "0%"
        return cell
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return excel_value(ws, value)


def _decimal_cell(ws: Any, value: Decimal) -> Any:
    """A number showing exactly the decimals of ``value``, or text if Excel cannot hold it.

    Excel keeps 15 significant digits; a value that does not survive that is written as its
    exact text rather than shown rounded.
    """
    if not value.is_finite():
        return str(value)
    as_float = float(value)
    if Decimal(f"{as_float:.15g}") != value:
        return format(value, "f")
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    cell = WriteOnlyCell(ws, as_float)
    cell.number_format = "0." + "0" * places if places else "0"
    return cell


def _discard_workbook(wb: Any) -> None:
    """Remove the temporary files openpyxl streams write-only sheets to.

    openpyxl deletes them on save or at interpreter exit; after a failure we do it now so a
    long-lived process does not collect them. This uses openpyxl internals, so it is
    best-effort and never hides the original error.
    """
    for ws in wb.worksheets:
        try:
            rows = getattr(ws, "_rows", None)
            if rows is not None:
                rows.close()
            writer = getattr(ws, "_writer", None)
            if writer is not None:
                writer.close()
                writer.cleanup()
        except Exception:  # best-effort cleanup: the caller re-raises the real error
            pass


# --- files --------------------------------------------------------------------------------


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def output_target(path: Path, fmt: str = "xlsx") -> Path:
    """Where :func:`write_result` writes for ``path`` (the format's suffix swapped or added)."""
    _check_format(fmt)
    return _with_format_suffix(Path(path), fmt)


def _with_format_suffix(path: Path, fmt: str) -> Path:
    suffix = path.suffix.lower()
    if suffix == f".{fmt}":
        return path
    if suffix in (f".{f}" for f in FORMATS):
        return path.with_suffix(f".{fmt}")
    return path.with_name(f"{path.name}.{fmt}")


def _temp_path(target: Path) -> Path:
    # Same folder, so os.replace is an atomic rename; hidden and random, so it never clashes.
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _write_atomically(
    writers: list[tuple[Path, Callable[[Path], None]]], input_path: Path
) -> list[Path]:
    input_resolved = Path(input_path).resolve()
    for target, _ in writers:
        if target.resolve() == input_resolved:
            raise OutputError(
                f"the result would overwrite the input file {target}; choose another name"
            )
    temps: list[Path] = []
    current = writers[0][0]
    try:
        for target, write in writers:
            current = target
            tmp = _temp_path(target)
            temps.append(tmp)
            write(tmp)
        for tmp, (target, _) in zip(temps, writers, strict=True):
            current = target
            os.replace(tmp, target)
    except OSError as exc:
        _remove(temps)
        raise OutputError(_os_error_message(current, exc)) from exc
    except BaseException:
        _remove(temps)
        raise
    return [target for target, _ in writers]


def _remove(paths: list[Path]) -> None:
    for path in paths:
        # Nothing more can be done if this fails; the original error matters more.
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def _os_error_message(target: Path, exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError) and not target.parent.is_dir():
        return f"cannot write {target}: the folder {target.parent} does not exist"
    if isinstance(exc, PermissionError):
        return (
            f"cannot write {target}: permission denied. If the file is open in another "
            "program (Excel, for example), close it and run again"
        )
    return f"cannot write {target}: {exc.strerror or exc}"
