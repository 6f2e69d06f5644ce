"""Tests for the result writer: every sheet's content, safety of cell text, splitting, atomicity."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from csvscore.errors import OutputError, UsageError
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.output import workbook
from csvscore.output.cells import EXCEL_MAX_CHARS, csv_row, cut_for_excel, utf16_len
from csvscore.output.destination import default_output_path
from csvscore.output.report import JOB_COLUMNS, MAPPING_COLUMNS, RESULT_COLUMNS
from csvscore.output.style import STATUS_COLOURS
from csvscore.output.workbook import write_result
from csvscore.read.table import RowProblem, Table
from csvscore.results import (
    ACCEPTED,
    DUPLICATE,
    FAILED,
    NOT_SENT,
    READY,
    REJECTED,
    SKIPPED,
    UNCONFIRMED,
    BatchResult,
    RowResult,
    RunResult,
    RunSummary,
)

HEADERS = ["First Name", "Last Name", "Phone", "Email", "Notes", "Notes"]
ROWS = [
    ["Ada", "Lovelace", "415-555-0134", "ada@example.com", "n1", "dup-a"],
    ["Grace", "Hopper", "415-555-0135", "grace@example.com", "", "dup-b"],
    ["Alan", "Turing", "not a phone", "alan@example.org", "n3", ""],
    ["Ada", "Lovelace", "415-555-0134", "ada@example.com", "n4", ""],
    ["Edsger", "Dijkstra", "415-555-0137", "", "n5", ""],
    ["Barbara", "Liskov", "415-555-0138", "barbara@example.org", "", ""],
    ["Ken", "Thompson", "415-555-0139", "ken@example.com", "", ""],
]
STATUSES = [ACCEPTED, ACCEPTED, SKIPPED, DUPLICATE, REJECTED, UNCONFIRMED, FAILED]
REASONS = ["", "", "phone: not a US number", "same as row 2", "lastName: invalid", "timeout", "402"]
SOURCE_ROWS = [2, 3, 5, 6, 7, 8, 9]  # line 4 was blank


def make_table(tmp_path: Path, headers=None, rows=None, source_rows=None, **kw) -> Table:
    headers = HEADERS if headers is None else headers
    rows = ROWS if rows is None else rows
    if source_rows is None:
        source_rows = SOURCE_ROWS if rows is ROWS else list(range(2, len(rows) + 2))
    path = tmp_path / "contacts.csv"
    if not path.exists():
        path.write_text("input file: never touched\n", encoding="utf-8")
    kw.setdefault("format", "csv")
    kw.setdefault("delimiter", ",")
    return Table(path=path, headers=headers, rows=rows, source_rows=source_rows, header_row=1, **kw)


def make_summary(**kw) -> RunSummary:
    base = {
        "input_file": "contacts.csv",
        "fingerprint": "ab" * 32,
        "sheet": None,
        "rows_read": 7,
        "scoring_type": "standard",
        "started_at": "2026-01-05T10:00:00Z",
        "ended_at": "2026-01-05T10:01:30Z",
        "version": "0.1.0",
        "sent": 4,
        "accepted": 2,
        "rejected": 1,
        "skipped": 1,
        "duplicates": 1,
        "unconfirmed": 1,
        "failed": 1,
        "credits_charged": Decimal("0.10"),
        "credits_charged_total": Decimal("0.25"),
        "credits_remaining": Decimal("994.95"),
    }
    base.update(kw)
    return RunSummary(**base)


def make_result(table: Table, statuses=None, reasons=None, summary=None, batches=None):
    statuses = STATUSES if statuses is None else statuses
    reasons = REASONS if reasons is None else reasons
    rows = [
        RowResult(
            index=i,
            source_row=table.source_rows[i],
            status=status,
            reason=reasons[i] if i < len(reasons) else "",
            note="phone2 not sent: not a valid number" if i == 1 else "",
            job_id="job-1" if status in (ACCEPTED, REJECTED, UNCONFIRMED) else "",
            batch=1 if status in (ACCEPTED, REJECTED, UNCONFIRMED) else None,
        )
        for i, status in enumerate(statuses)
    ]
    rows.reverse()  # the writer must match by index, not by list order
    if batches is None:
        batches = [
            BatchResult(
                batch=1,
                rows=4,
                outcome="answered",
                job_id="job-1",
                accepted=2,
                rejected=1,
                credits_charged=Decimal("0.10"),
                credits_remaining=Decimal("994.95"),
                cost_per_phone=Decimal("0.05"),
                phone_count=2,
                submitted_at="2026-01-05T10:00:05Z",
            ),
            BatchResult(
                batch=2,
                rows=1,
                outcome="failed",
                credits_charged=Decimal(0),
                message="TitanX refused the batch (HTTP 400): contacts[0].phone is not a string",
            ),
        ]
    return RunResult(rows=rows, batches=batches, summary=summary or make_summary())


def make_mapping() -> Mapping:
    return Mapping(
        columns=[
            ColumnMapping(1, "Last Name", "lastName", 1.0, "exact", reason="header is lastName"),
            ColumnMapping(0, "First Name", "firstName", 0.95, "synonym", reason="synonym"),
            ColumnMapping(2, "Phone", "phone", 0.9, "sample", reason="looks like phones"),
            ColumnMapping(3, "Email", "email", 1.0, "exact"),
            ColumnMapping(4, "Notes", None, 0.0, "none", unmapped_key="Notes"),
            ColumnMapping(5, "Notes", None, 0.0, "none", unmapped_key="Notes 2", review=True),
        ],
        profile="hubspot",
        notes=["two columns are called Notes"],
    )


def write(tmp_path: Path, table=None, result=None, mapping=None, **kw) -> Path:
    table = table or make_table(tmp_path)
    result = result or make_result(table)
    out = tmp_path / "contacts.scored.xlsx"
    written = write_result(out, table, mapping or make_mapping(), result, **kw)
    assert written == [out]
    return out


def sheet_values(ws) -> list[list]:
    return [list(row) for row in ws.iter_rows(values_only=True)]


def summary_dict(wb) -> dict:
    """The Summary's label -> value pairs (labels in column A, values in column B)."""
    return {r[0]: r[1] for r in sheet_values(wb["Summary"]) if r[0] is not None}


