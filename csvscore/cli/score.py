"""`csvscore score` and `csvscore drop`: map, review, confirm, send, write; exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csvscore.cli.env import Env, isatty
from csvscore.cli.options import map_options_from, read_options_from, warn_problems
from csvscore.cli.signals import stop_on_signals
from csvscore.errors import ExitCode, UsageError
from csvscore.results import exit_code_for

# Values of a column the review looks at to tell whether they fit a field.
VALUES_CHECKED = 20

if TYPE_CHECKING:  # the pipeline is imported lazily, so `csvscore --version` starts fast
    from csvscore.pipeline import MappedFile, Prepared, ScoreOutcome, ScoreRequest
    from csvscore.scoring.earlier import EarlierRun
    from csvscore.scoring.plan import Plan
    from csvscore.scoring.submit import ScoreOptions


def cmd_score(args: argparse.Namespace, env: Env) -> int:
    if args.sandbox and args.base_url:
        raise UsageError("--sandbox and --base-url cannot be used together")
    with stop_on_signals(env):
        outcome = score_one(args.file, args, env)
    if args.open and outcome.outputs:
        open_result(outcome.outputs[0], env)
    return int(exit_code(outcome, args))


def exit_code(outcome: ScoreOutcome, args: argparse.Namespace) -> ExitCode:
    """The run's exit code; a run that waited for scores and did not get them all says so."""
    code = exit_code_for(outcome.result)
    if code == ExitCode.OK and args.wait_scores and outcome.scores_pending:
        return ExitCode.PENDING
    return code


