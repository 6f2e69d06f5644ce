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
import sqlite3
import sys
import threading
from collections.abc import Callable
from collections.abc import Mapping as EnvMapping
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from csvscore import fetching
from csvscore.api.urls import check_base_url, resolve_base_url
from csvscore.contacts.build import PreparedRow, file_fingerprint, prepare_rows
from csvscore.errors import (
    CsvscoreError,
    InputError,
    MappingError,
    NotSavedError,
    OutputError,
    UsageError,
)
from csvscore.mapping.matcher import DEFAULT_THRESHOLD, map_columns
from csvscore.mapping.model import Mapping
from csvscore.mapping.overrides import Overrides, header_signature, load_overrides
from csvscore.output.destination import check_writable, default_output_path
from csvscore.output.live import LiveRows
from csvscore.output.report import is_result_header
from csvscore.output.sheet_width import width_notes
from csvscore.output.workbook import output_target, write_result
from csvscore.read.limits import ReadLimits
from csvscore.read.reader import read_table
from csvscore.read.table import Table
from csvscore.results import DUPLICATE, RunResult
from csvscore.scores.match import DEFAULT_GRACE
from csvscore.scores.priority import Priorities, load_priorities
from csvscore.scores.run import RunScores
from csvscore.scoring import journal as jr
from csvscore.scoring import ledger as lg
from csvscore.scoring import lock
from csvscore.scoring.earlier import EarlierRun, find_earlier
from csvscore.scoring.journal import BatchRecord, Journal, JournalView, peek
from csvscore.scoring.outcomes import run_result, utcnow
from csvscore.scoring.plan import Plan, make_plan
from csvscore.scoring.submit import (
    Hooks,
    ProgressFn,
    ScoreOptions,
    journal_path,
    mapping_fingerprint,
    run_key_for,
    submit,
)
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
                overrides = replace(load_overrides(used), remembered=True)
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
    # The file was already sent with another mapping or scoring type: continue that run with
    # its own mapping (a re-drop always finishes the job). False: stop with EarlierRunError.
    continue_earlier: bool = True
    # After sending, wait up to this many seconds for the scores and put them in the result
    # (with --sandbox: a receiver on this machine gets the sandbox's scores). 0: fetch what the
    # connected receiver has, once, without waiting.
    wait_scores: float = 0.0


@dataclass
class ScoreOutcome:
    result: RunResult
    outputs: list[Path]
    journal: Path | None
    notes: list[str] = field(default_factory=list)  # e.g. where the result went instead
    scores: RunScores | None = None  # the scores the result shows (None: it shows none)

    @property
    def scores_pending(self) -> int:
        """Rows TitanX accepted whose score has not arrived (0 when there are no scores)."""
        return self.scores.pending(self.result.rows) if self.scores is not None else 0


@dataclass
class Prepared:
    fingerprint: str  # sha256 of the input file
    rows: list[PreparedRow]
    notes: list[str]  # file-level remarks (e.g. "customerContactId repeats: csvscore made keys")
    plan: Plan  # what sending would do, and its estimated cost
    mapping: Mapping  # what is sent: the file's mapping, or the earlier run's when continuing
    scoring_type: str
    earlier: EarlierRun | None = None  # the earlier run being continued, if any
    # Batches earlier runs of this file sent, which a run now does not send again (what a dry
    # run shows for their rows).
    settled: list[BatchRecord] = field(default_factory=list)


