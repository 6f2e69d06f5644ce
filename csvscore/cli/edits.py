"""What a person types at the review to change a column, understood or explained.

``7=phone2``, ``7 = Phone 2``, ``Home Phone=phone2`` and ``7=-`` are understood; a field name
with a typo gets "did you mean phone2?" (rapidfuzz against the field names, then the header
synonyms, so ``mobile`` suggests a free phone slot); a column named by a header that is not
there gets the closest header. Every message is a sentence that starts with a capital.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from csvscore.fields import ALL_FIELDS, BY_NAME, FULL_NAME, PHONE_SLOTS, UNMAPPED_FIELDS
from csvscore.mapping.model import Mapping

# What a person may type after "7=" to leave the column unmapped.
UNMAP_WORDS = frozenset({"", "-", "none", "null", "unmapped", UNMAPPED_FIELDS.name.lower()})
_EDIT = re.compile(r"^\s*(.+?)\s*=\s*(.*?)\s*$")
_SUGGEST_CUTOFF = 70  # rapidfuzz WRatio below this is no suggestion worth showing


def _compact(text: str) -> str:
    """Case, spaces, underscores and hyphens do not matter: "Phone 2" is phone2."""
    return re.sub(r"[\s_\-]+", "", text).lower()


_FIELD_BY_COMPACT = {_compact(name): name for name in (*BY_NAME, FULL_NAME)}


class EditError(ValueError):
    """A change that cannot be made as typed; ``str()`` says why and what to type instead."""


@dataclass(frozen=True)
class Edit:
    column: int  # 1-based
    field: str | None  # None: leave the column unmapped


def is_edit(answer: str) -> bool:
    return "=" in answer


def parse_edit(answer: str, mapping: Mapping) -> Edit:
    """``answer`` as a change of one column; :class:`EditError` saying what is wrong."""
    m = _EDIT.match(answer)
    if not m or not m.group(1):
        raise EditError(
            f"Did not understand {answer!r}. Type a column's number, = and a field, "
            "e.g. 7=phone2 or 7=-."
        )
    column = parse_column(m.group(1), mapping)
    return Edit(column, parse_field(m.group(2), mapping, column))


def parse_column(text: str, mapping: Mapping) -> int:
    """A column by its number, or by its header (any case) when that header is unique."""
    text = text.strip()
    count = len(mapping.columns)
    if text.isdigit():
        number = int(text)
        if not 1 <= number <= count:
            raise EditError(f"There is no column {number}; columns are 1 to {count}.")
        return number
    wanted = " ".join(text.split()).lower()
    found = [c for c in mapping.columns if " ".join(c.header.split()).lower() == wanted]
    if len(found) == 1:
        return found[0].index + 1
    if found:
        numbers = " and ".join(str(c.index + 1) for c in found)
        raise EditError(
            f"There are {len(found)} columns called '{text}' ({numbers}): type the number instead."
        )
    headers = {c.header: c.index + 1 for c in mapping.columns if c.header}
    close = _closest(text, list(headers))
    hint = f" Did you mean '{close}' (column {headers[close]})?" if close else ""
    raise EditError(f"There is no column called '{text}'.{hint} Type its number, e.g. 7=phone2.")


def parse_field(name: str, mapping: Mapping | None = None, column: int | None = None) -> str | None:
    """The field typed after ``7=``: a name in any case and spacing, or None for "unmapped".

    Raises :class:`EditError` naming the problem, with a suggestion when one is close.
    """
    key = _compact(name)
    if name.strip().lower() in UNMAP_WORDS or key in UNMAP_WORDS:
        return None
    if key in _FIELD_BY_COMPACT:
        return _FIELD_BY_COMPACT[key]
    guess = suggest_field(name, mapping, column)
    hint = f" Did you mean {guess}?" if guess else ""
    raise EditError(f"'{name.strip()}' is not a TitanX field.{hint} Type ? to list them.")


def suggest_field(typed: str, mapping: Mapping | None = None, column: int | None = None) -> str:
    """The field a person probably meant, or "" when nothing is close.

    A misspelt field name ("phnoe2") first; else what the typed word means as a header
    ("mobile", "cell", "surname"): for a phone, the first phone slot free in ``mapping``.
    """
    names = [f.name for f in ALL_FIELDS] + [FULL_NAME]
    close = _closest(typed, names)
    if close:
        return close
    from csvscore.mapping.matcher import map_columns

    guess = map_columns([typed.strip()], []).columns[0]
    if guess.field is None or guess.review:
        return ""
    if guess.field in PHONE_SLOTS and mapping is not None:
        taken = {c.field for c in mapping.columns if column is None or c.index != column - 1}
        return next((slot for slot in PHONE_SLOTS if slot not in taken), guess.field)
    return guess.field


def _closest(typed: str, choices: list[str]) -> str:
    from rapidfuzz import fuzz, process

    found = process.extractOne(
        _compact(typed),
        choices,
        scorer=fuzz.WRatio,
        processor=_compact,
        score_cutoff=_SUGGEST_CUTOFF,
    )
    return str(found[0]) if found else ""
