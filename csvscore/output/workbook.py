"""Write a run's result beside the input: an xlsx workbook, or a set of CSV files.

The workbook answers, in this order, the three questions a person opens it with: what happened,
which rows do I fix, what did it cost. Its sheets:

* ``Summary`` - a small dashboard: rows per status in the status colours, each with what to do
  next, a bar chart of them, the credits charged in this run and for the file in all, credits
  remaining, why the run stopped if it did, then the details (file, times in local time, version).
* ``Results`` - every input row in input order: ``Source Row``, ``TitanX Status``, ``TitanX
  Reason`` (frozen, always in view), ``TitanX Note``, ``TitanX Job ID``, ``TitanX Batch``, then
  all the export's columns unchanged. Past Excel's 1,048,575 data rows the rows continue on
  ``Results (2)``...
* ``To fix`` - the rows a person can fix and send again (skipped, rejected), same columns.
* ``Check before resending`` - rows whose outcome is unknown (maybe charged), under a warning.
* ``Jobs`` - one row per batch: outcome, job ID, counts, credits, when, and the technical detail
  (HTTP status, error text) once per batch rather than on every row.
* ``Mapping`` - one row per input column: which API field it went to, and why.

One colour per status everywhere (conditional formats on the row sheets, the same fills on the
Summary and its chart; :mod:`csvscore.output.style`). Times are real dates in local time, credits
one number format, counts numbers; the export's values stay text (ZIP codes, IDs, phones), with
Excel's "number stored as text" warning switched off for them. Every sheet prints landscape,
one page wide, its header repeated; the Summary on one page. No cell is ever a formula.

Built with xlsxwriter, except the rows of the three row sheets, which are streamed as worksheet
XML while the run goes (:mod:`csvscore.output.rows_xml`, for speed) and spliced into the sheets
xlsxwriter writes. Files are written to a temporary file in the same folder and renamed into
place, so a crash or Ctrl-C never leaves a half-written result, and the input is never written to.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from csvscore.errors import OutputError
from csvscore.mapping.model import Mapping
from csvscore.output import style
from csvscore.output.csv_result import all_columns_writer, csv_writers
from csvscore.output.destination import check_format, temp_path, with_format_suffix
from csvscore.output.report import (
    FROZEN_COLUMNS,
    JOB_COLUMNS,
    MAPPING_COLUMNS,
    RESULT_COLUMNS,
    STATUS_COLUMN,
    STATUS_LABELS,
    Percent,
    Summary,
    When,
    decimal_or_text,
    job_rows,
    local_time,
    mapping_rows,
    result_header,
    results_by_index,
    summary,
)
from csvscore.output.rows_xml import (
    CENTRED_STYLE,
    DATE_STYLE,
    EXCEL_MAX_DATA_ROWS,
    RowWriter,
    cell_text,
    column_letters,
)
from csvscore.output.score_columns import (
    CALL_LIST_SHEET,
    SCORE_LABELS,
    CallList,
    ScoreSummary,
    call_list,
    call_list_lines,
    lead_text,
    score_cells,
    score_header,
)
from csvscore.output.sheet_width import EXCEL_MAX_COLUMNS, all_columns_path, too_wide
from csvscore.read.table import Table
from csvscore.results import CHECK_FIRST, TO_FIX, RowResult, RunResult
from csvscore.scores.run import RunScores

RESULTS_SHEET = "Results"
TO_FIX_SHEET = "To fix"  # rows a person can fix and send again: skipped, rejected
CHECK_SHEET = "Check before resending"  # rows whose outcome is unknown: maybe charged
CHECK_WARNING = (
    "These rows were sent but no answer came back: they may have been charged. Do not copy them "
    "into a new file. Drop the same export again later: csvscore asks TitanX what happened."
)
NOTHING_TO_CHECK = "Nothing to check: every row that was sent got an answer."
# Deflate level: 3 is within 5% of 6's size at under half its time (measured on 100k rows).
_COMPRESSION = 3


class LiveResult(Protocol):
    """A run still in progress: row results arrive in table order as batches are answered.

    Lets the row sheets be written while batches are still being sent.
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
    scores: RunScores | None = None,
    scores_hint: str = "",
) -> list[Path]:
    """Write the result of a run and return the files written (the main one first).

    ``fmt="xlsx"`` writes one workbook at ``path`` (sheets described in the module docstring).
    ``fmt="csv"`` writes the Results as CSV at ``path`` and, beside it, one CSV per other
    sheet: ``<stem>.to-fix.csv``, ``<stem>.check-first.csv``, ``<stem>.jobs.csv``,
    ``<stem>.summary.csv`` and ``<stem>.mapping.csv``. The CSV files are UTF-8 with a BOM, use
    the input's delimiter when the input was a CSV (else a comma), and are not split or cut. Any
    field starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'`` so a
    spreadsheet shows it as text instead of evaluating it (OWASP's CSV-injection advice).

    If ``path`` does not end in ``.<fmt>``, an ``.xlsx``/``.csv`` suffix is swapped and any
    other is kept with ``.<fmt>`` appended. ``max_rows_per_sheet`` (tests use small values) is
    the number of data rows per row sheet before the next one starts.

    ``scores`` adds the score columns to the Results, a Call List sheet (``<stem>.call-list.csv``)
    and the score counts to the Summary (:mod:`csvscore.output.score_columns`); without them the
    result is as it was before scores existed, plus ``scores_hint`` as one Summary line when
    given (how to get scores).

    Raises :class:`~csvscore.errors.UsageError` for an unknown format,
    :class:`~csvscore.errors.OutputError` when a file cannot be written (missing folder, no
    permission, file open in Excel) or would overwrite the input. Nothing is left behind on
    failure: each file is written to a temporary name in its folder, then renamed into place.
    """
    check_format(fmt)
    if not 1 <= max_rows_per_sheet <= EXCEL_MAX_DATA_ROWS:
        raise ValueError(f"max_rows_per_sheet must be 1..{EXCEL_MAX_DATA_ROWS}")
    target = with_format_suffix(Path(path), fmt)
    writers: list[tuple[Path, Callable[[Path], None]]]
    if fmt == "xlsx":
        extras = _Extras(scores, scores_hint)
        writers = [
            (
                target,
                lambda tmp: _write_xlsx(tmp, table, mapping, result, max_rows_per_sheet, extras),
            )
        ]
        if too_wide(table):
            # Written after the workbook, so a live result is final by then.
            writers.append((all_columns_path(target), lambda tmp: _all_columns(tmp, table, result)))
    else:  # CSV files are written after the run (a live result is waited for)
        done = result if isinstance(result, RunResult) else result.final()
        writers = csv_writers(target, table, mapping, done, scores=scores, scores_hint=scores_hint)
    return _write_atomically(writers, table.path)


