"""Phone number clean-up: turn whatever a CRM or Excel wrote into a number TitanX can score.

Numbers are sent in **E.164** form (``+14155550134``), extensions separately (``phoneExt``).
E.164 is the one format with no ambiguity: the country code is always present, so a UK or
Canadian number can never be mistaken for a US one, and there is no punctuation for the
receiving end to re-parse. It is the form ``phonenumbers`` (Google's libphonenumber, the
validator csvscore uses for the API's "valid US phone" rule) produces, and the form dialers and
telephony APIs accept as-is. The value is only rewritten when it is a valid number; anything
csvscore cannot read with confidence is not sent, and the reason says why.

Synthetic numbers: the fictional 555-0100..555-0199 range (e.g. ``415-555-0134``) is valid to
``phonenumbers`` in any US area code, so test fixtures and sandboxes can use it without the rows
being skipped. See :data:`SAFE_TEST_NUMBERS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumber, ValidationResult

# Synthetic numbers for fixtures, docs and the sandbox: all in the 555-01xx range reserved for
# fiction, all valid US numbers to phonenumbers (checked by tests/test_phones.py), plus one
# Canadian and one UK number (Ofcom's drama range) that are valid but not US.
SAFE_TEST_NUMBERS: dict[str, tuple[str, ...]] = {
    "US": ("+14155550134", "+14155550199", "+12125550100", "+16175550123", "+12025550147"),
    "CA": ("+14165550134", "+16045550123"),
    "GB": ("+442079460958",),
}


@dataclass(frozen=True)
class PhoneResult:
    """What :func:`normalise_phone` made of one cell."""

    number: str | None  # E.164 ("+14155550134"), or None when the value is unusable
    extension: str | None  # digits of an extension found in the value ("204"), else None
    valid_us: bool  # a valid number whose region is the US (the API's rule)
    problem: str | None  # why the value is unusable (number is None), else None
    note: str | None = None  # something a person should know about a usable value


_EMPTY = PhoneResult(None, None, False, None)

# Non-breaking and other exotic spaces that Excel and web copy-paste leave in cells.
_SPACES = str.maketrans({c: " " for c in "\u00a0\u2007\u2009\u202f\u200b\ufeff\t"})

# Already-clean North American numbers: "4155550134", "(415) 555-0134", "+1 415.555.0134",
# "1-415-555-0134", with Apollo's leading apostrophe, Excel's ".0" or an "x204"/"ext. 204"/
# "#204" extension. Most cells in a real export look like this; they skip the full parser.
_FAST_NANP = re.compile(
    r"'?(?:\+?1[ .\-]?)?\(?([2-9]\d\d)\)?[ .\-]?([2-9]\d\d)[ .\-]?(\d{4})"
    r"(?:\.0|\s*(?:x|ext\.?|#)\s*(\d{1,7}))?",
    re.IGNORECASE,
)

# Excel writing a number column as a float: "4155550134.0".
_TRAILING_ZERO_DECIMAL = re.compile(r"(\+?\d+)\.0+")
# Excel's thousands separators on a number-formatted column: "4,155,550,134".
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3}){2,}")
# Excel's scientific notation: "4.15555E+09", "4.155550134e9".
_SCIENTIFIC = re.compile(r"\+?(\d+)(?:\.(\d+))?[eE]\+?(\d+)")
# Excel/CSV tricks to keep a value as text: ="4155550134".
_FORMULA_TEXT = re.compile(r'=\s*"(.*)"')
# A trailing label some CRMs append: "415-555-0134 (Mobile)". phonenumbers would read the
# letters as a keypad vanity number, so it is cut off first.
_TRAILING_LABEL = re.compile(r"\s*\(\s*[A-Za-z][A-Za-z .]*\)$")
# Several numbers in one cell: "415-555-0134; 415-555-0199", "... / ...", one per line.
# A bare "/" is not a separator ("415/555/0134" is one number), nor is "," (a dial pause,
# which phonenumbers reads as an extension marker).
_MULTI_SEPARATOR = re.compile(r"\s*(?:[;|\n\r]|\s/\s|\sor\s)\s*")
_DIGIT = re.compile(r"\d")

_NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])


def _us_validator() -> Callable[[str], bool]:
    """A check on a 10-digit national number equal to ``is_valid_number_for_region(n, "US")``.

    phonenumbers calls a number valid for a region when it matches the region's general
    pattern and one of its number-type patterns (each a full match, lengths permitting).
    Compiling those patterns from the installed metadata into two regexes gives the same
    answer (tests compare both on many numbers) about five times faster; that matters at
    100k rows x 5 phones. If the metadata ever looks different, phonenumbers itself is used.
    """
    metadata = PhoneMetadata.metadata_for_region("US")

    def slow(national: str) -> bool:
        number = PhoneNumber(country_code=1, national_number=int(national))
        return phonenumbers.is_valid_number_for_region(number, "US")

    general = metadata.general_desc if metadata is not None else None
    if metadata is None or general is None or not general.national_number_pattern:
        return slow
    descs = (
        metadata.premium_rate, metadata.toll_free, metadata.shared_cost, metadata.voip,
        metadata.personal_number, metadata.pager, metadata.uan, metadata.voicemail,
        metadata.fixed_line, metadata.mobile,
    )  # fmt: skip
    patterns = [
        d.national_number_pattern
        for d in descs
        if d is not None
        and d.national_number_pattern
        and (not d.possible_length or 10 in d.possible_length)
    ]
    if not patterns or (general.possible_length and 10 not in general.possible_length):
        return slow
    general_re = re.compile(general.national_number_pattern)
    typed_re = re.compile("|".join(f"(?:{p})" for p in patterns))

    def fast(national: str) -> bool:
        return bool(general_re.fullmatch(national) and typed_re.fullmatch(national))

    return fast


_valid_us_national = _us_validator()


def normalise_phone(raw: str, region: str = "US") -> PhoneResult:
    """Normalise one phone cell to E.164, reading numbers without a country code as ``region``.

    Handles punctuation, "+1"/"1-" prefixes, Apollo's leading apostrophe, Excel's trailing
    ".0", thousands separators and ``="..."`` text guards, "tel:" prefixes, exotic spaces, and
    extensions ("x204", "ext. 12", "#204", ",204"), which go to ``extension``. A value Excel
    rounded to scientific notation is not guessed at: ``number`` is None and ``problem`` says
    to re-export. A 10-digit number that is invalid in a non-North-American ``region`` but
    valid in the US is read as a US number (exports often carry the company's country next to
    a US direct dial). Results are cached: exports repeat company numbers a lot.
    """
    return _normalise_cached(raw, region.upper() if region else "US")


@lru_cache(maxsize=65536)
def _normalise_cached(raw: str, region: str) -> PhoneResult:
    text = raw.strip()
    if not text:
        return _EMPTY
    # Fast path: a clean North American number, checked against US metadata only. For
    # country code 1, "valid for region US" is exactly "valid and its region is US"
    # (phonenumbers tries the US first and it has no leading-digit filter), so this gives the
    # same answer as the full parse below; anything else (Canada, junk) takes the full parse.
    if region in _NANP_REGIONS or text.startswith("+1"):
        match = _FAST_NANP.fullmatch(text)
        if match:
            national = match.group(1) + match.group(2) + match.group(3)
            if _valid_us_national(national):
                return PhoneResult("+1" + national, match.group(4), True, None)
    return _normalise_slow(raw, text, region)


def _normalise_slow(raw: str, text: str, region: str) -> PhoneResult:
    shown = raw.strip()
    text = _clean(text)
    if not text:
        return PhoneResult(None, None, False, f"'{shown}' is not a phone number")
    # Excel's scientific notation: recoverable only when every digit survived.
    sci = _SCIENTIFIC.fullmatch(text)
    if sci:
        recovered = _from_scientific(sci)
        if recovered is None:
            return PhoneResult(
                None,
                None,
                False,
                f"'{shown}' looks like a number Excel rounded; re-export with the column as text",
            )
        # All digits are present (e.g. "4.155550134E+09"): the number is exact, so it is
        # read like any other; a note records that it came from scientific notation.
        result = _parse(recovered, region, shown)
        if result.number:
            note = f"'{shown}' read as {recovered} (Excel scientific notation, all digits kept)"
            return PhoneResult(result.number, result.extension, result.valid_us, None, note)
        return result
    parts = [p for p in _MULTI_SEPARATOR.split(text) if p]
    if len(parts) > 1 and sum(1 for p in parts if len(_DIGIT.findall(p)) >= 7) > 1:
        # Several numbers in one cell: keep the first usable one, say what was dropped.
        for i, part in enumerate(parts):
            result = _parse(_clean(part), region, shown)
            if result.number:
                others = [p for j, p in enumerate(parts) if j != i]
                note = f"'{shown}' holds {len(parts)} numbers; sent {result.number}, not " + (
                    ", ".join(f"'{o}'" for o in others)
                )
                return PhoneResult(result.number, result.extension, result.valid_us, None, note)
        return PhoneResult(None, None, False, f"'{shown}' holds no valid number")
    return _parse(text, region, shown)


def _clean(text: str) -> str:
    """Undo what spreadsheets and CRMs wrap around a number; the result may still be junk."""
    text = text.translate(_SPACES).strip()
    formula = _FORMULA_TEXT.fullmatch(text)
    if formula:
        text = formula.group(1).strip()
    text = text.lstrip("'").strip()  # Apollo and Excel text guards
    if text[:4].lower() == "tel:":
        text = text[4:].strip()
    text = _TRAILING_LABEL.sub("", text)
    decimal = _TRAILING_ZERO_DECIMAL.fullmatch(text)
    if decimal:
        text = decimal.group(1)
    elif _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    return text


def _from_scientific(match: re.Match[str]) -> str | None:
    """Digits of "4.155550134E+09" when Excel kept all of them; None when some were rounded.

    Excel shows at most 15 significant digits and, in General format, often only 6
    ("4.15555E+09"). The mantissa must carry exactly as many digits as the exponent implies;
    fewer means the tail was rounded away (a trailing zero cannot be told from a lost digit),
    more means a fraction, which no phone number is.
    """
    whole, fraction, exponent = match.group(1), match.group(2) or "", int(match.group(3))
    if len(fraction) != exponent:
        return None
    digits = (whole + fraction).lstrip("0")
    return digits or None


def _parse(text: str, region: str, shown: str) -> PhoneResult:
    number = _try_parse(text, region)
    if region != "US" and (number is None or not phonenumbers.is_valid_number(number)):
        # Not a number where the row says it is: a plain US number under a foreign country
        # (the company's HQ country next to a US direct dial) is read as US.
        us_number = _try_parse(text, "US")
        if us_number is not None and phonenumbers.is_valid_number(us_number):
            number = us_number
    if number is None:
        return PhoneResult(None, None, False, f"'{shown}' is not a phone number")
    extension = number.extension or None
    if not phonenumbers.is_valid_number(number):
        why = _INVALID_REASONS.get(phonenumbers.is_possible_number_with_reason(number), "")
        return PhoneResult(None, extension, False, f"'{shown}' is not a valid number{why}")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    valid_us = phonenumbers.region_code_for_number(number) == "US"
    return PhoneResult(e164, extension, valid_us, None)


def _try_parse(text: str, region: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException:
        return None


_INVALID_REASONS = {
    ValidationResult.TOO_SHORT: " (too few digits)",
    ValidationResult.TOO_LONG: " (too many digits)",
    ValidationResult.INVALID_LENGTH: " (wrong number of digits)",
    ValidationResult.INVALID_COUNTRY_CODE: " (unknown country code)",
}


def describe_region(number: str) -> str:
    """The region code of a normalised (E.164) number, e.g. "GB"; "" when unknown."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except NumberParseException:
        return ""


