"""The in-memory result of reading an export: headers and rows of text, plus what was detected."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class RowProblem:
    """A row that did not fit the header (too many/few cells, unbalanced quote...)."""

    source_row: int  # 1-based line (CSV) or row (workbook) number in the input file
    message: str  # e.g. "has 12 cells, header has 10: extra cells kept as 'Extra 1', 'Extra 2'"


@dataclass
class Table:
    """A contact export read into text cells.

    ``headers`` are kept by position exactly as the file has them (they may repeat or be
    blank); every row in ``rows`` has exactly ``len(headers)`` cells, every cell a ``str``
    ("" for empty). ``source_rows[i]`` is the line or row number of ``rows[i]`` in the file,
    as a person would find it (1-based). Blank rows are not in ``rows``.
    """

    path: Path
    format: str  # "csv" | "xlsx" | "xls" | "ods"
    headers: list[str]
    rows: list[list[str]]
    source_rows: list[int]
    header_row: int  # 1-based line/row number of the header in the file
    encoding: str | None = None  # CSV only: "utf-8", "utf-8-sig", "cp1252", "utf-16"...
    delimiter: str | None = None  # CSV only
    line_ending: str | None = None  # CSV only: "\r\n", "\n" or "\r"
    sheet: str | None = None  # workbooks only: the sheet that was read
    sheets: list[str] = field(default_factory=list)  # workbooks only: all sheet names
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was detected, one sentence each
    # sha256 of the content when it did not come from a file (a DataFrame); else the file's.
    fingerprint: str | None = None

    def column(self, index: int) -> list[str]:
        return [row[index] for row in self.rows]

    def samples(self, index: int, limit: int = 50) -> list[str]:
        """Up to ``limit`` non-empty values of a column, in file order."""
        out: list[str] = []
        for row in self.rows:
            value = row[index].strip()
            if value:
                out.append(value)
                if len(out) >= limit:
                    break
        return out
