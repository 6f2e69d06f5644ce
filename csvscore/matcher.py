"""The column-mapping engine: which column of an export goes to which TitanX API field.

Every column climbs a ladder and stops at the first rung that knows it:

1. a pin (``overrides``: the user said so) or the source profile's meaning for the header;
2. the API field name itself, normalised (``"zip_postal_code"`` is ``zipPostalCode``);
3. a synonym from ``mappings/synonyms.yaml`` (``"Mailing Street"`` is ``street``);
4. the phone rule: a header made of phone words ("Work Direct Phone", "Cell #") is a phone,
   and with "ext"/"type"/"status" it is a companion of one;
5. the hard negatives (``"Email Status"``, ``"Fax"``...): nothing below may map them;
6. qualified headers ("Person City" is city, "Billing City" is companyCity);
7. fuzzy similarity (rapidfuzz) to every synonym, for typos.

Then context (columns after HubSpot's "Record ID - Company" describe the company) and sample
values (emails, phones, LinkedIn /in/ vs /company/, states, ZIPs...) confirm, break ties or
lower confidence. Finally fields are assigned one-to-one by a maximum-weight assignment, so the
best column wins a field whatever the column order, and phones fill phone..phone5 by type.

Pure functions: no I/O apart from the cached load of the YAML.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
from rapidfuzz import fuzz, process

from csvscore import samples as sniff
from csvscore.fields import FIELD_NAMES, FULL_NAME, PHONE_SLOTS
from csvscore.mapping import ColumnMapping, Mapping
from csvscore.mapping_file import Overrides
from csvscore.normalize import compact, is_blank, normalize, tokens
from csvscore.synonyms import (
    ROLE_FIELDS,
    Entry,
    PhoneRules,
    Profile,
    Synonyms,
    field_kind,
    get_profile,
    list_profiles,
    load_profiles,
    load_synonyms,
)

__all__ = ["DEFAULT_THRESHOLD", "list_profiles", "map_columns", "unmapped_keys"]

DEFAULT_THRESHOLD = 0.6

_FUZZY_CUTOFF = 75  # token_sort_ratio below this is not even a review suggestion
_FUZZY_MIN_LEN = 4  # shorter headers ("ID", "St") are too easy to match by accident
_PLAUSIBLE = 0.35  # below this a candidate is noise, not worth a review flag
_QUALIFIED = 0.95  # "Person City": a synonym seen through a qualifier is slightly less sure
_PHONE_RULE = 0.9  # a header made of phone words only ("Cell #", "Work Phone 2")
_CONTEXT = 0.98  # a contact-level header re-read as the company's, inside a company block
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
_ROLE_WORDS = {"ext": "extension", "type": "type", "status": "status"}
_METHOD_RANK = {"override": 7, "exact": 6, "synonym": 5, "context": 4, "sample": 3, "fuzzy": 2}
_SLOT_FIELDS = frozenset(
    [*PHONE_SLOTS[1:]]
    + [f"{s}{suffix}" for s in PHONE_SLOTS for suffix in ("Type", "Status")]
    + ["phoneExt"]
)
# Only real API fields are "exact"; "Full Name" is a synonym of the fullName pseudo-field.
_EXACT = {compact(name): name for name in FIELD_NAMES}


@dataclass
class _Cand:
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
class _Col:
    index: int
    header: str
    toks: tuple[str, ...]
    key: str
    values: Sequence[str]
    occurrence: int  # 0 for the first column with this exact header, 1 for the next...
    cands: list[_Cand] = dataclass_field(default_factory=list)
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


# --------------------------------------------------------------------------------------------
# Public entry point


def map_columns(
    headers: list[str],
    samples: list[list[str]],
    *,
    overrides: Overrides | None = None,
    profile: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> Mapping:
    """Map each column to an API field (or leave it unmapped), with confidence and reason.

    ``samples[i]`` holds up to ~50 non-empty values of column ``i`` (missing lists count as
    empty). ``overrides`` pin columns; ``profile`` forces a source profile (else it is detected
    from signature headers, or taken from the overrides' ``profile:``). Columns whose best
    candidate scores below ``threshold`` stay unmapped, flagged for review when plausible.

    The result has exactly one :class:`ColumnMapping` per header, in file order. Raises
    MappingError for an unknown profile or overrides that do not fit these headers.
    """
    syn = load_synonyms()
    pins = overrides.resolve(headers) if overrides else {}
    cols = _make_columns(headers, samples)
    notes: list[str] = []
    prof = _choose_profile(cols, profile or (overrides.profile if overrides else None), notes)

    for col in cols:
        if col.index in pins:
            _pin(col, pins[col.index], overrides)
        else:
            col.cands = _header_candidates(col, syn, prof)
    _fuzzy(cols, syn)
    _company_context(cols, syn)
    for col in cols:
        if not col.pinned and not col.blocked:
            _apply_samples(col, syn)

    _assign(cols, threshold, syn, notes)
    keys = unmapped_keys(headers)
    return Mapping(
        columns=[
            ColumnMapping(
                index=col.index,
                header=col.header,
                field=col.field,
                confidence=round(col.confidence, 3),
                method=col.method,
                sample=col.values[0] if col.values else "",
                reason=col.reason,
                review=col.review,
                unmapped_key=keys[col.index],
                phone_type=col.phone_type,
            )
            for col in cols
        ],
        profile=prof.name if prof else None,
        notes=notes,
    )


def unmapped_keys(headers: list[str]) -> list[str]:
    """The ``unmappedFields`` key of each column: its header, made unique and never empty.

    Repeats get a counter ("Phone Number", "Phone Number (2)"); a blank header is "Column N".
    """
    used: set[str] = set()
    seen: dict[str, int] = {}
    out: list[str] = []
    for i, header in enumerate(headers):
        base = f"Column {i + 1}" if is_blank(header) else header.strip()
        count = seen.get(base, 0) + 1
        seen[base] = count
        key = base if count == 1 else f"{base} ({count})"
        while key in used:
            count += 1
            key = f"{base} ({count})"
        used.add(key)
        out.append(key)
    return out


# --------------------------------------------------------------------------------------------
# Setup: columns, profile, pins


def _make_columns(headers: list[str], samples: list[list[str]]) -> list[_Col]:
    cols: list[_Col] = []
    occurrences: dict[str, int] = {}
    for i, header in enumerate(headers):
        values = samples[i] if i < len(samples) else []
        occ = occurrences.get(header, 0)
        occurrences[header] = occ + 1
        cols.append(_Col(i, header, tokens(header), compact(header), values, occ))
    return cols


def _choose_profile(cols: list[_Col], forced: str | None, notes: list[str]) -> Profile | None:
    if forced:
        prof = get_profile(forced)
        notes.append(f"Using the {prof.title} profile (given).")
        return prof
    keys = {c.key for c in cols}
    best: tuple[int, float, str] | None = None
    for name, prof in load_profiles().items():
        found = sum(1 for k in prof.signature if k in keys)
        if found >= prof.min_signature:
            rank = (found, found / max(1, len(prof.signature)), name)
            if best is None or rank[:2] > best[:2]:
                best = rank
    if best is None:
        return None
    prof = load_profiles()[best[2]]
    shown = list(dict.fromkeys(c.header.strip() for c in cols if c.key in prof.signature))[:3]
    notes.append(
        f"Looks like an export from {prof.title} ({best[0]} signature columns such as "
        f"{', '.join(repr(s) for s in shown)}); using its header meanings."
    )
    return prof


def _pin(col: _Col, target: str | None, overrides: Overrides | None) -> None:
    source = overrides.source if overrides else "mapping file"
    col.pinned = True
    col.field = target
    col.method = "override"
    col.confidence = 1.0
    if target is None:
        col.reason = f"Left unmapped by {source}."
    else:
        col.reason = f"Set to {target} by {source}."
        if target in PHONE_SLOTS:
            col.phone_type = _phone_type(col.toks, load_synonyms().phone)


# --------------------------------------------------------------------------------------------
# Header candidates


def _header_candidates(col: _Col, syn: Synonyms, prof: Profile | None) -> list[_Cand]:
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
        return [_cand_for(pin.field, 1.0, "synonym", reason, col, syn, pin.phone_type)]

    exact = _EXACT.get(col.key)
    if exact and (exact not in _SLOT_FIELDS or _api_style(col.header)):
        reason = f"'{h}' matches the API field name {exact}"
        return [_cand_for(exact, 1.0, "exact", reason, col, syn)]

    entries = syn.by_key.get(col.key)
    if entries:
        return [
            _cand_for(e.field, e.score, "synonym", _synonym_reason(h, e, col, syn), col, syn)
            for e in entries
        ]

    # Phone headers before the negatives: "Phone 2 Type" and "Phone Status" are companions,
    # while "Phone Opt Out" and "Asst Phone" fail the phone rule and meet their negative below.
    phone = _phone_rule(col, syn)
    if phone:
        return _allowed(col, [phone], syn)

    word = _never_word(col.toks, syn)
    if word:
        col.blocked = (
            f"Headers with '{word}' are not contact data, so it is kept as an extra column."
        )
        return []
    return _allowed(col, _qualified(col, syn), syn)


def _cand_for(
    target: str,
    score: float,
    method: str,
    reason: str,
    col: _Col,
    syn: Synonyms,
    phone_type: str | None = None,
) -> _Cand:
    """A candidate, turning "phone" into the phone pool and phoneExt/Type/Status into companions."""
    rules = syn.phone
    if target == "phone":
        ptype = phone_type or _phone_type(col.toks, rules)
        return _Cand("phone", score, method, reason, pool=True, phone_type=ptype)
    for role, role_field in ROLE_FIELDS.items():
        if target == role_field:
            owner = tuple(t for t in col.toks if t not in rules.roles)
            return _Cand(role_field, score, method, reason, role=role, owner=owner)
    return _Cand(target, score, method, reason)


def _synonym_reason(header: str, entry: Entry, col: _Col, syn: Synonyms) -> str:
    target = entry.field
    if target == "phone":
        target = _describe_phone(_phone_type(col.toks, syn.phone))
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


def _allowed(col: _Col, cands: list[_Cand], syn: Synonyms) -> list[_Cand]:
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


def _cand_kind(cand: _Cand) -> str:
    if cand.pool:
        return "phone"
    return field_kind(cand.field)


def _phone_type(toks: tuple[str, ...], rules: PhoneRules) -> str | None:
    found = {rules.type_words[t] for t in toks if t in rules.type_words}
    for phone_type in rules.precedence:
        if phone_type in found:
            return phone_type
    return None


def _phone_rule(col: _Col, syn: Synonyms) -> _Cand | None:
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
    ptype = _phone_type(col.toks, rules)
    if role:
        target = ROLE_FIELDS[role]
        reason = f"'{h}' is the {_ROLE_WORDS[role]} of a phone column"
        return _Cand(target, _PHONE_RULE, "synonym", reason, role=role, owner=tuple(rest))
    reason = f"'{h}' is {_describe_phone(ptype)}"
    return _Cand("phone", _PHONE_RULE, "synonym", reason, pool=True, phone_type=ptype)


def _lookup(key: str, syn: Synonyms) -> tuple[str, float] | None:
    if key in _EXACT and _EXACT[key] not in _SLOT_FIELDS:
        return _EXACT[key], 1.0
    entries = syn.by_key.get(key)
    if entries:
        return entries[0].field, entries[0].score
    return None


def _qualified(col: _Col, syn: Synonyms) -> list[_Cand]:
    """Strip qualifier words: "Person City" is city, "Billing City" is companyCity.

    Scoped negatives are stripped too, so "Other City" is recognised as a city and then refused
    by :func:`_allowed` with a reason that says so.
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
        return [_cand_for(company_target, score * _QUALIFIED, "synonym", reason, col, syn)]
    reason = f"'{h}' reads as '{' '.join(rest)}', a known header for {target}"
    return [_cand_for(target, score * _QUALIFIED, "synonym", reason, col, syn)]


def _fuzzy(cols: list[_Col], syn: Synonyms) -> None:
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
        best: dict[tuple[str, bool], _Cand] = {}
        order = np.argsort(-row[hits].astype(np.int16), kind="stable")  # best first, no wrap
        for j in hits[order][:8]:
            entry = syn.fuzzy_entries[int(j)]
            similarity = int(row[j])
            score = (similarity / 100) ** 2 * 0.9 * min(1.0, entry.score + 0.05)
            reason = f"'{col.header.strip()}' is close to '{entry.label}' ({similarity}% similar)"
            cand = _cand_for(entry.field, score, "fuzzy", reason, col, syn)
            key = (cand.field, cand.pool)
            if key not in best or best[key].score < cand.score:
                best[key] = cand
        col.cands = _allowed(col, sorted(best.values(), key=lambda c: -c.score)[:3], syn)


# --------------------------------------------------------------------------------------------
# Context: the company block of HubSpot exports with associated records


def _company_context(cols: list[_Col], syn: Synonyms) -> None:
    start: _Col | None = None
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
        kept: list[_Cand] = []
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


# --------------------------------------------------------------------------------------------
# Sample values


def _apply_samples(col: _Col, syn: Synonyms) -> None:
    values = col.values
    if not values:
        return
    dominant = sniff.dominant(values)
    # Values decide between fields only where the header left a real choice ("URL": website or
    # LinkedIn?) or was a guess (fuzzy); elsewhere agreeing values add a little confidence.
    ambiguous = len({c.field for c in col.cands}) > 1
    for cand in col.cands:
        kind = "phone" if cand.pool else field_kind(cand.field)
        check = sniff.KIND_CHECK.get(kind)
        if kind == "url" and dominant and dominant[0].startswith("linkedin"):
            _contradict(cand, dominant[0], _CONTRADICTED)
        elif check:
            share = sniff.fraction(check, values)
            if share >= 0.8:
                if cand.score < 0.8 and (ambiguous or cand.method == "fuzzy"):
                    cand.score = min(0.85, cand.score + 0.25)
                    cand.method = "sample"
                else:
                    cand.score = min(1.0, cand.score + 0.03)
                cand.reason += f"; values are {sniff.DESCRIPTIONS[check]} ({share:.0%})"
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
                _Cand(
                    right,
                    min(0.85, best / _CONTRADICTED),
                    "sample",
                    f"values are {sniff.DESCRIPTIONS[dominant[0]]}",
                )
            )
    if col.cands or col.in_company_block:
        return
    if dominant and dominant[0] in _SAMPLE_ONLY:
        target, score = _SAMPLE_ONLY[dominant[0]]
        what = f"{sniff.DESCRIPTIONS[dominant[0]]} ({dominant[1]:.0%})"
        reason = f"the header says nothing, but values are {what}"
        col.cands = _allowed(col, [_cand_for(target, score, "sample", reason, col, syn)], syn)
    elif sum(1 for v in values if _us_digits(v)) >= 0.8 * len(values):
        # Bare 10-11 digit numbers may be phones or IDs: only ever a review suggestion.
        reason = "values are 10-digit numbers like phone numbers, but the header says nothing"
        col.cands = _allowed(col, [_cand_for("phone", 0.45, "sample", reason, col, syn)], syn)


