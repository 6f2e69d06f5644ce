"""Every command's help: a description, a few examples and the exit codes it can return.

One table per command here; the exit codes' meanings come from
:data:`csvscore.errors.EXIT_CODE_MEANINGS` (which the README's table is checked against), so
there is one source of truth for them. :func:`decorate` puts all this on a built parser.
"""

from __future__ import annotations

import argparse
import re
from typing import NamedTuple

from csvscore.errors import EXIT_CODE_MEANINGS, ExitCode

E = ExitCode
_FILE_CODES = (E.OK, E.ERROR, E.BAD_INPUT)
_API_CODES = (E.OK, E.ERROR, E.BAD_INPUT, E.AUTH, E.FAILED, E.NETWORK)
_SCORE_CODES = tuple(ExitCode)  # 12 and 13 only with --wait-scores
_RECEIVER_CODES = (E.OK, E.ERROR, E.BAD_INPUT, E.RECEIVER)
_RESULTS_CODES = (
    E.OK,
    E.ERROR,
    E.BAD_INPUT,
    E.BUSY,
    E.STATE,
    E.RECEIVER,
    E.PENDING,
    E.INTERRUPTED,
)


class Help(NamedTuple):
    # A NamedTuple, not a dataclass: this module is loaded by every run, `--version` included,
    # and building a dataclass costs a millisecond or two.
    description: str
    examples: tuple[str, ...]
    codes: tuple[ExitCode, ...] = _FILE_CODES
    ok: str = ""  # what exit code 0 means for this command, when not just "done"


