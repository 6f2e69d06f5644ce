"""Value sniffers: what do a column's sample values look like?

The matcher uses these to confirm a header-based guess ("Email" holds email addresses), to break
ties ("URL" holds linkedin.com/in/ profiles, so it is linkedInUrl), to lower confidence when the
values contradict the header, and to suggest a field for a column whose header means nothing.

Each check looks at no more than :data:`MAX_VALUES` values and gives up early when the first few
fail, so sniffing a 300-column file stays cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

MAX_VALUES = 20
_EARLY = 5  # values checked before giving up on a kind none of them matched

_EMAIL = re.compile(r"^[^@\s<>(),;:]+@[^@\s<>(),;:]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(
    r"^\+?[\d\s().\-/]{7,}(?:\s*(?:x|ext\.?|extension|#)\s*\d{1,6})?$", re.IGNORECASE
)
_URL = re.compile(
    r"^(?:https?://)?(?:www\.)?[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?::\d+)?(?:[/?#]\S*)?$",
    re.IGNORECASE,
)
_LINKEDIN_PERSON = re.compile(r"linkedin\.com/(?:in|pub|sales/lead|sales/people)/", re.IGNORECASE)
_LINKEDIN_COMPANY = re.compile(
    r"linkedin\.com/(?:company|school|showcase|sales/company)/", re.IGNORECASE
)
_ZIP = re.compile(
    r"^(?:\d{3,5}(?:-\d{4})?"  # US (Excel drops leading zeros: 02134 -> 2134)
    r"|[A-Z]\d[A-Z] ?\d[A-Z]\d"  # Canada
    r"|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"  # UK
    r"|\d{4,6})$",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"^(?:[$€£]\s*)?[\d.,]+\s*[kmb]?\+?"
    r"(?:\s*(?:-|–|to)\s*(?:[$€£]\s*)?[\d.,]+\s*[kmb]?\+?)?$",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"^(?:x|ext\.?)?\s*\d{1,6}$", re.IGNORECASE)
_TIMEZONE = re.compile(
    r"^(?:[A-Za-z]+/[A-Za-z_]+(?:/[A-Za-z_]+)?"
    r"|\(?(?:GMT|UTC)\s*[+-]?\s*\d{0,2}(?::\d\d)?\)?.*"
    r"|[ECMPAH][SD]T|AK[SD]T|HST|UTC|GMT"
    r"|(?:Eastern|Central|Mountain|Pacific|Alaska|Hawaii)(?: Standard| Daylight)?(?: Time)?)$",
    re.IGNORECASE,
)

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin",
    "WY": "Wyoming", "PR": "Puerto Rico", "GU": "Guam", "VI": "Virgin Islands",
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip
_STATES = {s.lower() for s in US_STATES} | {s.lower() for s in US_STATES.values()}

# Country names and common aliases (lower case): enough to recognise a country column.
_ONE_WORD_COUNTRIES = """
afghanistan albania algeria andorra angola argentina armenia australia austria azerbaijan
bahamas bahrain bangladesh barbados belarus belgium belize benin bhutan bolivia botswana brazil
brunei bulgaria burundi cambodia cameroon canada chad chile china colombia comoros congo
croatia cuba cyprus czechia denmark djibouti dominica ecuador egypt estonia eswatini ethiopia
fiji finland france gabon gambia georgia germany ghana greece grenada guatemala guinea guyana
haiti honduras hungary iceland india indonesia iran iraq ireland israel italy jamaica japan
jordan kazakhstan kenya kosovo kuwait kyrgyzstan laos latvia lebanon lesotho liberia libya
liechtenstein lithuania luxembourg macau madagascar malawi malaysia maldives mali malta
mauritania mauritius mexico moldova monaco mongolia montenegro morocco mozambique myanmar
namibia nepal netherlands nicaragua niger nigeria norway oman pakistan panama paraguay peru
philippines poland portugal qatar romania russia rwanda senegal serbia singapore slovakia
slovenia somalia spain sudan suriname sweden switzerland syria taiwan tajikistan tanzania
thailand togo tunisia turkey turkiye uganda ukraine uruguay uzbekistan venezuela vietnam
yemen zambia zimbabwe england scotland wales usa us uk uae america
"""
_COUNTRIES = set(_ONE_WORD_COUNTRIES.split()) | {
    "bosnia and herzegovina", "burkina faso", "cape verde", "costa rica", "czech republic",
    "dominican republic", "el salvador", "hong kong", "ivory coast", "new zealand",
    "north macedonia", "papua new guinea", "puerto rico", "saudi arabia", "south africa",
    "south korea", "korea", "sri lanka", "trinidad and tobago", "united arab emirates",
    "united kingdom", "great britain", "northern ireland", "united states",
    "united states of america", "viet nam", "the netherlands",
}  # fmt: skip


def _is_phone(value: str) -> bool:
    value = value.lstrip("'=\"").strip()  # Apollo writes '+1 415 555 0134 to keep Excel off it
    if not _PHONE.match(value):
        return False
    digits = sum(c.isdigit() for c in value.split("x")[0].split("ext")[0])
    return 7 <= digits <= 15


def _is_formatted_phone(value: str) -> bool:
    """A phone written like one (separators or +), not a bare run of digits that could be an ID."""
    stripped = value.lstrip("'=\"").strip()
    return _is_phone(value) and not stripped.isdigit()


def _is_url(value: str) -> bool:
    return "@" not in value and bool(_URL.match(value))


CHECKS: dict[str, Callable[[str], bool]] = {
    "email": lambda v: bool(_EMAIL.match(v)),
    "phone": _is_phone,
    "formatted_phone": _is_formatted_phone,
    "url": _is_url,
    "linkedin_person": lambda v: bool(_LINKEDIN_PERSON.search(v)),
    "linkedin_company": lambda v: bool(_LINKEDIN_COMPANY.search(v)),
    "state": lambda v: v.strip().replace(".", "").lower() in _STATES,
    "zip": lambda v: bool(_ZIP.match(v.strip())),
    "country": lambda v: v.strip().replace(".", "").lower() in _COUNTRIES,
    "number": lambda v: bool(_NUMBER.match(v.strip())),
    "phone_ext": lambda v: bool(_EXTENSION.match(v.strip())),
    "timezone": lambda v: bool(_TIMEZONE.match(v.strip())),
}

# What each field kind's values should look like (kinds without an entry are free text).
KIND_CHECK = {
    "email": "email",
    "phone": "phone",
    "phone_ext": "phone_ext",
    "url": "url",
    "linkedin_person": "linkedin_person",
    "linkedin_company": "linkedin_company",
    "state": "state",
    "zip": "zip",
    "country": "country",
    "number": "number",
    "timezone": "timezone",
}

# Kinds so distinctive that values alone can suggest a field (or contradict a header).
STRONG = ("email", "linkedin_person", "linkedin_company", "formatted_phone", "url")

DESCRIPTIONS = {
    "email": "email addresses",
    "phone": "phone numbers",
    "formatted_phone": "phone numbers",
    "url": "web addresses",
    "linkedin_person": "LinkedIn profile URLs",
    "linkedin_company": "LinkedIn company pages",
    "state": "states or provinces",
    "zip": "ZIP or postal codes",
    "country": "countries",
    "number": "numbers or ranges",
    "phone_ext": "phone extensions",
    "timezone": "time zones",
}


def fraction(kind: str, values: Sequence[str]) -> float:
    """Share (0..1) of the first :data:`MAX_VALUES` values that look like ``kind``.

    Returns 0.0 without looking further when none of the first few values match, and 0.0 for
    an empty column.
    """
    check = CHECKS[kind]
    seen = hits = 0
    for value in values[:MAX_VALUES]:
        value = value.strip()
        if not value:
            continue
        seen += 1
        if check(value):
            hits += 1
        elif seen >= _EARLY and hits == 0:
            return 0.0
    return hits / seen if seen else 0.0


def dominant(values: Sequence[str], threshold: float = 0.8) -> tuple[str, float] | None:
    """The most specific strong kind (email, LinkedIn URL, phone, URL) most values share, if any."""
    if not values:
        return None
    # Cheap pre-filters on the joined sample skip kinds that cannot reach the threshold.
    text = "\n".join(values[:MAX_VALUES]).lower()
    possible = {
        "email": "@" in text,
        "linkedin_person": "linkedin" in text,
        "linkedin_company": "linkedin" in text,
        "formatted_phone": any(c.isdigit() for c in text),
        "url": "." in text,
    }
    for kind in STRONG:
        if not possible[kind]:
            continue
        share = fraction(kind, values)
        if share >= threshold:
            return kind, share
    return None