def _us_digits(value: str) -> bool:
    digits = value.lstrip("'+=").strip()
    return digits.isdigit() and len(digits) in (10, 11)


def _contradict(cand: _Cand, kind: str, factor: float, *, negate: bool = False) -> None:
    cand.score *= factor
    what = sniff.DESCRIPTIONS.get(kind, kind)
    cand.reason += f"; but values are not {what}" if negate else f"; but values are {what}"


# --------------------------------------------------------------------------------------------
# Assignment


def _assign(cols: list[_Col], threshold: float, syn: Synonyms, notes: list[str]) -> None:
    taken: dict[str, _Col] = {c.field: c for c in cols if c.pinned and c.field}
    pool: list[tuple[_Col, _Cand]] = []
    companions: list[tuple[_Col, _Cand]] = []
    edges: dict[int, dict[str, tuple[int, _Cand]]] = {}
    for col in cols:
        if col.pinned:
            continue
        eligible = [
            c
            for c in col.cands
            if c.score >= threshold and (c.pool or c.role or c.field not in taken)
        ]
        if not eligible:
            continue
        best = max(eligible, key=lambda c: (c.score, _METHOD_RANK.get(c.method, 0)))
        if best.pool:
            pool.append((col, best))
        elif best.role:
            companions.append((col, best))
        else:
            edges[col.index] = {
                c.field: (_weight(col, c), c) for c in eligible if not c.pool and not c.role
            }
    by_index = {c.index: c for c in cols}
    for index, target in _max_weight_assignment(
        {i: {f: w for f, (w, _) in e.items()} for i, e in edges.items()}
    ).items():
        col = by_index[index]
        _accept(col, edges[index][target][1])
        taken[target] = col
    _full_name_rule(cols, taken)
    if FULL_NAME in taken:
        name_col = taken[FULL_NAME]
        notes.append(
            f"{name_col.label} holds full names; they will be split into first and last name."
        )
    _place_phones(cols, pool, companions, taken, syn, notes)
    _place_companions(cols, companions, taken, syn)
    _explain_unmapped(cols, threshold, taken)