COMMANDS: dict[str, Help] = {
    "": Help(
        "Map CRM contact exports (CSV, Excel) to TitanX's scoring API and send them safely: "
        "every request spends credits, so nothing is sent twice, and every row of your file "
        "gets a status in the result workbook. Run `csvscore help COMMAND` for one command.",
        (
            "csvscore score export.csv            # review, confirm the cost, send, write",
            "csvscore score export.csv --dry-run  # everything but sending",
            "csvscore map export.csv              # how each column would be sent",
            "csvscore login                       # enter the API key once per computer",
        ),
        tuple(ExitCode),
    ),
    "fields": Help(
        "List the 57 TitanX contact fields and what goes in each. Any column of your file can "
        "be sent as one of them (at the review: its number=field).",
        ("csvscore fields", "csvscore fields | grep -i phone"),
        (E.OK,),
    ),
    "map": Help(
        "Show how each column of a file would be sent: the TitanX field, how sure csvscore is "
        "(0 to 1) and why. Nothing is sent.",
        (
            "csvscore map export.csv",
            "csvscore map export.csv --json",
            "csvscore map export.csv --save my.yaml   # edit it, then: score --mapping my.yaml",
        ),
    ),
    "score": Help(
        "Score the contacts of a file with TitanX: check the API key, show the columns for "
        "review, ask before spending credits, send in batches with a progress bar, and write "
        "a result workbook beside the file (<name>.scored.xlsx). Dropping the same file again "
        "carries on where a run stopped (no contact is charged twice), and brings in the scores "
        "TitanX has sent when a score receiver is connected. The options marked "
        "'everyday' are the ones you may need; the others are for IT and scripts.",
        (
            "csvscore score export.csv",
            "csvscore score export.csv --dry-run       # statuses and a credit estimate, free",
            "csvscore score export.csv --sandbox       # try it against the free simulator",
            "csvscore score export.csv --mapping my.yaml --yes   # no questions (scripts)",
            "csvscore score export.csv --sandbox --yes --wait-scores 60   # and its scores",
        ),
        _SCORE_CODES,
    ),
    "results": Help(
        "Bring the scores of a file you sent into its result workbook: csvscore asks your "
        "team's score receiver for them (nothing is sent, nothing is charged), puts each on its "
        "row with a Call List sheet of the rows to call, best first, and keeps them. Dropping "
        "the same file on the shortcut again does the same. Needs `csvscore receiver connect` "
        "once.",
        (
            "csvscore results export.csv",
            "csvscore results export.csv --wait 10m   # wait for the scores still to come",
            "csvscore results export.csv --json",
        ),
        _RESULTS_CODES,
        "every accepted row has its score, or a final state (no result, mismatch...)",
    ),
    "drop": Help(
        "What the desktop shortcut runs: score each dropped file in turn, as `csvscore score` "
        "does, then list what happened to each, open the results and wait for Enter. With no "
        "files it asks for them to be dragged into the window.",
        ("csvscore drop contacts.csv leads.xlsx", "csvscore drop   # asks for the files"),
        _SCORE_CODES,
    ),
    "login": Help(
        "Enter your TitanX API key, once per computer. TitanX checks it first; it is stored "
        "only if accepted (in the system's password store, else in a file only you can read). "
        "A refused key is asked for again, up to 3 times.",
        ("csvscore login", "csvscore login --key-stdin < key.txt"),
        (E.OK, E.ERROR, E.BAD_INPUT, E.AUTH, E.NETWORK),
    ),
    "logout": Help("Remove the stored API key from this computer.", ("csvscore logout",)),
    "account": Help(
        "Show the credits remaining, the price per phone and the rate limits, live from TitanX "
        "(or the last figures seen, said so, when TitanX cannot be reached).",
        ("csvscore account", "csvscore account --json", "csvscore account --sandbox"),
        _API_CODES,
    ),
    "mappings": Help(
        "List, show or forget the mappings remembered for files with the same columns.",
        ("csvscore mappings list", "csvscore mappings forget 91bc"),
    ),
    "mappings list": Help(
        "List the remembered mappings: name, columns, when and from which file.",
        ("csvscore mappings list",),
    ),
    "mappings show": Help(
        "Print one remembered mapping (YAML, the format --mapping reads).",
        ("csvscore mappings show 91bc", "csvscore mappings show 91bc > my.yaml"),
    ),
    "mappings forget": Help(
        "Delete one remembered mapping: the next file with those columns is mapped afresh.",
        ("csvscore mappings forget 91bc",),
    ),
    "install-shortcut": Help(
        "Put a drag-and-drop shortcut on your Desktop (Windows, macOS, Linux). Run it again "
        "after moving or reinstalling csvscore.",
        ("csvscore install-shortcut", "csvscore install-shortcut --dir ~/Desktop/Tools"),
    ),
    "completion": Help(
        "Print the shell code that completes csvscore's commands and options on Tab.",
        (
            'eval "$(csvscore completion bash)"     # in ~/.bashrc',
            'eval "$(csvscore completion zsh)"      # in ~/.zshrc',
            "csvscore completion fish > ~/.config/fish/completions/csvscore.fish",
        ),
        (E.OK, E.BAD_INPUT),
    ),
    "help": Help(
        "Show the help of a command (the same as COMMAND --help).",
        ("csvscore help score", "csvscore help mappings forget"),
        (E.OK, E.BAD_INPUT),
    ),
    "receiver": Help(
        "Run the team's webhook receiver (on an always-on host) and look after it; on a "
        "laptop, connect to it once.",
        ("csvscore receiver serve", "csvscore receiver status", "csvscore receiver connect URL"),
        _RECEIVER_CODES,
    ),
    "receiver serve": Help(
        "Receive TitanX's signed webhooks and store the scores (needs csvscore[receiver]).",
        ("csvscore receiver serve", "csvscore receiver serve --db postgresql://scores@db/scores"),
        _RECEIVER_CODES,
    ),
    "receiver status": Help(
        "Deliveries, duplicates, quarantine, the last delivery and jobs.",
        ("csvscore receiver status", "csvscore receiver status --json --local"),
        _RECEIVER_CODES,
    ),
    "receiver purge": Help(
        "Delete personal data past its retention (the running receiver does it every 6 hours), "
        "or one contact's data on request.",
        ("csvscore receiver purge", "csvscore receiver purge --contact KEY"),
        _RECEIVER_CODES,
    ),
    "receiver reverify": Help(
        "Check quarantined deliveries again with today's secrets (after fixing a secret).",
        ("csvscore receiver reverify",),
        _RECEIVER_CODES,
    ),
    "receiver reprocess": Help(
        "Read kept-aside deliveries again (after an update of csvscore).",
        ("csvscore receiver reprocess",),
        _RECEIVER_CODES,
    ),
    "receiver token": Help(
        "Read tokens for ops laptops: add, list, revoke.",
        ("csvscore receiver token add ann", "csvscore receiver token list"),
        _RECEIVER_CODES,
    ),
    "receiver token add": Help(
        "Make a read token for NAME and print it once (only its hash is kept).",
        ("csvscore receiver token add ann",),
        _RECEIVER_CODES,
    ),
    "receiver token list": Help(
        "List the tokens: names and dates only.", ("csvscore receiver token list",), _RECEIVER_CODES
    ),
    "receiver token revoke": Help(
        "Revoke NAME's token.", ("csvscore receiver token revoke ann",), _RECEIVER_CODES
    ),
    "receiver secret": Help(
        "Webhook secrets by hand: add, list, remove.",
        ("csvscore receiver secret list", "csvscore receiver secret add --endpoint ann"),
    ),
    "receiver secret add": Help(
        "Store a webhook secret TitanX gave you some other way (asked hidden, or --stdin).",
        ("csvscore receiver secret add", "csvscore receiver secret add --endpoint ann --stdin"),
    ),
    "receiver secret list": Help(
        "Endpoints and their secrets' fingerprints (never the secrets).",
        ("csvscore receiver secret list",),
    ),
    "receiver secret remove": Help(
        "Remove an old secret after a rotation.",
        ("csvscore receiver secret remove FINGERPRINT",),
    ),
    "receiver connect": Help(
        "Use the team's receiver for scores: checks and stores its address and your read token.",
        ("csvscore receiver connect https://scores.example.com",),
        _RECEIVER_CODES,
    ),
    "webhook": Help(
        "TitanX webhook subscriptions for the receiver, run on its host.",
        ("csvscore webhook create --url https://scores.example.com/hooks/titanx",),
        _API_CODES,
    ),
    "webhook create": Help(
        "Subscribe a receiver URL to TitanX's score events; the secret goes straight into the "
        "receiver's secrets file, never to the screen.",
        ("csvscore webhook create --url https://scores.example.com/hooks/titanx",),
        _API_CODES,
    ),
    "webhook enable": Help(
        "Enable a subscription.", ("csvscore webhook enable WEBHOOK_ID",), _API_CODES
    ),
    "webhook disable": Help(
        "Disable a subscription (TitanX keeps it).",
        ("csvscore webhook disable WEBHOOK_ID",),
        _API_CODES,
    ),
    "webhook test": Help(
        "Send a signed synthetic event to the receiver: proves TLS, routing and the secret.",
        ("csvscore webhook test --url https://scores.example.com/hooks/titanx",),
        _API_CODES,
    ),
}