N = len(RESULT_COLUMNS)  # the TitanX columns come first; the export's columns follow


# --- the row sheets -------------------------------------------------------------------------


def test_results_show_the_titanx_columns_first_then_every_input_column_in_order(tmp_path):
    wb = load_workbook(write(tmp_path))
    rows = sheet_values(wb["Results"])
    assert rows[0] == [*RESULT_COLUMNS, *HEADERS]
    assert rows[0].count("Notes") == 2  # repeated header kept as-is
    assert len(rows) == 1 + len(ROWS)
    for i, row in enumerate(rows[1:]):
        assert row[N:] == [v or None for v in ROWS[i]]  # empty cells read back as None
        source_row, status, reason, note, job_id, batch = row[:N]
        assert (source_row, status, reason or "") == (SOURCE_ROWS[i], STATUSES[i], REASONS[i])
        assert (job_id, batch) == (("job-1", 1) if job_id else (None, None))
        assert note == ("phone2 not sent: not a valid number" if i == 1 else None)


def test_status_and_reason_stay_in_view_and_each_status_has_its_colour(tmp_path):
    out = write(tmp_path)
    ws = load_workbook(out)["Results"]
    assert ws.freeze_panes == "D2"  # source row, status and reason frozen
    rules = ws.conditional_formatting
    colours = {}
    for cf in rules:
        assert str(cf.sqref) == "B2:B8"  # the status column
        for rule in cf.rules:
            colours[rule.formula[0].strip('"')] = rule.dxf.fill.bgColor.rgb[-6:]
    assert colours == {s: fill[1:] for s, (fill, _ink) in STATUS_COLOURS.items()}


def test_to_fix_holds_only_rows_a_person_can_fix_and_send_again(tmp_path):
    """Skipped and rejected rows; never an unconfirmed one (it may have been charged)."""
    wb = load_workbook(write(tmp_path))
    rows = sheet_values(wb["To fix"])
    assert rows[0] == [*RESULT_COLUMNS, *HEADERS]
    assert [r[1] for r in rows[1:]] == [SKIPPED, REJECTED]
    assert [r[0] for r in rows[1:]] == [5, 7]
    assert rows[2][N:] == [v or None for v in ROWS[4]]
    assert rows[2][2] == "lastName: invalid"