def _weight(col: _Col, cand: _Cand) -> int:
    """Integer weight: score first, then method, then a tie-break that ignores column order.

    The tie-break hashes the normalised header with the field, so equal candidates are decided
    the same way whatever the column order; only repeats of one header fall back to order.
    """
    tie = zlib.crc32(f"{col.key}|{cand.field}".encode())  # 32 bits
    return (
        (round(cand.score * 10_000) << 48)
        | (_METHOD_RANK.get(cand.method, 0) << 44)
        | (tie << 10)
        | (1023 - min(col.occurrence, 1023))
    )


def _accept(col: _Col, cand: _Cand, target: str | None = None) -> None:
    col.field = target or cand.field
    col.method = cand.method
    col.confidence = min(1.0, cand.score)
    col.reason = cand.reason + "."
    if cand.pool:
        col.phone_type = cand.phone_type


def _full_name_rule(cols: list[_Col], taken: dict[str, _Col]) -> None:
    col = taken.get(FULL_NAME)
    if col is None or col.pinned:
        return
    if "firstName" in taken and "lastName" in taken:
        del taken[FULL_NAME]
        col.field = None
        col.method = "none"
        col.confidence = 0.0
        col.reason = "First and last names have their own columns, so the full name is not needed."


def _phone_sort_key(col: _Col, cand: _Cand, rules: PhoneRules) -> tuple[int, int, str, int]:
    rank = rules.priority.get(cand.phone_type or "unknown", len(rules.priority))
    number = next((int(t) for t in col.toks if t.isdigit()), 0)
    return (rank, number, normalize(col.header), col.index)


