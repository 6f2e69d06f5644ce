"""How many cells an OpenDocument spreadsheet's sheets take once calamine has built them.

An ``.ods`` file is a ZIP with every sheet in ``content.xml``, and calamine builds all of them when
the file is opened. A row or a cell can say it repeats (``table:number-rows-repeated``,
``table:number-columns-repeated``), so a 1 KB file can ask for 2,000 rows x 16,384 columns of text
(measured: 4.4 GB and 19 s). Trailing empty cells and rows are repeated in every file LibreOffice
writes, and calamine drops them; only repeats of cells with something in them count.

This follows calamine's own rules (``ods.rs``): names are matched with their ``table:`` prefix;
empty cells count only when a filled cell follows them in the row; a row's width is capped at
16,384 columns and a sheet's rows at 1,048,576. The total is what all sheets hold together, from
A1 to each one's last filled row and column. A cell counts as filled when it has a value type or
anything inside it, so the total is never below calamine's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from csvscore.read.limits import EXCEL_COLUMNS, EXCEL_ROWS

_TAG = re.compile(
    rb"<(/?)(table:table-row|table:table-cell|table:covered-table-cell|table:table)"
    rb"(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
)
_ROWS_REPEATED = re.compile(rb"""table:number-rows-repeated\s*=\s*["']\s*(\d+)""")
_COLUMNS_REPEATED = re.compile(rb"""table:number-columns-repeated\s*=\s*["']\s*(\d+)""")
_VALUE_TYPE = re.compile(rb"\soffice:value-type\s*=")


@dataclass
class OdsSheet:
    """One sheet's extent: filled rows (repeats included) and the widest row."""

    rows: int = 0
    columns: int = 0

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def ods_sheets(bodies: Iterable[bytes]) -> list[OdsSheet]:
    """The extent of every sheet in ``content.xml`` (given as tag-aligned chunks)."""
    sheets: list[OdsSheet] = []
    sheet: OdsSheet | None = None
    total_rows = 0  # rows so far in this sheet, repeats included (capped like calamine)
    row_repeat = 1
    width = 0  # cells pushed in the current row
    pending_empty = 0  # empty cells kept only if a filled one follows
    for body in bodies:
        for match in _TAG.finditer(body):
            closing, name, attrs = match.groups()
            if name == b"table:table":
                if not closing:
                    sheet = OdsSheet()
                    sheets.append(sheet)
                    total_rows = 0
                continue
            if sheet is None:
                continue
            if name == b"table:table-row":
                if closing:
                    continue
                found = _ROWS_REPEATED.search(attrs)
                row_repeat = min(int(found.group(1)) if found else 1, EXCEL_ROWS - total_rows)
                row_repeat = max(row_repeat, 0)
                total_rows += row_repeat
                width = 0
                pending_empty = 0
                continue
            if closing:
                continue
            found = _COLUMNS_REPEATED.search(attrs)
            repeat = int(found.group(1)) if found else 1
            if _filled(body, match.end(), attrs):
                width = min(width + pending_empty, EXCEL_COLUMNS)
                width = min(width + repeat, EXCEL_COLUMNS)
                pending_empty = 0
                if width > sheet.columns:
                    sheet.columns = width
                if row_repeat:
                    sheet.rows = total_rows
            else:
                pending_empty = min(pending_empty + repeat, EXCEL_COLUMNS)
    return sheets


def _filled(body: bytes, after: int, attrs: bytes) -> bool:
    """Whether a cell has a value type or anything before its end tag (when it has one)."""
    if _VALUE_TYPE.search(b" " + attrs):
        return True
    if attrs.endswith(b"/"):
        return False
    following = body.find(b"<", after)
    if following < 0:
        return True  # the next tag is in the next chunk: count it, to be safe
    if body[after:following].strip():
        return True  # text right inside the cell
    return not body.startswith(b"</table:table-cell", following) and not body.startswith(
        b"</table:covered-table-cell", following
    )
