"""Who a contact is, as a short digest: normalised name and E.164 phones.

The receiver computes it from each scored contact and the CLI from each row it sent, so a
result can be checked against the row it is matched to (a TitanX-app contact reusing the same
``customerContactId``, or a row whose numbers TitanX changed, shows up as a mismatch). Only
digests travel between them, not names.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]+", "", plain.casefold())


def name_hash(first: str | None, last: str | None) -> str:
    """A digest of first + last name, blind to case, accents, spaces and punctuation."""
    text = f"{_fold(first or '')}|{_fold(last or '')}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def e164(value: str | None, region: str = "US") -> str | None:
    """``value`` as E.164 (``+14155550134``) if it is a phone number, else None.

    A number TitanX echoes in another format than the one sent still compares equal.
    """
    text = (value or "").strip()
    if not text:
        return None
    import phonenumbers  # lazily: only matching needs it

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identity_hash(name_digest: str | None, phones: Iterable[str | None]) -> str:
    """A digest of a name digest and the *set* of E.164 phones (slots and order do not count)."""
    numbers = sorted({p for p in phones if p})
    text = f"{name_digest or ''}|{','.join(numbers)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
