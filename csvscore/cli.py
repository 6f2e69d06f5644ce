"""Command line: parse arguments, call the library, print. Errors become one line + exit code here.

Exit codes are :class:`csvscore.errors.ExitCode` (README, "Exit codes").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

from csvscore import __version__
from csvscore.errors import CsvscoreError, ExitCode, UsageError


@dataclass
class Env:
    """The outside world of one CLI call: streams and environment (tests pass their own)."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def interactive(self) -> bool:
        """Prompts only when a person is at both ends (not a pipe, not CI)."""
        if self.environ.get("CI"):
            return False
        return _isatty(self.stdin) and _isatty(self.stdout)


def _isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line and exit code 2, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _add_read_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("reading the file")
    g.add_argument(
        "--sheet", help="workbook sheet to read (default: the first that looks like contacts)"
    )
    g.add_argument(
        "--header-row", type=int, metavar="N", help="line/row number of the header (default: found)"
    )
    g.add_argument("--encoding", help="CSV text encoding, e.g. utf-8, cp1252 (default: detected)")
    g.add_argument("--delimiter", help="CSV delimiter: , ; tab | (default: detected)")


def _add_map_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("mapping columns")
    g.add_argument("--mapping", type=Path, metavar="FILE", help="YAML that pins columns to fields")
    g.add_argument("--profile", help="source profile, e.g. hubspot, salesforce (default: detected)")
    g.add_argument(
        "--threshold", type=float, help="confidence below which a column stays unmapped (0..1)"
    )
    g.add_argument(
        "--no-remembered", action="store_true", help="ignore a mapping remembered for these headers"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="csvscore",
        description="Map CRM contact exports to TitanX's scoring API and submit them safely.",
    )
    parser.add_argument("--version", action="version", version=f"csvscore {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("fields", help="list the TitanX contact fields and what goes in each")
    p.set_defaults(func=cmd_fields)

    p = sub.add_parser("map", help="show how a file's columns map to TitanX fields")
    p.add_argument("file", type=Path, help="CSV, TSV, TXT, XLSX, XLSM, XLS or ODS export")
    _add_read_options(p)
    _add_map_options(p)
    p.add_argument("--save", type=Path, metavar="FILE", help="write the mapping as YAML to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_map)

    p = sub.add_parser("score", help="score a file's contacts with TitanX and write a workbook")
    p.add_argument("file", type=Path, help="CSV, TSV, TXT, XLSX, XLSM, XLS or ODS export")
    _add_score_options(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser(
        "drop", help="score dropped files one by one, open the results (used by the shortcut)"
    )
    # nargs="*": a double-click with no files must reach run_drop (which asks for files)
    # instead of dying in argparse as the window closes.
    p.add_argument("files", type=Path, nargs="*", metavar="FILE")
    _add_score_options(p)
    p.add_argument("--no-wait", action="store_true", help="do not wait for Enter at the end")
    p.set_defaults(func=cmd_drop)

    p = sub.add_parser("login", help="store your TitanX API key (checked first)")
    p.add_argument("--key-stdin", action="store_true", help="read the key from standard input")
    p.add_argument("--base-url", help="API base URL to check the key against")
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("logout", help="remove the stored API key")
    p.set_defaults(func=cmd_logout)

    p = sub.add_parser("account", help="credits remaining and rate limits")
    p.add_argument("--base-url", help="API base URL")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_account)

    p = sub.add_parser("mappings", help="list, show or forget remembered mappings")
    msub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    msub.add_parser("list", help="list remembered mappings").set_defaults(func=cmd_mappings_list)
    q = msub.add_parser("show", help="print one remembered mapping")
    q.add_argument("name", help="its name (signature) or a unique prefix")
    q.set_defaults(func=cmd_mappings_show)
    q = msub.add_parser("forget", help="delete one remembered mapping")
    q.add_argument("name", help="its name (signature) or a unique prefix")
    q.set_defaults(func=cmd_mappings_forget)

    p = sub.add_parser("install-shortcut", help="put a drag-and-drop shortcut on your Desktop")
    p.add_argument("--dir", type=Path, help="folder to put it in (default: your Desktop)")
    p.set_defaults(func=cmd_install_shortcut)
    return parser


def _add_score_options(p: argparse.ArgumentParser) -> None:
    _add_read_options(p)
    _add_map_options(p)
    g = p.add_argument_group("sending")
    g.add_argument("--sandbox", action="store_true", help="use the built-in API simulator (free)")
    g.add_argument("--base-url", help="API base URL (default: TITANX_BASE_URL or TitanX's)")
    g.add_argument("--dry-run", action="store_true", help="do everything except sending")
    g.add_argument("--scoring-type", choices=("lightning", "titan"), default="lightning")
    g.add_argument("--batch-size", type=int, default=1000, help="contacts per request (max 1000)")
    g.add_argument("--workers", type=int, help="requests in flight at once (default 4)")
    g.add_argument("--send-invalid", action="store_true", help="also send rows TitanX would reject")
    g.add_argument(
        "--keep-duplicates", action="store_true", help="also send rows that repeat an earlier row"
    )
    g.add_argument(
        "--retry-unconfirmed",
        action="store_true",
        help="resend batches whose outcome is unknown (may charge them twice)",
    )
    g.add_argument(
        "--new-run",
        action="store_true",
        help="send a file again that was already sent with another mapping (charges again)",
    )
    g.add_argument("--journal", type=Path, metavar="FILE", help="journal file (default: state dir)")
    g.add_argument("-y", "--yes", action="store_true", help="no review, no questions")
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", type=Path, help="result file (default: <input>.scored.xlsx)")
    g.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="result format")
    g.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    g.add_argument("--open", action="store_true", help="open the result when done")


# -- commands -----------------------------------------------------------------------------------


def cmd_fields(args: argparse.Namespace, env: Env) -> int:
    from csvscore.render import fields_list

    print(fields_list(), file=env.stdout)
    return ExitCode.OK


def _read_options(args: argparse.Namespace) -> Any:
    from csvscore.pipeline import ReadOptions

    delimiter = args.delimiter
    if delimiter and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    return ReadOptions(args.sheet, args.header_row, args.encoding, delimiter)


def _map_options(args: argparse.Namespace) -> Any:
    from csvscore.matcher import DEFAULT_THRESHOLD
    from csvscore.pipeline import MapOptions

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0 <= threshold <= 1:
        raise UsageError("--threshold must be between 0 and 1")
    return MapOptions(args.mapping, args.profile, threshold, not args.no_remembered)


def _warn_problems(table: Any, env: Env, limit: int = 10) -> None:
    for problem in table.problems[:limit]:
        print(f"Warning: line {problem.source_row}: {problem.message}", file=env.stderr)
    if len(table.problems) > limit:
        print(
            f"Warning: {len(table.problems) - limit} more rows did not fit the header",
            file=env.stderr,
        )


def map_json(mapped: Any) -> dict[str, Any]:
    """The documented ``csvscore map --json`` object."""
    table, mapping = mapped.table, mapped.mapping
    return {
        "file": str(table.path),
        "format": table.format,
        "sheet": table.sheet,
        "header_row": table.header_row,
        "encoding": table.encoding,
        "delimiter": table.delimiter,
        "rows": len(table.rows),
        "profile": mapping.profile,
        "columns": [
            {
                "index": c.index,
                "header": c.header,
                "field": c.field,
                "confidence": round(c.confidence, 3),
                "method": c.method,
                "sample": c.sample,
                "reason": c.reason,
                "review": c.review,
                "phone_type": c.phone_type,
            }
            for c in mapping.columns
        ],
        "unmapped": [c.unmapped_key for c in mapping.unmapped()],
        "review": [c.index for c in mapping.review()],
        "missing_required": mapping.missing_required(),
        "problems": [{"row": p.source_row, "message": p.message} for p in table.problems],
        "notes": table.notes + mapping.notes,
    }


def cmd_map(args: argparse.Namespace, env: Env) -> int:
    from csvscore.mapping_file import save_mapping
    from csvscore.pipeline import map_file
    from csvscore.render import describe_table, mapping_table, style_for

    map_options = _map_options(args)
    mapped = map_file(args.file, _read_options(args), map_options, env=env.environ)
    if args.save:
        save_mapping(mapped.mapping, args.save, headers=mapped.table.headers)
    if args.json:
        json.dump(map_json(mapped), env.stdout, ensure_ascii=False, indent=2)
        env.stdout.write("\n")
    else:
        style = style_for(env.stdout, env.environ)
        print(describe_table(mapped.table), file=env.stdout)
        print(file=env.stdout)
        print(
            mapping_table(mapped.mapping, style, threshold=map_options.threshold), file=env.stdout
        )
    _warn_problems(mapped.table, env)
    if args.save:
        print(f"Saved the mapping to {args.save}", file=env.stderr)
    return ExitCode.OK


def cmd_score(args: argparse.Namespace, env: Env) -> int:
    if args.sandbox and args.base_url:
        raise UsageError("--sandbox and --base-url cannot be used together")
    outcome = score_one(args.file, args, env)
    if args.open and outcome.outputs:
        _open(outcome.outputs[0], env)
    return int(exit_code_for(outcome.result))


def score_one(path: Path, args: argparse.Namespace, env: Env) -> Any:
    """Map, review (when a person is there), confirm, send and write one file."""
    from csvscore.pipeline import (
        ScoreRequest,
        estimate_cost_per_phone,
        map_file,
        prepare,
        score_prepared,
    )
    from csvscore.render import ProgressLine, style_for, summary_lines
    from csvscore.submit import DEFAULT_WORKERS, ScoreOptions

    options = ScoreOptions(
        scoring_type=args.scoring_type,
        batch_size=args.batch_size,
        workers=args.workers or DEFAULT_WORKERS,
        dry_run=args.dry_run,
        retry_unconfirmed=args.retry_unconfirmed,
        new_run=args.new_run,
    )
    options.check()
    request = ScoreRequest(
        output=args.output,
        fmt=args.format,
        options=options,
        send_invalid=args.send_invalid,
        keep_duplicates=args.keep_duplicates,
        sandbox=args.sandbox,
        base_url=args.base_url,
        journal=args.journal,
    )
    map_options = _map_options(args)
    mapped = map_file(path, _read_options(args), map_options, env=env.environ)
    _warn_problems(mapped.table, env)
    interactive = env.interactive and not args.yes and not args.json
    out_style = style_for(env.stdout, env.environ)
    for note in mapped.mapping.notes:
        print(note, file=env.stderr)
    changed = False
    if interactive:
        from csvscore.render import describe_table
        from csvscore.review import review_mapping

        print(describe_table(mapped.table), file=env.stdout)
        while True:
            changed = (
                review_mapping(
                    mapped.mapping,
                    stdin=env.stdin,
                    stdout=env.stdout,
                    style=out_style,
                    threshold=map_options.threshold,
                )
                or changed
            )
            missing = mapped.mapping.missing_required()
            if not missing:
                break
            print(
                out_style.bad(
                    f"Nothing maps to {', '.join(missing)}: TitanX would reject every row. "
                    "Map a column (e.g. 3=lastName) or type q to quit."
                ),
                file=env.stdout,
            )
    _require_fields(mapped.mapping)
    for c in mapped.mapping.review():
        print(
            f"Note: column {c.index + 1} '{c.header}' left unmapped (sent in unmappedFields): "
            f"{c.reason}",
            file=env.stderr,
        )
    prepared = prepare(mapped, request)
    for note in prepared.notes:
        print(f"Note: {note}", file=env.stderr)
    cost = None if args.sandbox else estimate_cost_per_phone(env.environ)
    if args.sandbox:
        from csvscore.sandbox import SandboxConfig

        cost = SandboxConfig().cost_per_phone
    options.cost_per_phone = cost
    if interactive:
        _confirm_and_remember(mapped, prepared.rows, options, changed, env, out_style)
    bar = ProgressLine(env.stderr, enabled=_isatty(env.stderr) and not args.json)

    def event(message: str) -> None:
        bar.close()
        print(message, file=env.stderr)

    try:
        outcome = score_prepared(
            mapped, prepared, request, env=env.environ, progress=bar, on_event=event
        )
    finally:
        bar.close()
    if args.json:
        json.dump(_summary_json(outcome), env.stdout, ensure_ascii=False, indent=2, default=str)
        env.stdout.write("\n")
    else:
        print(summary_lines(outcome.result.summary, out_style), file=env.stdout)
        for out in outcome.outputs:
            print(f"Result: {out}", file=env.stdout)
    return outcome


def _confirm_and_remember(
    mapped: Any, prepared: Any, options: Any, changed: bool, env: Env, style: Any
) -> None:
    """Show the plan and its cost; ask before spending; offer to remember the mapping."""
    from csvscore import remembered
    from csvscore.mapping_file import dump_mapping_yaml
    from csvscore.review import ReviewCancelled, confirm, make_plan, plan_text

    plan = make_plan(prepared, options.batch_size, options.cost_per_phone)
    print("\n" + plan_text(plan), file=env.stdout)
    if not options.dry_run:
        if plan.to_send == 0:
            print("Nothing to send.", file=env.stdout)
        elif not confirm(
            f"Send {plan.to_send} contacts to TitanX now?", stdin=env.stdin, stdout=env.stdout
        ):
            raise ReviewCancelled("not confirmed")
    if mapped.remembered_path is None or changed:
        question = "Remember this mapping for files with the same columns?"
        if confirm(question, stdin=env.stdin, stdout=env.stdout, default=True):
            where = remembered.remember(
                mapped.signature,
                dump_mapping_yaml(mapped.mapping),
                source_file=mapped.table.path.name,
                env=env.environ,
            )
            print(f"Remembered: {where}", file=env.stdout)


def cmd_drop(args: argparse.Namespace, env: Env) -> int:
    from csvscore.drop import DropOutcome, dropped_files, run_drop
    from csvscore.opener import open_with_default_app

    if args.output and len(args.files) > 1:
        raise UsageError("-o/--output names one file; leave it out when dropping several")

    def one(path: Path) -> DropOutcome:
        # run_drop opens the results itself, so --open is not applied here.
        outcome = score_one(path, args, env)
        code = int(exit_code_for(outcome.result))
        return DropOutcome(path, tuple(outcome.outputs), code, outcome.result.summary.stop_reason)

    return run_drop(
        dropped_files([str(f) for f in args.files], env.environ),
        one,
        stdin=env.stdin,
        stdout=env.stdout,
        open_result=open_with_default_app,
        wait=not args.no_wait,
        debug=args.debug,
    )


def _base_url(args: argparse.Namespace, env: Env) -> str:
    from csvscore.client import DEFAULT_BASE_URL

    return args.base_url or env.environ.get("TITANX_BASE_URL") or DEFAULT_BASE_URL


def cmd_login(args: argparse.Namespace, env: Env) -> int:
    import getpass

    from csvscore import settings
    from csvscore.client import TitanXClient

    if args.key_stdin:
        key = env.stdin.readline().strip()
    elif env.interactive:
        key = getpass.getpass("TitanX API key (input hidden): ").strip()
    else:
        raise UsageError(
            "no terminal to ask for the key; pipe it in with `csvscore login --key-stdin`"
        )
    if not key:
        raise UsageError("no key entered; nothing stored")
    TitanXClient(key, _base_url(args, env)).check_key()  # AuthError: refused, not stored
    where = settings.store_api_key(key, env=env.environ)
    print(f"Key {settings.mask_key(key)} checked and stored in {where}.", file=env.stdout)
    return ExitCode.OK


def cmd_logout(args: argparse.Namespace, env: Env) -> int:
    from csvscore import settings

    removed = settings.delete_api_key(env=env.environ)
    if removed:
        print("Removed the stored key from " + " and ".join(removed) + ".", file=env.stdout)
    else:
        print("No stored key to remove.", file=env.stdout)
    if env.environ.get("TITANX_API_KEY"):
        print("Note: TITANX_API_KEY is still set in this environment.", file=env.stdout)
    return ExitCode.OK


def cmd_account(args: argparse.Namespace, env: Env) -> int:
    from csvscore import lastseen, settings
    from csvscore.client import TitanXClient
    from csvscore.errors import NetworkError

    key, source = settings.resolve_api_key(env=env.environ)
    info: dict[str, Any] = {"key": settings.mask_key(key), "key_source": source}
    try:
        client = TitanXClient(key, _base_url(args, env))
        info["source"] = "TitanX (live)"
        info["quota"] = client.quota()
    except NetworkError as exc:
        seen = lastseen.load(env=env.environ)
        if seen is None:
            raise
        info["source"] = f"last seen {seen.seen_at} (TitanX unreachable: {exc})"
        info["credits_remaining"] = str(seen.credits_remaining)
        info["cost_per_phone"] = str(seen.cost_per_phone)
        info["limits"] = seen.limits
    else:
        seen = lastseen.load(env=env.environ)
        if seen is not None:
            info["last_run_credits_remaining"] = str(seen.credits_remaining)
            info["last_run_at"] = seen.seen_at
    if args.json:
        json.dump(info, env.stdout, indent=2, default=str)
        env.stdout.write("\n")
    else:
        for k, v in info.items():
            if isinstance(v, dict):
                print(f"{k}:", file=env.stdout)
                for kk, vv in _flatten(v):
                    print(f"  {kk}: {vv}", file=env.stdout)
            else:
                print(f"{k}: {v}", file=env.stdout)
    return ExitCode.OK


def _flatten(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.extend(_flatten(v, name + "."))
        else:
            out.append((name, v))
    return out


def cmd_mappings_list(args: argparse.Namespace, env: Env) -> int:
    from csvscore import remembered

    items = remembered.list_remembered(env=env.environ)
    if not items:
        print("No remembered mappings yet.", file=env.stdout)
    for m in items:
        print(
            f"{m.signature[:12]}  {m.column_count:>3} columns  saved {m.saved_at}  "
            f"from {m.source_file}",
            file=env.stdout,
        )
    return ExitCode.OK


def _find_remembered(name: str, env: Env) -> Path:
    from csvscore import remembered
    from csvscore.errors import ConfigError

    matches = [
        m for m in remembered.list_remembered(env=env.environ) if m.signature.startswith(name)
    ]
    if len(matches) != 1:
        names = ", ".join(m.signature[:12] for m in matches) or "none"
        raise ConfigError(f"no single remembered mapping starts with {name!r} (matches: {names})")
    return matches[0].path


def cmd_mappings_show(args: argparse.Namespace, env: Env) -> int:
    print(_find_remembered(args.name, env).read_text(encoding="utf-8"), file=env.stdout)
    return ExitCode.OK


def cmd_mappings_forget(args: argparse.Namespace, env: Env) -> int:
    from csvscore import remembered

    path = remembered.forget(args.name, env=env.environ)
    print(f"Forgot {path.name}", file=env.stdout)
    return ExitCode.OK


def cmd_install_shortcut(args: argparse.Namespace, env: Env) -> int:
    from csvscore.shortcuts import install_shortcut

    paths = install_shortcut(args.dir, env=env.environ)
    for path in paths:
        print(f"Put the shortcut at {path}", file=env.stdout)
    print("Drop CSV or Excel files onto it to score them.", file=env.stdout)
    return ExitCode.OK


def _require_fields(mapping: Any) -> None:
    """Stop before sending when no column can fill a required field (non-interactive runs)."""
    missing = mapping.missing_required()
    if not missing:
        return
    hints = [
        f"{c.index + 1} '{c.header}'"
        for c in mapping.columns
        if c.field is None and (c.review or c.header)
    ][:8]
    hint = f" Columns that might: {', '.join(hints)}." if hints else ""
    from csvscore.errors import MappingError

    raise MappingError(
        f"no column maps to {', '.join(missing)}, so TitanX would reject every row.{hint} "
        "Pin one with --mapping FILE (see `csvscore map --save`)."
    )


def _summary_json(outcome: Any) -> dict[str, Any]:
    from dataclasses import asdict

    s = asdict(outcome.result.summary)
    s["outputs"] = [str(p) for p in outcome.outputs]
    s["journal"] = str(outcome.journal) if outcome.journal else None
    s["exit_code"] = int(exit_code_for(outcome.result))
    return s


def exit_code_for(result: Any) -> ExitCode:
    """0 only when every row has a final status; otherwise the most important reason."""
    s = result.summary
    if s.interrupted:
        return ExitCode.INTERRUPTED
    if s.stop_exit_code:
        return ExitCode(s.stop_exit_code)
    if s.unconfirmed:
        return ExitCode.UNCONFIRMED
    if s.failed:
        return ExitCode.FAILED
    return ExitCode.OK


def _open(path: Path, env: Env) -> None:
    try:
        from csvscore.opener import open_with_default_app

        open_with_default_app(path)
    except Exception:
        print(f"Could not open the result; open it yourself: {path}", file=env.stderr)


# -- entry point --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    parser = build_parser()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(env.stdout)
            return ExitCode.BAD_INPUT
        func: Callable[[argparse.Namespace, Env], int] = args.func
        return func(args, env)
    except CsvscoreError as exc:
        if debug:
            traceback.print_exc(file=env.stderr)
        print(f"Error: {exc.message}", file=env.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=env.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:  # the last line of defence: no traceback for users
        if debug:
            traceback.print_exc(file=env.stderr)
        print(
            f"Error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)",
            file=env.stderr,
        )
        return ExitCode.ERROR
