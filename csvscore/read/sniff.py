"""Guessing what a file is: container type, text encoding, delimiter, line ends, header row.

Everything here is deterministic (same bytes, same answer) and works on a small sample of
the file, so :mod:`csvscore.read.reader` can decide how to read before streaming the whole thing.
No charset-detection library is used on purpose: exports come from a handful of programs
(Excel, Google Sheets, CRMs), and a BOM check, a strict UTF-8 decode and a cp1252 fallback
tell them apart exactly, where statistical detectors sometimes guess a rare Cyrillic page.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SAMPLE_BYTES = 64 * 1024  # enough for the first ~100 rows of a wide export
HEADER_SEARCH_ROWS = 30  # non-blank rows searched for the header
SNIFF_ROWS = 50  # records used to choose the delimiter
DELIMITERS = (",", ";", "\t", "|")

CP1252_ERRORS = "csvscore-cp1252"


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the five bytes cp1252 leaves undefined (81 8D 8F 90 9D) as Latin-1 does.

    Excel never writes them, but some tools emit Latin-1 with C1 controls; this keeps the
    data instead of refusing the file, without giving up cp1252's smart quotes and euro sign.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(chr(b) for b in bad), exc.end


codecs.register_error(CP1252_ERRORS, _cp1252_fallback)


@dataclass(frozen=True)
class Encoding:
    """A text encoding chosen for a file: the Python codec and how to say it to a person."""

    codec: str  # passed to open(): "utf-8", "utf-8-sig", "cp1252", "utf-16", "utf-16-le"...
    label: str  # "UTF-8 with BOM", "Windows-1252", "UTF-16 LE"...
    errors: str = "strict"


UTF8 = Encoding("utf-8", "UTF-8")
CP1252 = Encoding("cp1252", "Windows-1252", CP1252_ERRORS)
MAC_ROMAN = Encoding("mac_roman", "Mac Roman")

_BOMS: tuple[tuple[bytes, Encoding], ...] = (
    # UTF-32 BOMs first: FF FE 00 00 also starts with the UTF-16 LE BOM.
    (codecs.BOM_UTF32_LE, Encoding("utf-32", "UTF-32 LE")),
    (codecs.BOM_UTF32_BE, Encoding("utf-32", "UTF-32 BE")),
    (codecs.BOM_UTF8, Encoding("utf-8-sig", "UTF-8 with BOM")),
    (codecs.BOM_UTF16_LE, Encoding("utf-16", "UTF-16 LE")),
    (codecs.BOM_UTF16_BE, Encoding("utf-16", "UTF-16 BE")),
)

# Bytes that never appear in text exports: C0 controls except tab, LF, VT, FF, CR, and
# Ctrl-Z (old DOS end-of-file marker). NUL is counted here too.
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 26), *range(27, 32)])
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL_BYTES)

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


def other_format(head: bytes) -> str | None:
    """Name a well-known non-spreadsheet binary format from its first bytes, else None."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    return None


def ole_has_stream(path: Path, stream: str) -> bool:
    """Whether an OLE2 compound file (.xls, encrypted .xlsx) names a stream.

    Directory entry names are UTF-16 LE and may sit anywhere in the file, so the file is
    scanned in chunks; only used to explain a workbook calamine could not open.
    """
    needle = stream.encode("utf-16-le")
    tail = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                if needle in tail + chunk:
                    return True
                tail = chunk[-len(needle) :]
    except OSError:
        return False
    return False


def zip_kind(names: set[str], mimetype: str) -> str:
    """Say what a ZIP container holds: "xlsx", "xlsb", "ods", or a description of what else.

    ``names`` are its part names (normalised: lower case, forward slashes) and ``mimetype`` the
    start of its ``mimetype`` part. Workbook kinds are returned bare; anything else is returned
    as a phrase such as "a Word document" for the caller's error message.
    """
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if "content.xml" in names and "spreadsheet" in mimetype:
        return "ods"
    if "word/document.xml" in names:
        return "a Word document"
    if "ppt/presentation.xml" in names:
        return "a PowerPoint presentation"
    if any(name.startswith("index/") and name.endswith(".iwa") for name in names):
        return "an Apple Numbers file (export it from Numbers as CSV or Excel first)"
    if "content.xml" in names:
        return "an OpenDocument file that is not a spreadsheet"
    return "a ZIP archive without a spreadsheet in it"


