"""Phone slots: which phone column becomes phone, phone2...phone5, and where companions go.

Phones are ranked by type (direct > mobile > work > company > home/other), with the phone an
extension belongs to first (phoneExt is only for the main phone); extension, type and status
columns then follow the phone they belong to.
"""

from __future__ import annotations

from collections.abc import Sequence

from csvscore.fields import PHONE_SLOTS
from csvscore.mapping.header_rules import phone_type_of
from csvscore.mapping.match_state import Candidate, Column, accept
from csvscore.mapping.normalize import normalize
from csvscore.mapping.synonyms import PhoneRules, Synonyms


def _phone_sort_key(col: Column, cand: Candidate, rules: PhoneRules) -> tuple[int, int, str, int]:
    rank = rules.priority.get(cand.phone_type or "unknown", len(rules.priority))
    number = next((int(t) for t in col.toks if t.isdigit()), 0)
    return (rank, number, normalize(col.header), col.index)


def place_phones(
    cols: list[Column],
    pool: list[tuple[Column, Candidate]],
    companions: list[tuple[Column, Candidate]],
    taken: dict[str, Column],
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
        accept(col, cand, slot)
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
    comp_col: Column, comp: Candidate, phones: list[Column], cols: list[Column], rules: PhoneRules
) -> Column | None:
    """The phone column a companion (extension, type, status) belongs to, or None for "main"."""

    def significant(toks: Sequence[str]) -> tuple[str, ...]:
        return tuple(t for t in toks if t.isdigit() or t not in rules.filler)

    want = significant(comp.owner)
    same = [p for p in phones if significant(p.toks) == want]
    if same:  # "Business Phone Ext." -> "Business Phone"; nearest before it if several
        before = [p for p in same if p.index < comp_col.index]
        return before[-1] if before else same[0]
    ptype = phone_type_of(comp.owner, rules)
    if ptype:
        typed = [
            p for p in phones if p.phone_type == ptype or phone_type_of(p.toks, rules) == ptype
        ]
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


def place_companions(
    cols: list[Column],
    companions: list[tuple[Column, Candidate]],
    taken: dict[str, Column],
    syn: Synonyms,
) -> None:
    """Map each companion (extension, type, status) next to the slot of the phone it belongs to."""
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
        accept(col, cand, target)
        col.reason = f"{cand.reason}; it belongs to '{owner.header.strip()}' ({slot})."
        taken[target] = col
