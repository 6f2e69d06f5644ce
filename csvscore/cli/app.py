"""The `csvscore` command: the parser and the entry point. Errors become one line + exit code here.

Exit codes are :class:`csvscore.errors.ExitCode` (README, "Exit codes"). The command modules
import the library lazily, so importing them here keeps `csvscore --version` fast.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from csvscore._version import __version__
from csvscore.cli.account import (
    cmd_account,
    cmd_install_shortcut,
    cmd_login,
    cmd_logout,
    cmd_mappings_forget,
    cmd_mappings_list,
    cmd_mappings_show,
)
from csvscore.cli.env import Env
from csvscore.cli.helptext import decorate, subcommands
from csvscore.cli.map import cmd_fields, cmd_map
from csvscore.cli.options import Parser, add_map_options, add_read_options, add_score_options
from csvscore.cli.receiver import add_receiver_parser
from csvscore.cli.results import add_results_parser
from csvscore.cli.score import cmd_drop, cmd_score
from csvscore.cli.webhook import add_webhook_parser
from csvscore.errors import CsvscoreError, ExitCode, UsageError


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="csvscore")
    parser.add_argument("--version", action="version", version=f"csvscore {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on errors")
    # --debug is accepted after the command too (`csvscore map f.csv --debug`), as the error
    # messages suggest; SUPPRESS keeps a subcommand from resetting the top-level value.
    common = Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show a traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    add = functools.partial(sub.add_parser, parents=[common])

    p = add("fields", help="list the TitanX contact fields and what goes in each")
    p.set_defaults(func=cmd_fields)

    p = add("map", help="show how a file's columns map to TitanX fields")
    p.add_argument("file", type=Path, help="CSV, TSV, TXT, XLSX, XLSM, XLS or ODS export")
    add_read_options(p)
    add_map_options(p)
    p.add_argument("--save", type=Path, metavar="FILE", help="write the mapping as YAML to FILE")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=cmd_map)

    p = add("score", help="score a file's contacts with TitanX and write a workbook")
    p.add_argument("file", type=Path, help="CSV, TSV, TXT, XLSX, XLSM, XLS or ODS export")
    add_score_options(p)
    p.set_defaults(func=cmd_score)

    p = add("drop", help="score dropped files one by one, open the results (used by the shortcut)")
    # nargs="*": a double-click with no files must reach run_drop (which asks for files)
    # instead of dying in argparse as the window closes.
    p.add_argument(
        "files", type=Path, nargs="*", metavar="FILE", help="files to score (none: asks for them)"
    )
    add_score_options(p)
    p.add_argument("--no-wait", action="store_true", help="do not wait for Enter at the end")
    p.set_defaults(func=cmd_drop)

    p = add("login", help="store your TitanX API key (checked first)")
    p.add_argument("--key-stdin", action="store_true", help="read the key from standard input")
    p.add_argument("--base-url", help="API base URL to check the key against")
    p.set_defaults(func=cmd_login)

    p = add("logout", help="remove the stored API key")
    p.set_defaults(func=cmd_logout)

    p = add("account", help="credits remaining and rate limits")
    p.add_argument("--sandbox", action="store_true", help="ask the built-in API simulator (free)")
    p.add_argument("--base-url", help="API base URL")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_account)

    p = add("mappings", help="list, show or forget remembered mappings")
    msub = p.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser, required=True)
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

    add_results_parser(add)
    add_receiver_parser(add, Parser)
    add_webhook_parser(add, Parser)

    p = add("completion", help="print shell code for Tab completion (bash, zsh, fish)")
    p.add_argument("shell", choices=SHELLS, help="your shell")
    p.set_defaults(func=cmd_completion)

    p = add("help", help="show the help of a command, e.g. `csvscore help score`")
    p.add_argument("topic", nargs="*", metavar="COMMAND", help="the command (none: all of them)")
    p.set_defaults(func=functools.partial(cmd_help, parser))

    decorate(parser)
    # Each sub-command's parser rides along in the namespace, so an option it did not take
    # can be matched against its own options (Parser.parse_args).
    for command in subcommands(parser).values():
        command.set_defaults(command_parser=command)
    return parser


SHELLS = ("bash", "zsh", "fish")


def cmd_completion(args: argparse.Namespace, env: Env) -> int:
    """The shell code that asks csvscore itself for completions (argcomplete's protocol)."""
    import argcomplete

    env.stdout.write(argcomplete.shellcode(["csvscore"], shell=args.shell))
    return ExitCode.OK


def cmd_help(root: argparse.ArgumentParser, args: argparse.Namespace, env: Env) -> int:
    """`csvscore help score`: the help of that command, as `csvscore score --help` prints it."""
    from csvscore.cli.options import suggest

    commands = subcommands(root)
    topic = " ".join(args.topic)
    if not topic:
        root.print_help(env.stdout)
        return ExitCode.OK
    if topic not in commands:
        names = [n for n in commands if " " not in n] if " " not in topic else sorted(commands)
        raise UsageError(
            suggest(
                f"argument COMMAND: invalid choice: '{topic}' (choose from "
                + ", ".join(f"'{n}'" for n in names)
                + ")"
            )
            + " (see `csvscore --help`)"
        )
    commands[topic].print_help(env.stdout)
    return ExitCode.OK


def _work_in_flight() -> bool:
    """Whether batches are still being sent: Python would wait for their threads at exit."""
    import threading

    submit = sys.modules.get("csvscore.scoring.submit")  # not loaded: nothing was ever sent
    if submit is None:
        return False
    prefix = submit.SEND_THREADS
    return any(t.is_alive() and t.name.startswith(prefix) for t in threading.enumerate())


def _abandon(env: Env) -> None:
    """A second Ctrl-C while stopping: leave now, as a kill would, rather than wait for the
    requests in flight (Python would join their threads at exit, and a third Ctrl-C there
    printed a traceback). The journal marked them "sending" before they went out, so dropping
    the same file again finds out what they did; nothing is sent twice."""
    _say(
        env.stderr,
        "Stopped without waiting for the requests in flight, and without writing the result. "
        "Drop the same file again: it checks what those requests did (nothing is sent twice) "
        "and writes the result.",
    )
    for stream in (env.stdout, env.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(int(ExitCode.INTERRUPTED))


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    own_process = env is None  # the `csvscore` command itself, not a caller's Env (tests)
    env = env or Env()
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (csvscore completion)
        import argcomplete

        argcomplete.autocomplete(parser)  # prints them and exits
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
        _say(env.stderr, f"{exc.prefix}{exc.message}")
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _say(env.stderr, "\nInterrupted.")
        if own_process and _work_in_flight():
            _abandon(env)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:  # the last line of defence: no traceback for users
        if debug:
            traceback.print_exc(file=env.stderr)
        _say(
            env.stderr,
            f"Error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for details)",
        )
        return ExitCode.ERROR


def _say(stream: TextIO, text: str) -> None:
    """One message, wrapped at word boundaries to the window (one line on a pipe)."""
    from csvscore.cli.wrap import say  # loads rich's cell widths: only when there is a message

    say(stream, text)
