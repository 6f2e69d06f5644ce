"""The rows of the large sheets (Results, To fix, Check before resending) as worksheet XML,
streamed to temporary files while the run is still going.

Why not the spreadsheet library for these rows too: writing a cell through openpyxl or
xlsxwriter costs 5-10 µs of pure Python (type dispatch, styles, bookkeeping); 100,000 rows of 36
columns are 3.6 million cells, 20-35 s, longer than the whole send. These rows need none of that
machinery: every input value is text, stored as an inline string (so a ZIP code, an ID or a
phone stays exactly as exported and nothing ever becomes a formula), and the row number, batch
number and counts are plain numbers; colours come from conditional formats on the sheet, not from
cell styles. So a row is serialised here in one pass (about 0.5 µs a cell, measured in
``benchmarks``), and :mod:`csvscore.output.workbook` builds everything else (header, widths,
frozen panes, filters, formats, print setup, the small sheets) with xlsxwriter and splices these
rows into its sheets.

The XML is exactly what the OOXML spec asks of a ``<row>``: cells with an ``r`` reference,
``t="inlineStr"`` text with ``xml:space="preserve"`` (leading and trailing spaces kept), ``&``,
``<`` and ``>`` escaped; characters XML 1.0 forbids are removed and text longer than Excel's
32,767-character limit is cut with a marker (:mod:`csvscore.output.cells`), row by row first
(one ``join`` and one regex search) so the ordinary row costs nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from csvscore.output.cells import cut_for_excel

# Excel allows 1,048,576 rows per sheet; one of them is the header.
EXCEL_MAX_DATA_ROWS = 1_048_575
# The cell style (xf index) of a date and time in these rows: the workbook reserves it as the
# first style it registers (:mod:`csvscore.output.workbook`), so a row can name it before the
# workbook exists.
DATE_STYLE = 1
CENTRED_STYLE = 2  # a short code (Call Priority) centred, so it does not run into its neighbours
_EPOCH = datetime(1899, 12, 30)  # Excel's day 0 in the 1900 date system (with its leap bug)

# Anything that needs more than copying the text: markup, control characters, lone surrogates.
_NEEDS_WORK = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SHORT = 16_383  # a text of this many code points is within Excel's limit whatever it holds
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_KEEP = 'xml:space="preserve"'  # keep a value's leading and trailing spaces as exported


def column_letters(n: int) -> list[str]:
    """ "A", "B", ..., "Z", "AA", ... for the first ``n`` columns."""
    out = []
    for i in range(n):
        name = ""
        i += 1
        while i:
            i, rest = divmod(i - 1, 26)
            name = chr(65 + rest) + name
        out.append(name)
    return out


def cell_text(text: str) -> str:
    """Text as a cell may hold it: forbidden characters removed, cut to Excel's limit."""
    if _ILLEGAL.search(text):
        text = _ILLEGAL.sub("", text)
    if len(text) > _SHORT:
        text = cut_for_excel(text)
    return text


def clean_text(text: str) -> str:
    """:func:`cell_text`, escaped for XML."""
    return cell_text(text).translate(_ESCAPES)


class RowWriter:
    """Rows of one sheet, numbered from ``first_row``, written to ``path`` as they come."""

    def __init__(
        self,
        path: Path,
        columns: int,
        first_row: int = 2,
        styles: Mapping[int, int] | None = None,
    ) -> None:
        self.path = path
        self.letters = column_letters(columns)
        self.next_row = first_row
        self.rows = 0
        # Cell styles by column (0-based), e.g. CENTRED_STYLE; the workbook reserves them.
        self.styles = dict(styles or {})
        self._fh: IO[str] = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115

    def write(self, values: Sequence[Any]) -> None:
        # Two copies of the loop on purpose: this one writes the 3.6 million cells of 100,000
        # rows x 36 columns in 1.5-1.9 s, the styled one (a style lookup per cell) in 2.4-3.1 s.
        if self.styles:
            self._write_styled(values)
            return
        r = self.next_row
        self.next_row += 1
        self.rows += 1
        letters = self.letters
        texts = [v for v in values if type(v) is str]
        joined = "\n".join(texts)
        careful = len(joined) > _SHORT or _NEEDS_WORK.search(joined) is not None
        parts = [f'<row r="{r}">']
        add = parts.append
        for j, v in enumerate(values):
            if v is None or v == "":
                continue
            if type(v) is str:
                if careful:
                    v = clean_text(v)
                    if not v:
                        continue
                add(f'<c r="{letters[j]}{r}" t="inlineStr"><is><t {_KEEP}>{v}</t></is></c>')
            elif type(v) is int:
                add(f'<c r="{letters[j]}{r}"><v>{v}</v></c>')
            elif type(v) is datetime:  # a local, naive time: a real date in the cell
                serial = (v - _EPOCH).total_seconds() / 86400
                add(f'<c r="{letters[j]}{r}" s="{DATE_STYLE}"><v>{serial!r}</v></c>')
            else:  # anything else is shown as its text
                text = clean_text(str(v))
                add(f'<c r="{letters[j]}{r}" t="inlineStr"><is><t {_KEEP}>{text}</t></is></c>')
        add("</row>")
        self._fh.write("".join(parts))

    def _write_styled(self, values: Sequence[Any]) -> None:
        """:meth:`write` for a sheet with styled columns (the score block, the Call List)."""
        r = self.next_row
        self.next_row += 1
        self.rows += 1
        letters, styles = self.letters, self.styles
        texts = [v for v in values if type(v) is str]
        joined = "\n".join(texts)
        careful = len(joined) > _SHORT or _NEEDS_WORK.search(joined) is not None
        parts = [f'<row r="{r}">']
        add = parts.append
        for j, v in enumerate(values):
            if v is None or v == "":
                continue
            style = styles.get(j)
            attr = "" if style is None else f' s="{style}"'
            if type(v) is int:
                add(f'<c r="{letters[j]}{r}"{attr}><v>{v}</v></c>')
            elif type(v) is datetime:
                serial = (v - _EPOCH).total_seconds() / 86400
                add(f'<c r="{letters[j]}{r}" s="{DATE_STYLE}"><v>{serial!r}</v></c>')
            else:
                if type(v) is not str:
                    v = clean_text(str(v))
                elif careful:
                    v = clean_text(v)
                if v:
                    cell = f'<c r="{letters[j]}{r}"{attr} t="inlineStr">'
                    add(f"{cell}<is><t {_KEEP}>{v}</t></is></c>")
        add("</row>")
        self._fh.write("".join(parts))

    def close(self) -> None:
        self._fh.close()

    def discard(self) -> None:
        self._fh.close()
        self.path.unlink(missing_ok=True)
