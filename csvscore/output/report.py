"""What goes in each sheet of a result, whatever the file format: the header rows, the
per-row results in table order, and the rows of the Jobs, Summary and Mapping sheets."""

from __future__ import annotations

from typing import Any

from csvscore.fields import FULL_NAME
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.read.table import Table
from csvscore.results import RowResult, RunResult

RESULT_COLUMNS = ("TitanX Status", "TitanX Reason", "TitanX Job ID", "TitanX Batch", "Source Row")
JOB_COLUMNS = (
    "Batch",
    "Job ID",
    "Rows",
    "Accepted",
    "Rejected",
    "Credits Charged",
    "Credits Remaining",
    "Cost Per Phone",
    "Phone Count",
    "Submitted At",
    "Outcome",
    "Message",
)
SUMMARY_COLUMNS = ("Item", "Value")
MAPPING_COLUMNS = (
    "Column",
    "Header",
    "Field",
    "Confidence",
    "Method",
    "Reason",
    "Sample",
    "Review",
)
UNMAPPED_LABEL = "(unmappedFields)"
FULL_NAME_LABEL = "fullName → firstName + lastName"
MAX_ROW_PROBLEMS = 100  # Summary lists at most this many of the reader's row problems

MISSING = RowResult(index=-1, source_row=0, status="", reason="no result was recorded for this row")


class Percent(float):
    """A 0..1 ratio shown as a percentage in the workbook."""


def results_by_index(table: Table, result: RunResult) -> list[RowResult]:
    """RowResults by table index; a row without one gets a visible placeholder."""
    by_index: list[RowResult] = [MISSING] * len(table.rows)
    for row_result in result.rows:
        if 0 <= row_result.index < len(by_index):
            by_index[row_result.index] = row_result
    return by_index


def result_header(table: Table) -> list[str]:
    return [*table.headers, *RESULT_COLUMNS]


def status_cells(r: RowResult, source_row: int) -> list[Any]:
    """The values of the ``RESULT_COLUMNS`` for one row."""
    return [r.status, r.reason, r.job_id, r.batch, source_row]


def job_rows(result: RunResult) -> list[list[Any]]:
    return [
        [
            b.batch,
            b.job_id,
            b.rows,
            b.accepted,
            b.rejected,
            b.credits_charged,
            b.credits_remaining,
            b.cost_per_phone,
            b.phone_count,
            b.submitted_at,
            b.outcome,
            b.message,
        ]
        for b in result.batches
    ]


def summary_rows(
    table: Table, mapping: Mapping, result: RunResult, *, extra_notes: list[str] | None = None
) -> list[list[Any]]:
    """The Summary sheet; ``extra_notes`` (the writer's own, e.g. about width) once each."""
    s = result.summary
    rows: list[list[Any]] = [
        ["Input file", s.input_file],
        ["Input fingerprint (SHA-256)", s.fingerprint],
        ["Sheet", s.sheet or ""],
        ["Rows read", s.rows_read],
        ["Rows sent", s.sent],
        ["Accepted", s.accepted],
        ["Rejected", s.rejected],
        ["Skipped", s.skipped],
        ["Duplicates", s.duplicates],
        ["Unconfirmed", s.unconfirmed],
        ["Failed", s.failed],
        ["Not sent", s.not_sent],
        ["Credits charged (total)", s.credits_charged],
        ["Credits remaining", s.credits_remaining],
        ["Scoring type", s.scoring_type],
        ["Started at", s.started_at],
        ["Ended at", s.ended_at],
        ["csvscore version", s.version],
        ["Dry run", "yes" if s.dry_run else "no"],
    ]
    if s.dry_run:
        estimate: Any = s.estimated_credits
        if estimate is None:
            estimate = "unknown (cost per phone not known)"
        rows += [
            ["Ready (would be sent)", s.ready],
            ["Estimated phones", s.estimated_phones],
            ["Estimated credits", estimate],
        ]
    if mapping.profile:
        rows.append(["Source profile", mapping.profile])
    rows += [["Note", note] for note in s.notes]
    rows += [["Note", note] for note in extra_notes or () if note not in s.notes]
    rows += [["Input note", note] for note in table.notes]
    rows += [["Mapping note", note] for note in mapping.notes]
    problems = table.problems
    rows += [
        ["Row problem", f"row {p.source_row}: {p.message}"] for p in problems[:MAX_ROW_PROBLEMS]
    ]
    if len(problems) > MAX_ROW_PROBLEMS:
        rows.append(["Row problem", f"... and {len(problems) - MAX_ROW_PROBLEMS} more"])
    return rows


def field_label(column: ColumnMapping) -> str:
    if column.field is None:
        key = column.unmapped_key
        return UNMAPPED_LABEL if key in ("", column.header) else f'{UNMAPPED_LABEL} as "{key}"'
    if column.field == FULL_NAME:
        return FULL_NAME_LABEL
    if column.phone_type:
        return f"{column.field} (type: {column.phone_type})"
    return column.field


def mapping_rows(mapping: Mapping) -> list[list[Any]]:
    return [
        [
            c.index + 1,
            c.header,
            field_label(c),
            Percent(c.confidence),
            c.method,
            c.reason,
            c.sample,
            "yes" if c.review else "",
        ]
        for c in sorted(mapping.columns, key=lambda c: c.index)
    ]
