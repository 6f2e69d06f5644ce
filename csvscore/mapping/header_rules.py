"""Rungs 1-7 of the mapping ladder: what a column's header alone says it is.

Profile pins, API field names, synonyms, the phone rule (phone words, and the companions
"ext"/"type"/"status"), the hard and scoped negatives, qualified headers ("Billing City") and,
batched for speed, fuzzy similarity. Each column gets its candidate fields with a score and a
reason; later stages (context, sample values, assignment) weigh them.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz, process

from csvscore.fields import FIELD_NAMES, PHONE_SLOTS
from csvscore.mapping.match_state import Candidate, Column
from csvscore.mapping.normalize import compact, normalize
from csvscore.mapping.synonyms import ROLE_FIELDS, Entry, PhoneRules, Profile, Synonyms, field_kind

_FUZZY_CUTOFF = 75  # token_sort_ratio below this is not even a review suggestion
_FUZZY_MIN_LEN = 4  # shorter headers ("ID", "St") are too easy to match by accident
_QUALIFIED = 0.95  # "Person City": a synonym seen through a qualifier is slightly less sure
_PHONE_RULE = 0.9  # a header made of phone words only ("Cell #", "Work Phone 2")
_ROLE_WORDS = {"ext": "extension", "type": "type", "status": "status"}
_SLOT_FIELDS = frozenset(
    [*PHONE_SLOTS[1:]]
    + [f"{s}{suffix}" for s in PHONE_SLOTS for suffix in ("Type", "Status")]
    + ["phoneExt"]
)
# Only real API fields are "exact"; "Full Name" is a synonym of the fullName pseudo-field.
_EXACT = {compact(name): name for name in FIELD_NAMES}


def header_candidates(col: Column, syn: Synonyms, prof: Profile | None) -> list[Candidate]:
    """Rungs 1-6 of the ladder (fuzzy is batched separately for speed)."""
    if not col.key:
        return []
    h = col.header.strip()
    if prof and col.key in prof.pins:
        pin = prof.pins[col.key]
        if pin.field is None:
            col.blocked = f"In {prof.title} exports '{h}' is not a contact field."
            return []
        reason = f"In {prof.title} exports '{h}' means {_describe(pin.field, pin.phone_type)}"
        return [candidate_for(pin.field, 1.0, "synonym", reason, col, syn, pin.phone_type)]

    exact = _EXACT.get(col.key)
    if exact and (exact not in _SLOT_FIELDS or _api_style(col.header)):
        reason = f"'{h}' matches the API field name {exact}"
        return [candidate_for(exact, 1.0, "exact", reason, col, syn)]

    entries = syn.by_key.get(col.key)
    if entries:
        return [
            candidate_for(e.field, e.score, "synonym", _synonym_reason(h, e, col, syn), col, syn)
            for e in entries
        ]

    # Phone headers before the negatives: "Phone 2 Type" and "Phone Status" are companions,
    # while "Phone Opt Out" and "Asst Phone" fail the phone rule and meet their negative below.
    phone = _phone_rule(col, syn)
    if phone:
        return allowed_candidates(col, [phone], syn)

    word = _never_word(col.toks, syn)
    if word:
        col.blocked = (
            f"Headers with '{word}' are not contact data, so it is kept as an extra column."
        )
        return []
    return allowed_candidates(col, _qualified(col, syn), syn)


def candidate_for(
    target: str,
    score: float,
    method: str,
    reason: str,
    col: Column,
    syn: Synonyms,
    phone_type: str | None = None,
) -> Candidate:
    """A candidate, turning "phone" into the phone pool and phoneExt/Type/Status into companions."""
    rules = syn.phone
    if target == "phone":
        ptype = phone_type or phone_type_of(col.toks, rules)
        return Candidate("phone", score, method, reason, pool=True, phone_type=ptype)
    for role, role_field in ROLE_FIELDS.items():
        if target == role_field:
            owner = tuple(t for t in col.toks if t not in rules.roles)
            return Candidate(role_field, score, method, reason, role=role, owner=owner)
    return Candidate(target, score, method, reason)


def _synonym_reason(header: str, entry: Entry, col: Column, syn: Synonyms) -> str:
    target = entry.field
    if target == "phone":
        target = _describe_phone(phone_type_of(col.toks, syn.phone))
    if entry.score < 0.8:
        return f"'{header}' can stand for {target} when no better column does"
    return f"'{header}' is a known header for {target}"


def _describe_phone(phone_type: str | None) -> str:
    return f"a phone ({phone_type})" if phone_type else "a phone (no type given)"


def _describe(target: str, phone_type: str | None) -> str:
    if target == "phone":
        return f"the contact's {phone_type} phone" if phone_type else "a phone"
    return target


def _api_style(header: str) -> bool:
    """True for headers written like API names ("phone2Type"), not prose ("Phone 2 Type")."""
    return header.strip().isalnum()


def _never_word(toks: tuple[str, ...], syn: Synonyms) -> str:
    """The first hard-negative word sequence in ``toks`` ("status", "opt out"...), or ""."""
    for i, tok in enumerate(toks):
        for seq in syn.never_by_first.get(tok, ()):
            if toks[i : i + len(seq)] == seq:
                return " ".join(seq)
    return ""


def _blocking_word(toks: tuple[str, ...], kind: str, syn: Synonyms) -> str:
    for word in toks:
        if kind in syn.never_for.get(word, ()):
            return word
        allowed = syn.never_unless.get(word)
        if allowed is not None and kind not in allowed:
            return word
    return ""


def allowed_candidates(col: Column, cands: list[Candidate], syn: Synonyms) -> list[Candidate]:
    """Drop candidates a scoped negative forbids ("Other City" is never city)."""
    out = []
    for cand in cands:
        word = _blocking_word(col.toks, _cand_kind(cand), syn)
        if word:
            col.blocked = col.blocked or (
                f"'{col.header.strip()}' is not the contact's {cand.field} ('{word}'), "
                "so it is kept as an extra column."
            )
        else:
            out.append(cand)
    if out:
        col.blocked = ""
    return out


def _cand_kind(cand: Candidate) -> str:
    if cand.pool:
        return "phone"
    return field_kind(cand.field)


def phone_type_of(toks: tuple[str, ...], rules: PhoneRules) -> str | None:
    """The phone type a header's words name ("direct", "mobile"...), by precedence; else None."""
    found = {rules.type_words[t] for t in toks if t in rules.type_words}
    for phone_type in rules.precedence:
        if phone_type in found:
            return phone_type
    return None


