"""Command line: parse arguments, call the library, print. Errors become one line + exit code here.

Exit codes are :class:`csvscore.errors.ExitCode` (README, "Exit codes").
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from csvscore import __version__
from csvscore.errors import CsvscoreError, ExitCode, UsageError

if TYPE_CHECKING:  # the library is imported lazily, so `csvscore --version` starts fast
    from csvscore.pipeline import MapOptions, MappedFile, ReadOptions
    from csvscore.table import Table


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
        return isatty(self.stdin) and isatty(self.stdout)


def isatty(stream: object) -> bool:
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
    # Imported here: those modules import Env and the option helpers from this one.
    from csvscore.cli_account import (
        cmd_account,
        cmd_install_shortcut,
        cmd_login,
        cmd_logout,
        cmd_mappings_forget,
        cmd_mappings_list,
        cmd_mappings_show,
    )
    from csvscore.cli_score import cmd_drop, cmd_score

    parser = _Parser(
        prog="csvscore",
        description="Map CRM contact exports to TitanX's scoring API and submit them safely.",
    )
    parser.add_argument("--version", action="version", version=f"csvscore {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    # --debug is accepted after the command too (`csvscore map f.csv --debug`), as the error
    # messages suggest; SUPPRESS keeps a subcommand from resetting the top-level value.
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show a traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add = functools.partial(sub.add_parser, parents=[common])

    p = add("fields", help="list the TitanX contact fields and what goes in each")
    p.set_defaults(func=cmd_fields)

    p = add("map", help="show how a file's columns map to TitanX fields")
    p.add_argument("file", type=Path, help="CSV, TSV, TXT, XLSX, XLSM, XLS or ODS export")
    _add_read_options(p)
    _add_map_options(p)
    p.add_argument("--save", type=Path, metavar="FILE", help="write the mapping as YAML to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_map)

    p = add("score", help="score a file's contacts with TitanX and write a workbook")
    p.add_argument("file", type=Path, help="CSV, TSV, TXT, XLSX, XLSM, XLS or ODS export")
    _add_score_options(p)
    p.set_defaults(func=cmd_score)

    p = add("drop", help="score dropped files one by one, open the results (used by the shortcut)")
    # nargs="*": a double-click with no files must reach run_drop (which asks for files)
    # instead of dying in argparse as the window closes.
    p.add_argument(
        "files", type=Path, nargs="*", metavar="FILE", help="files to score (none: asks for them)"
    )
    _add_score_options(p)
    p.add_argument("--no-wait", action="store_true", help="do not wait for Enter at the end")
    p.set_defaults(func=cmd_drop)

    p = add("login", help="store your TitanX API key (checked first)")
    p.add_argument("--key-stdin", action="store_true", help="read the key from standard input")
    p.add_argument("--base-url", help="API base URL to check the key against")
    p.set_defaults(func=cmd_login)

    p = add("logout", help="remove the stored API key")
    p.set_defaults(func=cmd_logout)

    p = add("account", help="credits remaining and rate limits")
    p.add_argument("--base-url", help="API base URL")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_account)

    p = add("mappings", help="list, show or forget remembered mappings")
    msub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    madd = functools.partial(msub.add_parser, parents=[common])
    madd("list", help="list remembered mappings").set_defaults(func=cmd_mappings_list)
    q = madd("show", help="print one remembered mapping")
    q.add_argument("name", help="its name (signature) or a unique prefix")
    q.set_defaults(func=cmd_mappings_show)
    q = madd("forget", help="delete one remembered mapping")
    q.add_argument("name", help="its name (signature) or a unique prefix")
    q.set_defaults(func=cmd_mappings_forget)

    p = add("install-shortcut", help="put a drag-and-drop shortcut on your Desktop")
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
    g.add_argument(
        "--scoring-type",
        choices=("lightning", "titan"),
        default="lightning",
        help="TitanX scoring type (default lightning)",
    )
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
    g.add_argument(
        "--rescore",
        action="store_true",
        help="also send contacts already scored from another file (charges them again)",
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


def read_options_from(args: argparse.Namespace) -> ReadOptions:
    from csvscore.pipeline import ReadOptions

    delimiter = args.delimiter
    if delimiter and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    return ReadOptions(args.sheet, args.header_row, args.encoding, delimiter)


def map_options_from(args: argparse.Namespace) -> MapOptions:
    from csvscore.matcher import DEFAULT_THRESHOLD
    from csvscore.pipeline import MapOptions

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0 <= threshold <= 1:
        raise UsageError("--threshold must be between 0 and 1")
    return MapOptions(args.mapping, args.profile, threshold, not args.no_remembered)


def warn_problems(table: Table, env: Env, limit: int = 10) -> None:
    for problem in table.problems[:limit]:
        print(f"Warning: line {problem.source_row}: {problem.message}", file=env.stderr)
    if len(table.problems) > limit:
        print(
            f"Warning: {len(table.problems) - limit} more rows did not fit the header",
            file=env.stderr,
        )


def map_json(mapped: MappedFile) -> dict[str, Any]:
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

    map_opts = map_options_from(args)
    mapped = map_file(args.file, read_options_from(args), map_opts, env=env.environ)
    if args.save:
        save_mapping(mapped.mapping, args.save, headers=mapped.table.headers)
    if args.json:
        json.dump(map_json(mapped), env.stdout, ensure_ascii=False, indent=2)
        env.stdout.write("\n")
    else:
        style = style_for(env.stdout, env.environ)
        print(describe_table(mapped.table), file=env.stdout)
        print(file=env.stdout)
        print(mapping_table(mapped.mapping, style, threshold=map_opts.threshold), file=env.stdout)
    warn_problems(mapped.table, env)
    if args.save:
        print(f"Saved the mapping to {args.save}", file=env.stderr)
    return ExitCode.OK


# -- entry point --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    env = env or Env()
    parser = build_parser()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        try:
            # argparse prints --help/--version itself: point it at this call's streams.
            with contextlib.redirect_stdout(env.stdout), contextlib.redirect_stderr(env.stderr):
                args = parser.parse_args(argv)
        except SystemExit as exc:  # --help / --version (bad options raise UsageError)
            return int(exc.code or 0)
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
