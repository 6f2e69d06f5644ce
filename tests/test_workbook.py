"""Tests for the result writer: every sheet's content, safety of cell text, splitting, atomicity."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from csvscore.errors import OutputError, UsageError
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.output import workbook
from csvscore.output.cells import (
    EXCEL_MAX_CHARS,
    csv_row,
    cut_for_excel,
    excel_row,
    utf16_len,
)
from csvscore.output.report import JOB_COLUMNS, MAPPING_COLUMNS, RESULT_COLUMNS
from csvscore.output.workbook import default_output_path, write_result
from csvscore.read.table import RowProblem, Table
from csvscore.results import (
    ACCEPTED,
    DUPLICATE,
    FAILED,
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
            BatchResult(batch=2, rows=1, outcome="failed", message="402 Payment Required"),
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
    rows = sheet_values(wb["Summary"])
    assert rows[0] == ["Item", "Value"]
    return {item: value for item, value in rows[1:] if item not in ("Note",)}


# --- Results / Rejected -------------------------------------------------------------------


def test_results_sheet_has_every_row_in_input_order_with_original_and_titanx_columns(tmp_path):
    wb = load_workbook(write(tmp_path))
    rows = sheet_values(wb["Results"])
    assert rows[0] == [*HEADERS, *RESULT_COLUMNS]
    assert rows[0].count("Notes") == 2  # repeated header kept as-is
    assert len(rows) == 1 + len(ROWS)
    for i, row in enumerate(rows[1:]):
        original = [v or None for v in ROWS[i]]  # empty cells read back as None
        assert row[: len(HEADERS)] == original
        status, reason, job_id, batch, source_row = row[len(HEADERS) :]
        assert status == STATUSES[i]
        assert (reason or "") == REASONS[i]
        assert source_row == SOURCE_ROWS[i]
        assert (job_id, batch) == (("job-1", 1) if job_id else (None, None))


def test_rejected_sheet_holds_only_rows_needing_attention_with_same_columns(tmp_path):
    wb = load_workbook(write(tmp_path))
    rows = sheet_values(wb["Rejected"])
    assert rows[0] == [*HEADERS, *RESULT_COLUMNS]
    status_col = len(HEADERS)
    assert [r[status_col] for r in rows[1:]] == [SKIPPED, REJECTED, UNCONFIRMED, FAILED]
    assert [r[-1] for r in rows[1:]] == [5, 7, 8, 9]
    assert rows[2][: len(HEADERS)] == [v or None for v in ROWS[4]]
    assert rows[2][status_col + 1] == "lastName: invalid"


def test_row_without_a_result_gets_a_visible_placeholder(tmp_path):
    table = make_table(tmp_path)
    result = make_result(table)
    result.rows = [r for r in result.rows if r.index != 2]
    rows = sheet_values(load_workbook(write(tmp_path, table, result))["Results"])
    assert rows[3][len(HEADERS)] is None
    assert rows[3][len(HEADERS) + 1] == "no result was recorded for this row"


def test_sheets_come_in_documented_order(tmp_path):
    wb = load_workbook(write(tmp_path))
    assert wb.sheetnames == ["Results", "Rejected", "Jobs", "Summary", "Mapping"]


# --- Jobs, Summary, Mapping ---------------------------------------------------------------


def test_jobs_sheet_has_one_row_per_batch_with_exact_credit_figures(tmp_path):
    ws = load_workbook(write(tmp_path))["Jobs"]
    rows = sheet_values(ws)
    assert rows[0] == list(JOB_COLUMNS)
    assert rows[1] == [
        1,
        "job-1",
        4,
        2,
        1,
        0.1,
        994.95,
        0.05,
        2,
        "2026-01-05T10:00:05Z",
        "answered",
        None,
    ]
    assert rows[2][:3] == [2, None, 1]
    assert rows[2][5:8] == [None, None, None]
    assert rows[2][10:] == ["failed", "402 Payment Required"]
    # Numbers, shown with exactly the decimals they came with.
    charged, remaining, cost = ws["F2"], ws["G2"], ws["H2"]
    assert (charged.data_type, charged.number_format) == ("n", "0.00")
    assert (remaining.data_type, remaining.number_format) == ("n", "0.00")
    assert (cost.value, cost.data_type, cost.number_format) == (0.05, "n", "0.00")


def test_decimal_too_precise_for_excel_is_written_as_exact_text(tmp_path):
    table = make_table(tmp_path)
    batch = BatchResult(
        batch=1, rows=7, outcome="answered", cost_per_phone=Decimal("0.12345678901234567891")
    )
    result = make_result(table, batches=[batch])
    ws = load_workbook(write(tmp_path, table, result))["Jobs"]
    assert ws["H2"].value == "0.12345678901234567891"
    assert ws["H2"].data_type == "s"


def test_summary_sheet_lists_input_counts_credits_times_and_version(tmp_path):
    table = make_table(tmp_path, problems=[RowProblem(4, "has 7 cells, header has 6")])
    table.notes.append("encoding: utf-8")
    result = make_result(table, summary=make_summary(notes=["resumed from journal"]))
    wb = load_workbook(write(tmp_path, table, result))
    values = summary_dict(wb)
    assert values["Input file"] == "contacts.csv"
    assert values["Input fingerprint (SHA-256)"] == "ab" * 32
    assert values["Sheet"] is None
    assert values["Rows read"] == 7
    assert values["Rows sent"] == 4
    for item, expected in [
        ("Accepted", 2),
        ("Rejected", 1),
        ("Skipped", 1),
        ("Duplicates", 1),
        ("Unconfirmed", 1),
        ("Failed", 1),
    ]:
        assert values[item] == expected
    assert values["Credits charged (total)"] == 0.1
    assert values["Credits remaining"] == 994.95
    assert values["Scoring type"] == "standard"
    assert values["Started at"] == "2026-01-05T10:00:00Z"
    assert values["Ended at"] == "2026-01-05T10:01:30Z"
    assert values["csvscore version"] == "0.1.0"
    assert values["Dry run"] == "no"
    assert "Estimated credits" not in values
    assert values["Source profile"] == "hubspot"
    assert values["Input note"] == "encoding: utf-8"
    assert values["Mapping note"] == "two columns are called Notes"
    assert values["Row problem"] == "row 4: has 7 cells, header has 6"
    notes = [v for item, v in sheet_values(wb["Summary"]) if item == "Note"]
    assert notes == ["resumed from journal"]
    credits_cell = next(r[1] for r in wb["Summary"].iter_rows() if r[0].value.startswith("Cred"))
    assert credits_cell.number_format == "0.00"


def test_dry_run_rows_are_ready_and_summary_shows_the_estimate(tmp_path):
    table = make_table(tmp_path)
    summary = make_summary(
        dry_run=True,
        sent=0,
        accepted=0,
        ready=5,
        estimated_phones=6,
        estimated_credits=Decimal("0.30"),
        credits_charged=Decimal(0),
    )
    statuses = [READY, READY, SKIPPED, DUPLICATE, READY, READY, READY]
    result = make_result(table, statuses=statuses, reasons=[""] * 7, summary=summary, batches=[])
    wb = load_workbook(write(tmp_path, table, result))
    rows = sheet_values(wb["Results"])
    assert [r[len(HEADERS)] for r in rows[1:]] == statuses
    values = summary_dict(wb)
    assert values["Dry run"] == "yes"
    assert values["Ready (would be sent)"] == 5
    assert values["Estimated phones"] == 6
    assert values["Estimated credits"] == 0.3
    assert values["Credits charged (total)"] == 0
    assert sheet_values(wb["Jobs"]) == [list(JOB_COLUMNS)]
    # Only the skipped row needs attention in a dry run.
    assert [r[len(HEADERS)] for r in sheet_values(wb["Rejected"])[1:]] == [SKIPPED]


def test_dry_run_without_cost_says_the_estimate_is_unknown(tmp_path):
    table = make_table(tmp_path)
    summary = make_summary(dry_run=True, estimated_credits=None)
    wb = load_workbook(write(tmp_path, table, make_result(table, summary=summary)))
    assert summary_dict(wb)["Estimated credits"] == "unknown (cost per phone not known)"


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


@pytest.mark.parametrize("value", FORMULA_LIKE)
def test_xlsx_stores_formula_like_values_as_text(tmp_path, value):
    rows = [[value, "Lovelace", "415-555-0134", "", "", ""]]
    table = make_table(tmp_path, rows=rows)
    result = make_result(table, statuses=[REJECTED], reasons=[value])
    out = write(tmp_path, table, result)
    wb = load_workbook(out)
    for ws in (wb["Results"], wb["Rejected"]):
        for cell in (ws["A2"], ws.cell(2, len(HEADERS) + 2)):  # export value and reason
            assert cell.data_type == "s"
            # XML turns a CR into a line feed on reading; the text is otherwise unchanged.
            assert cell.value == value.replace("\r", "\n")
    with zipfile.ZipFile(out) as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in zf.read(name) and b"<f " not in zf.read(name)


def test_xlsx_stores_error_texts_and_formula_headers_as_text(tmp_path):
    headers = ["=HYPERLINK(1)", "#N/A", "Phone", "Email", "Notes", "Notes"]
    rows = [["#REF!", "#DIV/0!", "=A1", "", "", ""]]
    table = make_table(tmp_path, headers=headers, rows=rows)
    ws = load_workbook(write(tmp_path, table, make_result(table, statuses=[ACCEPTED])))["Results"]
    for cell in (*ws[1][:3], *ws[2][:3]):
        assert cell.data_type == "s"
    assert [c.value for c in ws[1][:2]] == ["=HYPERLINK(1)", "#N/A"]
    assert [c.value for c in ws[2][:3]] == ["#REF!", "#DIV/0!", "=A1"]
    assert ws["A1"].font.b and ws["C2"].number_format == "@"


@pytest.mark.parametrize("value", FORMULA_LIKE)
def test_csv_prefixes_formula_like_values_with_a_quote(tmp_path, value):
    rows = [[value, "Lovelace", "415-555-0134", "", "", ""]]
    table = make_table(tmp_path, rows=rows)
    result = make_result(table, statuses=[REJECTED], reasons=[value])
    out = tmp_path / "contacts.scored.csv"
    write_result(out, table, make_mapping(), result, fmt="csv")
    for path in (out, tmp_path / "contacts.scored.rejected.csv"):
        with open(path, encoding="utf-8-sig", newline="") as fh:
            data = list(csv.reader(fh))
        assert data[1][0] == "'" + value
        assert data[1][1] == "Lovelace"
        assert data[1][len(HEADERS) + 1] == "'" + value


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
    assert [c.value for c in ws[2][:6]] == ["ab", "bell", "vt", "esc[1m", "lone", "x"]
    assert ws["A1"].value == "H"
    assert ws.cell(2, 8).value == "why"


def test_a_cell_of_only_control_characters_is_written_empty(tmp_path):
    table = make_table(tmp_path, rows=[["Ada", "\x00\x00", "", "", "", ""]])
    ws = load_workbook(write(tmp_path, table, make_result(table, statuses=[ACCEPTED])))["Results"]
    assert ws["B2"].value is None


def test_control_characters_are_removed_from_csv_results_too(tmp_path):
    table = make_table(tmp_path, rows=[["A\x00da", "\x1b[2J", "", "", "", ""]])
    result = make_result(table, statuses=[REJECTED], reasons=["bad\x00 \ud800phone"])
    out = write_result(tmp_path / "r.csv", table, Mapping(columns=[]), result, fmt="csv")[0]
    text = out.read_text(encoding="utf-8-sig")
    assert "\x00" not in text and "\x1b" not in text
    assert "Ada,[2J," in text and "bad phone" in text


def test_tabs_and_line_breaks_are_kept(tmp_path):
    rows = [["a\tb", "line1\nline2", " lead", "trail ", "", ""]]
    table = make_table(tmp_path, rows=rows)
    ws = load_workbook(write(tmp_path, table, make_result(table, statuses=[ACCEPTED])))["Results"]
    assert [c.value for c in ws[2][:4]] == ["a\tb", "line1\nline2", " lead", "trail "]


def test_cell_over_excel_limit_is_cut_with_a_marker(tmp_path):
    long_text = "x" * 40_000
    rows = [["Ada", long_text, "", "", "", ""]]
    table = make_table(tmp_path, rows=rows)
    ws = load_workbook(write(tmp_path, table, make_result(table, statuses=[ACCEPTED])))["Results"]
    value = ws["B2"].value
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


def test_excel_row_passes_ordinary_rows_through_with_empty_cells_skipped():
    assert excel_row(None, ["Ada", "", "415-555-0134"]) == ["Ada", None, "415-555-0134"]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(max_size=40), min_size=6, max_size=6))
def test_any_text_reads_back_as_the_same_text(tmp_path, cells):
    table = make_table(tmp_path, rows=[cells])
    out = write(tmp_path, table, make_result(table, statuses=[ACCEPTED]))
    ws = load_workbook(out)["Results"]
    for cell, text in zip(ws[2][:6], cells, strict=True):
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
        "Results",
        "Results (2)",
        "Results (3)",
        "Rejected",
        "Rejected (2)",
        "Jobs",
        "Summary",
        "Mapping",
    ]
    header = [*HEADERS, *RESULT_COLUMNS]
    data = []
    for name in ("Results", "Results (2)", "Results (3)"):
        rows = sheet_values(wb[name])
        assert rows[0] == header
        assert len(rows) - 1 <= 3
        data += rows[1:]
        assert wb[name].freeze_panes == "A2"
    assert [r[-1] for r in data] == SOURCE_ROWS
    assert [len(sheet_values(wb[n])) - 1 for n in ("Rejected", "Rejected (2)")] == [3, 1]
    assert wb["Results (3)"].auto_filter.ref == "A1:K2"


def test_every_sheet_has_bold_frozen_header_autofilter_and_capped_widths(tmp_path):
    rows = [[*row[:4], "a long note " * 20, row[5]] for row in ROWS]
    table = make_table(tmp_path, rows=rows)
    wb = load_workbook(write(tmp_path, table))
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert all(cell.font.b for cell in ws[1]), ws.title
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
    results = wb["Results"]
    assert results.auto_filter.ref == "A1:K8"
    widths = {k: d.width for k, d in results.column_dimensions.items()}
    assert widths["E"] == 50  # long notes: capped
    assert 8 <= widths["A"] < 20
    assert widths["G"] >= len("TitanX Status")


# --- files --------------------------------------------------------------------------------


class Explodes:
    def __str__(self) -> str:
        raise RuntimeError("boom while writing")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_failure_midway_leaves_no_output_and_no_temp_file(tmp_path, monkeypatch, fmt):
    openpyxl_tmp = tmp_path / "system-tmp"
    openpyxl_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(openpyxl_tmp))
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
    assert list(openpyxl_tmp.iterdir()) == []


def test_success_leaves_only_the_result_and_never_touches_the_input(tmp_path, monkeypatch):
    openpyxl_tmp = tmp_path / "system-tmp"
    openpyxl_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(openpyxl_tmp))
    table = make_table(tmp_path)
    before = table.path.read_bytes()
    write(tmp_path, table)
    assert table.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "contacts.csv",
        "contacts.scored.xlsx",
        "system-tmp",
    ]
    assert list(openpyxl_tmp.iterdir()) == []


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
    names = ["", ".rejected", ".jobs", ".summary", ".mapping"]
    assert written == [tmp_path / f"contacts.scored{n}.csv" for n in names]

    def read(path: Path) -> list[list[str]]:
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
        assert b"\r\n" in raw
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return list(csv.reader(fh, delimiter=";"))

    results = read(written[0])
    assert results[0] == [*HEADERS, *RESULT_COLUMNS]
    assert results[1] == [*ROWS[0], ACCEPTED, "", "job-1", "1", "2"]
    assert [r[-1] for r in results[1:]] == [str(n) for n in SOURCE_ROWS]
    rejected = read(written[1])
    assert [r[len(HEADERS)] for r in rejected[1:]] == [SKIPPED, REJECTED, UNCONFIRMED, FAILED]
    jobs = read(written[2])
    assert jobs[0] == list(JOB_COLUMNS)
    assert jobs[1][5:9] == ["0.10", "994.95", "0.05", "2"]
    summary = dict(read(written[3])[1:])
    assert summary["Credits remaining"] == "994.95"
    assert summary["Dry run"] == "no"
    mapping = read(written[4])
    assert mapping[0] == list(MAPPING_COLUMNS)
    assert [r[2] for r in mapping[1:3]] == ["firstName", "lastName"]


def test_csv_output_of_a_workbook_input_uses_commas(tmp_path):
    table = make_table(tmp_path, format="xlsx", delimiter=None, sheet="Contacts")
    written = write_result(tmp_path / "c.csv", table, make_mapping(), make_result(table), fmt="csv")
    first = written[0].read_text(encoding="utf-8-sig").splitlines()[0]
    assert first.startswith("First Name,Last Name,")


def test_row_limit_must_fit_excel(tmp_path):
    table = make_table(tmp_path)
    with pytest.raises(ValueError, match="max_rows_per_sheet"):
        write(tmp_path, table, max_rows_per_sheet=workbook.EXCEL_MAX_DATA_ROWS + 1)
