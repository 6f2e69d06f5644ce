"""One string object for the cells of a column that repeat: the table's memory, shared.

Each cell the csv module or calamine returns is a new ``str`` (about 50 bytes of header plus the
text), so a 100,000 x 30 export holds 3 million of them: ~200 MB, most of it the same few
values over and over ("United States", "lead", "Pat Owner", a date). pandas' parser shares equal
strings within a column; csvscore does too, for the columns where it pays: those whose first rows
repeat (at most half of the values distinct). A column whose values turn out to be mostly
distinct after all (a sorted export: one company for a thousand rows, then all different) is
let go, so the lookup table never grows to the size of the column.

Measured on the benchmark export (``python -m benchmarks.bench_score --only e2e``): the table
drops from 202 MB to 80 MB for ~0.15 s more per 100,000 rows. Rows are changed in place.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

if sys.version_info >= (3, 11):
    from operator import call as _call
else:  # pragma: no cover - Python 3.10

    def _call(function: Callable[..., Any], *args: Any) -> Any:
        return function(*args)


SAMPLE_ROWS = 500  # rows looked at to decide which columns repeat
_MIN_ENTRIES = 4096  # a lookup table this small is never let go
_NONE: dict[str, str] = {}  # _NONE.get(v, v) is v: the columns not shared


class SharedValues:
    """Shares equal cells of repeating columns, chunk by chunk as rows are read.

    Call it with each new run of rows of the header's ``size`` cells (other rows are left as
    they are: they are rare, and padding changes them later anyway). Columns are chosen on the
    first call that brings at least :data:`SAMPLE_ROWS` rows; smaller tables are not worth it.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._lookups: list[dict[str, str] | None] | None = None
        self._getters: list[Callable[[str, str], str]] = []
        self._rows_seen = 0

    def __call__(self, rows: Sequence[list[str]]) -> None:
        if self._lookups is None:
            if len(rows) < SAMPLE_ROWS:
                return
            self._choose(rows)
        if not self._getters:
            return
        size, getters = self.size, self._getters
        for row in rows:
            if len(row) == size:
                row[:] = map(_call, getters, row, row)
        self._rows_seen += len(rows)
        self._let_go_of_distinct()

    def _choose(self, rows: Sequence[list[str]]) -> None:
        sample = [row for row in rows[:SAMPLE_ROWS] if len(row) == self.size]
        lookups: list[dict[str, str] | None] = []
        for column in range(self.size):
            values = {row[column] for row in sample}
            lookups.append({} if sample and len(values) * 2 <= len(sample) else None)
        self._lookups = lookups
        if any(lookup is not None for lookup in lookups):
            self._getters = [
                _NONE.get if lookup is None else lookup.setdefault for lookup in lookups
            ]

    def _let_go_of_distinct(self) -> None:
        assert self._lookups is not None
        limit = max(_MIN_ENTRIES, self._rows_seen // 2)
        for column, lookup in enumerate(self._lookups):
            if lookup is not None and len(lookup) > limit:
                self._lookups[column] = None
                self._getters[column] = _NONE.get
        if all(lookup is None for lookup in self._lookups):
            self._getters = []
