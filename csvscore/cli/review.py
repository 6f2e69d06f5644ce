"""Interactive review before anything is sent: the mapping, then the plan and its cost.

Only used when a person is at the terminal and ``--yes`` was not given. Streams are passed in,
so tests drive it with text and the real CLI is driven through a pseudo-terminal.
"""

from __future__ import annotations

import os
import re
from typing import TextIO

from csvscore.cli.render import Style, fields_list, mapping_table, money
from csvscore.errors import Cancelled
from csvscore.fields import ALL_FIELDS, BY_NAME, FULL_NAME, UNMAPPED_FIELDS
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.scoring.plan import Plan

_EDIT = re.compile(r"^\s*(\d+)\s*=\s*(\S*)\s*$")
# What a person may type after "7=" to leave the column unmapped.
_UNMAP_WORDS = frozenset({"", "-", "none", "null", UNMAPPED_FIELDS.name.lower()})
# Field names as typed, case-insensitively ("7=Phone2" means phone2).
_FIELD_BY_LOWER = {name.lower(): name for name in (*BY_NAME, FULL_NAME)}

# Shown under the table each time it is drawn; short lines so an 80-column window fits them.
HELP = (
    "If this is right, press Enter. To change a column, type its number=field:\n"
    "  7=phone2   send column 7 as phone2        7=-   leave column 7 unmapped\n"
    "  ?          list the fields                q     quit without sending anything"
)
PROMPT = "Enter = accept, or a change: "