def test_rows_of_unknown_outcome_are_apart_under_a_warning_line(tmp_path):
    wb = load_workbook(write(tmp_path))
    ws = wb["Check before resending"]
    rows = sheet_values(ws)
    assert "may have been charged" in rows[0][0] and "Do not copy them" in rows[0][0]
    assert rows[1] == [*RESULT_COLUMNS, *HEADERS]
    assert [r[1] for r in rows[2:]] == [UNCONFIRMED]
    assert ws.freeze_panes == "D3"
    assert ws.auto_filter.ref.startswith("A2:")


def test_the_check_sheet_says_so_when_there_is_nothing_to_check(tmp_path):
    table = make_table(tmp_path)
    result = make_result(table, statuses=[ACCEPTED] * 7, reasons=[""] * 7)
    ws = load_workbook(write(tmp_path, table, result))["Check before resending"]
    assert ws["A1"].value == "Nothing to check: every row that was sent got an answer."
    assert ws.max_row == 2


def test_row_without_a_result_gets_a_visible_placeholder(tmp_path):
    table = make_table(tmp_path)
    result = make_result(table)
    result.rows = [r for r in result.rows if r.index != 2]
    rows = sheet_values(load_workbook(write(tmp_path, table, result))["Results"])
    assert rows[3][1] is None
    assert rows[3][2] == "no result was recorded for this row"


def test_sheets_come_in_documented_order_and_the_summary_opens_first(tmp_path):
    wb = load_workbook(write(tmp_path))
    assert wb.sheetnames == [
        "Summary",
        "Results",
        "To fix",
        "Check before resending",
        "Jobs",
        "Mapping",
    ]
    assert wb.active.title == "Summary"


def test_input_values_stay_text_without_number_stored_as_text_warnings(tmp_path):
    rows = [["Ada", "Lovelace", "02110", "00123", "4155550134", "1e5"]]
    table = make_table(tmp_path, rows=rows)
    out = write(tmp_path, table, make_result(table, statuses=[ACCEPTED]))
    ws = load_workbook(out)["Results"]
    assert [c.value for c in ws[2][N:]] == rows[0]
    assert all(c.data_type == "s" for c in ws[2][N:])
    assert ws["A2"].data_type == "n"  # the source row is a number
    with zipfile.ZipFile(out) as zf:
        sheet = zf.read("xl/worksheets/sheet2.xml").decode()
    assert '<ignoredError sqref="A2:XFD1048576" numberStoredAsText="1"/>' in sheet


# --- Summary, Jobs, Mapping -----------------------------------------------------------------


def test_summary_answers_what_happened_what_to_do_and_what_it_cost(tmp_path):
    table = make_table(tmp_path, problems=[RowProblem(4, "has 7 cells, header has 6")])
    table.notes.append("encoding: utf-8")
    summary = make_summary(notes=["resumed from journal"], stop_reason="credits ran out")
    wb = load_workbook(write(tmp_path, table, make_result(table, summary=summary)))
    ws = wb["Summary"]
    rows = sheet_values(ws)
    assert rows[0][:2] == ["csvscore result", "contacts.csv"]
    statuses = {r[0]: (r[1], r[2]) for r in rows if r[0] in ("Accepted", "Unconfirmed")}
    assert statuses["Accepted"][0] == 2
    assert statuses["Unconfirmed"] == (
        1,
        "It may have been charged. Wait, then drop the same "
        "file again: csvscore asks TitanX what happened. Do "
        "not resend it by hand.",
    )
    values = summary_dict(wb)
    for item, expected in [("Rejected", 1), ("Skipped", 1), ("Duplicates", 1), ("Failed", 1)]:
        assert values[item] == expected
    assert values["Rows in all"] == 7
    assert values["Stopped early"] == "credits ran out"
    assert values["Credits charged (this run)"] == 0.1
    assert values["Credits charged (this file, all runs)"] == 0.25
    assert values["Credits remaining"] == 994.95
    assert values["Scoring type"] == "standard"
    assert values["Started at"] == datetime(2026, 1, 5, 10, 0) + _offset()
    assert values["Times are"].startswith("local time, UTC")
    assert values["csvscore version"] == "0.1.0"
    assert values["Source profile"] == "hubspot"
    assert values["Input note"] == "encoding: utf-8"
    assert values["Mapping note"] == "two columns are called Notes"
    assert values["Row problem"] == "row 4: has 7 cells, header has 6"
    assert values["Note"] == "resumed from journal"
    # The status cells carry the status colours; credits one number format; a native chart.
    accepted = next(r for r in ws.iter_rows() if r[0].value == "Accepted")[0]
    assert accepted.fill.fgColor.rgb[-6:] == STATUS_COLOURS[ACCEPTED][0][1:]
    credits = next(r for r in ws.iter_rows() if r[0].value == "Credits remaining")[1]
    assert credits.number_format == "#,##0.00##"
    with zipfile.ZipFile(tmp_path / "contacts.scored.xlsx") as zf:
        chart = zf.read("xl/charts/chart1.xml").decode()
    assert "<c:barChart>" in chart and "Rows per status" in chart