def detect_encoding(head: bytes, whole: bool) -> Encoding | None:
    """Choose the encoding of a text file from its first bytes; None means "not text".

    ``whole`` says ``head`` is the entire file (so a multi-byte character cut at the end
    of the sample is an error, not a truncation). Order: BOM, UTF-16 without BOM
    (alternating NULs), binary check, strict UTF-8, then cp1252.
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\x00" in head:
        utf16 = _bomless_utf16(head)
        if utf16 is not None:
            return utf16
    # NUL is a control byte too: a stray one in a text export is tolerated, many are not.
    controls = len(head.translate(None, _NOT_CONTROL))
    if controls and controls * 100 > len(head):
        return None  # more than 1% control bytes: an image, archive or program, not text
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(head, final=whole)
    except UnicodeDecodeError:
        return eight_bit(head)
    return UTF8


# -- Windows-1252 or Mac Roman ---------------------------------------------------------------
#
# Excel for Mac's "CSV (Macintosh)" writes Mac Roman, where the accented letters Windows-1252
# keeps in C0-FF sit in 80-9F instead: é is 8E (Windows-1252: Ž), ü is 9F (Ÿ), ñ is 96 (–).
# Both decode any byte, so the choice is made on what the text looks like: in names and words,
# an accented lower-case letter follows a letter, a capital does not follow a lower-case one, and
# a symbol does not sit inside a word. Each decoding gets a point per implausible character; Mac
# Roman wins only when it has fewer (ties stay Windows-1252, by far the more common).

_CLOSERS = frozenset("’”»›…,.;:!?)]}%°")


def implausible(text: str) -> int:
    """How many non-ASCII characters of ``text`` are out of place for Western text."""
    bad = 0
    last = len(text) - 1
    for i, ch in enumerate(text):
        if ch < "\x80":
            continue
        before = text[i - 1] if i else " "
        after = text[i + 1] if i < last else " "
        if ch.isalpha():
            if ch.isupper():
                # "JosŽ", "MŸller": a capital after a lower-case letter, or in "Xx" order;
                # " Ð ": a capital on its own (a dash in the other encoding).
                alone = not before.isalpha() and not after.isalpha()
                if before.islower() or (before.isalpha() and after.islower()) or alone:
                    bad += 1
            elif not before.isalpha() and not after.isalpha():
                bad += 1  # a lone lower-case letter: " ñ " is an en dash in the other encoding
            elif after.isupper() and not before.isalpha():
                bad += 1  # "ìVIP": an opening quote in the other encoding
        elif before.isalpha() and (after.isalpha() or ch not in _CLOSERS):
            bad += 1  # "Se–or", "M¸ller", "Zo‘": a symbol inside or right after a word
    return bad


def eight_bit(sample: bytes) -> Encoding:
    """Windows-1252, or Mac Roman when ``sample`` reads better that way."""
    high = _high_lines(sample)
    windows = implausible(high.decode("cp1252", CP1252_ERRORS))
    mac = implausible(high.decode("mac_roman"))
    return MAC_ROMAN if mac < windows else CP1252


def high_byte_lines(path: Path, most: int = SAMPLE_BYTES) -> bytes:
    """Up to ``most`` bytes of a file's lines that hold bytes above 7F (for :func:`eight_bit`)."""
    found: list[bytes] = []
    size = 0
    with path.open("rb") as handle:
        for line in handle:
            if not line.isascii():
                found.append(line)
                size += len(line)
                if size >= most:
                    break
    return b"".join(found)