def _place_phones(
    cols: list[_Col],
    pool: list[tuple[_Col, _Cand]],
    companions: list[tuple[_Col, _Cand]],
    taken: dict[str, _Col],
    syn: Synonyms,
    notes: list[str],
) -> None:
    """Fill the free phone slots from the pool: best type first (direct > mobile > work...)."""
    rules = syn.phone
    ordered = sorted(pool, key=lambda pc: _phone_sort_key(pc[0], pc[1], rules))
    free = [s for s in PHONE_SLOTS if s not in taken]
    # An extension belongs to the main phone (phoneExt), so the phone it extends goes first,
    # unless a direct dial exists: a direct line beats an extension.
    has_direct = any(cand.phone_type == "direct" for _, cand in ordered) or any(
        taken[s].phone_type == "direct" for s in PHONE_SLOTS if s in taken
    )
    if ordered and free and free[0] == "phone" and not has_direct:
        phones = [c for c, _ in ordered]
        for ext_col, ext in companions:
            if ext.role != "ext":
                continue
            owner = _find_owner(ext_col, ext, phones, cols, rules)
            if owner is not None and owner is not ordered[0][0]:
                ordered.sort(key=lambda pc: pc[0] is not owner)
                owner.slot_note = f"first because '{ext_col.header.strip()}' is its extension"
                break
    for (col, cand), slot in zip(ordered, free, strict=False):  # more phones than slots: below
        _accept(col, cand, slot)
        note = col.slot_note or "by phone priority (direct > mobile > work > company > home/other)"
        col.reason = f"{cand.reason}; {slot} {note}."
        taken[slot] = col
    overflow = ordered[len(free) :]
    for col, cand in overflow:
        col.reason = (
            f"More than 5 phone columns: '{col.header.strip()}' "
            f"({cand.phone_type or 'no type'}) has the lowest priority, "
            "so it is kept as an extra column."
        )
        col.slot_note = "overflow"
    if overflow:
        names = ", ".join(f"'{c.header.strip()}'" for c, _ in overflow)
        notes.append(f"The file has more than 5 phone columns; kept as extra columns: {names}.")


