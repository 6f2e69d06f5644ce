"""LiveRows: results handed from the sending thread to the writer, in table order."""

from __future__ import annotations

import threading

import pytest

from csvscore.output.live import LiveRows
from csvscore.results import ACCEPTED, FAILED, SKIPPED, RowResult, RunResult, RunSummary


def _row(i: int, status: str = ACCEPTED) -> RowResult:
    return RowResult(index=i, source_row=i + 2, status=status)


def _result(rows: list[RowResult]) -> RunResult:
    summary = RunSummary("f.csv", "x", None, len(rows), "lightning", "", "", "0")
    return RunResult(rows=rows, batches=[], summary=summary)


def test_rows_come_out_in_table_order_whatever_order_they_are_published() -> None:
    live = LiveRows(4)
    live.publish([_row(2), _row(3)])
    got: list[RowResult] = []
    first_two_taken = threading.Event()

    def writer() -> None:
        for r in live.row_results():
            got.append(r)
            if len(got) == 2:
                first_two_taken.set()

    t = threading.Thread(target=writer)
    t.start()
    live.publish([_row(1, SKIPPED), _row(0)])
    assert first_two_taken.wait(10)
    t.join(10)
    assert [r.index for r in got] == [0, 1, 2, 3]
    assert got[1].status == SKIPPED


def test_rows_not_published_come_from_the_final_result() -> None:
    live = LiveRows(3)
    live.publish([_row(0)])
    final = _result([_row(0), _row(1, FAILED), _row(2, FAILED)])
    out: list[RowResult] = []
    t = threading.Thread(target=lambda: out.extend(live.row_results()))
    t.start()
    live.finish(final)
    t.join(10)
    assert [r.status for r in out] == [ACCEPTED, FAILED, FAILED]
    assert live.final() is final


def test_a_failed_run_raises_in_the_writer() -> None:
    live = LiveRows(2)
    live.fail(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        list(live.row_results())
    with pytest.raises(RuntimeError, match="boom"):
        live.final()
