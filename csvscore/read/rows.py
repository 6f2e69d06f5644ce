"""The rows a reader collects from a text file or a sheet, and how they become a :class:`Table`.

Shared by :mod:`~csvscore.read.textfile` and :mod:`~csvscore.read.sheets`: the header and rows
found so far (:class:`Rows`), the handling of rows that do not fit the header (padding, "Extra N"
columns, :class:`RowProblem` entries), and the notes every table gets about what was skipped.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csvscore.errors import InputError
from csvscore.read import sniff
from csvscore.read.footers import footer_start
from csvscore.read.table import RowProblem, Table

# Ends the "is not a contact file" errors of every reader.
SUPPORTED = "csvscore reads CSV/TSV text, Excel (.xlsx, .xlsm, .xlsb, .xls) and .ods files"


@dataclass
class Rows:
    """What the row loops collect, before it becomes a Table."""

    header: list[str]
    header_row: int
    rows: list[list[str]] = field(default_factory=list)
    source_rows: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    extra: int = 0  # most extra cells beyond the header in one row
    blank: int = 0  # blank rows below the header


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off the rows while they are built.

    Each row is a new list, so CPython would run its collector every few hundred rows,
    walking every row built so far (about a third of the read time), and once more when
    re-enabled. Rows hold only strings, so they cannot form cycles: while reading, the
    collector is off; afterwards ``freeze()`` + ``unfreeze()`` moves every tracked object,
    the new rows included, into the oldest generation, where the next full collection
    sees them as usual, instead of a young-generation pass over all of them right away.
    The caller's own settings are respected: if the collector was off, it stays off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def blank_row(row: list[str]) -> bool:
    """True when every cell is empty or whitespace (stops at the first real cell)."""
    # A plain loop: about twice as fast as any() over a generator, and this runs per row.
    for cell in row:  # noqa: SIM110
        if cell and not cell.isspace():
            return False
    return True


def add_row(found: Rows, row: list[str], line: int, size: int) -> None:
    """Add a row whose cell count differs from the header's ``size`` (or any row, slowly).

    Short rows are padded; long rows lose trailing empty cells silently (a trailing
    delimiter is not a problem) and keep non-empty extra cells for "Extra N" columns.
    """
    if blank_row(row):
        found.blank += 1
        return
    count = len(row)
    if count < size:
        if count < sniff.span(found.header):
            found.problems.append(
                RowProblem(
                    line,
                    f"has {count} cells, header has {sniff.span(found.header)}: "
                    "the missing cells are left empty",
                )
            )
        row.extend([""] * (size - count))
    elif count > size:
        span = sniff.span(row)
        if span > size:
            extra = span - size
            found.problems.append(
                RowProblem(
                    line,
                    f"has {span} cells, header has {size}: extra cells kept as "
                    f"{_extra_names(extra)}",
                )
            )
            found.extra = max(found.extra, extra)
            del row[span:]
        else:
            del row[size:]
    found.rows.append(row)
    found.source_rows.append(line)


def _drop_footer(found: Rows, notes: list[str], what: str) -> None:
    """Leave out the report footer lines at the end of the rows (see :mod:`.footers`)."""
    cut = footer_start(found.rows)
    if cut == len(found.rows):
        return
    lines = found.source_rows[cut:]
    shown = []
    for row in found.rows[cut:][:3]:
        text = next(cell.strip() for cell in row if cell and not cell.isspace())
        shown.append(f"'{text[:40]}...'" if len(text) > 40 else f"'{text}'")
    more = f" and {len(lines) - 3} more" if len(lines) > 3 else ""
    plural = "s" if len(lines) != 1 else ""
    numbers = ", ".join(str(n) for n in lines[:3])
    notes.append(
        f"Skipped {len(lines)} report footer {what}{plural} at the end ({what}{plural} "
        f"{numbers}: {', '.join(shown)}{more}): not contacts."
    )
    footer = set(lines)
    found.problems = [p for p in found.problems if p.source_row not in footer]
    del found.rows[cut:]
    del found.source_rows[cut:]


def _extra_names(count: int) -> str:
    if count == 1:
        return "'Extra 1'"
    if count == 2:
        return "'Extra 1', 'Extra 2'"
    return f"'Extra 1' to 'Extra {count}'"


def make_table(
    path: Path,
    fmt: str,
    found: Rows,
    notes: list[str],
    *,
    what: str,
    **detected: Any,
) -> Table:
    """Drop a report footer, settle the columns (blank headers, Extra N), build the Table."""
    _drop_footer(found, notes, what)
    if not found.rows:
        raise InputError(
            f"{path}: has a header ({what} {found.header_row}) but no contact rows below it"
        )
    header = found.header
    size = len(header)
    width = size + found.extra
    if not found.extra:
        # Trailing blank header cells (e.g. a delimiter at the end of every line) become
        # columns only if some row has data under them.
        width = sniff.span(header)
        for index in range(size - 1, width - 1, -1):
            if any(row[index] and not row[index].isspace() for row in found.rows):
                width = index + 1
                break
    headers = header[:width] + [f"Extra {n}" for n in range(1, found.extra + 1)]
    headers += [""] * (width - len(headers))
    if width != size or found.extra:
        for row in found.rows:
            count = len(row)
            if count < width:
                row.extend([""] * (width - count))
            elif count > width:
                del row[width:]
    if found.header_row != 1:
        notes.append(
            f"Header found on {what} {found.header_row}; "
            f"the {found.header_row - 1} {what}s above it were skipped."
        )
    if found.blank:
        plural = "s" if found.blank != 1 else ""
        notes.append(f"Skipped {found.blank} blank {what}{plural} (not contacts).")
    if found.problems:
        plural = "s" if len(found.problems) != 1 else ""
        notes.append(f"{len(found.problems)} {what}{plural} did not fit the header (see problems).")
    return Table(
        path=path,
        format=fmt,
        headers=headers,
        rows=found.rows,
        source_rows=found.source_rows,
        header_row=found.header_row,
        problems=found.problems,
        notes=notes,
        **detected,
    )
