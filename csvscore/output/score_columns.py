"""The scores in a result: the score columns of the Results sheet, the Call List sheet and the
Summary's score counts, whatever the file format.

The score block goes after the TitanX status columns and before the export's own columns:
``TitanX Lead Status`` (raw, as TitanX sent it), ``Call Priority`` (mappings/statuses.yaml; ``?``
for a status it does not list), ``Best Phone`` (as the source cell has it), ``Best Phone
Column`` (its header), one ``TitanX: <header>`` status column per source phone column, ``Score
State``, ``Scored At`` and ``Score Note``. The To fix and Check sheets do not get it: their rows
were never scored, and deleting their first six columns must still give the export back.

The Call List is what a dialer imports: scored rows only, best first (Call Priority, then last
and first name), the columns a dialer maps first (name, the number to dial, priority, company,
title, email) and then the rest (every number with its status, the CRM id, the source row).
Rows whose best status is do-not-call are left off (they stay on Results, and the Summary
counts them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from csvscore.mapping.model import Mapping
from csvscore.output.style import SCORE_STATE_ORDER
from csvscore.read.table import Table
from csvscore.results import RowResult
from csvscore.scores import match as sm
from csvscore.scores.priority import DO_NOT_CALL
from csvscore.scores.run import RunScores

LEAD_STATUS = "TitanX Lead Status"
CALL_PRIORITY = "Call Priority"
BEST_PHONE = "Best Phone"
BEST_PHONE_COLUMN = "Best Phone Column"
SCORE_STATE = "Score State"
SCORED_AT = "Scored At"
SCORE_NOTE = "Score Note"
PHONE_STATUS = "TitanX: "  # + the source phone column's header
CALL_LIST_SHEET = "Call List"

# One coherent piece of advice per score state (Summary, terminal, README).
SCORE_ADVICE = {
    sm.SCORED: "Call them best first: the Call List sheet has them in order.",
    sm.PENDING: "TitanX has not sent these scores yet. Drop the same file again later to add them.",
    sm.MISMATCH: "The score came back for another name or other numbers (the Score Note says "
    "which): check the row before calling.",
    sm.NO_RESULT: "TitanX finished without sending a score for these rows; the Score Note says "
    "what to ask TitanX support.",
    sm.NOT_ENRICHED: "TitanX could not enrich these contacts, so they have no score.",
    sm.NOT_SENT: "Nothing to score: TitanX did not accept these rows.",
}
SCORE_LABELS = {
    sm.SCORED: "Scored",
    sm.PENDING: "Pending",
    sm.MISMATCH: "Mismatch",
    sm.NO_RESULT: "No result",
    sm.NOT_ENRICHED: "Not enriched",
    sm.NOT_SENT: "Not sent",  # as the cells say it, so the Summary matches a filter
}
# The one Summary line of a run without scores (README, "Getting scores back").
NO_RECEIVER_HINT = (
    "TitanX sends the scores later, to your team's score receiver, and none is set up on this "
    'computer, so this file has no scores. To get them, see "Getting scores back" in '
    "csvscore's README (your IT contact sets it up once)."
)
SANDBOX_HINT = (
    "To see the sandbox's scores in this file, run the same command with --wait-scores 60 "
    '(README, "Getting scores back").'
)


def score_header(scores: RunScores) -> list[str]:
    return [
        LEAD_STATUS,
        CALL_PRIORITY,
        BEST_PHONE,
        BEST_PHONE_COLUMN,
        *(PHONE_STATUS + label for label in scores.phone_columns),
        SCORE_STATE,
        SCORED_AT,
        SCORE_NOTE,
    ]


def score_cells(scores: RunScores, r: RowResult, when: Callable[[str], Any]) -> list[Any]:
    """One row's score block; ``when`` turns the ISO time into what the format shows."""
    rec = scores.record_for(r)
    statuses = rec.phone_statuses
    return [
        rec.lead_status,
        rec.call_priority,
        rec.best_phone,
        rec.best_phone_column,
        *(statuses.get(c) for c in scores.phone_columns),
        rec.state,
        when(rec.scored_at) if rec.scored_at else None,
        rec.note,
    ]


# -- the Call List -------------------------------------------------------------------------------

_NAMES = (("First Name", "firstName"), ("Last Name", "lastName"))
# What a dialer maps after the name and number, by the field whose column holds it.
_DETAILS = (("Company", "companyAccount"), ("Title", "title"), ("Email", "email"))
# The row's id in the CRM, so a dialer's results can go back to it (the first one mapped).
_ID_FIELDS = ("contactCrmId", "leadId", "customerContactId")
BEST_PHONE_E164 = "Best Phone (E.164)"


@dataclass
class CallList:
    header: list[str]
    rows: list[list[Any]]  # sorted, best first
    left_off: int  # scored rows whose best status is do-not-call
    priority_column: int  # where Call Priority is (for its colours)
    status_columns: list[int] = field(default_factory=list)  # lead and phone statuses


