"""The mapping data model: which column goes to which API field, and why.

Produced by :mod:`~csvscore.mapping.matcher`, adjusted by overrides
(:mod:`~csvscore.mapping.overrides`), consumed by the contact builder and printed by
``csvscore map``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from csvscore.fields import FULL_NAME, PHONE_SLOTS

# How a decision was made; shown to the user in the "method" column.
METHODS = (
    "exact",  # normalised header equals the field name
    "synonym",  # normalised header is a known synonym (mappings/synonyms.yaml)
    "fuzzy",  # rapidfuzz similarity to a field name or synonym
    "sample",  # decided or confirmed by what the values look like
    "context",  # decided by neighbouring columns (e.g. after a company ID block)
    "override",  # pinned by --mapping / interactive review
    "remembered",  # from a remembered mapping for the same headers
    "none",  # nothing matched
)


@dataclass
class ColumnMapping:
    index: int  # 0-based position in the file
    header: str  # header text as in the file
    field: str | None  # API field, FULL_NAME ("fullName"), or None (goes to unmappedFields)
    confidence: float  # 0..1
    method: str  # one of METHODS
    sample: str = ""  # first non-empty value, for display
    reason: str = ""  # one human sentence on why (or why not)
    review: bool = False  # a likely field was found but below the threshold: a human should look
    unmapped_key: str = ""  # key under unmappedFields when field is None (unique per file)
    phone_type: str | None = None  # for phone slots: type inferred from the header ("mobile"...)


@dataclass
class Mapping:
    columns: list[ColumnMapping]
    profile: str | None = None  # source profile detected or given (e.g. "hubspot")
    notes: list[str] = field(default_factory=list)

    def by_field(self) -> dict[str, ColumnMapping]:
        return {c.field: c for c in self.columns if c.field is not None}

    def unmapped(self) -> list[ColumnMapping]:
        return [c for c in self.columns if c.field is None]

    def review(self) -> list[ColumnMapping]:
        return [c for c in self.columns if c.review]

    def missing_required(self) -> list[str]:
        """Required API inputs nothing maps to: firstName, lastName, and "phone" (any slot)."""
        mapped = set(self.by_field())
        missing: list[str] = []
        for name in ("firstName", "lastName"):
            if name not in mapped and FULL_NAME not in mapped:
                missing.append(name)
        if not mapped.intersection(PHONE_SLOTS):
            missing.append("phone")
        return missing
