"""Sample-value rules: what a column's values confirm, contradict or suggest.

Values (emails, phones, LinkedIn /in/ vs /company/, states, ZIPs...) add a little confidence
when they agree with the header, lower it when they contradict it, decide between candidates
where the header left a real choice, and name a field when the header says nothing.
"""

from __future__ import annotations

from csvscore.mapping import value_kinds
from csvscore.mapping.header_rules import allowed_candidates, candidate_for
from csvscore.mapping.match_state import Candidate, Column
from csvscore.mapping.synonyms import Synonyms, field_kind

_CONTRADICTED = 0.55  # factor when values contradict a header (email header, no emails)
_SOFT_CONTRADICTED = 0.8  # ... for kinds with fuzzier values (state, ZIP, country, number)
_SAMPLE_ONLY = {  # values alone, header meaningless: field and confidence
    "email": ("email", 0.65),
    "linkedin_person": ("linkedInUrl", 0.7),
    "linkedin_company": ("companyLinkedInUrl", 0.7),
    "formatted_phone": ("phone", 0.6),
    "url": ("website", 0.55),
}
# Strong value kinds that do not contradict a field of this kind (Apollo owners are emails).
_COMPATIBLE = {
    "owner": ("url", "email"),
    "phone": ("formatted_phone",),
    "phone_ext": (),
    "phone_type": (),
    "phone_status": (),
}


def apply_samples(col: Column, syn: Synonyms) -> None:
    """Adjust ``col``'s candidates by its sample values, or add one when the header said nothing."""
    values = col.values
    if not values:
        return
    dominant = value_kinds.dominant(values)
    # Values decide between fields only where the header left a real choice ("URL": website or
    # LinkedIn?) or was a guess (fuzzy); elsewhere agreeing values add a little confidence.
    ambiguous = len({c.field for c in col.cands}) > 1
    for cand in col.cands:
        kind = "phone" if cand.pool else field_kind(cand.field)
        check = value_kinds.KIND_CHECK.get(kind)
        if kind == "url" and dominant and dominant[0].startswith("linkedin"):
            _contradict(cand, dominant[0], _CONTRADICTED)
        elif check:
            share = value_kinds.fraction(check, values)
            if share >= 0.8:
                if cand.score < 0.8 and (ambiguous or cand.method == "fuzzy"):
                    cand.score = min(0.85, cand.score + 0.25)
                    cand.method = "sample"
                else:
                    cand.score = min(1.0, cand.score + 0.03)
                cand.reason += f"; values are {value_kinds.DESCRIPTIONS[check]} ({share:.0%})"
            elif share < 0.3:
                strong = check in ("email", "phone", "url") or check.startswith("linkedin")
                factor = _CONTRADICTED if strong or kind == "phone_ext" else _SOFT_CONTRADICTED
                _contradict(cand, check, factor, negate=True)
        elif dominant and dominant[0] not in _COMPATIBLE.get(kind, ("url",)):
            _contradict(cand, dominant[0], _CONTRADICTED)
    # A LinkedIn column holding the other kind of LinkedIn URL: offer the right field too.
    if dominant and dominant[0].startswith("linkedin"):
        right = "linkedInUrl" if dominant[0] == "linkedin_person" else "companyLinkedInUrl"
        wrong = {"linkedInUrl", "companyLinkedInUrl", "website"} - {right}
        best = max((c.score for c in col.cands if c.field in wrong), default=0.0)
        if best and not any(c.field == right for c in col.cands):
            col.cands.append(
                Candidate(
                    right,
                    min(0.85, best / _CONTRADICTED),
                    "sample",
                    f"values are {value_kinds.DESCRIPTIONS[dominant[0]]}",
                )
            )
    if col.cands or col.in_company_block:
        return
    if dominant and dominant[0] in _SAMPLE_ONLY:
        target, score = _SAMPLE_ONLY[dominant[0]]
        what = f"{value_kinds.DESCRIPTIONS[dominant[0]]} ({dominant[1]:.0%})"
        reason = f"the header says nothing, but values are {what}"
        col.cands = allowed_candidates(
            col, [candidate_for(target, score, "sample", reason, col, syn)], syn
        )
    elif sum(1 for v in values if _us_digits(v)) >= 0.8 * len(values):
        # Bare 10-11 digit numbers may be phones or IDs: only ever a review suggestion.
        reason = "values are 10-digit numbers like phone numbers, but the header says nothing"
        col.cands = allowed_candidates(
            col, [candidate_for("phone", 0.45, "sample", reason, col, syn)], syn
        )


def _us_digits(value: str) -> bool:
    digits = value.lstrip("'+=").strip()
    return digits.isdigit() and len(digits) in (10, 11)


def _contradict(cand: Candidate, kind: str, factor: float, *, negate: bool = False) -> None:
    cand.score *= factor
    what = value_kinds.DESCRIPTIONS.get(kind, kind)
    cand.reason += f"; but values are not {what}" if negate else f"; but values are {what}"