class EarlierRunError(UsageError):
    """The file was already sent with another mapping or scoring type; nothing was sent.

    ``earlier`` says when, how many rows and what differs; a caller that asks a person can
    offer to continue with the earlier mapping (``ScoreRequest(continue_earlier=True)``).
    """

    def __init__(self, earlier: EarlierRun) -> None:
        tail = (
            " Nothing was sent. Run it without a different mapping or scoring type to continue "
            "as before."
            if earlier.mapping is not None
            else " Nothing was sent: that run's mapping was not recorded by this csvscore."
        )
        super().__init__(earlier.describe() + "." + tail)
        self.earlier = earlier


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
    request: ScoreRequest,
    env: EnvMapping[str, str] = os.environ,
    scoring_type: str | None = None,
) -> Decimal | None:
    """Price per phone for estimates: the sandbox's, else the last TitanX reported for this
    scoring type (never another type's: titan and lightning differ several times over)."""
    if request.sandbox:
        from csvscore.sandbox.model import SandboxConfig

        return SandboxConfig().cost_per_phone
    from csvscore.user import lastseen

    seen = lastseen.load(env=env)
    return seen.cost_for(scoring_type or request.options.scoring_type) if seen else None


def _state(request: ScoreRequest, env: EnvMapping[str, str]) -> Path:
    return paths.state_dir(env=env)


def _journal_path(request: ScoreRequest, fingerprint: str, env: EnvMapping[str, str]) -> Path:
    if request.journal is not None:
        return Path(request.journal)
    path = journal_path(_state(request, env), fingerprint)
    # Sandbox runs must never be mistaken for (or block) real, paid runs of the file.
    return path.with_name(path.stem + ".sandbox.sqlite") if request.sandbox else path


def _lock_path(request: ScoreRequest, fingerprint: str, env: EnvMapping[str, str]) -> Path:
    return lock.lock_path(_state(request, env), fingerprint, sandbox=request.sandbox)


def _ledger_path(request: ScoreRequest, env: EnvMapping[str, str]) -> Path:
    return lg.ledger_path(_state(request, env), sandbox=request.sandbox)


def prepare(
    mapped: MappedFile, request: ScoreRequest, *, env: EnvMapping[str, str] = os.environ
) -> Prepared:
    """Check the mapping, fingerprint the input, build the contacts and the send plan (no network).

    Raises :class:`MappingError` when no column fills a required field, :class:`BusyError` when
    the same file is being sent by another run right now, and :class:`EarlierRunError` when the
    file was already sent with another mapping or scoring type and ``request.continue_earlier``
    is off (with it on, the default, the earlier run is continued with its own mapping).
    Contacts the ledger holds for another file, or for an earlier journal of this file, are held
    back as duplicates (:mod:`csvscore.scoring.ledger`) unless ``request.rescore``. The plan
    counts only what is left to send: batches a previous run settled are not sent again.
    """
    require_fields(mapped.mapping)
    request.options.check()
    if not request.options.dry_run and not request.sandbox:
        # Before the cost is confirmed: an http:// address would send the key in clear text.
        check_base_url(resolve_base_url(request.base_url, env))
    table = mapped.table
    check_not_a_result(table, request)
    fingerprint = table.fingerprint or file_fingerprint(table.path)
    if not request.options.dry_run:
        lock.check_free(_lock_path(request, fingerprint, env))  # say so before any question
    view = peek(_journal_path(request, fingerprint, env))
    mapping, scoring_type = mapped.mapping, request.options.scoring_type
    notes: list[str] = []
    earlier = None
    if not request.options.new_run:
        earlier = find_earlier(
            view, fingerprint, mapping, scoring_type, lambda: [_fresh_mapping(mapped)]
        )
        if earlier is not None:
            if not request.continue_earlier or earlier.mapping is None:
                raise EarlierRunError(earlier)
            mapping, scoring_type = earlier.mapping, earlier.run.scoring_type
            notes.append(
                f"{earlier.describe()}; continued with that run's mapping and scoring type, so "
                "no row is sent twice."
            )
    rows = prepare_rows(
        table,
        mapping,
        fingerprint=fingerprint,
        send_invalid=request.send_invalid,
        keep_duplicates=request.keep_duplicates,
        notes=notes,
    )
    if not request.rescore:
        _hold_back(rows, fingerprint, view, request, env, notes)
    # Decided before sending: what a workbook shows of an export wider than Excel allows.
    out = output_target(_result_place(request, table, view, env, fingerprint).path, request.fmt)
    notes.extend(width_notes(table, request.fmt, out))
    cost = request.options.cost_per_phone
    if cost is None:
        cost = estimate_cost_per_phone(request, env, scoring_type)
    run_key = run_key_for(fingerprint, mapping_fingerprint(mapping), scoring_type)
    settled = _settled_batches(view, run_key, request.options.retry_unconfirmed)
    done = {"rows": {i for b in settled for i in b.row_indexes}, "batches": len(settled)}
    plan = make_plan(rows, request.options.batch_size, cost, done=done)
    return Prepared(fingerprint, rows, notes, plan, mapping, scoring_type, earlier, settled)