def _find_owner(
    comp_col: _Col, comp: _Cand, phones: list[_Col], cols: list[_Col], rules: PhoneRules
) -> _Col | None:
    """The phone column a companion (extension, type, status) belongs to, or None for "main"."""

    def significant(toks: Sequence[str]) -> tuple[str, ...]:
        return tuple(t for t in toks if t.isdigit() or t not in rules.filler)

    want = significant(comp.owner)
    same = [p for p in phones if significant(p.toks) == want]
    if same:  # "Business Phone Ext." -> "Business Phone"; nearest before it if several
        before = [p for p in same if p.index < comp_col.index]
        return before[-1] if before else same[0]
    ptype = _phone_type(comp.owner, rules)
    if ptype:
        typed = [p for p in phones if p.phone_type == ptype or _phone_type(p.toks, rules) == ptype]
        if typed:
            return typed[0]
    # Right after a phone column (maybe after its other companions): "Phone", "Phone Extension".
    phone_set = {p.index for p in phones}
    i = comp_col.index - 1
    while i >= 0:
        if i in phone_set:
            return next(p for p in phones if p.index == i)
        prev = cols[i]
        if not any(c.role for c in prev.cands):
            break
        i -= 1
    return None


def _place_companions(
    cols: list[_Col], companions: list[tuple[_Col, _Cand]], taken: dict[str, _Col], syn: Synonyms
) -> None:
    slot_of = {c.index: s for s, c in taken.items() if s in PHONE_SLOTS}
    # Every phone-like column, mapped or not: a companion of an unmapped phone stays unmapped.
    phones = [
        c for c in cols if c.index in slot_of or (not c.pinned and any(x.pool for x in c.cands))
    ]
    for col, cand in companions:
        owner = _find_owner(col, cand, phones, cols, syn.phone)
        h = col.header.strip()
        if owner is not None and owner.index not in slot_of:
            col.reason = f"'{h}' belongs to '{owner.header.strip()}', which is not mapped."
            continue
        if owner is None:
            if "phone" not in taken:
                col.reason = f"'{h}' belongs to a phone, but no phone column is mapped."
                continue
            owner = taken["phone"]
        slot = slot_of[owner.index]
        if cand.role == "ext":
            if slot != "phone":
                col.reason = (
                    f"'{h}' is the extension of '{owner.header.strip()}' ({slot}), but phoneExt "
                    "is only for the main phone, so it is kept as an extra column."
                )
                continue
            target = "phoneExt"
        else:
            target = slot + ("Type" if cand.role == "type" else "Status")
        if target in taken:
            col.reason = f"{target} is already taken by {taken[target].label}."
            continue
        _accept(col, cand, target)
        col.reason = f"{cand.reason}; it belongs to '{owner.header.strip()}' ({slot})."
        taken[target] = col