def output_target(path: Path, fmt: str = "xlsx") -> Path:
    """Where :func:`write_result` writes for ``path`` (the format's suffix swapped or added)."""
    check_format(fmt)
    return with_format_suffix(Path(path), fmt)


def _all_columns(tmp: Path, table: Table, result: RunResult | LiveResult) -> None:
    done = result if isinstance(result, RunResult) else result.final()
    all_columns_writer(table, done)(tmp)


# -- the row sheets --------------------------------------------------------------------------


@dataclass
class _Series:
    """One row sheet, continued on "<title> (2)"... when it is full."""

    title: str
    folder: Path
    header: list[str]
    limit: int
    warning: str = ""
    parts: list[RowWriter] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    styles: dict[int, int] = field(default_factory=dict)  # cell styles by column (rows_xml)

    @property
    def columns(self) -> int:
        return len(self.header)

    @property
    def top(self) -> int:  # the header's 0-based row: under the warning line, if any
        return 1 if self.warning else 0

    def write(self, values: Sequence[Any]) -> None:
        if not self.parts or self.parts[-1].rows == self.limit:
            n = len(self.parts) + 1
            path = self.folder / f"{self.title.replace(' ', '_')}-{n}.xml"
            self.parts.append(
                RowWriter(path, self.columns, first_row=self.top + 2, styles=self.styles)
            )
        self.parts[-1].write(values)

    def close(self) -> None:
        for part in self.parts:
            part.close()

    def sheets(self) -> list[tuple[str, RowWriter | None]]:
        if not self.parts:
            return [(self.title, None)]
        names = [self.title] + [f"{self.title} ({n})" for n in range(2, len(self.parts) + 1)]
        return list(zip(names, self.parts, strict=True))


