"""Make export values safe to put in an xlsx cell or a CSV field.

Two different dangers, two different cures:

* **xlsx.** Cell text is stored as a string, never as a formula: openpyxl turns any ``str``
  starting with ``=`` into a formula and the texts ``#N/A``, ``#REF!``... into error values,
  so those cells are built explicitly as text (data type ``s``, number format ``@`` so that
  editing the cell in Excel keeps it text). Values starting with ``+``, ``-``, ``@``, tab or
  CR are plain strings already and are written unchanged. Control characters (other than
  tab/LF/CR: NUL, ESC, DEL, the C1 range), lone surrogates and U+FFFE/U+FFFF are removed (XML
  1.0 forbids most of them; the reader already took them out of the input's cells, so this
  catches the rest, a server's reason for one), and text over Excel's 32,767-character cell
  limit is cut with a visible marker. (A CR inside text reads back as a line feed: XML
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

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES

# Excel's cell limit, counted in UTF-16 code units (an emoji counts twice).
EXCEL_MAX_CHARS = 32_767
# A str of at most this many code points cannot exceed EXCEL_MAX_CHARS UTF-16 units.
_SURELY_SHORT = EXCEL_MAX_CHARS // 2

# Characters never written: those XML 1.0 forbids (openpyxl checks only the C0 controls; the
# surrogates and U+FFFE/U+FFFF would pass through and make a file Excel calls corrupt), and the
# other control characters (DEL, C1), which no one meant to be in a cell.
ILLEGAL_XML_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

# OWASP CSV injection: first characters a spreadsheet may evaluate.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CSV_ESCAPE = "'"

_ERROR_TEXTS = frozenset(ERROR_CODES)
# Row-level screens over "\n".join(row): with re.M, "^" matches at the start of every cell
# (and, harmlessly, after newlines inside a cell: a false alarm only costs the per-cell check).
_XLSX_SUSPECT_RE = re.compile(
    r"^[=#]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]", re.MULTILINE
)
_CSV_SUSPECT_RE = re.compile(
    r"^[=+\-@\t\r]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]",
    re.MULTILINE,
)
_TEXT_FORMAT = "@"


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


def excel_value(owner: Any, value: Any) -> Any:
    """One value made safe for a write-only worksheet.

    Returns ``None`` for empty values (the cell is simply not written), a plain ``str`` when
    openpyxl will store it as text anyway, or a text ``WriteOnlyCell`` when openpyxl would
    otherwise make it a formula or an error value. ``owner`` is any worksheet of the target
    workbook (styles are registered on the workbook). Non-text values are written as their
    ``str()``; the :class:`~csvscore.read.table.Table` contract says cells are ``str``.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if not value:
        return None
    value = clean_xml_text(value)
    if not value:  # it was nothing but control characters
        return None
    if len(value) > _SURELY_SHORT:
        value = cut_for_excel(value)
    if value[0] == "=" or value in _ERROR_TEXTS:
        cell = WriteOnlyCell(owner, value)
        cell.data_type = "s"
        # A styled cell also makes openpyxl start a fresh cell for the next value, so this
        # object is never overwritten and the same row can be appended to two sheets.
        cell.number_format = _TEXT_FORMAT
        return cell
    return value


def excel_row(owner: Any, values: Sequence[Any]) -> list[Any]:
    """A row of values made safe for a write-only worksheet (see :func:`excel_value`)."""
    try:
        joined = "\n".join(values)
    except TypeError:  # a non-str cell: take the careful path
        return [excel_value(owner, v) for v in values]
    if len(joined) <= _SURELY_SHORT and _XLSX_SUSPECT_RE.search(joined) is None:
        # Empty cells become None so openpyxl skips them instead of writing empty elements.
        return [v or None for v in values]
    return [excel_value(owner, v) for v in values]


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
