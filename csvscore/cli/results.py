"""`csvscore results FILE`: bring a sent file's scores into its result; and the score lines
every run that shows scores prints.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from csvscore.cli.env import Env
from csvscore.cli.options import read_options_from, seconds
from csvscore.cli.signals import stop_on_signals
from csvscore.errors import ExitCode

if TYPE_CHECKING:  # the library is imported lazily, so `csvscore --version` starts fast
    from csvscore.pipeline import ScoreOutcome


def add_results_parser(add: Any) -> None:
    from csvscore.cli.options import add_read_options

    p = add("results", help="fetch a sent file's scores from the receiver into its result")
    p.add_argument("file", type=Path, help="the export that was sent (CSV, Excel...)")
    g = p.add_argument_group("everyday")
    g.add_argument(
        "-o",
        "--output",
        type=Path,
        help="result file (default: where this file's last result went, else <input>.scored.xlsx)",
    )
    g.add_argument("--open", action="store_true", help="open the result when done")
    g.add_argument(
        "--wait",
        type=seconds,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for scores still to come (default: fetch once)",
    )
    add_read_options(p)
    g = p.add_argument_group("other")
    g.add_argument("--journal", type=Path, metavar="FILE", help="journal file (default: state dir)")
    g.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="result format")
    g.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=cmd_results)


def cmd_results(args: argparse.Namespace, env: Env) -> int:
    from csvscore.cli.render import score_lines
    from csvscore.cli.wrap import say
    from csvscore.pipeline import ScoreRequest, fetch_scores

    request = ScoreRequest(output=args.output, fmt=args.format, journal=args.journal)
    with stop_on_signals(env):
        outcome = fetch_scores(
            args.file,
            request,
            read_options_from(args),
            env=env.environ,
            wait=args.wait,
            on_event=lambda message: say(env.stderr, message),
        )
    code = ExitCode.PENDING if outcome.scores_pending else ExitCode.OK
    if args.json:
        json.dump(_json(outcome, code), env.stdout, ensure_ascii=False, indent=2, default=str)
        env.stdout.write("\n")
    else:
        for line in score_lines(outcome, args.file.name):
            say(env.stdout, line)
        for out in outcome.outputs:
            say(env.stdout, f"Result: {out}")
    if args.open and outcome.outputs:
        from csvscore.cli.score import open_result

        open_result(outcome.outputs[0], env)
    return int(code)


def _json(outcome: ScoreOutcome, code: ExitCode) -> dict[str, Any]:
    scores = outcome.scores
    counts = dict(scores.states(outcome.result.rows)) if scores else {}
    return {
        "outputs": [str(p) for p in outcome.outputs],
        "journal": str(outcome.journal) if outcome.journal else None,
        "receiver": scores.receiver if scores else None,
        "scores": counts,
        "pending": outcome.scores_pending,
        "exit_code": int(code),
    }
