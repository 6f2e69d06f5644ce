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

Most rows repeat nothing: their width is counted at C speed (cell tags counted in the row's bytes,
empty ones too, which can only overestimate); only rows that say "repeated" are read cell by cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from csvscore.read.limits import EXCEL_COLUMNS, EXCEL_ROWS

_TABLE = re.compile(rb"<table:table(?=[\s/>])")
_ROW = b"<table:table-row"
_CELL = b"<table:table-cell"
_COVERED = b"<table:covered-table-cell"
_CELL_TAG = re.compile(
    rb"<(table:table-cell|table:covered-table-cell)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
)
_TAG_END = re.compile(rb"(?:[^>\"']|\"[^\"]*\"|'[^']*')*>")
_ROWS_REPEATED = re.compile(rb"""table:number-rows-repeated\s*=\s*["']\s*(\d+)""")
_COLUMNS_REPEATED = re.compile(rb"""table:number-columns-repeated\s*=\s*["']\s*(\d+)""")
_VALUE_TYPE = re.compile(rb"\soffice:value-type\s*=")
_NAME_END = frozenset(b" \t\r\n/>")


@dataclass
class OdsSheet:
    """One sheet's extent: filled rows (repeats included) and the widest row."""

    rows: int = 0
    columns: int = 0

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def ods_sheets(content: bytes) -> list[OdsSheet]:
    """The extent of every sheet in ``content.xml``."""
    sheets: list[OdsSheet] = []
    for table in _TABLE.split(content)[1:]:
        sheet = OdsSheet()
        sheets.append(sheet)
        total_rows = 0
        for segment in table.split(_ROW)[1:]:
            if not segment or segment[0] not in _NAME_END:
                continue  # <table:table-row-group>, <table:table-rows>: not a row
            head = _TAG_END.match(segment)
            start_tag = segment[: head.end()] if head else segment
            found = _ROWS_REPEATED.search(start_tag)
            repeat = min(int(found.group(1)) if found else 1, EXCEL_ROWS - total_rows)
            total_rows += max(repeat, 0)
            if b"repeated" in segment[len(start_tag) :]:
                width = _width_cell_by_cell(segment)
            elif start_tag.endswith(b"/>"):
                width = 0
            else:
                width = min(segment.count(_CELL) + segment.count(_COVERED), EXCEL_COLUMNS)
            if width:
                # A filled row past the row cap still ends the sheet there for calamine, which
                # then builds every (empty) row before it: found by the fuzzer.
                sheet.rows = total_rows if repeat > 0 else total_rows + 1
                sheet.columns = max(sheet.columns, width)
    return sheets


def _width_cell_by_cell(row: bytes) -> int:
    """A row's width as calamine builds it: filled cells with their repeats, and the empty cells
    between them (trailing empty ones are dropped)."""
    width = 0
    pending_empty = 0
    for match in _CELL_TAG.finditer(row):
        attrs = match.group(2)
        found = _COLUMNS_REPEATED.search(attrs)
        repeat = int(found.group(1)) if found else 1
        if _filled(row, match.end(), attrs):
            width = min(width + pending_empty + repeat, EXCEL_COLUMNS)
            pending_empty = 0
        else:
            pending_empty = min(pending_empty + repeat, EXCEL_COLUMNS)
    return width


def _filled(row: bytes, after: int, attrs: bytes) -> bool:
    """Whether a cell has a value type or anything before its end tag."""
    if _VALUE_TYPE.search(b" " + attrs):
        return True
    if attrs.endswith(b"/"):
        return False
    following = row.find(b"<", after)
    if following < 0:
        return True
    if row[after:following].strip():
        return True  # text right inside the cell
    return not row.startswith(b"</table:table-cell", following) and not row.startswith(
        b"</table:covered-table-cell", following
    )