def _explain_unmapped(cols: list[_Col], threshold: float, taken: dict[str, _Col]) -> None:
    free_slots = [s for s in PHONE_SLOTS if s not in taken]
    for col in cols:
        if col.field is not None or col.pinned or col.reason:
            continue
        if col.blocked:
            col.reason = col.blocked
            continue
        if not col.cands:
            col.reason = (
                "No API field matches this header or its values, so it is kept as an extra column."
            )
            continue
        best = max(col.cands, key=lambda c: c.score)
        target = (free_slots[0] if free_slots else "a phone slot") if best.pool else best.field
        if best.score < threshold:
            if best.score >= _PLAUSIBLE:
                col.review = True
                col.confidence = round(best.score, 3)
                col.reason = (
                    f"looks like {target} ({best.score:.2f}) — below threshold ({best.reason})."
                )
            else:
                col.reason = (
                    f"Only a weak match for {target} ({best.score:.2f}), "
                    "so it is kept as an extra column."
                )
            continue
        winner = taken.get(best.field)
        if winner is not None and winner is not col and winner.confidence > best.score:
            col.reason = (
                f"{best.field} went to {winner.label}, a better match "
                f"({winner.confidence:.2f} vs {best.score:.2f})."
            )
        elif winner is not None and winner is not col:
            col.reason = (
                f"{best.field} went to {winner.label}, an equally good match "
                f"({best.score:.2f}); pin one with a mapping file to choose."
            )
        else:
            col.reason = (
                f"Its candidate {target} was not assigned, so it is kept as an extra column."
            )