def _offset():
    from datetime import datetime as dt
    from datetime import timezone

    return dt(2026, 1, 5, 10, 0, tzinfo=timezone.utc).astimezone().utcoffset()


def test_jobs_sheet_has_one_row_per_batch_with_real_numbers_and_times(tmp_path):
    ws = load_workbook(write(tmp_path))["Jobs"]
    rows = sheet_values(ws)
    assert rows[0] == list(JOB_COLUMNS)
    assert rows[1][:10] == [1, "answered", "job-1", 4, 2, 1, 0.1, 994.95, 0.05, 2]
    assert rows[1][10] == datetime(2026, 1, 5, 10, 0, 5) + _offset()
    assert rows[2][:3] == [2, "failed", None]
    assert rows[2][6] == 0  # refused: nothing charged
    assert rows[2][11] == "TitanX refused the batch (HTTP 400): contacts[0].phone is not a string"
    for cell in (ws["G2"], ws["H2"], ws["I2"]):
        assert (cell.data_type, cell.number_format) == ("n", "#,##0.00##")
    assert ws["K2"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_a_charge_that_is_not_known_is_an_empty_cell_not_zero(tmp_path):
    table = make_table(tmp_path)
    batch = BatchResult(batch=1, rows=7, outcome="reconciled", job_id="job-9")
    summary = make_summary(credits_unknown=1)
    wb = load_workbook(write(tmp_path, table, make_result(table, batches=[batch], summary=summary)))
    assert wb["Jobs"]["G2"].value is None
    said = summary_dict(wb)["Charges not known"]
    # Both kinds it can be: no answer (unconfirmed), or found in the job list (reconciled).
    assert said.startswith("1 batch(es) whose charge TitanX did not report")
    assert "sent without an answer" in said and "found in its job list" in said


def test_decimal_too_precise_for_excel_is_written_as_exact_text(tmp_path):
    table = make_table(tmp_path)
    batch = BatchResult(
        batch=1, rows=7, outcome="answered", cost_per_phone=Decimal("0.12345678901234567891")
    )
    result = make_result(table, batches=[batch])
    ws = load_workbook(write(tmp_path, table, result))["Jobs"]
    assert ws["I2"].value == "0.12345678901234567891"
    assert ws["I2"].data_type == "s"


def test_dry_run_rows_are_ready_and_summary_shows_the_estimate(tmp_path):
    table = make_table(tmp_path)
    summary = make_summary(
        dry_run=True,
        sent=0,
        accepted=0,
        rejected=0,
        unconfirmed=0,
        failed=0,
        ready=5,
        estimated_phones=6,
        estimated_credits=Decimal("0.30"),
        credits_charged=Decimal(0),
    )
    statuses = [READY, READY, SKIPPED, DUPLICATE, READY, READY, READY]
    result = make_result(table, statuses=statuses, reasons=[""] * 7, summary=summary, batches=[])
    wb = load_workbook(write(tmp_path, table, result))
    rows = sheet_values(wb["Results"])
    assert [r[1] for r in rows[1:]] == statuses
    values = summary_dict(wb)
    assert values["Dry run"] == "yes: nothing was sent"
    assert values["Ready (would be sent)"] == 5
    assert values["Estimated phones"] == 6
    assert values["Estimated credits"] == 0.3
    assert "Credits charged (this run)" not in values
    assert sheet_values(wb["Jobs"]) == [list(JOB_COLUMNS)]
    assert [r[1] for r in sheet_values(wb["To fix"])[1:]] == [SKIPPED]


def test_dry_run_without_cost_says_the_estimate_is_unknown(tmp_path):
    table = make_table(tmp_path)
    summary = make_summary(dry_run=True, estimated_credits=None)
    wb = load_workbook(write(tmp_path, table, make_result(table, summary=summary)))
    assert summary_dict(wb)["Estimated credits"].startswith("unknown")


def test_mapping_sheet_has_one_row_per_input_column(tmp_path):
    mapping = make_mapping()
    mapping.columns[0].field = "fullName"  # "Last Name" column, to show the label
    mapping.columns[2].phone_type = "mobile"
    ws = load_workbook(write(tmp_path, mapping=mapping))["Mapping"]
    rows = sheet_values(ws)
    assert rows[0] == list(MAPPING_COLUMNS)
    assert [r[0] for r in rows[1:]] == [1, 2, 3, 4, 5, 6]
    assert [r[1] for r in rows[1:]] == HEADERS
    assert [r[2] for r in rows[1:]] == [
        "firstName",
        "fullName → firstName + lastName",
        "phone (type: mobile)",
        "email",
        "(unmappedFields)",
        '(unmappedFields) as "Notes 2"',
    ]
    assert rows[1][3:6] == [0.95, "synonym", "synonym"]
    assert rows[3][5] == "looks like phones"
    assert rows[6][7] == "yes"
    assert ws["D2"].number_format == "0%"


# --- cell safety --------------------------------------------------------------------------

FORMULA_LIKE = ["=1+1", "+1 415-555-0134", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=cmd|'/c calc'!A0"]


@pytest.mark.parametrize("value", [*FORMULA_LIKE, "#N/A", "#REF!"])
def test_xlsx_stores_formula_like_and_error_like_values_as_text(tmp_path, value):
    rows = [[value, "Lovelace", "415-555-0134", "", "", ""]]
    headers = ["=HYPERLINK(1)", *HEADERS[1:]]
    table = make_table(tmp_path, headers=headers, rows=rows)
    result = make_result(table, statuses=[REJECTED], reasons=[value])
    out = write(tmp_path, table, result)
    wb = load_workbook(out)
    for ws in (wb["Results"], wb["To fix"]):
        assert ws.cell(1, N + 1).value == "=HYPERLINK(1)"
        for cell in (ws.cell(2, N + 1), ws.cell(2, 3)):  # export value and reason
            assert cell.data_type == "s"
            # XML turns a CR into a line feed on reading; the text is otherwise unchanged.
            assert cell.value == value.replace("\r", "\n")
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name)


@pytest.mark.parametrize("value", FORMULA_LIKE)
def test_csv_prefixes_formula_like_values_with_a_quote(tmp_path, value):
    rows = [[value, "Lovelace", "415-555-0134", "", "", ""]]
    table = make_table(tmp_path, rows=rows)
    result = make_result(table, statuses=[REJECTED], reasons=[value])
    out = tmp_path / "contacts.scored.csv"
    write_result(out, table, make_mapping(), result, fmt="csv")
    for path in (out, tmp_path / "contacts.scored.to-fix.csv"):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            data = list(csv.reader(fh))
        assert data[1][N] == "'" + value
        assert data[1][N + 1] == "Lovelace"
        assert data[1][2] == "'" + value


def test_csv_leaves_ordinary_values_alone():
    assert csv_row(["Ada", "", "415-555-0134", "a=b", "x\n=y"]) == [
        "Ada",
        "",
        "415-555-0134",
        "a=b",
        "x\n=y",
    ]


def test_control_and_illegal_xml_characters_are_removed_not_fatal(tmp_path):
    # NUL used to show as U+FFFD; control characters are now left out of what is written.
    bad = ["a\x00b", "\x07bell", "v\x0bt\x0c", "esc\x1b[1m", "lone\ud800", "x\uffff\x85\x7f"]
    rows = [bad]
    table = make_table(tmp_path, headers=["H\x01", "B", "C", "D", "E", "F"], rows=rows)
    result = make_result(table, statuses=[REJECTED], reasons=["why\x00"])
    ws = load_workbook(write(tmp_path, table, result))["Results"]
    assert [c.value for c in ws[2][N:]] == ["ab", "bell", "vt", "esc[1m", "lone", "x"]
    assert ws.cell(1, N + 1).value == "H"
    assert ws["C2"].value == "why"


def test_a_cell_of_only_control_characters_is_written_empty(tmp_path):
    table = make_table(tmp_path, rows=[["Ada", "\x00\x00", "", "", "", ""]])
    ws = load_workbook(write(tmp_path, table, make_result(table, statuses=[ACCEPTED])))["Results"]
    assert ws.cell(2, N + 2).value is None


def test_control_characters_are_removed_from_csv_results_too(tmp_path):
    table = make_table(tmp_path, rows=[["A\x00da", "\x1b[2J", "", "", "", ""]])
    result = make_result(table, statuses=[REJECTED], reasons=["bad\x00 \ud800phone"])
    out = write_result(tmp_path / "r.csv", table, Mapping(columns=[]), result, fmt="csv")[0]
    text = out.read_text(encoding="utf-8-sig")
    assert "\x00" not in text and "\x1b" not in text
    assert ",Ada,[2J," in text and "bad phone" in text


def test_tabs_line_breaks_and_edge_spaces_are_kept(tmp_path):
    rows = [["a\tb", "line1\nline2", " lead", "trail ", "<&>", ""]]
    table = make_table(tmp_path, rows=rows)
    ws = load_workbook(write(tmp_path, table, make_result(table, statuses=[ACCEPTED])))["Results"]
    assert [c.value for c in ws[2][N : N + 5]] == rows[0][:5]


def test_cell_over_excel_limit_is_cut_with_a_marker(tmp_path):
    long_text = "x" * 40_000
    rows = [["Ada", long_text, "", "", "", ""]]
    table = make_table(tmp_path, rows=rows)
    ws = load_workbook(write(tmp_path, table, make_result(table, statuses=[ACCEPTED])))["Results"]
    value = ws.cell(2, N + 2).value
    assert len(value) == EXCEL_MAX_CHARS
    assert value.endswith("… [cut: 40000 characters]")
    assert value.startswith("x" * 30_000)


def test_cut_counts_utf16_units_and_never_splits_a_pair():
    emoji = "\U0001f600" * 20_000  # 40,000 UTF-16 units in 20,000 code points
    cut = cut_for_excel(emoji)
    assert utf16_len(cut) <= EXCEL_MAX_CHARS
    assert cut.endswith("… [cut: 20000 characters]")
    assert set(cut[: -len("… [cut: 20000 characters]")]) == {"\U0001f600"}
    assert cut_for_excel("y" * EXCEL_MAX_CHARS) == "y" * EXCEL_MAX_CHARS


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(max_size=40), min_size=6, max_size=6))
def test_any_text_reads_back_as_the_same_text(tmp_path, cells):
    table = make_table(tmp_path, rows=[cells])
    out = write(tmp_path, table, make_result(table, statuses=[ACCEPTED]))
    ws = load_workbook(out)["Results"]
    for cell, text in zip(ws[2][N:], cells, strict=True):
        expected = (
            "".join(
                ""
                if (ord(ch) < 32 and ch not in "\t\n\r")
                or 0x7F <= ord(ch) <= 0x9F
                or 0xD800 <= ord(ch) <= 0xDFFF
                or ch in "\ufffe\uffff"
                else ch
                for ch in text
            )
            .replace("\r\n", "\n")
            .replace("\r", "\n")
        )
        assert (cell.value or "") == expected
        assert cell.value is None or cell.data_type == "s"


