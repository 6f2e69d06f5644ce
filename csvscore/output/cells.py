"""Make export values safe to put in an xlsx cell or a CSV field.

Two different dangers, two different cures:

* **xlsx.** Cell text is stored as a string (an inline string, :mod:`csvscore.output.rows_xml`,
  or xlsxwriter's ``write_string``), never as a formula or an error value, whatever it starts
  with. Characters XML 1.0 forbids (control characters other than tab/LF/CR, lone surrogates,
  U+FFFE/U+FFFF) are removed, and text over Excel's 32,767-character cell limit is cut with a
  visible marker (:func:`cut_for_excel`). (A CR inside text reads back as a line feed: XML
  parsers, Excel's included, normalise it.)
* **CSV.** A CSV has no cell types, so a spreadsheet opening it would evaluate a field that
  starts with ``=``, ``+``, ``-``, ``@``, tab or CR (OWASP's CSV-injection list). Such fields
  are prefixed with a single quote ``'`` as OWASP recommends. The same characters as in a
  workbook are removed; nothing else is changed.

Rows are checked as a whole first (one ``join`` and one regex search in C), so the usual row
that needs nothing costs almost nothing; only rows that may need work are checked cell by cell.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

# Excel's cell limit, counted in UTF-16 code units (an emoji counts twice).
EXCEL_MAX_CHARS = 32_767
# A str of at most this many code points cannot exceed EXCEL_MAX_CHARS UTF-16 units.
_SURELY_SHORT = EXCEL_MAX_CHARS // 2

# Characters never written: those XML 1.0 forbids (the surrogates
# and U+FFFE/U+FFFF would make a file Excel calls corrupt), and the
# other control characters (DEL, C1), which no one meant to be in a cell.
ILLEGAL_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# OWASP CSV injection: first characters a spreadsheet may evaluate.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_ESCAPE = "'"

# Row-level screen over "\n".join(row): with re.M, "^" matches at the start of every cell
# (and, harmlessly, after newlines inside a cell: a false alarm only costs the per-cell check).
_CSV_SUSPECT_RE = re.compile(
    r"^[=+\-@\t\r]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]",
    re.MULTILINE,
)


def utf16_len(text: str) -> int:
    """Length of ``text`` as Excel counts it (UTF-16 code units)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def cut_marker(original_length: int) -> str:
    """The text that ends a cell cut to fit Excel's limit."""
    return f"… [cut: {original_length} characters]"


def cut_for_excel(text: str, limit: int = EXCEL_MAX_CHARS) -> str:
    """``text`` unchanged if it fits in ``limit`` UTF-16 units, else its head plus a marker.

    The result, marker included, is at most ``limit`` units; the cut never splits a
    surrogate pair.
    """
    if len(text) <= limit // 2 or utf16_len(text) <= limit:
        return text
    marker = cut_marker(len(text))
    keep = limit - utf16_len(marker)
    head = text.encode("utf-16-le")[: 2 * keep].decode("utf-16-le", errors="ignore")
    return head + marker


def clean_xml_text(text: str) -> str:
    """``text`` without control characters and the others XML forbids."""
    if ILLEGAL_XML_RE.search(text) is None:
        return text
    return ILLEGAL_XML_RE.sub("", text)


def csv_value(value: Any) -> str:
    """One value as CSV text, with a leading ``'`` if a spreadsheet would evaluate it."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")  # exact digits, never "1E+1"
    if not isinstance(value, str):
        return str(value)  # numbers: a number is not a formula
    value = clean_xml_text(value)
    if value.startswith(FORMULA_PREFIXES):
        return CSV_ESCAPE + value
    return value


def csv_row(values: Sequence[Any]) -> list[str]:
    """A row of values as CSV text (see :func:`csv_value`)."""
    try:
        joined = "\n".join(values)
    except TypeError:
        return [csv_value(v) for v in values]
    if _CSV_SUSPECT_RE.search(joined) is None:
        return list(values)
    return [csv_value(v) for v in values]