def score_one(path: Path, args: argparse.Namespace, env: Env) -> ScoreOutcome:
    """Check the key, map, review (when a person is there), confirm, send, write, then offer
    to remember."""
    from csvscore.cli.render import ProgressLine, score_lines, style_for, summary_lines
    from csvscore.cli.wrap import say, terminal_width
    from csvscore.pipeline import (
        STOPPING,
        EarlierRunError,
        ScoreRequest,
        check_not_a_result,
        map_file,
        prepare,
        score_prepared,
    )
    from csvscore.scoring.submit import DEFAULT_WORKERS, ScoreOptions

    options = ScoreOptions(
        scoring_type=args.scoring_type or "lightning",
        batch_size=args.batch_size,
        workers=args.workers or DEFAULT_WORKERS,
        dry_run=args.dry_run,
        retry_unconfirmed=args.retry_unconfirmed,
        new_run=args.new_run,
    )
    options.check()
    if args.wait_scores and args.dry_run:
        raise UsageError("--wait-scores waits for the scores of contacts sent; not with --dry-run")
    request = ScoreRequest(
        output=args.output,
        fmt=args.format,
        options=options,
        send_invalid=args.send_invalid,
        keep_duplicates=args.keep_duplicates,
        sandbox=args.sandbox,
        base_url=args.base_url,
        journal=args.journal,
        rescore=args.rescore,
        # A re-drop continues an earlier run with its own mapping, unless the person asked for
        # something else on purpose (a mapping file, a scoring type): then they are told.
        continue_earlier=not (args.mapping or args.scoring_type),
        wait_scores=args.wait_scores,
    )
    interactive = env.interactive and not args.yes and not args.json
    if interactive and not (args.sandbox or args.dry_run):
        # Before the first question: no key, a refused key or no way to reach TitanX would
        # otherwise show only after the review and the cost were accepted.
        from csvscore.cli.keycheck import check_key

        check_key(args.base_url, env.environ)
    map_opts = map_options_from(args)
    mapped = map_file(path, read_options_from(args), map_opts, env=env.environ)
    check_not_a_result(mapped.table, request)  # before its mapping is shown or reviewed
    warn_problems(mapped.table, env)
    out_style = style_for(env.stdout, env.environ)
    err_style = style_for(env.stderr, env.environ)
    if not interactive:  # the review table lists the mapping's notes itself
        for note in mapped.mapping.notes:
            say(env.stderr, note)
    changed = False
    prepared = _sent_before(mapped, request, env) if interactive else None
    review = interactive
    if prepared is not None and prepared.plan.done_rows and not prepared.plan.to_send:
        # Everything was sent already: nothing to review or confirm, the scores are what the
        # person came back for (a different mapping now could not change what was sent).
        say(env.stdout, _all_sent_line(prepared))
        interactive = review = False
    elif prepared is not None and prepared.earlier is not None:
        # Partly sent, with another mapping than the one found now (a remembered mapping that
        # changed since, a column overridden at that run's review): only that run's mapping
        # sends the rest without charging anyone twice, so ask first; a review of the mapping
        # found now would be a review of what cannot be sent.
        _continue_earlier(prepared.earlier, env)
        asked = prepared.earlier.describe()
        prepared.notes[:] = [n for n in prepared.notes if not n.startswith(asked)]  # just said
        review = False
    else:
        prepared = None  # a first run, or the same mapping: reviewed, then prepared
    if review:
        from csvscore.cli.render import describe_table
        from csvscore.cli.review import review_mapping

        say(env.stdout, describe_table(mapped.table))
        table = mapped.table
        changed = review_mapping(
            mapped.mapping,
            stdin=env.stdin,
            stdout=env.stdout,
            style=out_style,
            threshold=map_opts.threshold,
            values=lambda i: [row[i] for row in table.rows[:VALUES_CHECKED]],
        )
    for c in mapped.mapping.review():
        say(
            env.stderr,
            f"Note: column {c.index + 1} '{c.header}' left unmapped (sent in unmappedFields): "
            f"{c.reason}",
        )
    if interactive:
        request.continue_earlier = False  # a person is here: ask first
    try:
        prepared = prepared or prepare(mapped, request, env=env.environ)
    except EarlierRunError as exc:
        if not interactive or exc.earlier.mapping is None:
            raise
        _continue_earlier(exc.earlier, env)  # the mapping was changed at the review
        request.continue_earlier = True
        prepared = prepare(mapped, request, env=env.environ)
    for note in prepared.notes:
        say(env.stderr, f"Note: {note}")
    if interactive:
        _confirm(prepared.plan, options, env, sandbox=request.sandbox)
    bar = ProgressLine(
        env.stderr,
        enabled=isatty(env.stderr) and not args.json and env.environ.get("TERM") != "dumb",
        colour=err_style.enabled,
        environ=env.environ,
    )

    def event(message: str) -> None:
        if message == STOPPING:
            bar.stopping(message)  # Ctrl-C: at once, above the bar, which then says "Stopping"
        else:
            bar.say(message[:1].upper() + message[1:])

    if not options.dry_run and prepared.plan.to_send:
        bar.start(prepared.plan.to_send, prepared.plan.batches)
    try:
        outcome = score_prepared(
            mapped, prepared, request, env=env.environ, progress=bar, on_event=event
        )
    finally:
        bar.close()
    if args.json:
        json.dump(
            _summary_json(outcome, args), env.stdout, ensure_ascii=False, indent=2, default=str
        )
        env.stdout.write("\n")
    else:
        width = terminal_width(env.stdout)
        failures = list(
            dict.fromkeys(
                b.message for b in outcome.result.batches if b.this_run and b.outcome == "failed"
            )
        )
        text = summary_lines(outcome.result.summary, out_style, width, [f for f in failures if f])
        print(text, file=env.stdout)
        for line in score_lines(outcome, path.name):
            say(env.stdout, line)
        for out in outcome.outputs:
            say(env.stdout, f"Result: {out}")
    if interactive and prepared.earlier is None:
        _offer_to_remember(mapped, outcome, changed, env)
    return outcome


def _sent_before(mapped: MappedFile, request: ScoreRequest, env: Env) -> Prepared | None:
    """The file prepared as a re-drop would continue it (the earlier run's mapping, if it
    differs), when an earlier run sent some of it; else None."""
    from dataclasses import replace

    from csvscore.pipeline import EarlierRunError, prepare, sent_before

    if request.options.dry_run or request.options.new_run or request.options.retry_unconfirmed:
        return None
    if not sent_before(mapped, request, env=env.environ):
        return None  # a first run: prepared once, after the review
    try:
        return prepare(mapped, replace(request, continue_earlier=True), env=env.environ)
    except EarlierRunError:
        return None  # no mapping kept for that run: the review, then the error, as before


def _all_sent_line(prepared: Prepared) -> str:
    plan = prepared.plan
    rows = f"{plan.done_rows} row{'s' if plan.done_rows != 1 else ''}"
    return (
        f"This file was sent already ({rows}); nothing is left to send, so nothing is charged. "
        "Writing its result again."
    )