# --- layout -------------------------------------------------------------------------------


def test_results_continue_on_numbered_sheets_past_the_row_limit(tmp_path):
    wb = load_workbook(write(tmp_path, max_rows_per_sheet=3))
    assert wb.sheetnames == [
        "Summary",
        "Results",
        "Results (2)",
        "Results (3)",
        "To fix",
        "Check before resending",
        "Jobs",
        "Mapping",
    ]
    header = [*RESULT_COLUMNS, *HEADERS]
    data = []
    for name in ("Results", "Results (2)", "Results (3)"):
        rows = sheet_values(wb[name])
        assert rows[0] == header
        assert len(rows) - 1 <= 3
        data += rows[1:]
        assert wb[name].freeze_panes == "D2"
    assert [r[0] for r in data] == SOURCE_ROWS
    assert len(sheet_values(wb["To fix"])) - 1 == 2
    assert wb["Results (3)"].auto_filter.ref == "A1:L2"


def test_every_sheet_has_a_bold_frozen_header_a_filter_and_room_for_its_button(tmp_path):
    rows = [[*row[:4], "a long note " * 20, row[5]] for row in ROWS]
    table = make_table(tmp_path, rows=rows)
    wb = load_workbook(write(tmp_path, table))
    for ws in wb.worksheets[1:]:
        top = 2 if ws.title == "Check before resending" else 1  # under its warning line
        assert ws.freeze_panes in (f"A{top + 1}", f"D{top + 1}"), ws.title
        assert all(cell.font.b for cell in ws[top] if cell.value), ws.title
        assert ws.auto_filter.ref.startswith(f"A{top}:"), ws.title
        for cell in ws[top]:
            if cell.value:  # the header text plus the filter button fits the column
                width = ws.column_dimensions[cell.column_letter].width
                assert width >= len(str(cell.value)) + 3, (ws.title, cell.value, width)
    results = wb["Results"]
    assert results.auto_filter.ref == "A1:L8"
    widths = {k: d.width for k, d in results.column_dimensions.items()}
    assert 50 <= widths["K"] < 51  # long notes: capped (xlsxwriter adds the cell padding)


