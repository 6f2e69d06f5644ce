"""An earlier run of the same file with another mapping or scoring type: continue it, exactly.

"Drop the same file again" must always finish the job. If the file was already (partly) sent
and the mapping csvscore finds now differs in what it would send (a column's field, phone type
or unmapped key, or the scoring type), sending it under the new mapping would charge the sent
rows again. The earlier run's mapping is kept in the journal, so the run can continue with it,
exactly as it was; only a deliberate ``--new-run`` starts a second, separately charged run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace

from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.scoring.journal import JournalView, RunRecord
from csvscore.scoring.submit import mapping_fingerprint, run_key_for


@dataclass
class EarlierRun:
    """A run of this file that sent rows under another mapping or scoring type."""

    run: RunRecord
    rows_sent: int
    mapping: Mapping | None  # its mapping rebuilt for this file; None if the journal lacks it
    differences: list[str]  # what differs, one short line each

    def describe(self) -> str:
        return (
            f"This file was already sent on {self.run.created_at[:10]} ({self.rows_sent} rows) "
            f"with {'; '.join(self.differences)}"
        )


def find_earlier(
    view: JournalView | None,
    fingerprint: str,
    mapping: Mapping,
    scoring_type: str,
    alternatives: Callable[[], list[Mapping]] = list,
) -> EarlierRun | None:
    """The latest run that sent rows with a different mapping or scoring type, unless the run
    this mapping and scoring type make has sent rows itself (then it simply resumes).

    A journal written by csvscore 0.1 kept only a hash of the mapping: ``alternatives`` (for
    example the mapping found without a remembered one) are tried against that hash.
    """
    if view is None:
        return None
    key = run_key_for(fingerprint, mapping_fingerprint(mapping), scoring_type)
    sent = view.sent_runs()
    if not sent or any(run.run_key == key for run, _ in sent):
        return None
    run, rows = sent[-1]
    stored = restore_mapping(mapping, run.mapping)
    if stored is None and not run.mapping:
        stored = next(
            (m for m in alternatives() if mapping_fingerprint(m) == run.mapping_fingerprint), None
        )
    return EarlierRun(run, rows, stored, differences(mapping, stored, scoring_type, run))


def restore_mapping(current: Mapping, stored: str) -> Mapping | None:
    """``current`` with every column's field, unmapped key and phone type as ``stored`` says.

    The input is the same bytes (the journal is per content), so columns match by position;
    anything that does not fit (another header) means the stored mapping cannot be trusted.
    """
    try:
        entries = json.loads(stored) if stored else None
    except ValueError:
        return None
    if not isinstance(entries, list) or len(entries) != len(current.columns):
        return None
    columns: list[ColumnMapping] = []
    for col, entry in zip(current.columns, entries, strict=True):
        if not isinstance(entry, dict) or entry.get("index") != col.index:
            return None
        if entry.get("header") != col.header:
            return None
        field = entry.get("field")
        columns.append(
            replace(
                col,
                field=field,
                unmapped_key=str(entry.get("key", col.unmapped_key)),
                phone_type=entry.get("type"),
                method="earlier run",
                confidence=1.0,
                review=False,
                reason="As sent in the earlier run of this file.",
            )
        )
    notes = [*current.notes, "Continued with the mapping of the earlier run of this file."]
    return Mapping(columns, current.profile, notes)


def differences(now: Mapping, then: Mapping | None, scoring_type: str, run: RunRecord) -> list[str]:
    """What the earlier run sent differently, in words a person checks against the review."""
    out: list[str] = []
    if run.scoring_type != scoring_type:
        out.append(f"scoring type {run.scoring_type} (now {scoring_type})")
    if then is None:
        return out or ["another mapping"]
    for a, b in zip(then.columns, now.columns, strict=True):
        if (a.field, a.phone_type, a.unmapped_key) != (b.field, b.phone_type, b.unmapped_key):
            out.append(f"column {a.index + 1} '{a.header}' as {_label(a)} (now {_label(b)})")
    return out or ["another mapping"]


def _label(c: ColumnMapping) -> str:
    if c.field is None:
        return "unmapped"
    return f"{c.field} ({c.phone_type})" if c.phone_type else c.field
