"""The library's front door: map a file, score a file. The CLI is a thin shell around these.

Every rule that decides what is sent or what it costs lives here or below, never in the CLI:
a required field with no column stops :func:`prepare`; the send plan and its credit estimate
are computed once, by :func:`prepare`; :func:`csvscore.results.exit_code_for` is the run's exit
code for the library and the CLI alike.

>>> import csvscore
>>> mapped = csvscore.map_file("fixtures/exports/hubspot.csv")   # doctest: +SKIP
>>> [(c.header, c.field) for c in mapped.mapping.columns][:2]    # doctest: +SKIP
[('Record ID', 'contactCrmId'), ('First Name', 'firstName')]
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from collections.abc import Mapping as EnvMapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

from csvscore.api.urls import check_base_url, resolve_base_url
from csvscore.contacts.build import PreparedRow, file_fingerprint, identity_hash, prepare_rows
from csvscore.errors import InputError, MappingError
from csvscore.mapping.matcher import DEFAULT_THRESHOLD, map_columns
from csvscore.mapping.model import Mapping
from csvscore.mapping.overrides import Overrides, header_signature, load_overrides
from csvscore.output.live import LiveRows
from csvscore.output.report import RESULT_COLUMNS
from csvscore.output.sheet_width import width_notes
from csvscore.output.workbook import default_output_path, output_target, write_result
from csvscore.read.limits import ReadLimits
from csvscore.read.reader import read_table
from csvscore.read.table import Table
from csvscore.results import ACCEPTED, DUPLICATE, UNCONFIRMED, RunResult
from csvscore.scoring.journal import Journal
from csvscore.scoring.ledger import Ledger, ledger_path
from csvscore.scoring.outcomes import utcnow
from csvscore.scoring.plan import Plan, make_plan
from csvscore.scoring.submit import Hooks, ProgressFn, ScoreOptions, journal_path, submit
from csvscore.user import credentials, paths, remembered


@dataclass
class ReadOptions:
    sheet: str | None = None
    header_row: int | None = None
    encoding: str | None = None
    delimiter: str | None = None
    # How much is read before a file is refused (file size, cells): README, "Limits".
    limits: ReadLimits = field(default_factory=ReadLimits)


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
    table = read_table(
        path,
        sheet=read.sheet,
        header_row=read.header_row,
        encoding=read.encoding,
        delimiter=read.delimiter,
        limits=read.limits,
    )
    return map_table(table, options, env=env)


def map_table(
    table: Table, options: MapOptions | None = None, *, env: EnvMapping[str, str] = os.environ
) -> MappedFile:
    """Map a table that is already read (a file, or a DataFrame through :mod:`csvscore.frames`)."""
    options = options or MapOptions()
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
    rescore: bool = False  # send contacts already charged from another file (the ledger)


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
    plan: Plan  # what sending would do, and its estimated cost


def require_fields(mapping: Mapping) -> None:
    """Stop before anything is sent when no column fills a required field.

    Every row would be rejected (and a rejected contact still costs quota), so this is an error
    for the library as for the CLI, not a workbook of skipped rows.
    """
    missing = mapping.missing_required()
    if not missing:
        return
    # Columns flagged for review first: the matcher saw a plausible field in them.
    unmapped = sorted(
        (c for c in mapping.columns if c.field is None and c.header), key=lambda c: not c.review
    )
    hints = [f"{c.index + 1} '{c.header}'" for c in unmapped][:8]
    hint = f" Columns that might: {', '.join(hints)}." if hints else ""
    raise MappingError(
        f"No column maps to {', '.join(missing)}, so TitanX would reject every row.{hint} "
        "Map one in the review, or pin it with a mapping file (see `csvscore map --save`)."
    )


def estimate_cost_per_phone(
    request: ScoreRequest, env: EnvMapping[str, str] = os.environ
) -> Decimal | None:
    """Cost per phone for estimates: the sandbox's price, else the last one TitanX reported."""
    if request.sandbox:
        from csvscore.sandbox.model import SandboxConfig

        return SandboxConfig().cost_per_phone
    from csvscore.user import lastseen

    seen = lastseen.load(env=env)
    return seen.cost_per_phone if seen else None