# Country names and codes seen in CRM exports, lower-cased, dots removed. ISO 3166 alpha-2
# codes phonenumbers knows are accepted as well (see region_for_country).
_COUNTRY_ALIASES: dict[str, str] = {
    "us": "US", "usa": "US", "united states": "US", "united states of america": "US",
    "america": "US", "u s": "US", "estados unidos": "US", "etats-unis": "US",
    "ca": "CA", "can": "CA", "canada": "CA",
    "uk": "GB", "gb": "GB", "gbr": "GB", "united kingdom": "GB", "great britain": "GB",
    "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "united kingdom of great britain and northern ireland": "GB",
    "ireland": "IE", "irl": "IE", "republic of ireland": "IE",
    "mexico": "MX", "mex": "MX", "méxico": "MX",
    "germany": "DE", "deu": "DE", "deutschland": "DE",
    "france": "FR", "fra": "FR", "spain": "ES", "esp": "ES", "españa": "ES",
    "italy": "IT", "ita": "IT", "italia": "IT", "portugal": "PT",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "nld": "NL",
    "belgium": "BE", "switzerland": "CH", "austria": "AT", "sweden": "SE", "norway": "NO",
    "denmark": "DK", "finland": "FI", "iceland": "IS", "poland": "PL", "czech republic": "CZ",
    "czechia": "CZ", "hungary": "HU", "romania": "RO", "greece": "GR", "turkey": "TR",
    "türkiye": "TR", "israel": "IL", "united arab emirates": "AE", "uae": "AE",
    "saudi arabia": "SA", "south africa": "ZA", "nigeria": "NG", "kenya": "KE", "egypt": "EG",
    "india": "IN", "ind": "IN", "china": "CN", "japan": "JP", "jpn": "JP",
    "south korea": "KR", "korea": "KR", "republic of korea": "KR", "singapore": "SG",
    "hong kong": "HK", "taiwan": "TW", "philippines": "PH", "indonesia": "ID",
    "malaysia": "MY", "thailand": "TH", "vietnam": "VN", "viet nam": "VN", "pakistan": "PK",
    "australia": "AU", "aus": "AU", "new zealand": "NZ", "nzl": "NZ",
    "brazil": "BR", "brasil": "BR", "bra": "BR", "argentina": "AR", "chile": "CL",
    "colombia": "CO", "peru": "PE", "puerto rico": "PR", "ukraine": "UA", "russia": "RU",
    "russian federation": "RU",
}  # fmt: skip
_COUNTRY_PUNCTUATION = re.compile(r"[.,()]")


@lru_cache(maxsize=4096)
def region_for_country(country: str | None) -> str:
    """The phonenumbers region for a country cell: "Canada" -> "CA", "UK" -> "GB", "" -> "US".

    Accepts common names, "U.S.A."-style abbreviations, ISO alpha-2 codes and the usual
    alpha-3 codes. Anything unrecognised reads as "US": csvscore scores US phones, and a
    number carrying its own "+" country code is read correctly whatever the region.
    """
    if not country:
        return "US"
    key = " ".join(_COUNTRY_PUNCTUATION.sub(" ", country).split()).lower()
    if key in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[key]
    compact = key.replace(" ", "")
    if compact in _COUNTRY_ALIASES:  # "u s a" -> "usa"
        return _COUNTRY_ALIASES[compact]
    if len(compact) == 2 and compact.upper() in phonenumbers.SUPPORTED_REGIONS:
        return compact.upper()
    return "US"
