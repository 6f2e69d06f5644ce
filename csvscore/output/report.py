"""What goes in each part of a result, whatever the file format: the columns of the row sheets,
the Summary a person reads first, the Jobs and Mapping sheets.

The row sheets (Results, To fix, Check before resending) start with the TitanX columns, so a
row's status and reason show without scrolling; the export's own columns follow, unchanged and in
their order (deleting the first six columns gives the export back, for the "send fixed rows
again" recipe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from csvscore import results as rs
from csvscore.fields import FULL_NAME
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.output.score_columns import ScoreSummary, score_summary
from csvscore.output.style import STATUS_ORDER
from csvscore.read.table import Table
from csvscore.results import RowResult, RunResult
from csvscore.scores.run import RunScores

RESULT_COLUMNS = (
    "Source Row",
    "TitanX Status",
    "TitanX Reason",
    "TitanX Note",
    "TitanX Job ID",
    "TitanX Batch",
)
STATUS_COLUMN = 1  # "TitanX Status", 0-based
FROZEN_COLUMNS = 3  # Source Row, TitanX Status, TitanX Reason stay in view
JOB_COLUMNS = (
    "Batch",
    "Outcome",
    "Job ID",
    "Rows",
    "Accepted",
    "Rejected",
    "Credits Charged",
    "Credits Remaining",
    "Cost Per Phone",
    "Phone Count",
    "Sent At",
    "Detail",
)
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
SUMMARY_COLUMNS = ("Item", "Value", "What to do next")
UNMAPPED_LABEL = "(unmappedFields)"
FULL_NAME_LABEL = "fullName → firstName + lastName"
MAX_ROW_PROBLEMS = 100  # Summary lists at most this many of the reader's row problems

MISSING = RowResult(index=-1, source_row=0, status="", reason="no result was recorded for this row")
STATUS_LABELS = {
    rs.ACCEPTED: "Accepted",
    rs.REJECTED: "Rejected",
    rs.SKIPPED: "Skipped",
    rs.DUPLICATE: "Duplicates",
    rs.UNCONFIRMED: "Unconfirmed",
    rs.FAILED: "Failed",
    rs.NOT_SENT: "Not sent",
    rs.READY: "Ready (would be sent)",
}


class Percent(float):
    """A 0..1 ratio shown as a percentage in the workbook."""


class When(str):
    """An ISO 8601 time: a real date and time in the workbook (local time), text in a CSV."""


def results_by_index(table: Table, result: RunResult) -> list[RowResult]:
    """RowResults by table index; a row without one gets a visible placeholder."""
    by_index: list[RowResult] = [MISSING] * len(table.rows)
    for row_result in result.rows:
        if 0 <= row_result.index < len(by_index):
            by_index[row_result.index] = row_result
    return by_index


def result_header(table: Table, shown: int | None = None) -> list[str]:
    """The row sheets' header: the TitanX columns, then the export's (``shown`` of them)."""
    return [*RESULT_COLUMNS, *table.headers[:shown]]


def status_cells(r: RowResult, source_row: int) -> list[Any]:
    """The values of the ``RESULT_COLUMNS`` for one row."""
    return [source_row, r.status, r.reason, r.note, r.job_id, r.batch]


def is_result_header(headers: list[str]) -> bool:
    """Whether a file's headers are those of a csvscore result (any version's layout)."""
    return {"TitanX Status", "TitanX Reason", "Source Row"} <= set(headers)


def job_rows(result: RunResult) -> list[list[Any]]:
    return [
        [
            b.batch,
            b.outcome,
            b.job_id,
            b.rows,
            b.accepted,
            b.rejected,
            b.credits_charged,
            b.credits_remaining,
            b.cost_per_phone,
            b.phone_count,
            When(b.submitted_at) if b.submitted_at else None,
            b.message,
        ]
        for b in result.batches
    ]


# -- the Summary ---------------------------------------------------------------------------


@dataclass
class Summary:
    """The Summary sheet's content, in the order a person reads it."""

    title: str
    statuses: list[tuple[str, int, str]]  # (status, rows, what to do next), present ones only
    total_rows: int
    money: list[tuple[str, Any]]  # credits: this run, this file, unknown, remaining (or estimate)
    stopped: str  # why the run stopped early, "" if it did not
    details: list[tuple[str, Any]]
    notes: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    scores: ScoreSummary | None = None  # the Scores block, when the result has scores
    scores_hint: str = ""  # otherwise, one line on how to get them (none: say nothing)

    def pairs(self) -> list[list[Any]]:
        """Everything as rows of (item, value, what to do next), for a CSV Summary."""
        rows: list[list[Any]] = [["Result of", self.title, ""]]
        rows += [[STATUS_LABELS.get(s, s), n, advice] for s, n, advice in self.statuses]
        rows.append(["Rows in all", self.total_rows, ""])
        if self.scores_hint:
            rows.append(["Scores", self.scores_hint, ""])
        if self.scores is not None:
            rows += self.scores.pairs()
        rows += [[label, value, ""] for label, value in self.money]
        if self.stopped:
            rows.append(["Stopped early", self.stopped, ""])
        rows += [[label, value, ""] for label, value in self.details]
        rows += [[kind, text, ""] for kind, text in self.notes]
        return rows


