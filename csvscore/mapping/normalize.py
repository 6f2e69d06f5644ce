"""Header normalisation: turn the many spellings of one header into one comparable form.

``"MailingState"``, ``"mailing_state"``, ``"Mailing State"`` and ``"MAILING STATE"`` all become
the tokens ``("mailing", "state")``; ``"Phone #"``, ``"Phone No."`` and ``"Ph Num"`` all become
``("phone", "number")``. The matcher compares the *compact* form (tokens joined without spaces)
so that ``"Linked In URL"`` and ``"LinkedIn URL"`` are the same key, and uses the token tuple for
rules that look at individual words (phone types, negatives such as "status").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Brand and compound words written in mixed case that camelCase splitting must not cut apart
# ("LinkedIn" is one word to a user, not "Linked In").
_KEEP_WHOLE = re.compile(r"linked\s*in|zoom\s*info|hub\s*spot|sales\s*loft|e-?mail", re.IGNORECASE)

# camelCase / PascalCase / letter-digit boundaries: "mailingState" -> "mailing State",
# "URLPath" -> "URL Path", "phone2" -> "phone 2", "Address1" -> "Address 1".
_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z])(?=[A-Z])")
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
# "No." / "Nr." with a dot always means number ("No. of Employees", "Phone No.").
_NUMBER_DOT = re.compile(r"\b(?:no|nr)\.", re.IGNORECASE)
_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Characters that are invisible but end up in headers (BOM, zero-width space/joiner).
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)

# Abbreviations and variants -> the canonical word. Kept small and unambiguous; anything
# source-specific belongs in mappings/synonyms.yaml instead.
ABBREVIATIONS: dict[str, str] = {
    "tel": "phone",
    "telephone": "phone",
    "ph": "phone",
    "phn": "phone",
    "phones": "phone",
    "mob": "mobile",
    "cell": "mobile",
    "cellular": "mobile",
    "addr": "address",
    "st": "street",
    "co": "company",
    "acct": "account",
    "org": "organization",
    "organisation": "organization",
    "dept": "department",
    "emp": "employees",
    "emps": "employees",
    "empl": "employees",
    "rev": "revenue",
    "prov": "province",
    "ctry": "country",
    "cntry": "country",
    "desc": "description",
    "ext": "extension",
    "extn": "extension",
    "num": "number",
    "nbr": "number",
    "nr": "number",
    "tz": "timezone",
    "li": "linkedin",
    "mgr": "manager",
    "fname": "first name",
    "lname": "last name",
    "firstname": "first name",
    "lastname": "last name",
    "fullname": "full name",
    "jobtitle": "job title",
    "phonenumber": "phone number",
    "mobilephone": "mobile phone",
    "cellphone": "mobile phone",
    "emailaddress": "email address",
    "zipcode": "zip code",
    "postalcode": "postal code",
    "postcode": "postal code",
}


def _split_words(text: str) -> list[str]:
    """Split camelCase and letter/digit boundaries, keeping brand words whole."""
    # Collapse protected words to one lowercase word so the camelCase split leaves them alone.
    text = _KEEP_WHOLE.sub(lambda m: re.sub(r"[\s-]", "", m.group(0)).lower(), text)
    text = _CAMEL_LOWER_UPPER.sub(" ", text)
    text = _CAMEL_ACRONYM.sub(" ", text)
    text = _LETTER_DIGIT.sub(" ", text)
    return _NON_ALNUM.split(text.lower())


@lru_cache(maxsize=8192)
def tokens(header: str) -> tuple[str, ...]:
    """The normalised words of a header, abbreviations expanded.

    >>> tokens("Mailing Zip/Postal Code")
    ('mailing', 'zip', 'postal', 'code')
    >>> tokens("# Employees")
    ('number', 'employees')
    >>> tokens("MobilePhone")
    ('mobile', 'phone')
    """
    text = unicodedata.normalize("NFKC", header).translate(_INVISIBLE).strip().strip("'\"")
    # Drop accents so "Prénom" and "Teléfono" keep their letters instead of being split apart.
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.replace("#", " number ").replace("&", " and ")
    text = _NUMBER_DOT.sub(" number ", text)
    raw = [w for w in _split_words(text) if w]
    out: list[str] = []
    for i, word in enumerate(raw):
        if word == "x" and len(raw) == 1:
            # A lone "x" column is a phone extension; inside longer headers it is just a letter.
            out.append("extension")
        elif word == "st" and len(raw) == 1:
            # "City, ST, Zip": a lone "ST" is the state; "St Address" / "Mailing St" is street.
            out.append("state")
        elif word == "no" and i > 0:
            # "Phone No" means number, but a leading "No" ("No Email") is a negation.
            out.append("number")
        elif word in ABBREVIATIONS:
            out.extend(ABBREVIATIONS[word].split())
        else:
            out.append(word)
    return tuple(out)


def normalize(header: str) -> str:
    """Tokens joined by spaces: ``"Mailing Zip/Postal Code"`` -> ``"mailing zip postal code"``."""
    return " ".join(tokens(header))


def compact(header: str) -> str:
    """Tokens joined without spaces: the key synonyms are looked up by (``"linkedinurl"``)."""
    return "".join(tokens(header))


def is_blank(header: str) -> bool:
    """True for a header with no visible characters (it gets a ``Column N`` key)."""
    return not header.translate(_INVISIBLE).strip()