class HelpFormatter(argparse.HelpFormatter):
    """Wraps the description; keeps the epilog's lines (examples, exit codes) as they are, only
    folding a long exit code meaning under itself."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        import textwrap  # only when help is shown

        if text.startswith("examples:"):
            return "\n".join(
                textwrap.fill(line, width, subsequent_indent=" " * 7)
                if _CODE_LINE.match(line) and len(line) > width
                else line
                for line in text.split("\n")
            )
        return "\n".join(
            textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent)
            for p in text.split("\n")
        )


_CODE_LINE = re.compile(r"^  [ \d]{3}  ")


def epilog(help_: Help) -> str:
    """The examples, then the exit codes with their meanings."""
    lines = ["examples:", *(f"  {line}" for line in help_.examples), "", "exit codes:"]
    for code in help_.codes:
        # 0's meaning is a scoring run's; for the other commands it simply means done.
        meaning = EXIT_CODE_MEANINGS[code] if E.CANCELLED in help_.codes or code else "done"
        if code == E.OK and help_.ok:
            meaning = help_.ok
        lines.append(f"  {int(code):>3}  {meaning}")
    return "\n".join(lines)


def decorate(parser: argparse.ArgumentParser, path: str = "") -> None:
    """Give ``parser`` and every sub-command below it its description, examples and exit codes."""
    known = COMMANDS.get(path)
    if known is not None:
        parser.description = known.description
        parser.epilog = epilog(known)
        parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                decorate(sub, f"{path} {name}".strip())


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every sub-command's parser by its path ("score", "mappings forget")."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found[f"{path} {name}".strip()] = sub
                    walk(sub, f"{path} {name}")

    walk(parser, "")
    return found