def _high_lines(sample: bytes) -> bytes:
    """The lines of ``sample`` holding bytes above 7F (the ones that tell the encodings apart)."""
    lines = sample.replace(b"\r", b"\n").split(b"\n")
    return b"\n".join(line for line in lines if not line.isascii())


def _bomless_utf16(head: bytes) -> Encoding | None:
    """Recognise UTF-16 written without a BOM: one byte of each pair is nearly always NUL."""
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even_nuls = head[0 : pairs * 2 : 2].count(0)
    odd_nuls = head[1 : pairs * 2 : 2].count(0)
    # ASCII-range text in UTF-16 LE has NUL as every second byte; allow 10% non-Latin chars.
    if odd_nuls >= 0.9 * pairs and even_nuls <= 0.05 * pairs:
        return Encoding("utf-16-le", "UTF-16 LE (no BOM)")
    if even_nuls >= 0.9 * pairs and odd_nuls <= 0.05 * pairs:
        return Encoding("utf-16-be", "UTF-16 BE (no BOM)")
    return None


def decode_sample(head: bytes, encoding: Encoding, whole: bool) -> str:
    """Decode the sample for sniffing, dropping a possibly cut last line when not ``whole``."""
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors="replace")
    text = decoder.decode(head, final=whole)
    if not whole:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        if cut > 0:
            text = text[: cut + 1]
    return text


def undecodable_line(path: Path, encoding: Encoding) -> int:
    """The 1-based line holding the first byte ``encoding`` cannot decode (0 if none).

    Only called after a decode failed: csv reads decoded text in chunks, so the line it
    had reached is not where the bad byte is.
    """
    decoder = codecs.getincrementaldecoder(encoding.codec)(errors=encoding.errors)
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                good = chunk[: max(exc.start, 0)].decode(encoding.codec, "replace")
                return line + _line_breaks(good)
            line += _line_breaks(text)
    return 0


def _line_breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def markup_kind(text: str) -> str | None:
    """Recognise HTML or XML saved under a spreadsheet name (old CRMs do this), else None."""
    start = text.lstrip("\ufeff \t\r\n")[:2000].lower()
    if start.startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in start:
            return "an Excel 2003 XML spreadsheet"
        return "an XML file"
    if start.startswith(("<!doctype html", "<html", "<table", "<head", "<body", "<meta")):
        return "an HTML page"
    return None


def sniff_delimiter(sample: str) -> tuple[str, int]:
    """Choose the delimiter of CSV-like text and return it with the row width it gives.

    Each candidate is tried with :mod:`csv` (so delimiters inside quotes do not count) on
    the first records; the winner is the one whose most common row width (at least 2)
    occurs in the most rows, then the wider one, then the first in ``DELIMITERS``. A
    preamble of a few odd lines cannot outvote the table below it. A single-column file
    gives ``(",", 1)``.
    """
    best: tuple[int, int] = (0, 0)
    chosen = (",", 1)
    for delimiter in DELIMITERS:
        widths: Counter[int] = Counter()
        reader = csv.reader(io.StringIO(sample), delimiter=delimiter, strict=False)
        try:
            for count, row in enumerate(reader):
                if count >= SNIFF_ROWS:
                    break
                if len(row) > 1:
                    widths[len(row)] += 1
        except csv.Error:
            continue
        if not widths:
            continue
        width, rows = max(widths.items(), key=lambda item: (item[1], item[0]))
        if (rows, width) > best:
            best = (rows, width)
            chosen = (delimiter, width)
    return chosen


def sniff_line_ending(sample: str) -> str | None:
    r"""The most common line end in the sample: "\r\n", "\n" or "\r" (None if no line ends)."""
    crlf = sample.count("\r\n")
    counts = {"\r\n": crlf, "\n": sample.count("\n") - crlf, "\r": sample.count("\r") - crlf}
    ending, count = max(counts.items(), key=lambda item: item[1])
    return ending if count else None


