"""pandas at the library face: map and score a DataFrame as if it were an export file.

For analysts and ops engineers in notebooks::

    import pandas as pd, csvscore
    df = pd.read_csv("export.csv", dtype=str)
    mapped = csvscore.map_frame(df)                                   # how each column maps
    scored = csvscore.score_frame(df, csvscore.ScoreRequest(sandbox=True))
    scored[scored["TitanX Status"] != "accepted"]

A frame goes through exactly what a file does (mapping, local checks, the journal, the ledger,
reconciliation): only reading is different. Its identity for the journal is the SHA-256 of its
header and cells, so scoring the same frame again resumes instead of charging twice. pandas is an
optional extra (``pip install 'csvscore[pandas]'``); this module imports it only when called.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable
from collections.abc import Mapping as EnvMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csvscore.errors import InputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from csvscore.pipeline import MapOptions, MappedFile, ScoreOutcome, ScoreRequest
    from csvscore.scoring.submit import ProgressFn

DEFAULT_NAME = "dataframe"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError(
            "map_frame and score_frame need pandas: pip install 'csvscore[pandas]'"
        ) from None
    return pandas


def _cell(value: object) -> str:
    """A cell as text, as ``read_csv(dtype=str)`` would give it; missing values become ""."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, str):
        return value
    try:  # pd.NA, pd.NaT and numpy NaN-likes
        if value != value:
            return ""
    except TypeError:  # pd.NA refuses comparisons
        return ""
    return str(value)


def _unmangled(headers: list[str]) -> list[str]:
    """Undo ``read_csv``'s renaming of a repeated header ("City" -> "City.1").

    The export said "City" twice (HubSpot's contact and company blocks); the mapping engine reads
    the neighbourhood of each, as it does for the file. Only a name whose base appears earlier
    is taken for pandas' renaming, so a column really called "Version.2" keeps its name.
    """
    out: list[str] = []
    for header in headers:
        base, dot, number = header.rpartition(".")
        out.append(base if dot and number.isdigit() and base in out else header)
    return out


def table_from_frame(df: pd.DataFrame, name: str = DEFAULT_NAME) -> Any:
    """A :class:`~csvscore.read.table.Table` of the frame's text cells (rows numbered from 1)."""
    from csvscore.read.controls import Removed, clean_rows
    from csvscore.read.table import Table

    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame, not {type(df).__name__}")
    if df.empty or len(df.columns) == 0:
        raise InputError(f"{name}: the DataFrame has no rows or no columns")
    headers = _unmangled([_cell(c) for c in df.columns])
    rows = [[_cell(v) for v in row] for row in df.itertuples(index=False, name=None)]
    digest = hashlib.sha256()
    for line in [headers, *rows]:
        # A unit separator between cells and a record separator after each row: unambiguous.
        digest.update(("\x1f".join(line) + "\x1e").encode("utf-8", "surrogatepass"))
    notes = [f"Read from a pandas DataFrame ({len(rows)} rows, {len(headers)} columns)."]
    source_rows = list(range(1, len(rows) + 1))
    removed = Removed("row")  # NUL, ESC...: never sent nor written (csvscore.read.controls)
    clean_rows([headers], [0], removed)
    clean_rows(rows, source_rows, removed)
    if removed.note():
        notes.append(str(removed.note()))
    return Table(
        path=Path(name),
        format="dataframe",
        headers=headers,
        rows=rows,
        source_rows=source_rows,
        header_row=0,
        notes=notes,
        fingerprint=digest.hexdigest(),
    )


def map_frame(
    df: pd.DataFrame,
    options: MapOptions | None = None,
    *,
    name: str = DEFAULT_NAME,
    env: EnvMapping[str, str] = os.environ,
) -> MappedFile:
    """Map a DataFrame's columns to TitanX fields, as :func:`csvscore.map_file` maps a file."""
    from csvscore.pipeline import map_table

    return map_table(table_from_frame(df, name), options, env=env)


def score_frame(
    df: pd.DataFrame,
    request: ScoreRequest | None = None,
    map_options: MapOptions | None = None,
    *,
    name: str = DEFAULT_NAME,
    env: EnvMapping[str, str] = os.environ,
    progress: ProgressFn | None = None,
    on_event: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Score a DataFrame's contacts; return its columns plus the status columns of Results.

    The same mapping, checks, journal and safety as :func:`csvscore.score_file`. No workbook is
    written unless ``request.output`` names one. The returned frame keeps the input's index.
    """
    from csvscore.output.report import RESULT_COLUMNS, results_by_index, status_cells
    from csvscore.pipeline import ScoreRequest, prepare, score_prepared

    pd = _pandas()
    request = request or ScoreRequest()
    mapped = map_frame(df, map_options, name=name, env=env)
    prepared = prepare(mapped, request, env=env)
    outcome: ScoreOutcome = score_prepared(
        mapped,
        prepared,
        request,
        env=env,
        progress=progress,
        on_event=on_event,
        write=request.output is not None,
    )
    table = mapped.table
    by_index = results_by_index(table, outcome.result)
    status = pd.DataFrame(
        [status_cells(r, table.source_rows[i]) for i, r in enumerate(by_index)],
        columns=list(RESULT_COLUMNS),
        index=df.index,
    )
    out = pd.concat([df.reset_index(drop=True).set_axis(df.index), status], axis=1)
    out.attrs["csvscore"] = outcome  # the full outcome (summary, batches, journal) for who needs it
    return out