def prepare(
    mapped: MappedFile, request: ScoreRequest, *, env: EnvMapping[str, str] = os.environ
) -> Prepared:
    """Check the mapping, fingerprint the input, build the contacts and the send plan (no network).

    Raises :class:`MappingError` when no column fills a required field. Contacts already charged
    from another file are held back as duplicates (see :mod:`csvscore.scoring.ledger`) unless
    ``request.rescore``.
    """
    require_fields(mapped.mapping)
    request.options.check()
    if not request.options.dry_run and not request.sandbox:
        # Before the cost is confirmed: an http:// address would send the key in clear text.
        check_base_url(resolve_base_url(request.base_url, env))
    table = mapped.table
    # A file that ends with the columns csvscore adds is one of our own results.
    if tuple(table.headers[-len(RESULT_COLUMNS) :]) == RESULT_COLUMNS and not (
        request.rescore or request.options.new_run
    ):
        raise InputError(
            f"{table.path.name} is a csvscore result (it ends with the TitanX Status columns): "
            "its rows were already sent and would be charged again. Put the rows to resend in "
            "a new file without those columns, or use --rescore to send them anyway."
        )
    fingerprint = table.fingerprint or file_fingerprint(table.path)
    notes: list[str] = []
    rows = prepare_rows(
        table,
        mapped.mapping,
        fingerprint=fingerprint,
        send_invalid=request.send_invalid,
        keep_duplicates=request.keep_duplicates,
        notes=notes,
    )
    if not request.rescore:
        _hold_back_charged(rows, fingerprint, request, env, notes)
    # Decided before sending: what a workbook shows of an export wider than Excel allows.
    out = output_target(request.output or default_output_path(table.path, request.fmt), request.fmt)
    notes.extend(width_notes(table, request.fmt, out))
    cost = request.options.cost_per_phone
    if cost is None:
        cost = estimate_cost_per_phone(request, env)
    plan = make_plan(rows, request.options.batch_size, cost)
    return Prepared(fingerprint, rows, notes, plan)


def _ledger_path(request: ScoreRequest, env: EnvMapping[str, str]) -> Path:
    return ledger_path(paths.state_dir(env=env), sandbox=request.sandbox)


def _hold_back_charged(
    rows: list[PreparedRow],
    fingerprint: str,
    request: ScoreRequest,
    env: EnvMapping[str, str],
    notes: list[str],
) -> None:
    path = _ledger_path(request, env)
    if not path.exists():
        return
    candidates = {identity_hash(p.contact): p for p in rows if p.status is None}
    with Ledger(path) as ledger:
        charged = ledger.earlier(list(candidates), other_than=fingerprint)
    for identity, charge in charged.items():
        p = candidates[identity]
        p.status = DUPLICATE
        p.reason = f"{charge.reason()}; {p.reason}" if p.reason else charge.reason()
    if charged:
        notes.append(
            f"{len(charged)} rows were already scored from other files and are not sent again "
            "(status duplicate); --rescore sends them anyway"
        )


def _record_charged(
    mapped: MappedFile,
    prepared: Prepared,
    result: RunResult,
    request: ScoreRequest,
    env: EnvMapping[str, str],
) -> None:
    """Remember every contact TitanX charged for (accepted, or in a job we know exists)."""
    charged = [
        (identity_hash(prepared.rows[r.index].contact), r.job_id)
        for r in result.rows
        if r.status == ACCEPTED or (r.status == UNCONFIRMED and r.job_id)
    ]
    if not charged:
        return
    name = mapped.table.path.name
    now = utcnow()
    with Ledger(_ledger_path(request, env)) as ledger:
        ledger.record((ident, prepared.fingerprint, name, job, now) for ident, job in charged)