LINE_ENDING_NAMES = {"\r\n": "CRLF", "\n": "LF", "\r": "CR"}
DELIMITER_NAMES = {",": "','", ";": "';'", "\t": "tab", "|": "'|'"}


def delimiter_name(delimiter: str) -> str:
    """How a delimiter is shown in notes: "','", "tab"..."""
    return DELIMITER_NAMES.get(delimiter, repr(delimiter))


# --- the header row -------------------------------------------------------------------

# Cells made only of digits and number/date/phone punctuation, e-mails and web addresses
# are data, not column names.
_DATA_LIKE = re.compile(r"[\d\s+\-().,/:%$€£#']+")
_WEB = ("http://", "https://", "www.")
MAX_HEADER_CELL = 60


def filled_count(row: Sequence[str]) -> int:
    """Number of cells that are not empty or whitespace."""
    return sum(1 for cell in row if cell and not cell.isspace())


def span(row: Sequence[str]) -> int:
    """Position after the last non-blank cell (the row's width without trailing blanks)."""
    for index in range(len(row) - 1, -1, -1):
        cell = row[index]
        if cell and not cell.isspace():
            return index + 1
    return 0


def looks_like_header(row: Sequence[str]) -> bool:
    """Mostly short, distinct, non-numeric text: what column names look like."""
    values = [cell.strip() for cell in row if cell and not cell.isspace()]
    count = len(values)
    if not count:
        return False
    # Column names are never e-mail or web addresses; a year or code may head a column,
    # but rarely more than one in five.
    if any("@" in value or value.lower().startswith(_WEB) for value in values):
        return False
    if sum(1 for value in values if _DATA_LIKE.fullmatch(value)) > count // 5:
        return False
    if sum(1 for value in values if len(value) > MAX_HEADER_CELL) * 5 > count:
        return False
    # Some repeats are normal (HubSpot writes "Phone Number" twice); many are data.
    repeats = count - len({value.casefold() for value in values})
    return repeats <= max(1, count // 4)


def find_header(rows: Sequence[Sequence[str]]) -> int:
    """Index (in ``rows``, the first non-blank rows of a file) of the header row.

    The dominant width is the most common width of rows with at least two cells. The
    header is the first row that :func:`looks_like_header` with the full dominant width
    of non-blank cells; failing that, with nearly that many (a few blank column names),
    then with at least half. Titles, "Generated on..." lines and LinkedIn's "Notes:"
    block have one or two cells and are passed over. Falls back to the first row at least
    half as wide as the dominant width, then to the first row.
    """
    if not rows:
        return 0
    filled = [filled_count(row) for row in rows]
    widths = Counter(span(row) for row, count in zip(rows, filled, strict=True) if count >= 2)
    if not widths:
        return 0
    dominant = max(widths.items(), key=lambda item: (item[1], item[0]))[0]
    half = max(2, -(-dominant // 2))
    for need in (dominant, max(2, dominant - max(1, dominant // 4)), half):
        for index, row in enumerate(rows):
            if filled[index] >= need and looks_like_header(row):
                return index
    for index, count in enumerate(filled):
        if count >= half:
            return index
    return 0


_CONTACT_WORDS = (
    "name",
    "first",
    "last",
    "surname",
    "email",
    "mail",
    "phone",
    "mobile",
    "company",
    "organization",
    "organisation",
    "account",
    "title",
    "position",
    "job",
    "linkedin",
)
_WORD = re.compile(r"[a-z]+")


def contact_header_count(header: Sequence[str]) -> int:
    """How many header cells look like contact columns (name, email, phone, company...).

    A cell counts when one of its words starts with a contact word, so "FirstName",
    "E-mail Address" and "Phone Number" count but "Cancelled" does not.
    """
    count = 0
    for cell in header:
        words = _WORD.findall(cell.lower())
        if any(word.startswith(_CONTACT_WORDS) for word in words):
            count += 1
    return count