def test_every_sheet_prints_landscape_one_page_wide_with_its_header_on_each_page(tmp_path):
    wb = load_workbook(write(tmp_path))
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert ws.page_setup.fitToWidth in (1, None) and ws.sheet_properties.pageSetUpPr.fitToPage
        if ws.title == "Summary":
            assert ws.page_setup.fitToHeight in (1, None)
        else:
            assert ws.page_setup.fitToHeight == 0
            top = 2 if ws.title == "Check before resending" else 1
            assert ws.print_title_rows == f"${top}:${top}", ws.title


# --- files --------------------------------------------------------------------------------


class Explodes:
    def __str__(self) -> str:
        raise RuntimeError("boom while writing")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_failure_midway_leaves_no_output_and_no_temp_file(tmp_path, monkeypatch, fmt):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    rows = [["Ada", "Lovelace", f"415-555-01{i % 100:02d}", "", "", ""] for i in range(300)]
    rows[250][4] = Explodes()  # past the width sample: fails while rows are streaming
    table = make_table(tmp_path, rows=rows)
    result = make_result(table, statuses=[REJECTED] * 300, reasons=[])
    target = out_dir / f"contacts.scored.{fmt}"
    target.write_bytes(b"previous result")
    with pytest.raises(RuntimeError, match="boom"):
        write_result(target, table, make_mapping(), result, fmt=fmt)
    assert sorted(p.name for p in out_dir.iterdir()) == [target.name]
    assert target.read_bytes() == b"previous result"  # the old file is not half-replaced
    assert list(system_tmp.iterdir()) == []