# --------------------------------------------------------------------------------------------
# Maximum-weight one-to-one assignment


def _max_weight_assignment(edges: dict[int, dict[str, int]]) -> dict[int, str]:
    """Column -> field maximising the total weight; each field used once, columns may go unused.

    The candidate graph is sparse, so it is split into connected components and each one is
    solved exactly with the Hungarian algorithm (shortest augmenting paths, O(n²m)) on the
    columns and fields of that component only. Weights must be positive integers.

    Within a component of k fields, a field only ever needs its k heaviest columns: the other
    k-1 fields can hold at most k-1 of them, so one stays free to take it. Pruning the rest
    keeps a file with 200 "Email" columns from becoming a 200-row problem.
    """
    parent: dict[str, str] = {}  # union-find over "c<column>" and "f<field>" nodes

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for col, fields in edges.items():
        for f in fields:
            parent[find(f"c{col}")] = find(f"f{f}")
    groups: dict[str, list[int]] = {}
    for col in edges:
        if edges[col]:
            groups.setdefault(find(f"c{col}"), []).append(col)
    result: dict[int, str] = {}
    for members in groups.values():
        if len(members) == 1:
            col = members[0]
            result[col] = max(edges[col], key=lambda f: edges[col][f])
            continue
        result.update(_hungarian(*_prune(members, edges)))
    return result


def _prune(
    members: list[int], edges: dict[int, dict[str, int]]
) -> tuple[list[int], dict[int, dict[str, int]]]:
    """Keep, for each field, only its k heaviest columns (k = fields in the component)."""
    by_field: dict[str, list[tuple[int, int]]] = {}
    for col in members:
        for f, w in edges[col].items():
            by_field.setdefault(f, []).append((w, col))
    keep = len(by_field)
    pruned: dict[int, dict[str, int]] = {}
    for f, pairs in by_field.items():
        for w, col in sorted(pairs, reverse=True)[:keep]:
            pruned.setdefault(col, {})[f] = w
    return sorted(pruned), pruned


def _hungarian(rows: list[int], edges: dict[int, dict[str, int]]) -> dict[int, str]:
    """Exact maximum-weight matching of ``rows`` to their fields (plus one dummy per row)."""
    fields = sorted({f for r in rows for f in edges[r]})
    n = len(rows)
    m = len(fields) + n  # real fields, then one zero-weight dummy per row: a row may stay free
    big = sum(max(edges[r].values()) for r in rows) + 1
    # Minimise cost = -weight; a pair with no candidate costs more than any matching saves.
    cost = [[0] * (m + 1)]
    for r in rows:
        row = [0] + [-edges[r][f] if f in edges[r] else big for f in fields] + [0] * n
        cost.append(row)
    u = [0] * (n + 1)
    v = [0] * (m + 1)
    match = [0] * (m + 1)  # match[j] = row assigned to column j (1-based), 0 if none
    way = [0] * (m + 1)
    inf = 1 << 128  # integers throughout: weights carry tie-break bits a float would lose
    for i in range(1, n + 1):
        match[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = match[j0]
            delta = inf
            j1 = 0
            row_cost = cost[i0]
            ui0 = u[i0]
            for j in range(1, m + 1):
                if not used[j]:
                    cur = row_cost[j] - ui0 - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while True:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
            if j0 == 0:
                break
    out: dict[int, str] = {}
    for j in range(1, len(fields) + 1):
        if match[j]:
            out[rows[match[j] - 1]] = fields[j - 1]
    return out
