"""The mapping engine's working state: a column being mapped and the fields it could go to.

Every stage of :func:`csvscore.mapping.matcher.map_columns` (header rules, context, sample values,
assignment, phone slots) reads and updates these; they never leave the engine, which returns
:class:`csvscore.mapping.model.Mapping`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field


@dataclass
class Candidate:
    """A field a column could go to, how sure we are, and why."""

    field: str  # API field or FULL_NAME; "phone" with pool=True is "some phone slot"
    score: float
    method: str
    reason: str
    pool: bool = False  # a phone whose slot is decided by type priority
    phone_type: str | None = None
    role: str | None = None  # "ext" | "type" | "status": a companion of a phone column
    owner: tuple[str, ...] = ()  # companion: the words naming its phone ("business phone")


@dataclass
class Column:
    """One column of the export: its header and values, candidates, and the decision so far."""

    index: int
    header: str
    toks: tuple[str, ...]
    key: str
    values: Sequence[str]
    occurrence: int  # 0 for the first column with this exact header, 1 for the next...
    cands: list[Candidate] = dataclass_field(default_factory=list)
    blocked: str = ""  # why it can never map (hard negative, profile pin to null)
    pinned: bool = False
    in_company_block: bool = False
    field: str | None = None
    method: str = "none"
    confidence: float = 0.0
    reason: str = ""
    review: bool = False
    phone_type: str | None = None
    slot_note: str = ""

    @property
    def label(self) -> str:
        return f"column {self.index + 1} ('{self.header}')"


def accept(col: Column, cand: Candidate, target: str | None = None) -> None:
    """Map ``col`` as ``cand`` says, to ``target`` when given (a phone slot, a companion)."""
    col.field = target or cand.field
    col.method = cand.method
    col.confidence = min(1.0, cand.score)
    col.reason = cand.reason + "."
    if cand.pool:
        col.phone_type = cand.phone_type