def check_not_a_result(table: Table, request: ScoreRequest) -> None:
    """InputError when ``table`` is one of csvscore's own results (it has the TitanX Status
    columns): its rows were sent already. It sits beside the export, so it is easily dropped
    instead of it; said before any review or question (unless ``rescore`` or ``new_run``)."""
    if is_result_header(table.headers) and not (request.rescore or request.options.new_run):
        raise InputError(
            f"{table.path.name} is a csvscore result (it has the TitanX Status columns), not "
            "an export: sending its rows could charge them a second time. To finish a run or "
            "fetch its scores, drop the export it was made from. To send rows again after "
            'fixing them, copy them from its "To fix" sheet into a new file without the TitanX '
            "columns."
        )


def sent_before(
    mapped: MappedFile, request: ScoreRequest, *, env: EnvMapping[str, str] = os.environ
) -> bool:
    """Whether an earlier run sent rows of this file (a quick look at its journal)."""
    fingerprint = mapped.table.fingerprint or file_fingerprint(mapped.table.path)
    view = peek(_journal_path(request, fingerprint, env))
    return bool(view and view.sent_runs())


def _fresh_mapping(mapped: MappedFile) -> Mapping:
    """The file's mapping as csvscore finds it with no remembered or pinned columns."""
    table = mapped.table
    samples = [table.samples(i) for i in range(len(table.headers))]
    return map_columns(table.headers, samples, profile=mapped.mapping.profile)


def _settled_batches(
    view: JournalView | None, run_key: str, retry_unconfirmed: bool
) -> list[BatchRecord]:
    """Batches an earlier run already sent, so the plan counts the rest."""
    again = {jr.PLANNED, jr.FAILED, jr.SPLIT} | ({jr.UNKNOWN} if retry_unconfirmed else set())
    batches = view.batches.get(run_key, []) if view else []
    return [b for b in batches if b.state not in again]