@dataclass
class _Extras:
    """What a result shows about scores (none: the result as before scores existed)."""

    scores: RunScores | None = None
    hint: str = ""  # one Summary line on how to get scores


def _write_xlsx(
    tmp: Path,
    table: Table,
    mapping: Mapping,
    result: RunResult | LiveResult,
    max_rows: int,
    extras: _Extras | None = None,
) -> None:
    extras = extras or _Extras()
    scores = extras.scores
    # Past Excel's 16,384 columns a sheet shows the first ones; every column goes to the
    # .all-columns.csv beside the workbook (sheet_width.py, said before sending).
    room = EXCEL_MAX_COLUMNS - len(RESULT_COLUMNS) - (len(score_header(scores)) if scores else 0)
    shown = room if len(table.headers) > room else None
    header = result_header(table, shown)
    with tempfile.TemporaryDirectory(prefix="csvscore-") as folder:
        work = Path(folder)
        results_header = header
        if scores is not None:  # the score block goes between the status and the export columns
            cut = len(RESULT_COLUMNS)
            results_header = [*header[:cut], *score_header(scores), *header[cut:]]
        # Lead status and Call Priority are short codes: centred, they stay apart from the
        # batch number and the phone number beside them.
        start = len(RESULT_COLUMNS)
        priority = {start: CENTRED_STYLE, start + 1: CENTRED_STYLE} if scores is not None else {}
        series = [
            _Series(RESULTS_SHEET, work, results_header, max_rows, styles=priority),
            _Series(TO_FIX_SHEET, work, header, max_rows),
            _Series(CHECK_SHEET, work, header, max_rows, warning=CHECK_WARNING),
        ]
        results, to_fix, check = series
        if isinstance(result, RunResult):
            row_results: Iterator[RowResult] = iter(results_by_index(table, result))
        else:
            row_results = result.row_results()
        sample: list[list[Any]] = []
        results_sample: list[list[Any]] = sample
        source_rows = table.source_rows
        fixable, unknown = frozenset(TO_FIX), frozenset(CHECK_FIRST)
        try:
            if scores is None:
                # The hot loop: one input row per pass, serialised once, written up to twice.
                for i, (row, r) in enumerate(zip(table.rows, row_results, strict=True)):
                    if shown is not None:
                        row = row[:shown]
                    values = [source_rows[i], r.status, r.reason, r.note, r.job_id, r.batch, *row]
                    results.write(values)
                    if r.status in fixable:
                        to_fix.write(values)
                    elif r.status in unknown:
                        check.write(values)
                    if i < style.WIDTH_SAMPLE_ROWS:
                        sample.append(values)
            else:
                results_sample = []
                for i, (row, r) in enumerate(zip(table.rows, row_results, strict=True)):
                    if shown is not None:
                        row = row[:shown]
                    status = [source_rows[i], r.status, r.reason, r.note, r.job_id, r.batch]
                    scored = [*status, *score_cells(scores, r, local_time), *row]
                    results.write(scored)
                    if r.status in fixable:
                        to_fix.write([*status, *row])
                    elif r.status in unknown:
                        check.write([*status, *row])
                    if i < style.WIDTH_SAMPLE_ROWS:
                        sample.append([*status, *row])
                        results_sample.append(scored)
        finally:
            for s in series:
                s.close()
        final = result if isinstance(result, RunResult) else result.final()
        results.widths = style.column_widths(results_header, results_sample)
        for s in (to_fix, check):
            s.widths = style.column_widths(header, sample)
        calls = None
        if scores is not None:
            calls = call_list(table, mapping, final.rows, scores, local_time)
            listed = _Series(
                CALL_LIST_SHEET,
                work,
                calls.header,
                max_rows,
                styles={
                    calls.priority_column: CENTRED_STYLE,
                    calls.status_columns[0]: CENTRED_STYLE,
                },
            )
            try:
                for values in calls.rows:
                    listed.write(values)
            finally:
                listed.close()
            listed.widths = style.column_widths(calls.header, calls.rows[: style.WIDTH_SAMPLE_ROWS])
            series.insert(1, listed)
        shell = work / "shell.xlsx"
        splices = _build_shell(shell, table, mapping, final, series, extras, calls)
        _splice(shell, splices, tmp)


