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
from csvscore.output.report import (
    JOB_COLUMNS,
    MAPPING_COLUMNS,
    SUMMARY_COLUMNS,
    job_rows,
    mapping_rows,
    result_header,
    results_by_index,
    summary_rows,
)
from csvscore.read.table import Table
from csvscore.results import NEEDS_ATTENTION, RunResult

# CSV output: the Results file, plus one file per other sheet named "<stem>.<kind>.csv".
CSV_COMPANIONS = ("rejected", "jobs", "summary", "mapping")
CSV_ENCODING = "utf-8-sig"  # the BOM makes Excel read UTF-8 instead of the ANSI code page


def _delimiter(table: Table) -> str:
    if table.format == "csv" and table.delimiter in (",", ";", "\t", "|"):
        return str(table.delimiter)
    return ","


def _results_rows(table: Table, result: RunResult, only_attention: bool) -> Iterator[list[Any]]:
    """The Results rows as CSV fields: every input column, then the TitanX columns."""
    row_results = results_by_index(table, result)
    attention = frozenset(NEEDS_ATTENTION)
    source_rows = table.source_rows
    for i, row in enumerate(table.rows):
        r = row_results[i]
        if only_attention and r.status not in attention:
            continue
        values: list[Any] = csv_row(row)
        values.append(csv_value(r.status))
        values.append(csv_value(r.reason))
        values.append(csv_value(r.job_id))
        values.append("" if r.batch is None else r.batch)
        values.append(source_rows[i])
        yield values


def all_columns_writer(table: Table, result: RunResult) -> Callable[[Path], None]:
    """Writes the Results rows with every input column (for a workbook too wide for Excel)."""
    return lambda tmp: _write_csv(
        tmp, result_header(table), _results_rows(table, result, False), _delimiter(table)
    )


def csv_writers(
    target: Path, table: Table, mapping: Mapping, result: RunResult
) -> list[tuple[Path, Callable[[Path], None]]]:
    delimiter = _delimiter(table)
    header = result_header(table)

    def results_rows(only_attention: bool) -> Iterator[list[Any]]:
        return _results_rows(table, result, only_attention)

    def small(rows: list[list[Any]]) -> Iterator[list[str]]:
        return ([csv_value(v) for v in row] for row in rows)

    sheets: dict[str, tuple[Sequence[str], Callable[[], Iterable[list[Any]]]]] = {
        "rejected": (header, lambda: results_rows(True)),
        "jobs": (JOB_COLUMNS, lambda: small(job_rows(result))),
        "summary": (SUMMARY_COLUMNS, lambda: small(summary_rows(table, mapping, result))),
        "mapping": (MAPPING_COLUMNS, lambda: small(mapping_rows(mapping))),
    }

    def writer(
        head: Sequence[str], rows: Callable[[], Iterable[list[Any]]]
    ) -> Callable[[Path], None]:
        return lambda tmp: _write_csv(tmp, head, rows(), delimiter)

    writers = [(target, writer(header, lambda: results_rows(False)))]
    for kind in CSV_COMPANIONS:
        head, rows = sheets[kind]
        writers.append((target.with_name(f"{target.stem}.{kind}.csv"), writer(head, rows)))
    return writers


def _write_csv(tmp: Path, header: Sequence[str], rows: Iterable[list[Any]], delimiter: str) -> None:
    with open(tmp, "x", encoding=CSV_ENCODING, newline="") as fh:
        out = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        out.writerow(csv_row(header))
        out.writerows(rows)
