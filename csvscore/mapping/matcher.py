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

This module runs the stages in order and settles the result; the stages live in
the modules beside it (``header_rules``, ``context_rules``, ``sample_rules``, ``assignment``
and ``phone_slots``), on the working state of ``match_state``.

Pure functions: no I/O apart from the cached load of the YAML.
"""

from __future__ import annotations

import zlib

from csvscore.fields import FULL_NAME, PHONE_SLOTS

# Under its old private name, which tests/test_matcher_properties.py imports from here.
from csvscore.mapping.assignment import max_weight_assignment
from csvscore.mapping.context_rules import apply_company_context
from csvscore.mapping.header_rules import add_fuzzy_candidates, header_candidates, phone_type_of
from csvscore.mapping.match_state import Candidate, Column, accept
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.mapping.normalize import compact, is_blank, tokens
from csvscore.mapping.overrides import Overrides
from csvscore.mapping.phone_slots import place_companions, place_phones
from csvscore.mapping.sample_rules import apply_samples
from csvscore.mapping.synonyms import (
    Profile,
    Synonyms,
    get_profile,
    list_profiles,
    load_profiles,
    load_synonyms,
)

__all__ = ["DEFAULT_THRESHOLD", "list_profiles", "map_columns", "unmapped_keys"]

DEFAULT_THRESHOLD = 0.6

_PLAUSIBLE = 0.35  # below this a candidate is noise, not worth a review flag
_METHOD_RANK = {"override": 7, "exact": 6, "synonym": 5, "context": 4, "sample": 3, "fuzzy": 2}


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
    types = overrides.phone_types(headers) if overrides else {}
    cols = _make_columns(headers, samples)
    notes: list[str] = []
    from_file = overrides.profile if overrides and not profile else None
    named_by = ""
    if from_file:
        named_by = "remembered mapping" if overrides and overrides.remembered else "mapping file"
    prof = _choose_profile(cols, profile or from_file, notes, named_by)

    for col in cols:
        if col.index in pins:
            _pin(col, pins[col.index], overrides, types.get(col.index), syn, prof)
        else:
            col.cands = header_candidates(col, syn, prof)
    add_fuzzy_candidates(cols, syn)
    apply_company_context(cols, syn)
    for col in cols:
        if not col.pinned and not col.blocked:
            apply_samples(col, syn)

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


def _make_columns(headers: list[str], samples: list[list[str]]) -> list[Column]:
    cols: list[Column] = []
    occurrences: dict[str, int] = {}
    for i, header in enumerate(headers):
        values = samples[i] if i < len(samples) else []
        occ = occurrences.get(header, 0)
        occurrences[header] = occ + 1
        cols.append(Column(i, header, tokens(header), compact(header), values, occ))
    return cols


def _choose_profile(
    cols: list[Column], forced: str | None, notes: list[str], named_by: str = ""
) -> Profile | None:
    if forced:
        prof = get_profile(forced)
        how = f"named in the {named_by}" if named_by else "asked for"
        notes.append(f"Using the {prof.title} profile ({how}).")
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


def _pin(
    col: Column,
    target: str | None,
    overrides: Overrides | None,
    phone_type: str | None,
    syn: Synonyms,
    prof: Profile | None,
) -> None:
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
            # The type the pin gives, else the one the source profile or the header gives: a
            # pinned phone must send the same phoneNType as it would unpinned.
            col.phone_type = (
                phone_type
                or _profile_phone_type(col, syn, prof)
                or phone_type_of(col.toks, syn.phone)
            )


def _profile_phone_type(col: Column, syn: Synonyms, prof: Profile | None) -> str | None:
    for cand in header_candidates(col, syn, prof):
        if cand.field in PHONE_SLOTS and cand.phone_type:
            return cand.phone_type
    return None


# --------------------------------------------------------------------------------------------
# Assignment


def _assign(cols: list[Column], threshold: float, syn: Synonyms, notes: list[str]) -> None:
    taken: dict[str, Column] = {c.field: c for c in cols if c.pinned and c.field}
    pool: list[tuple[Column, Candidate]] = []
    companions: list[tuple[Column, Candidate]] = []
    edges: dict[int, dict[str, tuple[int, Candidate]]] = {}
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
    for index, target in max_weight_assignment(
        {i: {f: w for f, (w, _) in e.items()} for i, e in edges.items()}
    ).items():
        col = by_index[index]
        accept(col, edges[index][target][1])
        taken[target] = col
    _full_name_rule(cols, taken)
    if FULL_NAME in taken:
        name_col = taken[FULL_NAME]
        notes.append(
            f"{name_col.label} holds full names; they will be split into first and last name."
        )
    place_phones(cols, pool, companions, taken, syn, notes)
    place_companions(cols, companions, taken, syn)
    _explain_unmapped(cols, threshold, taken)


def _weight(col: Column, cand: Candidate) -> int:
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


def _full_name_rule(cols: list[Column], taken: dict[str, Column]) -> None:
    col = taken.get(FULL_NAME)
    if col is None or col.pinned:
        return
    if "firstName" in taken and "lastName" in taken:
        del taken[FULL_NAME]
        col.field = None
        col.method = "none"
        col.confidence = 0.0
        col.reason = "First and last names have their own columns, so the full name is not needed."


def _explain_unmapped(cols: list[Column], threshold: float, taken: dict[str, Column]) -> None:
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