def _hold_back(
    rows: list[PreparedRow],
    fingerprint: str,
    view: JournalView | None,
    request: ScoreRequest,
    env: EnvMapping[str, str],
    notes: list[str],
) -> None:
    """Mark as duplicates the contacts another journal holds (charged, unconfirmed, sending)."""
    path = _ledger_path(request, env)
    if not path.exists():
        return
    candidates: dict[str, list[PreparedRow]] = {}
    for p in rows:
        if p.status is None:
            candidates.setdefault(p.identity, []).append(p)
    states = (lg.SENDING, lg.CHARGED) if request.options.retry_unconfirmed else lg.LIVE
    try:
        with contextlib.closing(sqlite3.connect(str(path), timeout=30.0)) as conn:
            conn.execute("BEGIN IMMEDIATE")  # a version-1 ledger is migrated first
            lg.create(conn)
            conn.execute("COMMIT")
            found = lg.holds(
                conn,
                list(candidates),
                journal_id=view.journal_id if view else "",
                fingerprint=fingerprint,
                states=states,
            )
    except sqlite3.Error as exc:
        raise jr.state_error(path, exc) from exc
    held = 0
    for identity, hold in found.items():
        for p in candidates[identity]:
            p.status = DUPLICATE
            p.reason = f"{hold.reason()}; {p.reason}" if p.reason else hold.reason()
            held += 1
    if held:
        rows_were, are = ("row was", "is") if held == 1 else ("rows were", "are")
        notes.append(
            f"{held} {rows_were} already sent from another file or an earlier run and {are} not "
            "sent again (status duplicate; the reason names the file)"
        )


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

    Before the first request: the result's location is proven writable (the default one beside
    the input falls back to a folder the user can write, and says so; one named with
    ``request.output`` is an :class:`OutputError`), and the input's lock is taken
    (:class:`BusyError` if another run holds it). If the result cannot be saved after sending,
    it goes to the fallback folder; failing that, :class:`NotSavedError`, whose message starts
    with what was sent and charged. ``write=False`` writes no result file
    (:func:`csvscore.score_frame` returns a DataFrame instead); the journal and the ledger are
    kept all the same.
    """
    from csvscore.api.client import TitanXClient

    table = mapped.table
    say = on_event or (lambda _message: None)
    options = replace(
        request.options,
        cost_per_phone=prepared.plan.cost_per_phone,  # for a dry run's estimate
        scoring_type=prepared.scoring_type,
    )
    notes: list[str] = []
    fingerprint = prepared.fingerprint
    jpath = _journal_path(request, fingerprint, env)
    view = None if options.dry_run else peek(jpath)
    place = _result_place(request, table, view, env, fingerprint)
    out = place.path
    sandboxed = default_output_path(table.path, request.fmt, sandbox=True)
    if request.sandbox and out.absolute() == sandboxed.absolute():
        notes.append(
            "This export was sent to TitanX for real before, so the sandbox's result goes to "
            f"{out.name} and never replaces the real one."
        )
    if write:
        out = _writable_destination(place, request, table, env, notes)
        for note in notes:
            say(note)

    def send(client: Any, journal: Journal | None, hooks: Hooks) -> RunResult:
        result = submit(
            table,
            prepared.mapping,
            prepared.rows,
            fingerprint=prepared.fingerprint,
            client=client,
            journal=journal,
            options=options,
            hooks=hooks,
            rescore=request.rescore,
            settled=prepared.settled,
        )
        # Table and mapping notes have their own rows in the Summary.
        result.summary.notes.extend([*prepared.notes, *notes])
        result.summary.sandbox = request.sandbox
        return result

    if options.dry_run:
        result = send(None, None, Hooks(progress=progress, on_event=on_event))
        outputs = _write(out, mapped, prepared, result, request, write, None)
        return ScoreOutcome(result, outputs, None, notes)

    priorities = load_priorities()
    source: fetching.Source | None = None
    shown = fetching.Shown()
    with ExitStack() as stack:
        stack.enter_context(lock.holding(_lock_path(request, fingerprint, env)))
        if request.sandbox:
            from csvscore.sandbox.server import Sandbox, SandboxConfig

            sb = stack.enter_context(Sandbox(SandboxConfig()))
            api_key, base_url = sb.api_key, sb.url
            if write and request.wait_scores > 0:  # before sending: it may need an extra
                source = fetching.sandbox_loop(sb, priorities, stack)
        else:
            api_key, _source = credentials.resolve_api_key(env=env)
            base_url = resolve_base_url(request.base_url, env)
            if write:
                source = _connected(env, priorities, stack, request, notes, say)
        client = TitanXClient(api_key, base_url, on_event=on_event)
        journal = stack.enter_context(Journal(jpath, ledger=_ledger_path(request, env)))
        hooks = Hooks(progress=progress, on_event=on_event)
        run_key = run_key_for(
            fingerprint, mapping_fingerprint(prepared.mapping), options.scoring_type
        )
        if write:
            shown = fetching.stored(
                journal,
                run_key,
                table,
                prepared.mapping,
                priorities,
                source,
                sandbox=request.sandbox,
            )
            if request.sandbox and source is not None:
                fetching.replay_earlier(sb, journal, run_key, prepared.rows)

        def scores_of(result: RunResult) -> RunScores:
            assert source is not None
            return fetching.gather(
                journal,
                run_key,
                source,
                table,
                prepared.mapping,
                prepared.rows,
                result,
                priorities,
                wait=request.wait_scores,
                say=say,
            )

        try:
            if not write:
                result, outputs = send(client, journal, hooks), []
            elif request.fmt != "xlsx" or (source is not None and not prepared.plan.to_send):
                # Nothing to stream while sending: fetch first, then write once.
                result = send(client, journal, hooks)
                if source is not None and not result.summary.interrupted:
                    shown = fetching.Shown(scores_of(result))
                outputs = _write(out, mapped, prepared, result, request, write, env, shown)
            else:
                result, outputs = _send_while_writing(
                    mapped,
                    prepared,
                    out,
                    lambda: send(client, journal, hooks),
                    hooks,
                    request,
                    env,
                    shown,
                )
                # Ctrl-C while sending means stop: no fetching, no waiting (the next drop does it).
                if source is not None and not result.summary.interrupted:
                    fresh = scores_of(result)
                    if fetching.changed(shown, fresh, result):
                        shown = fetching.Shown(fresh)
                        outputs = _write(out, mapped, prepared, result, request, write, env, shown)
        except _SavedElsewhere as moved:
            result, outputs = moved.result, moved.outputs
            notes.append(moved.note)
            result.summary.notes.append(moved.note)
            say(moved.note)
        if outputs:
            journal.set_last_result(table.path, outputs[0])
    if not request.sandbox:
        _record_last_seen(result, prepared.scoring_type, env)
    return ScoreOutcome(result, outputs, jpath, notes, shown.scores)


def _connected(
    env: EnvMapping[str, str],
    priorities: Priorities,
    stack: ExitStack,
    request: ScoreRequest,
    notes: list[str],
    say: Callable[[str], None],
) -> fetching.Source | None:
    """The receiver this person reads scores from; a broken link is said, never a stop (the
    contacts are about to be sent: scores can be fetched later)."""
    note = ""
    try:
        source = fetching.connected(env, priorities, stack)
    except CsvscoreError as exc:
        source, note = None, f"Scores will not be fetched in this run: {exc}"
    if source is None and request.wait_scores and not note:
        note = (
            "No score receiver is set up on this computer, so there are no scores to wait for "
            '(README, "Getting scores back").'
        )
    if note:
        notes.append(note)
        say(note)
    return source


STOPPING = "Stopping after the requests in flight... (their answers are being recorded)"


class _SavedElsewhere(Exception):
    """The result could not be saved where asked and went to the fallback folder."""

    def __init__(self, result: RunResult, outputs: list[Path], note: str) -> None:
        super().__init__(note)
        self.result, self.outputs, self.note = result, outputs, note


@dataclass(frozen=True)
class _Place:
    """Where a run's result goes (``path``), and the place beside the input it falls back to
    when that cannot be written (``usual``)."""

    path: Path
    usual: Path


def _result_place(
    request: ScoreRequest,
    table: Table,
    view: JournalView | None,
    env: EnvMapping[str, str],
    fingerprint: str,
) -> _Place:
    """Where the result goes: ``request.output``; else where the last result of this file was
    written (``-o`` once, or the fallback folder), so a re-drop or ``csvscore results`` updates
    that workbook instead of starting a second one; else beside the input. A dry run's preview
    always goes to its own name beside the input, and so does a sandbox run of a file that was
    sent for real: neither may replace the result of a run that was paid for."""
    usual = default_output_path(table.path, request.fmt, dry_run=request.options.dry_run)
    trial = request.sandbox or request.options.dry_run
    paid = _paid_results(request, table, env, fingerprint) if trial else set()
    if request.output is not None:
        named = Path(request.output)
        if output_target(named, request.fmt).absolute() in paid:
            what = "A dry run" if request.options.dry_run else "A sandbox run"
            raise OutputError(
                f"{named} holds the result of a run that was sent to TitanX (and paid for); "
                f"{what.lower()} would replace it. Name another file with -o, or leave -o out. "
                "Nothing was sent."
            )
        return _Place(named, usual)
    if request.options.dry_run:
        return _Place(usual, usual)
    place = usual
    if view is not None and view.last_result(table.path):
        last = Path(view.last_result(table.path))
        place = last if last.suffix.lower() == usual.suffix.lower() else usual
    if paid:  # a sandbox run of a file sent for real
        usual = default_output_path(table.path, request.fmt, sandbox=True)
        if place.absolute() in paid:
            place = usual
    return _Place(place, usual)


def _paid_results(
    request: ScoreRequest, table: Table, env: EnvMapping[str, str], fingerprint: str
) -> set[Path]:
    """Where results of real (paid) runs of this content are: the usual place beside this
    export and wherever results of it (or of a copy) went; empty when never sent for real."""
    real = peek(_journal_path(replace(request, sandbox=False), fingerprint, env))
    if real is None or not real.sent_runs():
        return set()
    usual = default_output_path(table.path, request.fmt).absolute()
    return {usual} | {Path(p) for p in real.last_results.values()}


def _writable_destination(
    place: _Place,
    request: ScoreRequest,
    table: Table,
    env: EnvMapping[str, str],
    notes: list[str],
) -> Path:
    """``place.path`` if a result can be written there. Else, unless the user named it: the
    usual place beside the input when the path was where the last result went, then the
    fallback folder. Nothing has been sent yet: an :class:`OutputError` costs nothing."""
    out, usual = place.path, place.usual
    try:
        check_writable(out, request.fmt, table.path)
        return out
    except OutputError as exc:
        if request.output is not None:
            raise  # the user named this place: say so rather than guess another
        if out != usual:  # where the last result went (another folder, a drive now gone)
            try:
                check_writable(usual, request.fmt, table.path)
            except OutputError:
                pass
            else:
                notes.append(
                    f"The last result of this file was saved to {out}, which cannot be written "
                    f"now ({_reason(exc)}); this one is saved beside your export."
                )
                return usual
        fallback = _fallback(out, env)
        if fallback is None:
            raise
        try:
            check_writable(fallback, request.fmt, table.path)
        except OutputError:
            raise exc from None
        notes.append(
            f"The result cannot be saved beside your export ({_reason(exc)}); it will be saved "
            f"to {fallback} instead."
        )
        return fallback


def _fallback(out: Path, env: EnvMapping[str, str]) -> Path | None:
    try:
        folder = paths.fallback_results_dir(env)
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder / out.name


def _reason(exc: CsvscoreError) -> str:
    text = exc.message.removesuffix(" Nothing was sent.").rstrip(".")
    return text.split(": ", 1)[-1] if ": " in text else text


def _write(
    out: Path,
    mapped: MappedFile,
    prepared: Prepared,
    result: RunResult,
    request: ScoreRequest,
    write: bool,
    env: EnvMapping[str, str] | None,
    shown: fetching.Shown | None = None,
) -> list[Path]:
    """Write the finished result; after sending, a failure goes to the fallback folder."""
    if not write:
        return []
    shown = shown or fetching.Shown()
    try:
        return write_result(
            out,
            mapped.table,
            prepared.mapping,
            result,
            fmt=request.fmt,
            scores=shown.scores,
            scores_hint=shown.hint,
        )
    except OutputError as exc:
        if env is None:  # a dry run: nothing was sent, the error is the whole story
            raise
        raise _saved_elsewhere_or_fail(
            out, mapped, prepared, result, request, env, exc, shown
        ) from exc


def _saved_elsewhere_or_fail(
    out: Path,
    mapped: MappedFile,
    prepared: Prepared,
    result: RunResult,
    request: ScoreRequest,
    env: EnvMapping[str, str],
    exc: CsvscoreError,
    shown: fetching.Shown | None = None,
) -> Exception:
    """After sending: try the fallback folder; the error to raise either way (money first)."""
    fallback = _fallback(out, env)
    money = money_line(result)
    shown = shown or fetching.Shown()
    if fallback is not None and fallback != out:
        try:
            outputs = write_result(
                fallback,
                mapped.table,
                prepared.mapping,
                result,
                fmt=request.fmt,
                scores=shown.scores,
                scores_hint=shown.hint,
            )
        except CsvscoreError:
            pass
        else:
            note = (
                f"{money} The result could not be saved to {out} ({_reason(exc)}); it was saved "
                f"to {outputs[0]}."
            )
            return _SavedElsewhere(result, outputs, note)
    return NotSavedError(
        f"{money} The result could not be saved ({_reason(exc)}). Nothing is lost: free the "
        "space or fix the folder, then drop the same file again to write it (nothing is sent "
        "again)."
    )


def money_line(result: RunResult) -> str:
    """What was sent and charged in this run, in one sentence (errors after sending start so)."""
    s = result.summary
    sent = sum(1 for b in result.batches if b.this_run for _ in range(b.rows))
    credits = (
        f"{s.credits_charged} credits"
        if not s.credits_unknown
        else (f"at least {s.credits_charged} credits")
    )
    if not sent:
        return "No contacts were sent in this run, so nothing was charged."
    return f"Your {sent} contacts were sent to TitanX ({credits})."


def _send_while_writing(
    mapped: MappedFile,
    prepared: Prepared,
    out: Path,
    send: Callable[[], RunResult],
    hooks: Hooks,
    request: ScoreRequest,
    env: EnvMapping[str, str],
    shown: fetching.Shown,
) -> tuple[RunResult, list[Path]]:
    """Send on a worker thread while this one writes the Results rows as they become final.

    At 100k rows the workbook write (openpyxl) takes about as long as the whole send, so
    overlapping them nearly halves the run (benchmarks/README.md). Ctrl-C (and SIGTERM/SIGHUP,
    which the CLI turns into the same) lands on this thread: it stops the sending, waits for
    requests in flight, then writes the workbook from the journal as usual. If the result cannot
    be written, sending stops at once: nothing more is spent on a result that cannot be saved.
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
        outputs = write_result(
            out, table, prepared.mapping, live, scores=shown.scores, scores_hint=shown.hint
        )
    except KeyboardInterrupt:
        hooks.stop.set()
        if hooks.on_event:
            hooks.on_event(STOPPING)
        _join(sender)
        outputs = _write(out, mapped, prepared, live.final(), request, True, env, shown)
    except OutputError as exc:
        hooks.stop.set()
        _join(sender)
        raise _saved_elsewhere_or_fail(
            out, mapped, prepared, live.final(), request, env, exc, shown
        ) from exc
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