def _phone_rule(col: Column, syn: Synonyms) -> Candidate | None:
    """A header made only of phone words, type words and fillers is a phone (or its companion)."""
    rules = syn.phone
    role = None
    rest: list[str] = []
    for t in col.toks:
        if role is None and t in rules.roles:
            role = rules.roles[t]
        else:
            rest.append(t)
    if not any(t in rules.words for t in rest):
        return None
    if not all(t in rules.words or t in rules.filler or t in rules.type_words for t in rest):
        return None
    h = col.header.strip()
    ptype = phone_type_of(col.toks, rules)
    if role:
        target = ROLE_FIELDS[role]
        reason = f"'{h}' is the {_ROLE_WORDS[role]} of a phone column"
        return Candidate(target, _PHONE_RULE, "synonym", reason, role=role, owner=tuple(rest))
    reason = f"'{h}' is {_describe_phone(ptype)}"
    return Candidate("phone", _PHONE_RULE, "synonym", reason, pool=True, phone_type=ptype)


def _lookup(key: str, syn: Synonyms) -> tuple[str, float] | None:
    if key in _EXACT and _EXACT[key] not in _SLOT_FIELDS:
        return _EXACT[key], 1.0
    entries = syn.by_key.get(key)
    if entries:
        return entries[0].field, entries[0].score
    return None


def _qualified(col: Column, syn: Synonyms) -> list[Candidate]:
    """Strip qualifier words: "Person City" is city, "Billing City" is companyCity.

    Scoped negatives are stripped too, so "Other City" is recognised as a city and then refused
    by :func:`allowed_candidates` with a reason that says so.
    """
    toks = [t for t in col.toks if t not in syn.person_qualifiers and t not in syn.never_unless]
    company = [t for t in toks if t in syn.company_qualifiers]
    rest = [t for t in toks if t not in syn.company_qualifiers]
    if not rest or len(rest) == len(col.toks):
        return []
    found = _lookup("".join(rest), syn)
    if not found:
        return []
    target, score = found
    h = col.header.strip()
    if company:
        company_target = syn.company_fields.get(target)
        if company_target is None:
            return []
        reason = f"'{h}' is the company's {' '.join(rest)}, so {company_target}"
        return [candidate_for(company_target, score * _QUALIFIED, "synonym", reason, col, syn)]
    reason = f"'{h}' reads as '{' '.join(rest)}', a known header for {target}"
    return [candidate_for(target, score * _QUALIFIED, "synonym", reason, col, syn)]


def add_fuzzy_candidates(cols: list[Column], syn: Synonyms) -> None:
    """Rung 6, batched: one rapidfuzz matrix for every header nothing else recognised."""
    todo = [
        c
        for c in cols
        if not c.pinned
        and not c.cands
        and not c.blocked
        and len(normalize(c.header)) >= _FUZZY_MIN_LEN
    ]
    if not todo:
        return
    queries = [normalize(c.header) for c in todo]
    matrix = process.cdist(
        queries,
        syn.fuzzy_choices,
        scorer=fuzz.token_sort_ratio,
        score_cutoff=_FUZZY_CUTOFF,
        dtype=np.uint8,
        workers=1,
    )
    for col, row in zip(todo, matrix, strict=True):
        hits = np.flatnonzero(row)
        if not len(hits):
            continue
        best: dict[tuple[str, bool], Candidate] = {}
        order = np.argsort(-row[hits].astype(np.int16), kind="stable")  # best first, no wrap
        for j in hits[order][:8]:
            entry = syn.fuzzy_entries[int(j)]
            similarity = int(row[j])
            score = (similarity / 100) ** 2 * 0.9 * min(1.0, entry.score + 0.05)
            reason = f"'{col.header.strip()}' is close to '{entry.label}' ({similarity}% similar)"
            cand = candidate_for(entry.field, score, "fuzzy", reason, col, syn)
            key = (cand.field, cand.pool)
            if key not in best or best[key].score < cand.score:
                best[key] = cand
        col.cands = allowed_candidates(col, sorted(best.values(), key=lambda c: -c.score)[:3], syn)