def summary(
    table: Table,
    mapping: Mapping,
    result: RunResult,
    *,
    extra_notes: list[str] | None = None,
    scores: RunScores | None = None,
    scores_hint: str = "",
) -> Summary:
    s = result.summary
    counts = {
        rs.ACCEPTED: s.accepted,
        rs.REJECTED: s.rejected,
        rs.SKIPPED: s.skipped,
        rs.DUPLICATE: s.duplicates,
        rs.UNCONFIRMED: s.unconfirmed,
        rs.FAILED: s.failed,
        rs.NOT_SENT: s.not_sent,
        rs.READY: s.ready,
    }
    statuses = [(st, counts[st], rs.ADVICE[st]) for st in STATUS_ORDER if counts[st]]
    money: list[tuple[str, Any]]
    if s.dry_run:
        estimate: Any = s.estimated_credits
        if estimate is None:
            estimate = "unknown (the price per phone is learned from a first real run)"
        money = [
            ("Estimated phones", s.estimated_phones),
            ("Estimated credits", estimate),
            ("Dry run", "yes: nothing was sent"),
        ]
    else:
        money = [
            ("Credits charged (this run)", s.credits_charged),
            ("Credits charged (this file, all runs)", s.credits_charged_total),
        ]
        if s.credits_unknown:
            money.append(
                (
                    "Charges not known",
                    f"{s.credits_unknown} batch(es) whose charge TitanX did not report (sent "
                    "without an answer, or found in its job list, which has no charges); the "
                    "totals above leave them out",
                )
            )
        money.append(("Credits remaining", s.credits_remaining))
        if s.sandbox:
            money.append(
                ("Sandbox", "yes: TitanX's simulator on this computer; nothing was charged")
            )
    details: list[tuple[str, Any]] = [
        ("Input file", s.input_file),
        *([("Sheet", s.sheet)] if s.sheet else []),  # a text file has none
        ("Rows read", s.rows_read),
        ("Rows sent", s.sent),
        ("Scoring type", s.scoring_type),
        ("Started at", When(s.started_at)),
        ("Ended at", When(s.ended_at)),
        ("Times are", f"local time, UTC{_utc_offset()}"),
        ("csvscore version", s.version),
    ]
    if mapping.profile:
        details.append(("Source profile", mapping.profile))
    details.append(("Input fingerprint (SHA-256)", s.fingerprint))
    notes = [("Note", n) for n in s.notes]
    notes += [("Note", n) for n in extra_notes or () if n not in s.notes]
    notes += [("Input note", n) for n in table.notes]
    notes += [("Mapping note", n) for n in mapping.notes]
    problems = table.problems
    notes += [
        ("Row problem", f"row {p.source_row}: {p.message}") for p in problems[:MAX_ROW_PROBLEMS]
    ]
    if len(problems) > MAX_ROW_PROBLEMS:
        notes.append(("Row problem", f"... and {len(problems) - MAX_ROW_PROBLEMS} more"))
    return Summary(
        title=_file_name(s.input_file),
        statuses=statuses,
        total_rows=s.rows_read,
        money=money,
        stopped=s.stop_reason,
        details=details,
        notes=notes,
        scores=score_summary(result.rows, scores, When) if scores is not None else None,
        scores_hint=scores_hint if scores is None else "",
    )


def _file_name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _utc_offset() -> str:
    offset = datetime.now().astimezone().strftime("%z") or "+0000"
    return f"{offset[:3]}:{offset[3:]}"


def local_time(iso: str) -> datetime | None:
    """An ISO 8601 time as a naive local date and time (what a spreadsheet cell holds)."""
    if not iso:
        return None
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().replace(tzinfo=None)


def decimal_or_text(value: Decimal) -> float | str:
    """A credit figure as a float when Excel's 15 digits hold it exactly, else its text."""
    if not value.is_finite():
        return str(value)
    as_float = float(value)
    if Decimal(f"{as_float:.15g}") != value:
        return format(value, "f")
    return as_float


# -- the Mapping sheet -----------------------------------------------------------------------


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