def _record_last_seen(result: RunResult, scoring_type: str, env: EnvMapping[str, str]) -> None:
    """Keep the latest credit figures for `csvscore account` and estimates when TitanX can't be
    asked (never a sandbox run's: its balance and price are not the account's)."""
    from csvscore.errors import ConfigError
    from csvscore.user import lastseen

    answered = [b for b in result.batches if b.credits_remaining is not None]
    if not answered or result.summary.dry_run:
        return
    last = max(answered, key=lambda b: b.submitted_at)
    # A read-only state dir must not fail a run that already spent credits.
    with contextlib.suppress(ConfigError):
        lastseen.record(
            lastseen.LastSeen(last.credits_remaining, last.cost_per_phone),
            env=env,
            scoring_type=scoring_type,
        )


class NotSentYetError(UsageError):
    """``fetch_scores`` on a file csvscore has no record of sending: there is nothing to fetch."""


def fetch_scores(
    path: str | Path,
    request: ScoreRequest | None = None,
    read: ReadOptions | None = None,
    map_options: MapOptions | None = None,
    *,
    env: EnvMapping[str, str] = os.environ,
    wait: float = 0.0,
    now: datetime | None = None,
    grace: timedelta = DEFAULT_GRACE,
    on_event: Callable[[str], None] | None = None,
) -> ScoreOutcome:
    """Bring a sent file's scores into its result: ``csvscore results FILE``.

    Reads the file and its journal (the run as it was sent: the same mapping rules as dropping
    the file again), fetches the scores of its accepted rows from the receiver this person is
    connected to (``csvscore receiver connect``), matches them to the rows, keeps them in the
    journal and rewrites the result (``request.output``, else ``<name>.scored.xlsx`` beside the
    file). Nothing is sent and TitanX is not asked anything: only the receiver is read. Waits up
    to ``wait`` seconds for scores still to come; ``now`` and ``grace`` decide when a finished
    job's missing result becomes ``no result`` (tests move the clock instead of waiting).

    Raises :class:`~csvscore.api.receiver.ReceiverError` (exit code 12) when no receiver is set
    up or it cannot be read (the result is then left as it was), :class:`NotSentYetError` when
    the file was never sent, :class:`BusyError` while it is being sent in another window. The
    outcome's ``scores_pending`` counts rows still waiting (exit code 13 at the command line).
    """
    from csvscore.api.receiver import ReceiverError

    request = replace(request or ScoreRequest(), continue_earlier=True, sandbox=False)
    say = on_event or (lambda _message: None)
    mapped = map_file(path, read, map_options, env=env)
    prepared = prepare(mapped, request, env=env)
    table, fingerprint = mapped.table, prepared.fingerprint
    jpath = _journal_path(request, fingerprint, env)
    view = peek(jpath)
    run_key = run_key_for(fingerprint, mapping_fingerprint(prepared.mapping), prepared.scoring_type)
    if view is None or not any(b.state in jr.MAYBE_CHARGED for b in view.batches.get(run_key, [])):
        tried = peek(_journal_path(replace(request, sandbox=True), fingerprint, env))
        if tried is not None and tried.sent_runs():
            raise NotSentYetError(
                f"{table.path.name} was only sent to the sandbox, whose scores never reach a "
                "receiver: run `csvscore score` on it with --sandbox --wait-scores 60 to see them."
            )
        raise NotSentYetError(
            f"csvscore has no record of sending {table.path.name}, so it has no scores to fetch. "
            "Score it first (drop it on the shortcut); if it was sent from another computer, "
            "fetch its scores there."
        )
    priorities = load_priorities()
    notes: list[str] = []
    place = _result_place(request, table, view, env, fingerprint)
    out = _writable_destination(place, request, table, env, notes)
    for note in notes:
        say(note)
    with ExitStack() as stack:
        stack.enter_context(lock.holding(_lock_path(request, fingerprint, env)))
        source = fetching.connected(env, priorities, stack, now=now, grace=grace)
        if source is None:
            raise ReceiverError(
                "no score receiver is set up on this computer, so there are no scores to fetch. "
                "Ask your IT contact for the receiver's address and run `csvscore receiver "
                "connect URL`."
            )
        journal = stack.enter_context(Journal(jpath, ledger=_ledger_path(request, env)))
        result = run_result(
            table,
            fingerprint,
            prepared.scoring_type,
            utcnow(),
            prepared.rows,
            journal.batches(run_key),
            held=journal.held(run_key),
        )
        result.summary.notes.extend([*prepared.notes, *notes])
        scores = fetching.gather(
            journal,
            run_key,
            source,
            table,
            prepared.mapping,
            prepared.rows,
            result,
            priorities,
            wait=wait,
            say=say,
            strict=True,
        )
        outputs = write_result(out, table, prepared.mapping, result, fmt=request.fmt, scores=scores)
        journal.set_last_result(table.path, outputs[0])
    return ScoreOutcome(result, outputs, jpath, notes, scores)


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
