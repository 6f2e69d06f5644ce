"""Do a column's values fit a field? Asked before a person maps a column by hand.

The matcher weighs values itself; this answers the review's question "this column as phone?":
when most of the column's first values are not what the field holds (a date column as a phone),
the review shows one of them and asks before mapping. Free-text fields (names, titles, cities)
fit anything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from csvscore.fields import BY_NAME
from csvscore.mapping import value_kinds

# A value of each checked kind, for "'x' does not look like <a ...>".
_ONE = {
    "email": "an email address",
    "phone": "a phone number",
    "url": "a web address",
    "linkedin_person": "a LinkedIn profile URL",
    "linkedin_company": "a LinkedIn company page",
    "state": "a state or province",
    "zip": "a ZIP or postal code",
    "country": "a country",
    "number": "a number",
    "phone_ext": "a phone extension",
    "timezone": "a time zone",
}
# Dates pass the loose phone pattern ("2024-03-01", "03/01/2024"): they are never phones.
_DATE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(\s*[T ]\s*\d.*)?\s*$"
)
FIT_SHARE = 0.5  # at least this share of the non-empty values must look right


def _fits(kind: str, value: str) -> bool:
    if kind == "phone" and _DATE.match(value):
        return False
    return value_kinds.CHECKS[value_kinds.KIND_CHECK[kind]](value)


def misfit(field: str, values: Sequence[str]) -> str | None:
    """A sentence naming a value unlike what ``field`` holds, when fewer than half of the
    column's first values look right; None when they do, the column is empty, or ``field``
    takes free text (``fullName`` and unknown names included)."""
    spec = BY_NAME.get(field)
    kind = spec.kind if spec else ""
    if kind not in _ONE:
        return None
    seen = [v.strip() for v in values[: value_kinds.MAX_VALUES] if v.strip()]
    if not seen:
        return None
    wrong = [v for v in seen if not _fits(kind, v)]
    if len(seen) - len(wrong) >= FIT_SHARE * len(seen):
        return None
    return f"'{wrong[0]}' does not look like {_ONE[kind]}"


def has_phone_numbers(columns: Iterable[Sequence[str]]) -> bool:
    """True when any column's values are mostly phone numbers (dates not counted)."""
    return any(
        misfit("phone", values) is None and any(v.strip() for v in values) for values in columns
    )
