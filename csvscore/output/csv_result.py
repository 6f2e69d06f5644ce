"""The result as CSV files: the Results rows at the given path and one file per other sheet
beside it. UTF-8 with a BOM (so Excel reads it as UTF-8), the input's delimiter when it was a
CSV, and every field that could start a formula prefixed with ``'``."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from csvscore.mapping.model import Mapping
from csvscore.output.cells import csv_row, csv_value
from csvscore.output.destination import CSV_COMPANIONS
from csvscore.output.report import (
    JOB_COLUMNS,
    MAPPING_COLUMNS,
    RESULT_COLUMNS,
    SUMMARY_COLUMNS,
    job_rows,
    mapping_rows,
    result_header,
    results_by_index,
    status_cells,
    summary,
)
from csvscore.output.score_columns import call_list, score_cells, score_header
from csvscore.read.table import Table
from csvscore.results import CHECK_FIRST, TO_FIX, RunResult
from csvscore.scores.run import RunScores

CALL_LIST_KIND = "call-list"  # <stem>.call-list.csv, written only when the result has scores

# CSV output: the Results file, plus one file per other sheet named "<stem>.<kind>.csv".
CSV_ENCODING = "utf-8-sig"  # the BOM makes Excel read UTF-8 instead of the ANSI code page


def _delimiter(table: Table) -> str:
    if table.format == "csv" and table.delimiter in (",", ";", "\t", "|"):
        return str(table.delimiter)
    return ","


def _results_rows(table: Table, result: RunResult) -> Iterator[list[Any]]:
    """The Results rows as CSV fields: the TitanX columns, then every input column."""
    row_results = results_by_index(table, result)
    source_rows = table.source_rows
    for i, row in enumerate(table.rows):
        status = [csv_value(v) for v in status_cells(row_results[i], source_rows[i])]
        yield [*status, *csv_row(row)]


def all_columns_writer(table: Table, result: RunResult) -> Callable[[Path], None]:
    """Writes the Results rows with every input column (for a workbook too wide for Excel)."""
    return lambda tmp: _write_csv(
        tmp, result_header(table), _results_rows(table, result), _delimiter(table)
    )


def csv_writers(
    target: Path,
    table: Table,
    mapping: Mapping,
    result: RunResult,
    *,
    scores: RunScores | None = None,
    scores_hint: str = "",
) -> list[tuple[Path, Callable[[Path], None]]]:
    delimiter = _delimiter(table)
    header = result_header(table)
    row_results = results_by_index(table, result)
    cut = len(RESULT_COLUMNS)
    results_header = header
    if scores is not None:  # as in the workbook: between the status and the export columns
        results_header = [*header[:cut], *score_header(scores), *header[cut:]]

    def results_rows(only: frozenset[str] | None) -> Iterator[list[Any]]:
        source_rows = table.source_rows
        for i, row in enumerate(table.rows):
            r = row_results[i]
            if only is not None and r.status not in only:
                continue
            status = [csv_value(v) for v in status_cells(r, source_rows[i])]
            if scores is not None and only is None:
                status += [csv_value(v) for v in score_cells(scores, r, str)]
            yield [*status, *csv_row(row)]

    def small(rows: list[list[Any]]) -> Iterator[list[str]]:
        return ([csv_value(v) for v in row] for row in rows)

    sheets: dict[str, tuple[Sequence[str], Callable[[], Iterable[list[Any]]]]] = {
        "to-fix": (header, lambda: results_rows(frozenset(TO_FIX))),
        "check-first": (header, lambda: results_rows(frozenset(CHECK_FIRST))),
        "jobs": (JOB_COLUMNS, lambda: small(job_rows(result))),
        "summary": (
            SUMMARY_COLUMNS,
            lambda: small(
                summary(table, mapping, result, scores=scores, scores_hint=scores_hint).pairs()
            ),
        ),
        "mapping": (MAPPING_COLUMNS, lambda: small(mapping_rows(mapping))),
    }

    def writer(
        head: Sequence[str], rows: Callable[[], Iterable[list[Any]]]
    ) -> Callable[[Path], None]:
        return lambda tmp: _write_csv(tmp, head, rows(), delimiter)

    writers = [(target, writer(results_header, lambda: results_rows(None)))]
    for kind in CSV_COMPANIONS:
        head, rows = sheets[kind]
        writers.append((target.with_name(f"{target.stem}.{kind}.csv"), writer(head, rows)))
    if scores is not None:
        calls = call_list(table, mapping, result.rows, scores, str)
        writers.append(
            (
                target.with_name(f"{target.stem}.{CALL_LIST_KIND}.csv"),
                writer(calls.header, lambda: small(calls.rows)),
            )
        )
    return writers


def _write_csv(tmp: Path, header: Sequence[str], rows: Iterable[list[Any]], delimiter: str) -> None:
    with open(tmp, "x", encoding=CSV_ENCODING, newline="") as fh:
        out = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        out.writerow(csv_row(header))
        out.writerows(rows)