def test_success_leaves_only_the_result_and_never_touches_the_input(tmp_path, monkeypatch):
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    table = make_table(tmp_path)
    before = table.path.read_bytes()
    write(tmp_path, table)
    assert table.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "contacts.csv",
        "contacts.scored.xlsx",
        "system-tmp",
    ]
    assert list(system_tmp.iterdir()) == []


def test_refuses_to_overwrite_the_input(tmp_path):
    table = make_table(tmp_path)
    before = table.path.read_bytes()
    with pytest.raises(OutputError, match="overwrite the input"):
        write_result(table.path, table, make_mapping(), make_result(table), fmt="csv")
    assert table.path.read_bytes() == before


def test_missing_folder_is_an_output_error(tmp_path):
    table = make_table(tmp_path)
    with pytest.raises(OutputError, match="does not exist"):
        write_result(tmp_path / "nope" / "r.xlsx", table, make_mapping(), make_result(table))


def test_unknown_format_is_a_usage_error(tmp_path):
    table = make_table(tmp_path)
    with pytest.raises(UsageError, match="xlsx, csv"):
        write_result(tmp_path / "r.ods", table, make_mapping(), make_result(table), fmt="ods")


@pytest.mark.parametrize(
    ("given", "fmt", "expected"),
    [
        ("r.xlsx", "xlsx", "r.xlsx"),
        ("r.csv", "xlsx", "r.xlsx"),
        ("r.XLSX", "xlsx", "r.XLSX"),
        ("r", "xlsx", "r.xlsx"),
        ("r.scored", "csv", "r.scored.csv"),
    ],
)
def test_output_suffix_follows_the_format(tmp_path, given, fmt, expected):
    table = make_table(tmp_path)
    written = write_result(tmp_path / given, table, make_mapping(), make_result(table), fmt=fmt)
    assert written[0] == tmp_path / expected
    assert written[0].is_file()