@dataclass
class _Splice:
    rows: RowWriter
    last_row: int  # 1-based
    last_column: str


def _build_shell(
    path: Path,
    table: Table,
    mapping: Mapping,
    result: RunResult,
    series: list[_Series],
    extras: _Extras,
    calls: CallList | None,
) -> dict[str, _Splice]:
    """Every sheet but the row sheets' data rows, with xlsxwriter; where those rows go."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    fmt = _Formats(wb)
    sheet_index = 0
    splices: dict[str, _Splice] = {}
    overview = summary(table, mapping, result, scores=extras.scores, scores_hint=extras.hint)

    def add(title: str) -> Any:
        nonlocal sheet_index
        sheet_index += 1
        return wb.add_worksheet(title)

    summary_ws = add("Summary")
    for s in series:
        letters = column_letters(s.columns)
        for title, part in s.sheets():
            ws = add(title)
            rows = part.rows if part else 0
            _row_sheet(ws, fmt, s, rows)
            if s.title == RESULTS_SHEET and extras.scores is not None:
                _score_colours(ws, fmt, s, rows, extras.scores)
            elif s.title == CALL_LIST_SHEET and calls is not None and extras.scores is not None:
                _call_list_colours(ws, fmt, rows, calls, extras.scores)
            if part is not None:
                splices[f"xl/worksheets/sheet{sheet_index}.xml"] = _Splice(
                    part, s.top + 1 + rows, letters[-1]
                )
    jobs_ws = add("Jobs")
    _small_sheet(jobs_ws, fmt, JOB_COLUMNS, job_rows(result), long_column=len(JOB_COLUMNS) - 1)
    mapping_ws = add("Mapping")
    _small_sheet(mapping_ws, fmt, MAPPING_COLUMNS, mapping_rows(mapping), long_column=5)
    _summary_sheet(wb, summary_ws, fmt, overview)
    summary_ws.activate()
    wb.close()
    return splices


class _Formats:
    def __init__(self, wb: Any) -> None:
        # The streamed rows name their date cells' style by number (rows_xml.DATE_STYLE), so it
        # is registered before any other: xlsxwriter numbers styles in the order first used.
        self.row_when = wb.add_format({"num_format": style.DATETIME_FORMAT})
        self.row_centred = wb.add_format({"align": "center"})
        reserved = (self.row_when._get_xf_index(), self.row_centred._get_xf_index())
        if reserved != (DATE_STYLE, CENTRED_STYLE):  # xlsxwriter changed how it numbers styles
            raise RuntimeError("the row sheets' cell styles are not where the rows expect them")
        self.bold = wb.add_format({"bold": True})
        self.header = wb.add_format({"bold": True, "bottom": 1, "text_wrap": False})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.section = wb.add_format({"bold": True, "font_size": 12, "font_color": "#1F4E78"})
        self.warning = wb.add_format({"bold": True, "font_color": "#9C0006"})
        self.calm = wb.add_format({"italic": True, "font_color": "#006100"})
        self.text = wb.add_format({"text_wrap": True, "valign": "top", "indent": 1})
        self.plain = wb.add_format({"valign": "top"})
        self.count = wb.add_format({"num_format": style.COUNT_FORMAT, "valign": "top"})
        self.credits = wb.add_format({"num_format": style.CREDITS_FORMAT, "valign": "top"})
        self.when = wb.add_format({"num_format": style.DATETIME_FORMAT, "valign": "top"})
        self.percent = wb.add_format({"num_format": style.PERCENT_FORMAT, "valign": "top"})
        self.status = {
            s: wb.add_format({"bg_color": fill, "font_color": ink, "valign": "top"})
            for s, (fill, ink) in style.STATUS_COLOURS.items()
        }
        self.score_state = {
            s: wb.add_format({"bg_color": fill, "font_color": ink, "valign": "top"})
            for s, (fill, ink) in style.SCORE_STATE_COLOURS.items()
        }
        self.priority = {
            p: wb.add_format({"bg_color": fill, "font_color": ink, "valign": "top"})
            for p, (fill, ink) in style.PRIORITY_COLOURS.items()
        }


_LINE_HEIGHT = 15  # points per line of 11-point text


def _lines(text: str, width: float) -> int:
    """How many lines ``text`` takes wrapped in a column ``width`` characters wide."""
    per_line = max(8, int(width) - 2)
    return sum(max(1, -(-style.text_width(part) // per_line)) for part in text.split("\n"))


def _fit_row(ws: Any, row: int, texts: Sequence[tuple[str, float]]) -> None:
    """Make a row tall enough for its wrapped texts (spreadsheets do not always do it)."""
    lines = max((_lines(text, width) for text, width in texts if text), default=1)
    if lines > 1:
        ws.set_row(row, _LINE_HEIGHT * min(lines, 15))


def _print_setup(ws: Any, header_row: int, *, one_page: bool = False) -> None:
    ws.set_landscape()
    ws.set_paper(9)  # A4; Excel adapts to Letter on printers that have no A4
    if one_page:
        ws.fit_to_pages(1, 1)
    else:
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(header_row)


def _row_sheet(ws: Any, fmt: _Formats, s: _Series, rows: int) -> None:
    header, widths, top = s.header, s.widths, s.top
    if s.warning:
        ws.write_string(
            0, 0, s.warning if rows else NOTHING_TO_CHECK, fmt.warning if rows else fmt.calm
        )
    for j, text in enumerate(header):
        ws.write_string(top, j, cell_text(text), fmt.header)
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    # Three columns stay in view: Source Row, Status, Reason; on the Call List, name and number.
    ws.freeze_panes(top + 1, FROZEN_COLUMNS)
    ws.autofilter(top, 0, top + max(rows, 1), len(header) - 1)
    if rows and s.title != CALL_LIST_SHEET:
        first, last = top + 1, top + rows
        for status, status_fmt in fmt.status.items():
            ws.conditional_format(
                first,
                STATUS_COLUMN,
                last,
                STATUS_COLUMN,
                {"type": "cell", "criteria": "==", "value": f'"{status}"', "format": status_fmt},
            )
    # The export's values are text on purpose (ZIPs, IDs, phones): no green triangles.
    ws.ignore_errors({"number_stored_as_text": f"A{top + 2}:XFD1048576"})
    _print_setup(ws, top)


def _small_sheet(
    ws: Any, fmt: _Formats, header: Sequence[str], rows: list[list[Any]], *, long_column: int
) -> None:
    for j, text in enumerate(header):
        ws.write_string(0, j, cell_text(text), fmt.header)
    shown = [[_shown(v) for v in row] for row in rows]
    widths = style.column_widths(header, shown)
    widths[long_column] = max(widths[long_column], 40)
    for j, width in enumerate(widths):
        ws.set_column(j, j, width)
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row):
            if j == long_column and isinstance(value, str) and value:
                ws.write_string(i, j, cell_text(value), fmt.text)
            else:
                _write(ws, fmt, i, j, value)
        long = row[long_column]
        if isinstance(long, str):
            _fit_row(ws, i, [(long, widths[long_column])])
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(header) - 1)
    _print_setup(ws, 0)


def _shown(value: Any) -> Any:
    if isinstance(value, When):
        return "2026-12-01 10:14:00"
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _write(ws: Any, fmt: _Formats, row: int, col: int, value: Any) -> None:
    """One cell of a small sheet, by type; text is always text (never a formula)."""
    if value is None or value == "":
        return
    if isinstance(value, When):
        moment = local_time(value)
        if moment is not None:
            ws.write_datetime(row, col, moment, fmt.when)
        return
    if isinstance(value, Percent):
        ws.write_number(row, col, float(value), fmt.percent)
    elif isinstance(value, Decimal):
        number = decimal_or_text(value)
        if isinstance(number, float):
            ws.write_number(row, col, number, fmt.credits)
        else:
            ws.write_string(row, col, number, fmt.plain)
    elif isinstance(value, bool):
        ws.write_string(row, col, "yes" if value else "no", fmt.plain)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, fmt.count)
    else:
        ws.write_string(row, col, cell_text(str(value)), fmt.plain)


def _summary_sheet(wb: Any, ws: Any, fmt: _Formats, s: Summary) -> None:
    """The dashboard: what happened (with a chart), what it cost, why it stopped, details."""
    widths = (36, 20, 62)
    ws.set_column(0, 0, widths[0])
    ws.set_column(1, 1, widths[1])  # room for a date and time
    ws.set_column(2, 2, widths[2], fmt.text)
    both = widths[1] + widths[2]
    ws.write_string(0, 0, "csvscore result", fmt.title)
    ws.write_string(0, 1, cell_text(s.title), fmt.bold)
    row = 2
    ws.write_string(row, 0, "What happened", fmt.section)
    ws.write_string(row, 1, "Rows", fmt.bold)
    ws.write_string(row, 2, "What to do next", fmt.bold)
    first_status = row + 1
    for status, n, advice in s.statuses:
        row += 1
        ws.write_string(
            row, 0, STATUS_LABELS.get(status, status), fmt.status.get(status, fmt.plain)
        )
        ws.write_number(row, 1, n, fmt.count)
        ws.write_string(row, 2, cell_text(advice), fmt.text)
        _fit_row(ws, row, [(advice, widths[2])])
    last_status = row
    row += 1
    ws.write_string(row, 0, "Rows in all", fmt.bold)
    ws.write_number(row, 1, s.total_rows, fmt.count)
    if s.scores_hint:
        row += 1
        ws.write_string(row, 0, "Scores", fmt.plain)
        ws.merge_range(row, 1, row, 2, cell_text(s.scores_hint), fmt.text)
        _fit_row(ws, row, [(s.scores_hint, both)])
    if s.stopped:
        row += 2
        ws.write_string(row, 0, "Stopped early", fmt.warning)
        ws.merge_range(row, 1, row, 2, cell_text(s.stopped), fmt.text)
        _fit_row(ws, row, [(s.stopped, both)])
    if s.scores is not None:
        row = _scores_block(ws, fmt, s.scores, row + 2, widths)
    row += 2
    ws.write_string(row, 0, "What it cost", fmt.section)
    for label, value in s.money:
        row += 1
        ws.write_string(row, 0, label, fmt.plain)
        if isinstance(value, str):
            ws.merge_range(row, 1, row, 2, cell_text(value), fmt.text)
            _fit_row(ws, row, [(value, both)])
        else:
            _write(ws, fmt, row, 1, value)
    row += 2
    ws.write_string(row, 0, "Details", fmt.section)
    for label, value in s.details:
        row += 1
        ws.write_string(row, 0, label, fmt.plain)
        if isinstance(value, str) and not isinstance(value, When):
            ws.merge_range(row, 1, row, 2, cell_text(value), fmt.plain)
        else:
            _write(ws, fmt, row, 1, value)
    if s.notes:
        row += 2
        ws.write_string(row, 0, "Notes", fmt.section)
        for kind, text in s.notes:
            row += 1
            ws.write_string(row, 0, kind, fmt.plain)
            ws.merge_range(row, 1, row, 2, cell_text(text), fmt.text)
            _fit_row(ws, row, [(text, both)])
    if s.statuses:
        _status_chart(wb, ws, s, first_status, last_status)
    _print_setup(ws, 0, one_page=True)


def _scores_block(ws: Any, fmt: _Formats, s: ScoreSummary, row: int, widths: Sequence[int]) -> int:
    """The Summary's Scores: rows per score state and per lead status, the Call List; the last
    row written."""
    both = widths[1] + widths[2]
    ws.write_string(row, 0, "Scores", fmt.section)
    ws.write_string(row, 1, "Rows", fmt.bold)
    ws.write_string(row, 2, "What to do next", fmt.bold)
    for state, n, advice in s.states:
        row += 1
        label = SCORE_LABELS.get(state, state)
        ws.write_string(row, 0, label, fmt.score_state.get(state, fmt.plain))
        ws.write_number(row, 1, n, fmt.count)
        ws.write_string(row, 2, cell_text(advice), fmt.text)
        _fit_row(ws, row, [(advice, widths[2])])
    if s.leads:
        row += 2
        ws.write_string(row, 0, "TitanX lead status", fmt.bold)
        ws.write_string(row, 1, "Rows", fmt.bold)
        ws.write_string(row, 2, "What it means", fmt.bold)
        for status, n, priority, meaning in s.leads:
            row += 1
            cell_format = (
                fmt.priority.get(priority, fmt.plain) if isinstance(priority, int) else fmt.plain
            )
            ws.write_string(row, 0, cell_text(status), cell_format)
            ws.write_number(row, 1, n, fmt.count)
            text = lead_text(priority, meaning)
            ws.write_string(row, 2, cell_text(text), fmt.text)
            _fit_row(ws, row, [(text, widths[2])])
    row += 2
    for label, n, text in call_list_lines(s):
        ws.write_string(row, 0, label, fmt.bold)
        ws.write_number(row, 1, n, fmt.count)
        ws.write_string(row, 2, cell_text(text), fmt.text)
        _fit_row(ws, row, [(text, widths[2])])
        row += 1
    for label, value in s.details:
        ws.write_string(row, 0, label, fmt.plain)
        if isinstance(value, str) and not isinstance(value, When):
            # Written as a string: an address is a fact here, not a link to follow.
            ws.merge_range(row, 1, row, 2, "", fmt.plain)
            ws.write_string(row, 1, cell_text(value), fmt.plain)
        else:
            _write(ws, fmt, row, 1, value)
        row += 1
    row -= 1
    if s.problem:
        row += 1
        ws.write_string(row, 0, "Scores not updated", fmt.warning)
        ws.merge_range(row, 1, row, 2, cell_text(s.problem), fmt.text)
        _fit_row(ws, row, [(s.problem, both)])
    return row


def _status_chart(wb: Any, ws: Any, s: Summary, first: int, last: int) -> None:
    """A native bar chart of the rows per status, each bar in its status colour."""
    chart = wb.add_chart({"type": "bar"})
    chart.add_series(
        {
            "name": "Rows",
            "categories": ["Summary", first, 0, last, 0],
            "values": ["Summary", first, 1, last, 1],
            "points": [
                {"fill": {"color": style.STATUS_COLOURS[st][0]}, "border": {"color": "#808080"}}
                for st, _n, _a in s.statuses
            ],
            "data_labels": {"value": True},
            "gap": 60,
        }
    )
    chart.set_title({"name": "Rows per status", "name_font": {"size": 11, "bold": True}})
    chart.set_legend({"none": True})
    chart.set_y_axis({"reverse": True, "major_gridlines": {"visible": False}})
    chart.set_x_axis({"major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
    chart.set_size({"width": 420, "height": 40 + 34 * len(s.statuses) + 60})
    ws.insert_chart(first - 1, 3, chart, {"x_offset": 12})


# -- the score colours ---------------------------------------------------------------------


def _cell_rule(value: Any, cell_format: Any) -> dict[str, Any]:
    shown = f'"{value.replace(chr(34), chr(34) * 2)}"' if isinstance(value, str) else value
    return {"type": "cell", "criteria": "==", "value": shown, "format": cell_format}


def _status_rules(
    ws: Any, fmt: _Formats, first: int, last: int, columns: Sequence[int], scores: RunScores
) -> None:
    """Lead and phone statuses in their priority's colour (the statuses the data file lists)."""
    p = scores.priorities
    rules = [
        (status, fmt.priority[p.priority(status) or 0])
        for status in p.listed()
        if (p.priority(status) or 0) in fmt.priority
    ]
    for column in columns:
        for status, cell_format in rules:
            ws.conditional_format(first, column, last, column, _cell_rule(status, cell_format))


