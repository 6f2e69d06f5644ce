"""Context rules: a column's neighbours change what its header means.

In HubSpot exports with associated records, the columns after "Record ID - Company" describe
the company, so "City" there is companyCity and a phone is the company's phone; the block ends
at the next "Record ID - ..." column.
"""

from __future__ import annotations

from csvscore.mapping.match_state import Candidate, Column
from csvscore.mapping.synonyms import Synonyms

_CONTEXT = 0.98  # a contact-level header re-read as the company's, inside a company block


def apply_company_context(cols: list[Column], syn: Synonyms) -> None:
    """Re-read the candidates of columns inside a company block as the company's fields."""
    start: Column | None = None
    for col in cols:
        if col.key in syn.company_block_start:
            start = col
            continue
        if start is None:
            continue
        if col.toks[: len(syn.block_end_prefix)] == syn.block_end_prefix:
            start = None  # "Record ID - Contact", "Record ID - Deal": the company block ended
            continue
        col.in_company_block = True
        if col.pinned:
            continue
        after = f"it follows '{start.header.strip()}' (column {start.index + 1})"
        where = f"{after}, so it describes the company"
        kept: list[Candidate] = []
        for cand in col.cands:
            if cand.pool:
                cand.phone_type = "company"
            elif cand.role:
                pass  # an extension or type of the company phone: resolved with that phone
            elif cand.field in syn.company_fields:
                cand.field = syn.company_fields[cand.field]
            else:
                continue
            cand.score *= _CONTEXT
            cand.method = "context"
            cand.reason = f"{cand.reason}; {where}"
            kept.append(cand)
        if col.cands and not kept:
            col.blocked = (
                f"'{col.header.strip()}' is in the company block ({after}), not a contact field."
            )
        col.cands = kept