class ReviewCancelled(Cancelled):
    """The user declined at the review; nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Stopped ({message}): nothing was sent.")


def _ask(prompt: str, stdin: TextIO, stdout: TextIO) -> str:
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if line == "":  # EOF: treat like a refusal rather than blocking or looping forever
        raise ReviewCancelled("no answer (end of input)")
    return line.rstrip("\r\n")


def parse_field(name: str) -> str | None:
    """The field a person typed after ``7=``: exact name in any case, or None for "unmapped".

    Raises ValueError naming the problem when it is no field.
    """
    key = name.strip().lower()
    if key in _UNMAP_WORDS:
        return None
    if key in _FIELD_BY_LOWER:
        return _FIELD_BY_LOWER[key]
    raise ValueError(f"'{name}' is not a TitanX field; type ? to list them")


def apply_edit(mapping: Mapping, column: int, field: str | None) -> str:
    """Pin 1-based ``column`` to ``field`` (None = unmapped); return a sentence saying what changed.

    One-to-one holds: a column that had ``field`` before gives it up and goes to unmappedFields.
    """
    if not 1 <= column <= len(mapping.columns):
        raise ValueError(f"there is no column {column}; columns are 1 to {len(mapping.columns)}")
    if field is not None and field not in BY_NAME and field != FULL_NAME:
        raise ValueError(f"'{field}' is not a TitanX field; type ? to list them")
    target = mapping.columns[column - 1]
    said = []
    if field is not None:
        for other in mapping.columns:
            if other is not target and other.field == field:
                _unmap(other, f"field {field} given to column {column} in review")
                said.append(f"column {other.index + 1} '{other.header}' is now unmapped")
    if field is None:
        _unmap(target, "left unmapped in review")
    else:
        target.field = field
        target.review = False
    target.confidence = 1.0
    target.method = "override"
    target.reason = "set in review"
    head = f"column {column} '{target.header}' → {field or 'unmappedFields'}"
    return "; ".join([head, *said])


def _unmap(c: ColumnMapping, reason: str) -> None:
    c.field = None
    c.review = False
    c.method = "override"
    c.confidence = 1.0
    c.reason = reason
    if not c.unmapped_key:
        c.unmapped_key = c.header or f"Column {c.index + 1}"


def terminal_width(stream: TextIO) -> int | None:
    """Columns of the terminal ``stream`` writes to, or None when it is not a terminal."""
    try:
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):  # StringIO, pipes, closed streams
        return None


def fields_help() -> str:
    """The ``?`` answer: every field, plus the two pseudo-fields the review accepts."""
    width = max(len(f.name) for f in ALL_FIELDS)  # as fields_list pads them
    return (
        f"{fields_list()}\n"
        f"{FULL_NAME:<{width}}  A full-name column: csvscore splits it into first and last name.\n"
        f"{'-':<{width}}  Leave the column unmapped (it is still sent, in unmappedFields)."
    )


def review_mapping(
    mapping: Mapping,
    *,
    stdin: TextIO,
    stdout: TextIO,
    style: Style,
    threshold: float,
    width: int | None = None,
) -> bool:
    """Show the table until the user accepts; return True if anything was changed.

    ``width`` is the terminal's width (default: asked from ``stdout``), so the table fits the
    window instead of wrapping. Raises :class:`ReviewCancelled` on ``q`` or end of input.
    """
    width = width or terminal_width(stdout)
    changed = False
    show = True
    stdout.write("\n")  # apart from what was printed before (the file's description)
    while True:
        if show:
            table = mapping_table(mapping, style, threshold=threshold, width=width)
            stdout.write(table + "\n\n" + HELP + "\n")
        show = True
        answer = _ask(PROMPT, stdin, stdout).strip()
        if answer == "":
            return changed
        if answer.lower() in ("q", "quit", "n", "no"):
            raise ReviewCancelled("you quit the review")
        if answer in ("?", "help", "h"):
            stdout.write(fields_help() + "\n\n")
            show = False
            continue
        m = _EDIT.match(answer)
        if not m:
            stdout.write(
                style.warn(
                    f"Did not understand {answer!r}. Type e.g. 7=phone2 or 7=-, "
                    "? for the fields, q to quit, or just Enter to accept."
                )
                + "\n"
            )
            show = False
            continue
        try:
            said = apply_edit(mapping, int(m.group(1)), parse_field(m.group(2)))
        except ValueError as exc:
            stdout.write(style.warn(str(exc)) + "\n")
            show = False
            continue
        stdout.write(style.good(said) + "\n\n")
        changed = True


def plan_text(plan: Plan) -> str:
    """The plan as the lines shown before "Send N contacts to TitanX now?"."""
    of_rows = f" (of {plan.rows} rows)" if plan.rows else ""
    lines = []
    if plan.done_rows:
        lines.append(
            f"Resuming: {plan.done_batches} "
            f"{'batch was' if plan.done_batches == 1 else 'batches were'} already sent "
            f"({plan.done_rows} rows); they are not sent again."
        )
    lines.append(
        f"Ready to send {plan.to_send} contacts{of_rows} in {plan.batches} "
        f"{'batch' if plan.batches == 1 else 'batches'}, {plan.phones} phone numbers."
    )
    if plan.skipped:
        lines.append(f"Skipped, not sent (TitanX would reject them): {plan.skipped}")
        lines.extend(f"    {n:>6}  {kind}" for kind, n in plan.skip_reasons)
    if plan.duplicates:
        lines.append(f"Duplicates, not sent (they would be charged twice): {plan.duplicates}")
    if plan.estimated_credits is not None:
        line = f"Estimated credits: about {money(plan.estimated_credits)}"
        upper = plan.upper_credits
        if upper is not None:
            line += f" (up to {money(upper)} if TitanX counts every number sent)"
        lines.append(line)
    else:
        lines.append(
            "Estimated credits: unknown (csvscore learns TitanX's price per phone for each "
            "scoring type from your first run with it)"
        )
    return "\n".join(lines)


def confirm(question: str, *, stdin: TextIO, stdout: TextIO, default: bool = False) -> bool:
    """Ask a yes/no question until answered; Enter takes ``default``. EOF: ReviewCancelled."""
    hint = "[Y/n]" if default else "[y/N]"
    while True:
        answer = _ask(f"{question} {hint} ", stdin, stdout).strip().lower()
        if answer == "":
            return default
        if answer in ("y", "yes"):
            return True
        if answer in ("n", "no"):
            return False
        stdout.write("Please answer y or n.\n")
