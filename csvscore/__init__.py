"""csvscore: map CRM contact exports to TitanX's scoring API and submit them safely.

The library's public face. Everything listed in ``__all__`` is supported; every other module is
internal and may move. Names are loaded on first use (PEP 562), so ``import csvscore`` and
``csvscore --version`` stay fast: nothing here imports pandas, rapidfuzz, numpy, openpyxl or
requests until a function that needs them is called.

>>> import csvscore
>>> mapped = csvscore.map_file("export.csv")                          # doctest: +SKIP
>>> request = csvscore.ScoreRequest(sandbox=True)
>>> outcome = csvscore.score_file("export.csv", request)              # doctest: +SKIP

Internal modules import ``csvscore._version`` and the subpackages directly, never this module:
with a lazy face, importing the root from inside would make it an importer of every layer.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from csvscore._version import __version__

__all__ = [
    "ApiError",
    "AuthError",
    "BatchResult",
    "BusyError",
    "Cancelled",
    "ColumnMapping",
    "ConfigError",
    "CreditsError",
    "CsvscoreError",
    "ExitCode",
    "InputError",
    "MapOptions",
    "MappedFile",
    "Mapping",
    "MappingError",
    "NetworkError",
    "NotSavedError",
    "OutputError",
    "Prepared",
    "ReadLimits",
    "ReadOptions",
    "RowProblem",
    "RowResult",
    "RunResult",
    "RunScores",
    "RunSummary",
    "ScoreOptions",
    "ScoreOutcome",
    "ScoreRequest",
    "StateError",
    "Table",
    "UsageError",
    "__version__",
    "exit_code_for",
    "fetch_scores",
    "map_columns",
    "map_file",
    "map_frame",
    "prepare",
    "read_table",
    "score_file",
    "score_frame",
    "score_prepared",
]

# Where each public name lives. tests/test_public_api.py checks this table against __all__.
_EXPORTS: dict[str, str] = {
    "ApiError": "csvscore.errors",
    "AuthError": "csvscore.errors",
    "Cancelled": "csvscore.errors",
    "BusyError": "csvscore.errors",
    "ConfigError": "csvscore.errors",
    "CreditsError": "csvscore.errors",
    "CsvscoreError": "csvscore.errors",
    "ExitCode": "csvscore.errors",
    "InputError": "csvscore.errors",
    "MappingError": "csvscore.errors",
    "NetworkError": "csvscore.errors",
    "NotSavedError": "csvscore.errors",
    "OutputError": "csvscore.errors",
    "StateError": "csvscore.errors",
    "UsageError": "csvscore.errors",
    "BatchResult": "csvscore.results",
    "RowResult": "csvscore.results",
    "RunResult": "csvscore.results",
    "RunSummary": "csvscore.results",
    "exit_code_for": "csvscore.results",
    "Table": "csvscore.read.table",
    "RowProblem": "csvscore.read.table",
    "read_table": "csvscore.read.reader",
    "ReadLimits": "csvscore.read.limits",
    "Mapping": "csvscore.mapping.model",
    "ColumnMapping": "csvscore.mapping.model",
    "map_columns": "csvscore.mapping.matcher",
    "ScoreOptions": "csvscore.scoring.submit",
    "MapOptions": "csvscore.pipeline",
    "MappedFile": "csvscore.pipeline",
    "Prepared": "csvscore.pipeline",
    "ReadOptions": "csvscore.pipeline",
    "ScoreOutcome": "csvscore.pipeline",
    "ScoreRequest": "csvscore.pipeline",
    "map_file": "csvscore.pipeline",
    "prepare": "csvscore.pipeline",
    "score_file": "csvscore.pipeline",
    "score_prepared": "csvscore.pipeline",
    "fetch_scores": "csvscore.pipeline",
    "RunScores": "csvscore.scores.run",
    "map_frame": "csvscore.frames",
    "score_frame": "csvscore.frames",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'csvscore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # the same names, eagerly, for type checkers and editors
    from csvscore.errors import (
        ApiError,
        AuthError,
        BusyError,
        Cancelled,
        ConfigError,
        CreditsError,
        CsvscoreError,
        ExitCode,
        InputError,
        MappingError,
        NetworkError,
        NotSavedError,
        OutputError,
        StateError,
        UsageError,
    )
    from csvscore.frames import map_frame, score_frame
    from csvscore.mapping.matcher import map_columns
    from csvscore.mapping.model import ColumnMapping, Mapping
    from csvscore.pipeline import (
        MapOptions,
        MappedFile,
        Prepared,
        ReadOptions,
        ScoreOutcome,
        ScoreRequest,
        fetch_scores,
        map_file,
        prepare,
        score_file,
        score_prepared,
    )
    from csvscore.read.limits import ReadLimits
    from csvscore.read.reader import read_table
    from csvscore.read.table import RowProblem, Table
    from csvscore.results import BatchResult, RowResult, RunResult, RunSummary, exit_code_for
    from csvscore.scores.run import RunScores
    from csvscore.scoring.submit import ScoreOptions