def test_default_output_path_is_beside_the_input():
    assert default_output_path(Path("/d/contacts.csv")) == Path("/d/contacts.scored.xlsx")
    assert default_output_path(Path("/d/contacts.xlsx")) == Path("/d/contacts.scored.xlsx")
    assert default_output_path(Path("/d/contacts.csv"), "csv") == Path("/d/contacts.scored.csv")
    assert default_output_path(Path("export")) == Path("export.scored.xlsx")
    with pytest.raises(UsageError):
        default_output_path(Path("a.csv"), "pdf")


def test_csv_format_writes_results_and_one_file_per_other_sheet(tmp_path):
    table = make_table(tmp_path, delimiter=";")
    out = tmp_path / "contacts.scored.csv"
    written = write_result(out, table, make_mapping(), make_result(table), fmt="csv")
    names = ["", ".to-fix", ".check-first", ".jobs", ".summary", ".mapping"]
    assert written == [tmp_path / f"contacts.scored{n}.csv" for n in names]

    def read(path: Path) -> list[list[str]]:
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
        assert b"\r\n" in raw
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return list(csv.reader(fh, delimiter=";"))

    results = read(written[0])
    assert results[0] == [*RESULT_COLUMNS, *HEADERS]
    assert results[1] == ["2", ACCEPTED, "", "", "job-1", "1", *ROWS[0]]
    assert [r[0] for r in results[1:]] == [str(n) for n in SOURCE_ROWS]
    to_fix = read(written[1])
    assert [r[1] for r in to_fix[1:]] == [SKIPPED, REJECTED]
    check = read(written[2])
    assert [r[1] for r in check[1:]] == [UNCONFIRMED]
    jobs = read(written[3])
    assert jobs[0] == list(JOB_COLUMNS)
    assert jobs[1][6:10] == ["0.10", "994.95", "0.05", "2"]
    summary = {r[0]: r[1] for r in read(written[4])[1:]}
    assert summary["Credits remaining"] == "994.95"
    assert summary["Accepted"] == "2"
    mapping = read(written[5])
    assert mapping[0] == list(MAPPING_COLUMNS)
    assert [r[2] for r in mapping[1:3]] == ["firstName", "lastName"]


def test_csv_output_of_a_workbook_input_uses_commas(tmp_path):
    table = make_table(tmp_path, format="xlsx", delimiter=None, sheet="Contacts")
    written = write_result(tmp_path / "c.csv", table, make_mapping(), make_result(table), fmt="csv")
    first = written[0].read_text(encoding="utf-8-sig").splitlines()[0]
    assert first.startswith("Source Row,TitanX Status,")


def test_row_limit_must_fit_excel(tmp_path):
    table = make_table(tmp_path)
    with pytest.raises(ValueError, match="max_rows_per_sheet"):
        write(tmp_path, table, max_rows_per_sheet=workbook.EXCEL_MAX_DATA_ROWS + 1)


def test_not_sent_rows_have_their_own_colour_and_advice(tmp_path):
    table = make_table(tmp_path)
    statuses = [ACCEPTED, NOT_SENT, NOT_SENT, NOT_SENT, NOT_SENT, NOT_SENT, NOT_SENT]
    summary = make_summary(
        accepted=1, rejected=0, skipped=0, duplicates=0, unconfirmed=0, failed=0, not_sent=6
    )
    wb = load_workbook(write(tmp_path, table, make_result(table, statuses, [""] * 7, summary)))
    rows = {r[0]: r for r in sheet_values(wb["Summary"]) if r[0]}
    assert rows["Not sent"][1:] == (6, "Not charged. Drop the same file again to send it.") or (
        rows["Not sent"][1:3] == [6, "Not charged. Drop the same file again to send it."]
    )
