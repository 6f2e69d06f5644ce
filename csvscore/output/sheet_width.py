"""Excel's 16,384 columns: what a result workbook shows of a wider export, decided before sending.

A sheet ends at column XFD. An export wider than that (a misread file, a CRM dump with a column
per custom field) still has every row scored; the workbook's Results and the fix sheet then show
the six TitanX columns and the first 16,378 columns of the export (fewer once score columns are
added), and every column goes to a CSV file beside the workbook, ``<name>.all-columns.csv``
(same rows, same TitanX columns). The decision depends only on the table, so :func:`width_notes`
says it on the terminal and in Summary before anything is sent, and the writer follows it: the
write can no longer fail after the contacts were charged.
"""

from __future__ import annotations

from pathlib import Path

from csvscore.output.report import RESULT_COLUMNS
from csvscore.read.table import Table

EXCEL_MAX_COLUMNS = 16_384
ALL_COLUMNS_SUFFIX = ".all-columns.csv"


def shown_columns(table: Table) -> int:
    """How many of the input's columns a sheet holds beside the TitanX columns."""
    return min(len(table.headers), EXCEL_MAX_COLUMNS - len(RESULT_COLUMNS))


def too_wide(table: Table) -> bool:
    return shown_columns(table) < len(table.headers)


def all_columns_path(workbook: Path) -> Path:
    """``contacts.scored.xlsx`` -> ``contacts.scored.all-columns.csv``."""
    return workbook.with_name(workbook.stem + ALL_COLUMNS_SUFFIX)


def width_notes(table: Table, fmt: str, workbook: Path) -> list[str]:
    """The sentence saying what the workbook holds of a too-wide export (none when it fits)."""
    if fmt != "xlsx" or not too_wide(table):
        return []
    shown = shown_columns(table)
    return [
        f"The file has {len(table.headers):,} columns and an Excel sheet holds "
        f"{EXCEL_MAX_COLUMNS:,}: Results shows columns 1-{shown:,} and the TitanX columns; "
        f"every column is in {all_columns_path(workbook).name} beside it."
    ]
