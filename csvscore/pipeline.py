"""The library's front door: map a file, score a file. The CLI is a thin shell around these.

>>> from csvscore.pipeline import map_file
>>> mapped = map_file("fixtures/exports/hubspot.csv")            # doctest: +SKIP
>>> [(c.header, c.field) for c in mapped.mapping.columns][:2]    # doctest: +SKIP
[('Record ID', 'contactCrmId'), ('First Name', 'firstName')]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from collections.abc import Mapping as EnvMapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from csvscore import remembered, settings
from csvscore.contacts import PreparedRow, file_fingerprint, prepare_rows
from csvscore.errors import MappingError
from csvscore.journal import Journal
from csvscore.mapping import Mapping
from csvscore.mapping_file import Overrides, header_signature, load_overrides
from csvscore.matcher import DEFAULT_THRESHOLD, map_columns
from csvscore.reader import read_table
from csvscore.results import RunResult
from csvscore.submit import ProgressFn, ScoreOptions, journal_path, submit
from csvscore.table import Table
from csvscore.workbook import default_output_path, write_result


@dataclass
class ReadOptions:
    sheet: str | None = None
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None


@dataclass
class MapOptions:
    mapping_file: Path | None = None  # --mapping: pins columns
    profile: str | None = None  # force a source profile
    threshold: float = DEFAULT_THRESHOLD
    use_remembered: bool = True  # reuse a mapping remembered for the same headers


@dataclass
class MappedFile:
    table: Table
    mapping: Mapping
    remembered_path: Path | None = None  # the remembered mapping that was applied, if any
    signature: str = ""


def map_file(
    path: str | Path,
    read: ReadOptions | None = None,
    options: MapOptions | None = None,
    *,
    env: EnvMapping[str, str] = os.environ,
) -> MappedFile:
    """Read an export and map its columns (with overrides or a remembered mapping)."""
    read = read or ReadOptions()
    options = options or MapOptions()
    table = read_table(
        path,
        sheet=read.sheet,
        header_row=read.header_row,
        encoding=read.encoding,
        delimiter=read.delimiter,
    )
    signature = header_signature(table.headers)
    overrides: Overrides | None = None
    used: Path | None = None
    if options.mapping_file is not None:
        overrides = load_overrides(Path(options.mapping_file))
    elif options.use_remembered:
        used = remembered.find(signature, env=env)
        if used is not None:
            try:
                overrides = load_overrides(used)
            except MappingError as exc:
                raise MappingError(
                    f"the remembered mapping {used} is unusable ({exc}); "
                    "run `csvscore mappings forget` on it"
                ) from exc
    samples = [table.samples(i) for i in range(len(table.headers))]
    mapping = map_columns(
        table.headers,
        samples,
        overrides=overrides,
        profile=options.profile,
        threshold=options.threshold,
    )
    if used is not None:
        for c in mapping.columns:
            if c.method == "override":
                c.method = "remembered"
        mapping.notes.append(f"Used the mapping remembered for these headers: {used}")
    return MappedFile(table, mapping, used, signature)


@dataclass
class ScoreRequest:
    """Everything ``score_file`` needs besides the file (the CLI fills it from options)."""

    output: Path | None = None  # default: <input name>.scored.xlsx beside the input
    fmt: str = "xlsx"
    options: ScoreOptions = field(default_factory=ScoreOptions)
    send_invalid: bool = False
    keep_duplicates: bool = False
    sandbox: bool = False
    base_url: str | None = None
    journal: Path | None = None  # default: one per input content in the user's state dir


@dataclass
class ScoreOutcome:
    result: RunResult
    outputs: list[Path]
    journal: Path | None


@dataclass
class Prepared:
    fingerprint: str  # sha256 of the input file
    rows: list[PreparedRow]
    notes: list[str]  # file-level remarks (e.g. "customerContactId repeats: csvscore made keys")


def prepare(mapped: MappedFile, request: ScoreRequest) -> Prepared:
    """Fingerprint the input and build the contacts (no network)."""
    fingerprint = file_fingerprint(mapped.table.path)
    notes: list[str] = []
    rows = prepare_rows(
        mapped.table,
        mapped.mapping,
        fingerprint=fingerprint,
        send_invalid=request.send_invalid,
        keep_duplicates=request.keep_duplicates,
        notes=notes,
    )
    return Prepared(fingerprint, rows, notes)


def score_prepared(
    mapped: MappedFile,
    prepared: Prepared,
    request: ScoreRequest,
    *,
    env: EnvMapping[str, str] = os.environ,
    progress: ProgressFn | None = None,
    on_event: Callable[[str], None] | None = None,
) -> ScoreOutcome:
    """Send (or dry-run) prepared rows and write the result file(s)."""
    from csvscore.client import DEFAULT_BASE_URL, TitanXClient

    table = mapped.table
    fingerprint = prepared.fingerprint
    out = request.output or default_output_path(table.path, request.fmt)
    if out.resolve() == table.path.resolve():
        raise MappingError("the output file must not be the input file")
    with ExitStack() as stack:
        client = None
        journal = None
        jpath = None
        if not request.options.dry_run:
            if request.sandbox:
                from csvscore.sandbox import Sandbox, SandboxConfig

                sb = stack.enter_context(Sandbox(SandboxConfig()))
                api_key, base_url = sb.api_key, sb.url
            else:
                api_key, _source = settings.resolve_api_key(env=env)
                base_url = request.base_url or env.get("TITANX_BASE_URL") or DEFAULT_BASE_URL
            client = TitanXClient(api_key, base_url, on_event=on_event)
            jpath = request.journal or journal_path(settings.state_dir(env=env), fingerprint)
            if request.sandbox and request.journal is None:
                # Sandbox runs must never be mistaken for (or block) real, paid runs of the file.
                jpath = jpath.with_name(jpath.stem + ".sandbox.sqlite")
            journal = stack.enter_context(Journal(jpath))
        result = submit(
            table,
            mapped.mapping,
            prepared.rows,
            fingerprint=fingerprint,
            client=client,
            journal=journal,
            options=request.options,
            progress=progress,
            on_event=on_event,
        )
    result.summary.notes.extend(prepared.notes)  # table and mapping notes have their own rows
    _record_last_seen(result, env)
    outputs = write_result(out, table, mapped.mapping, result, fmt=request.fmt)
    return ScoreOutcome(result, outputs, jpath)


def _record_last_seen(result: RunResult, env: EnvMapping[str, str]) -> None:
    """Keep the latest credit figures for `csvscore account` when TitanX can't be asked."""
    from csvscore import lastseen
    from csvscore.errors import ConfigError

    answered = [b for b in result.batches if b.credits_remaining is not None]
    if not answered or result.summary.dry_run:
        return
    last = max(answered, key=lambda b: b.submitted_at)
    # A read-only state dir must not fail a run that already spent credits.
    with contextlib.suppress(ConfigError):
        lastseen.record(lastseen.LastSeen(last.credits_remaining, last.cost_per_phone), env=env)


def score_file(
    path: str | Path,
    request: ScoreRequest | None = None,
    read: ReadOptions | None = None,
    map_options: MapOptions | None = None,
    *,
    env: EnvMapping[str, str] = os.environ,
    progress: ProgressFn | None = None,
    on_event: Callable[[str], None] | None = None,
) -> ScoreOutcome:
    """Read, map, prepare, send and write, in one call (no interaction)."""
    request = request or ScoreRequest()
    mapped = map_file(path, read, map_options, env=env)
    return score_prepared(
        mapped, prepare(mapped, request), request, env=env, progress=progress, on_event=on_event
    )


def estimate_cost_per_phone(env: EnvMapping[str, str] = os.environ) -> Decimal | None:
    """Cost per phone for dry-run estimates: the last figure TitanX reported, if any."""
    from csvscore import lastseen

    seen = lastseen.load(env=env)
    return seen.cost_per_phone if seen else None
