"""Row results passed from a run in progress to the workbook writer, in table order.

Writing 100k rows costs about as much as sending them, so :mod:`csvscore.pipeline` sends on
one thread and writes the Results sheet on another as batches are answered. A row is handed
over only once its result is final (see :func:`csvscore.scoring.outcomes.batch_row_results`); rows
whose batch is unsettled wait for the end of the run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from csvscore.results import RowResult, RunResult

# Stands in for a row the writer has taken (not None: "published", as the waiting expects).
_TAKEN = RowResult(index=-1, source_row=0, status="")


class LiveRows:
    """Implements :class:`csvscore.output.workbook.LiveResult` for one run."""

    def __init__(self, rows: int) -> None:
        self._rows: list[RowResult | None] = [None] * rows
        self._changed = threading.Condition()
        self._result: RunResult | None = None
        self._error: BaseException | None = None

    # -- the sending side -----------------------------------------------------------------

    def publish(self, rows: list[RowResult]) -> None:
        with self._changed:
            for r in rows:
                self._rows[r.index] = r
            self._changed.notify_all()

    def finish(self, result: RunResult) -> None:
        with self._changed:
            self._result = result
            self._changed.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._changed:
            self._error = error
            self._changed.notify_all()

    # -- the writing side -----------------------------------------------------------------

    def row_results(self) -> Iterator[RowResult]:
        rows = self._rows
        for i in range(len(rows)):
            r = rows[i]  # fast path: already published (a list read needs no lock)
            if r is None:

                def ready(i: int = i) -> bool:
                    return rows[i] is not None or self._result is not None or bool(self._error)

                with self._changed:
                    self._changed.wait_for(ready)
                    if self._error is not None:
                        raise self._error
                    if rows[i] is None:  # the run ended: the rest comes from its result
                        yield from self._remaining(i)
                        return
                    r = rows[i]
            assert r is not None
            # The writer takes each row once: let it go, so a run does not hold every row's
            # result twice at its end (here and in the final result).
            rows[i] = _TAKEN
            yield r

    def _remaining(self, start: int) -> Iterator[RowResult]:
        assert self._result is not None
        by_index = {r.index: r for r in self._result.rows}
        for i in range(start, len(self._rows)):
            yield by_index[i]

    def final(self) -> RunResult:
        with self._changed:
            self._changed.wait_for(lambda: self._result is not None or self._error is not None)
            if self._error is not None:
                raise self._error
            assert self._result is not None
            return self._result