def call_list(
    table: Table,
    mapping: Mapping,
    rows: Sequence[RowResult],
    scores: RunScores,
    when: Callable[[str], Any],
) -> CallList:
    """The Call List: scored rows, best first, the columns a dialer maps first."""
    owner: dict[str, int] = {}
    for c in sorted(mapping.columns, key=lambda c: c.index):
        if c.field is not None:
            owner.setdefault(c.field, c.index)  # the first column of a field is the one sent
    names = [(h, owner[f]) for h, f in _NAMES if f in owner]
    if not names and "fullName" in owner:
        names = [("Full Name", owner["fullName"])]
    details = [(h, owner[f]) for h, f in _DETAILS if f in owner]
    id_column = next((owner[f] for f in _ID_FIELDS if f in owner), None)
    labels = list(scores.phone_columns)
    header = [h for h, _ in names] + [BEST_PHONE, CALL_PRIORITY, LEAD_STATUS]
    header += [h for h, _ in details] + [BEST_PHONE_E164, BEST_PHONE_COLUMN]
    first_phone = len(header)
    for label in labels:
        header += [label, PHONE_STATUS + label]
    if id_column is not None:
        header.append(table.headers[id_column].strip() or "CRM ID")
    header += [SCORED_AT, "Source Row"]

    keyed: list[tuple[tuple[Any, ...], list[Any]]] = []
    left_off = 0
    source_rows = table.source_rows
    for r in rows:
        rec = scores.record_for(r)
        if rec.state != sm.SCORED:
            continue
        if rec.call_priority == DO_NOT_CALL:
            left_off += 1
            continue
        cells = table.rows[r.index]
        values: list[Any] = [cells[i].strip() for _, i in names]
        values += [rec.best_phone, rec.call_priority, rec.lead_status]
        values += [cells[i].strip() for _, i in details]
        values += [rec.best_phone_e164, rec.best_phone_column]
        for label in labels:
            values += [cells[scores.phone_columns[label]].strip(), rec.phone_statuses.get(label)]
        if id_column is not None:
            values.append(cells[id_column].strip())
        values += [when(rec.scored_at) if rec.scored_at else None, source_rows[r.index]]
        priority = rec.call_priority if isinstance(rec.call_priority, int) else 99
        # Best first, then by last and first name, so a person can find someone by eye.
        sort_names = tuple(cells[i].strip().casefold() for _, i in reversed(names))
        keyed.append(((priority, *sort_names, source_rows[r.index]), values))
    keyed.sort(key=lambda kv: kv[0])
    statuses = [len(names) + 2] + [first_phone + 2 * n + 1 for n in range(len(labels))]
    return CallList(header, [v for _, v in keyed], left_off, len(names) + 1, statuses)


# -- the Summary ---------------------------------------------------------------------------------


@dataclass
class ScoreSummary:
    """The Summary's Scores block."""

    states: list[tuple[str, int, str]]  # (state, rows, what to do next), present ones only
    leads: list[tuple[str, int, int | str, str]]  # (lead status, rows, priority, its meaning)
    call_list: int  # rows on the Call List
    left_off: int  # scored rows left off it (do not call)
    pending: int
    details: list[tuple[str, Any]]  # where the scores came from and when
    problem: str = ""  # why they could not be fetched this time

    def pairs(self) -> list[list[Any]]:
        """As rows of (item, value, what to do next), for a CSV Summary."""
        rows: list[list[Any]] = [
            [f"Score: {SCORE_LABELS.get(s, s)}", n, advice] for s, n, advice in self.states
        ]
        rows += [[f"Lead status: {status}", n, lead_text(p, m)] for status, n, p, m in self.leads]
        rows += [list(line) for line in call_list_lines(self)]
        rows += [[label, value, ""] for label, value in self.details]
        if self.problem:
            rows.append(["Scores not updated", self.problem, ""])
        return rows


def lead_text(priority: int | str, meaning: str) -> str:
    """What a lead status means, with its Call Priority ("Priority 1: high propensity ...")."""
    if isinstance(priority, str):  # not in the data file
        return "Priority ?: a status mappings/statuses.yaml does not list yet"
    return f"Priority {priority}: {meaning}" if meaning else f"Priority {priority}"


def call_list_lines(s: ScoreSummary) -> list[tuple[str, int, str]]:
    """The Summary's Call List lines: (label, rows, what it means)."""
    lines = [("Call List", s.call_list, "rows to call, best first: the Call List sheet")]
    if s.left_off:
        lines.append(
            (
                "Left off the Call List",
                s.left_off,
                "scored, but the best number is do-not-call (Call Priority 9)",
            )
        )
    return lines


def score_summary(
    rows: Sequence[RowResult], scores: RunScores, when: Callable[[str], Any]
) -> ScoreSummary:
    records = [scores.record_for(r) for r in rows]
    counts = Counter(rec.state for rec in records)
    states = [(s, counts[s], SCORE_ADVICE[s]) for s in SCORE_STATE_ORDER if counts.get(s)]
    states += [(s, n, "") for s, n in counts.items() if s not in SCORE_ADVICE]
    leads_count = Counter(rec.lead_status for rec in records if rec.lead_status)
    p = scores.priorities
    leads = [(status, n, p.shown(status), p.meaning(status)) for status, n in leads_count.items()]
    leads.sort(key=lambda x: (x[2] if isinstance(x[2], int) else 99, x[0].casefold()))
    on_list = sum(
        1 for rec in records if rec.state == sm.SCORED and rec.call_priority != DO_NOT_CALL
    )
    left_off = sum(
        1 for rec in records if rec.state == sm.SCORED and rec.call_priority == DO_NOT_CALL
    )
    details: list[tuple[str, Any]] = []
    if scores.receiver:
        details.append(("Scores from", scores.receiver))
    if scores.fetched_at:
        details.append(("Scores last fetched", when(scores.fetched_at)))
    return ScoreSummary(
        states=states,
        leads=leads,
        call_list=on_list,
        left_off=left_off,
        pending=counts.get(sm.PENDING, 0),
        details=details,
        problem=scores.problem,
    )
