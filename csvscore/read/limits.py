"""How much of a file csvscore will read: the limits, and the one-line refusals when a file is over.

Every input is read in bounded memory and time, or refused before anything is sent. Two limits
bound everything (both raisable, ``--max-mb`` / ``--max-cells`` or :class:`ReadLimits`):

- ``max_mb``: the size of a text file, and for a workbook the uncompressed size of each part that
  is read (a sheet, the shared strings). A few KB of ZIP can declare gigabytes; the declared sizes
  are checked before anything is decompressed, and Python's and calamine's ZIP readers both stop at
  the declared size, so a part that lies about it fails instead of growing.
- ``max_cells``: rows x columns of the table (for a workbook sheet: from A1 to its last row and
  column, which is what is held in memory). A 4 KB workbook can declare a cell at XFD1048576.

Defaults: 512 MiB and 20 million cells. An ordinary export of 100,000 contacts x 30 columns is
about 40 MB and 3 million cells; 20 million cells take about 1.5 GB to hold as text, which an
ordinary office PC has. Beyond those, a file is far more likely to be damaged or hostile than a
contact list, and the user is told which option reads it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20
DEFAULT_MAX_MB = 512
DEFAULT_MAX_CELLS = 20_000_000

# Excel's grid: a cell past XFD1048576 is not in any workbook a spreadsheet program wrote.
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384


@dataclass(frozen=True)
class ReadLimits:
    """How much csvscore reads before refusing a file (see the module docstring)."""

    max_mb: int = DEFAULT_MAX_MB
    max_cells: int = DEFAULT_MAX_CELLS

    def __post_init__(self) -> None:
        if self.max_mb < 1:
            raise ValueError("max_mb must be 1 or more")
        if self.max_cells < 1:
            raise ValueError("max_cells must be 1 or more")

    @property
    def max_bytes(self) -> int:
        return self.max_mb * MIB


def over_size(name: str, what: str, size: int, limits: ReadLimits) -> str:
    """The refusal for ``what`` ("the file", "the part xl/sharedStrings.xml") of ``size`` bytes."""
    return (
        f"{name}: {what} is {_mib(size)}, more than csvscore reads ({limits.max_mb} MiB); "
        "if the file is genuine, raise the limit with --max-mb"
    )


def over_cells(name: str, what: str, rows: int, columns: int, limits: ReadLimits) -> str:
    """The refusal for a table or sheet of ``rows`` x ``columns`` cells."""
    return (
        f"{name}: {what} spans {rows:,} rows x {columns:,} columns ({rows * columns:,} cells), "
        f"more than csvscore reads ({limits.max_cells:,} cells); "
        "if the file is genuine, raise the limit with --max-cells"
    )


def off_grid(name: str, what: str, row: int, column: int) -> str:
    """The refusal for a sheet reaching past XFD1048576 (0-based last ``row`` and ``column``)."""
    past = []
    if column >= EXCEL_COLUMNS:
        past.append(f"column {column_letters(column)}")
    if row >= EXCEL_ROWS:
        past.append(f"row {row + 1:,}")
    return (
        f"{name}: {what} has cells out to {' and '.join(past)}, outside Excel's grid "
        "(XFD1048576 is the last cell); the file is damaged or was not made by a spreadsheet"
    )


def column_letters(index: int) -> str:
    """Excel's name for the 0-based column ``index``: 0 -> "A", 26 -> "AA"."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _mib(size: int) -> str:
    if size >= 10 * MIB:
        return f"{size / MIB:,.0f} MiB"
    if size >= MIB:
        return f"{size / MIB:.1f} MiB"
    return f"{size:,} bytes"
