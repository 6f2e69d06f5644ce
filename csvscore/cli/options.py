"""Option groups shared by the commands, and turning parsed options into library options."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from csvscore.cli.env import Env
from csvscore.errors import UsageError

if TYPE_CHECKING:  # the library is imported lazily, so `csvscore --version` starts fast
    from csvscore.pipeline import MapOptions, ReadOptions
    from csvscore.read.table import Table


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option as one line and exit code 2, not a usage dump, with
    "did you mean" for a mistyped command, option or choice, pointing at the help of the
    command that was typed (``csvscore score --help``, not the top-level one)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{suggest(message)} (see `{self.prog} --help`)")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # The sub-command that was typed collected them: it knows the options meant.
            command: argparse.ArgumentParser = getattr(parsed, "command_parser", self)
            raise UsageError(f"{unrecognized(extras, command)} (see `{command.prog} --help`)")
        return parsed


_CHOICE = re.compile(r"^argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)$")


def _close(word: str, choices: Sequence[str]) -> str | None:
    import difflib  # only when there is a mistake to explain

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def suggest(message: str) -> str:
    """argparse's message about a wrong choice, in plain words and with "did you mean"."""
    m = _CHOICE.match(message)
    if not m:
        return message
    what, typed = m.group(1), m.group(2)
    choices = re.findall(r"'([^']*)'", m.group(3))
    close = _close(typed, choices)
    if what in ("COMMAND", "ACTION", "command", "action"):
        if close:
            return f"'{typed}' is not a command. Did you mean {close}?"
        return f"'{typed}' is not a command; the commands are {', '.join(choices)}."
    hint = f" Did you mean {close}?" if close else ""
    return f"{what}: '{typed}' is not one of {', '.join(choices)}.{hint}"


def unrecognized(extras: Sequence[str], command: argparse.ArgumentParser) -> str:
    """What to say about arguments no option took, with the closest option of ``command``."""
    options = [o for a in command._actions for o in a.option_strings if o.startswith("--")]
    for extra in extras:
        if extra.startswith("-"):
            close = _close(extra.split("=", 1)[0], options)
            if close:
                return f"{extra}: no such option. Did you mean {close}?"
    return f"unrecognized arguments: {' '.join(extras)}"


def add_read_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("reading the file")
    g.add_argument(
        "--sheet", help="workbook sheet to read (default: the first that looks like contacts)"
    )
    g.add_argument(
        "--header-row", type=int, metavar="N", help="line/row number of the header (default: found)"
    )
    g.add_argument("--encoding", help="CSV text encoding, e.g. utf-8, cp1252 (default: detected)")
    g.add_argument("--delimiter", help="CSV delimiter: , ; tab | (default: detected)")
    g.add_argument(
        "--max-mb",
        type=int,
        metavar="MB",
        help="largest file, or workbook part once unpacked, that is read (default 512)",
    )
    g.add_argument(
        "--max-cells",
        type=int,
        metavar="N",
        help="most cells (rows x columns) a file or sheet may have (default 20000000)",
    )


def add_map_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("mapping columns")
    g.add_argument("--mapping", type=Path, metavar="FILE", help="YAML that pins columns to fields")
    g.add_argument("--profile", help="source profile, e.g. hubspot, salesforce (default: detected)")
    g.add_argument(
        "--threshold", type=float, help="confidence below which a column stays unmapped (0..1)"
    )
    g.add_argument(
        "--no-remembered", action="store_true", help="ignore a mapping remembered for these headers"
    )


def add_score_options(p: argparse.ArgumentParser) -> None:
    # The few options a person at the shortcut may need come first, in a group of their own;
    # the rest are for IT, scripts and unusual files.
    g = p.add_argument_group("everyday")
    g.add_argument(
        "--dry-run", action="store_true", help="do everything except sending: free, shows the cost"
    )
    g.add_argument(
        "--sandbox", action="store_true", help="try it against the built-in API simulator (free)"
    )
    g.add_argument(
        "-o",
        "--output",
        type=Path,
        help="result file (default: where this file's last result went, else <input>.scored.xlsx)",
    )
    g.add_argument("--open", action="store_true", help="open the result when done")
    g.add_argument(
        "--wait-scores",
        type=seconds,
        default=0.0,
        metavar="SECONDS",
        help="after sending, wait up to SECONDS (or 10m) for the scores and add them",
    )
    add_read_options(p)
    add_map_options(p)
    g = p.add_argument_group("sending")
    g.add_argument("--base-url", help="API base URL (default: TITANX_BASE_URL or TitanX's)")
    g.add_argument(
        "--scoring-type",
        choices=("lightning", "titan"),
        default=None,  # None: lightning, or what an earlier run of the file used
        help="lightning (the default: quick) or titan (slower, with more checks; costs more "
        "per phone)",
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
    g.add_argument("-y", "--yes", action="store_true", help="no review, no questions (scripts)")
    g = p.add_argument_group("output")
    g.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="result format")
    g.add_argument("--json", action="store_true", help="print a JSON summary on stdout")


def seconds(text: str) -> float:
    """SECONDS, or with a unit: 90, 90s, 10m, 1h."""
    units = {"s": 1, "m": 60, "h": 3600}
    raw = text.strip().lower()
    factor = units.get(raw[-1:], 0)
    number = raw[:-1] if factor else raw
    try:
        value = float(number) * (factor or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a time: give seconds (90) or 90s, 10m, 1h"
        ) from None
    if not 0 <= value <= 24 * 3600:
        raise argparse.ArgumentTypeError("give a wait between 0 and 24h")
    return value


def read_options_from(args: argparse.Namespace) -> ReadOptions:
    from csvscore.pipeline import ReadOptions
    from csvscore.read.limits import DEFAULT_MAX_CELLS, DEFAULT_MAX_MB, ReadLimits

    delimiter = args.delimiter
    if delimiter and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    max_mb = DEFAULT_MAX_MB if args.max_mb is None else args.max_mb
    max_cells = DEFAULT_MAX_CELLS if args.max_cells is None else args.max_cells
    if max_mb < 1 or max_cells < 1:
        raise UsageError("--max-mb and --max-cells must be 1 or more")
    return ReadOptions(
        args.sheet, args.header_row, args.encoding, delimiter, ReadLimits(max_mb, max_cells)
    )


def map_options_from(args: argparse.Namespace) -> MapOptions:
    from csvscore.mapping.matcher import DEFAULT_THRESHOLD
    from csvscore.pipeline import MapOptions

    threshold = DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0 <= threshold <= 1:
        raise UsageError("--threshold must be between 0 and 1")
    return MapOptions(args.mapping, args.profile, threshold, not args.no_remembered)


def warn_problems(table: Table, env: Env, limit: int = 10) -> None:
    from csvscore.cli.wrap import say

    for problem in table.problems[:limit]:
        say(env.stderr, f"Warning: line {problem.source_row}: {problem.message}")
    if len(table.problems) > limit:
        say(env.stderr, f"Warning: {len(table.problems) - limit} more rows did not fit the header")