def _priority_rules(ws: Any, fmt: _Formats, first: int, last: int, column: int) -> None:
    for priority, cell_format in fmt.priority.items():
        ws.conditional_format(first, column, last, column, _cell_rule(priority, cell_format))


def _score_colours(ws: Any, fmt: _Formats, s: _Series, rows: int, scores: RunScores) -> None:
    """The Results' score block: state, priority and statuses in their colours."""
    if not rows:
        return
    first, last = s.top + 1, s.top + rows
    start = len(RESULT_COLUMNS)  # the score block follows the status columns
    phones = len(scores.phone_columns)
    _priority_rules(ws, fmt, first, last, start + 1)
    _status_rules(ws, fmt, first, last, [start, *range(start + 4, start + 4 + phones)], scores)
    state = start + 4 + phones
    for name, cell_format in fmt.score_state.items():
        ws.conditional_format(first, state, last, state, _cell_rule(name, cell_format))


def _call_list_colours(
    ws: Any, fmt: _Formats, rows: int, calls: CallList, scores: RunScores
) -> None:
    if not rows:
        return
    _priority_rules(ws, fmt, 1, rows, calls.priority_column)
    _status_rules(ws, fmt, 1, rows, calls.status_columns, scores)


# -- the splice and the file -----------------------------------------------------------------


_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def _splice(shell: Path, splices: dict[str, _Splice], out: Path) -> None:
    """Copy the shell into ``out``, each row sheet with its streamed rows inside."""
    with (
        zipfile.ZipFile(shell) as src,
        zipfile.ZipFile(out, "x", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESSION) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            splice = splices.get(info.filename)
            if splice is None:
                dst.writestr(info, data)
                continue
            head, marker, tail = data.partition(b"</sheetData>")
            if not marker:  # no rows at all: xlsxwriter wrote <sheetData/>
                head, marker, tail = data.partition(b"<sheetData/>")
                head += b"<sheetData>"
            ref = f'<dimension ref="A1:{splice.last_column}{splice.last_row}"/>'.encode()
            head = _DIMENSION.sub(ref, head, count=1)
            with dst.open(info.filename, "w", force_zip64=True) as member:
                member.write(head)
                with open(splice.rows.path, "rb") as rows:
                    shutil.copyfileobj(rows, member, 1 << 20)
                member.write(b"</sheetData>" + tail)


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
            tmp = temp_path(target)
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