def score_prepared(
    mapped: MappedFile,
    prepared: Prepared,
    request: ScoreRequest,
    *,
    env: EnvMapping[str, str] = os.environ,
    progress: ProgressFn | None = None,
    on_event: Callable[[str], None] | None = None,
    write: bool = True,
) -> ScoreOutcome:
    """Send (or dry-run) prepared rows and write the result file(s).

    ``write=False`` writes no result file (:func:`csvscore.score_frame` returns a DataFrame
    instead); the journal and the ledger are kept all the same.
    """
    from csvscore.api.client import TitanXClient

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
                from csvscore.sandbox.server import Sandbox, SandboxConfig

                sb = stack.enter_context(Sandbox(SandboxConfig()))
                api_key, base_url = sb.api_key, sb.url
            else:
                api_key, _source = credentials.resolve_api_key(env=env)
                base_url = resolve_base_url(request.base_url, env)
            client = TitanXClient(api_key, base_url, on_event=on_event)
            jpath = request.journal or journal_path(paths.state_dir(env=env), fingerprint)
            if request.sandbox and request.journal is None:
                # Sandbox runs must never be mistaken for (or block) real, paid runs of the file.
                jpath = jpath.with_name(jpath.stem + ".sandbox.sqlite")
            journal = stack.enter_context(Journal(jpath))
        hooks = Hooks(progress=progress, on_event=on_event)

        # The plan's price, for a dry run's estimate; the caller's options are left as they were.
        options = replace(request.options, cost_per_phone=prepared.plan.cost_per_phone)

        def send() -> RunResult:
            result = submit(
                table,
                mapped.mapping,
                prepared.rows,
                fingerprint=fingerprint,
                client=client,
                journal=journal,
                options=options,
                hooks=hooks,
            )
            result.summary.notes.extend(prepared.notes)  # table/mapping notes have their own rows
            return result

        if not write:
            result, outputs = send(), []
        elif request.options.dry_run or request.fmt != "xlsx":
            result = send()
            outputs = write_result(out, table, mapped.mapping, result, fmt=request.fmt)
        else:
            result, outputs = _send_while_writing(mapped, out, send, hooks)
    if not request.options.dry_run:
        _record_charged(mapped, prepared, result, request, env)
        _record_last_seen(result, env)
    return ScoreOutcome(result, outputs, jpath)


def _send_while_writing(
    mapped: MappedFile, out: Path, send: Callable[[], RunResult], hooks: Hooks
) -> tuple[RunResult, list[Path]]:
    """Send on a worker thread while this one writes the Results rows as they become final.

    At 100k rows the workbook write (openpyxl) takes about as long as the whole send, so
    overlapping them nearly halves the run (benchmarks/README.md). Ctrl-C lands on this
    thread: it stops the sending, waits for requests in flight, then writes the workbook from
    the journal as usual.
    """
    table = mapped.table
    live = LiveRows(len(table.rows))
    hooks.on_rows = live.publish
    hooks.stop = threading.Event()

    def run() -> None:
        try:
            live.finish(send())  # send() sees hooks.on_rows and hooks.stop set above
        except BaseException as exc:  # handed to the writing thread, which raises it
            live.fail(exc)

    sender = threading.Thread(target=run, name="csvscore-submit", daemon=True)
    # The writer is pure Python and would hold the GIL for 5 ms at a time, starving the
    # sending threads (measured: 30.9 s instead of 25.9 s at 100k rows).
    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)
    sender.start()
    try:
        outputs = write_result(out, table, mapped.mapping, live)
    except KeyboardInterrupt:
        hooks.stop.set()
        _join(sender)
        outputs = write_result(out, table, mapped.mapping, live.final())
    except BaseException:
        hooks.stop.set()
        _join(sender)
        raise
    finally:
        sys.setswitchinterval(switch)
    _join(sender)
    return live.final(), outputs


def _join(thread: threading.Thread) -> None:
    # A timeout loop keeps this thread responsive to a second Ctrl-C.
    while thread.is_alive():
        thread.join(timeout=0.2)


def _record_last_seen(result: RunResult, env: EnvMapping[str, str]) -> None:
    """Keep the latest credit figures for `csvscore account` when TitanX can't be asked."""
    from csvscore.errors import ConfigError
    from csvscore.user import lastseen

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
        mapped,
        prepare(mapped, request, env=env),
        request,
        env=env,
        progress=progress,
        on_event=on_event,
    )
