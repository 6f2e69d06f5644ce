"""The scores of one run's rows, as a result shows them: pure data, built by
:mod:`csvscore.scoring.collect` and written by :mod:`csvscore.output`.

A row with no record yet is ``pending`` when TitanX accepted it (its score is still to come) and
``not sent`` otherwise, so a run can show the score columns before anything was fetched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from csvscore.results import ACCEPTED, RowResult
from csvscore.scores.match import NOT_SENT, PENDING, STATES, ScoreRecord, not_scored_note
from csvscore.scores.priority import Priorities

WAITING = "waiting for TitanX's result"


def phone_labels(headers: Sequence[str], columns: Iterable[int]) -> dict[str, int]:
    """A label per phone column, in the order given: its header, made unique ("Phone (2)") and
    never empty. The score columns are named after them (``TitanX: Mobile``)."""
    labels: dict[str, int] = {}
    used: set[str] = set()
    for index in columns:
        base = headers[index].strip() or f"Column {index + 1}"
        label, n = base, 2
        while label.casefold() in used:
            label, n = f"{base} ({n})", n + 1
        used.add(label.casefold())
        labels[label] = index
    return labels


@dataclass
class RunScores:
    """Every row's score block for one run, and where the scores came from."""

    records: Mapping[int, ScoreRecord]  # by row index (Table.rows position)
    phone_columns: Mapping[str, int]  # each source phone column's label -> its index; file order
    priorities: Priorities
    receiver: str = ""  # the receiver read (its URL, never a token); "" when none
    fetched_at: str = ""  # when they were last fetched (ISO 8601 UTC); "" if never
    problem: str = ""  # why they could not be fetched this time ("" when they were)
    notes: list[str] = field(default_factory=list)

    def record_for(self, row: RowResult) -> ScoreRecord:
        """The row's record, or what a row without one shows (pending or not sent)."""
        found = self.records.get(row.index)
        if found is not None:
            return found
        if row.status == ACCEPTED:
            return ScoreRecord(row.index, row.key, PENDING, note=WAITING, job_id=row.job_id or None)
        return ScoreRecord(row.index, row.key, NOT_SENT, note=not_scored_note(row.status))

    def states(self, rows: Iterable[RowResult]) -> Counter[str]:
        """Rows per score state, every state present (zero when none)."""
        counts: Counter[str] = Counter({s: 0 for s in STATES})
        counts.update(self.record_for(r).state for r in rows)
        return counts

    def pending(self, rows: Iterable[RowResult]) -> int:
        """Accepted rows still waiting for their score."""
        return sum(1 for r in rows if self.record_for(r).state == PENDING)