def _continue_earlier(earlier: EarlierRun, env: Env) -> None:
    """Offer to continue the earlier run with its own mapping; "n" stops with nothing sent."""
    from csvscore.cli.review import ReviewCancelled, confirm
    from csvscore.cli.wrap import say

    say(env.stdout, f"\n{earlier.describe()}.")
    say(
        env.stdout,
        "Sending it with another mapping would charge the rows already sent a second time.",
    )
    if not confirm(
        "Continue with the mapping used last time?",
        stdin=env.stdin,
        stdout=env.stdout,
        default=True,
    ):
        raise ReviewCancelled("you said no")


def _confirm(plan: Plan, options: ScoreOptions, env: Env, *, sandbox: bool = False) -> None:
    """Show the plan and its cost; ask before spending (or, in the sandbox, say it is free)."""
    from csvscore.cli.review import ReviewCancelled, confirm, plan_text
    from csvscore.cli.wrap import say

    say(env.stdout, "\n" + plan_text(plan))
    if options.dry_run:
        return
    if plan.to_send == 0:
        print("Nothing to send.", file=env.stdout)
    elif not confirm(
        f"Send {plan.to_send} contacts to the sandbox now (free: nothing is charged)?"
        if sandbox
        else f"Send {plan.to_send} contacts to TitanX now?",
        stdin=env.stdin,
        stdout=env.stdout,
    ):
        raise ReviewCancelled("you said no")


def _offer_to_remember(mapped: MappedFile, outcome: ScoreOutcome, changed: bool, env: Env) -> None:
    """After a run that sent something and finished: offer to remember the mapping.

    Asked after the run, not before: a mapping that sent nothing (or stopped half-way) proves
    nothing, and a remembered mapping is what the next file with these headers gets.
    """
    from csvscore.cli.review import confirm
    from csvscore.cli.wrap import say
    from csvscore.mapping.overrides import dump_mapping_yaml
    from csvscore.user import remembered

    s = outcome.result.summary
    if s.dry_run or s.stop_reason or not (s.accepted or s.rejected):
        return
    if mapped.remembered_path is not None and not changed:
        return
    question = "Remember this mapping for files with the same columns?"
    if confirm(question, stdin=env.stdin, stdout=env.stdout, default=True):
        where = remembered.remember(
            mapped.signature,
            dump_mapping_yaml(mapped.mapping),
            source_file=mapped.table.path.name,
            env=env.environ,
        )
        say(env.stdout, f"Remembered: {where}")


def cmd_drop(args: argparse.Namespace, env: Env) -> int:
    from csvscore.cli.drop import DropOutcome, dropped_files, run_drop
    from csvscore.desktop.opener import open_with_default_app

    if args.output and len(args.files) > 1:
        raise UsageError("-o/--output names one file; leave it out when dropping several")

    def one(path: Path) -> DropOutcome:
        # run_drop opens the results itself, so --open is not applied here.
        with stop_on_signals(env):
            outcome = score_one(path, args, env)
        code = int(exit_code_for(outcome.result))
        s = outcome.result.summary
        message = (
            "you pressed Ctrl-C; drop the same file again to send the rest"
            if s.interrupted
            else s.stop_reason
        )
        if not message and outcome.scores_pending:
            message = (
                f"{outcome.scores_pending} scores still to come; drop the same file again later "
                "to add them"
            )
        return DropOutcome(path, tuple(outcome.outputs), code, message)

    return run_drop(
        dropped_files([str(f) for f in args.files], env.environ),
        one,
        stdin=env.stdin,
        stdout=env.stdout,
        open_result=open_with_default_app,
        wait=not args.no_wait,
        debug=args.debug,
    )


def _summary_json(outcome: ScoreOutcome, args: argparse.Namespace) -> dict[str, Any]:
    from dataclasses import asdict

    s = asdict(outcome.result.summary)
    s["outputs"] = [str(p) for p in outcome.outputs]
    s["journal"] = str(outcome.journal) if outcome.journal else None
    s["exit_code"] = int(exit_code(outcome, args))
    s["notes_run"] = outcome.notes
    scores = outcome.scores
    s["scores"] = dict(scores.states(outcome.result.rows)) if scores is not None else None
    s["scores_pending"] = outcome.scores_pending
    return s


def open_result(path: Path, env: Env) -> None:
    from csvscore.cli.wrap import say

    try:
        from csvscore.desktop.opener import open_with_default_app

        open_with_default_app(path)
    except Exception:
        say(env.stderr, f"Could not open the result; open it yourself: {path}")
