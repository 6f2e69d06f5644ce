"""Interactive review before anything is sent: the mapping, then the plan and its cost.

Only used when a person is at the terminal and ``--yes`` was not given. Streams are passed in,
so tests drive it with text and the real CLI is driven through a pseudo-terminal.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from csvscore.contacts import PreparedRow
from csvscore.errors import Cancelled
from csvscore.fields import BY_NAME, FULL_NAME
from csvscore.mapping import ColumnMapping, Mapping
from csvscore.render import Style, fields_list, mapping_table, money

_EDIT = re.compile(r"^\s*(\d+)\s*=\s*(\S*)\s*$")


class ReviewCancelled(Cancelled):
    """The user declined at the review; nothing was sent."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{message}; nothing was sent")


def _ask(prompt: str, stdin: TextIO, stdout: TextIO) -> str:
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if line == "":  # EOF: treat like a refusal rather than blocking or looping forever
        raise ReviewCancelled("no answer (end of input)")
    return line.rstrip("\r\n")


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


def review_mapping(
    mapping: Mapping, *, stdin: TextIO, stdout: TextIO, style: Style, threshold: float
) -> bool:
    """Show the table until the user accepts; return True if anything was changed."""
    changed = False
    show = True
    while True:
        if show:
            stdout.write(mapping_table(mapping, style, threshold=threshold) + "\n\n")
        show = True
        answer = _ask(
            "Enter to accept, `7=phone2` to change column 7, `7=-` to leave it unmapped, "
            "? for the fields, q to quit: ",
            stdin,
            stdout,
        ).strip()
        if answer == "":
            return changed
        if answer.lower() in ("q", "quit", "n", "no"):
            raise ReviewCancelled("cancelled at the mapping review")
        if answer == "?":
            stdout.write(fields_list() + "\n\n")
            show = False
            continue
        m = _EDIT.match(answer)
        if not m:
            stdout.write(style.warn(f"Did not understand {answer!r}. Example: 7=phone2") + "\n")
            show = False
            continue
        col, name = int(m.group(1)), m.group(2)
        field = None if name in ("-", "", "none", "null") else name
        try:
            said = apply_edit(mapping, col, field)
        except ValueError as exc:
            stdout.write(style.warn(str(exc)) + "\n")
            show = False
            continue
        stdout.write(style.good(said) + "\n\n")
        changed = True


@dataclass
class Plan:
    to_send: int
    skipped: int
    duplicates: int
    batches: int
    phones: int
    estimated_credits: Decimal | None
    skip_reasons: list[tuple[str, int]]


def make_plan(prepared: list[PreparedRow], batch_size: int, cost_per_phone: Decimal | None) -> Plan:
    send = [p for p in prepared if p.status is None]
    reasons = Counter(_reason_kind(p.reason) for p in prepared if p.status == "skipped")
    phones = sum(p.phone_count for p in send)
    return Plan(
        to_send=len(send),
        skipped=sum(1 for p in prepared if p.status == "skipped"),
        duplicates=sum(1 for p in prepared if p.status == "duplicate"),
        batches=-(-len(send) // batch_size) if send else 0,
        phones=phones,
        estimated_credits=cost_per_phone * phones if cost_per_phone is not None else None,
        skip_reasons=reasons.most_common(5),
    )


def _reason_kind(reason: str) -> str:
    """Group reasons like "no valid US phone: '123' ..." by their first clause."""
    return reason.split(":")[0].split(";")[0].strip() or "no reason given"


def plan_text(plan: Plan) -> str:
    lines = [
        f"Ready to send {plan.to_send} contacts in {plan.batches} batch(es), "
        f"{plan.phones} phone numbers.",
    ]
    if plan.skipped:
        lines.append(f"Skipped locally (TitanX would reject them): {plan.skipped}")
        lines.extend(f"    {n:>6}  {kind}" for kind, n in plan.skip_reasons)
    if plan.duplicates:
        lines.append(f"Duplicates not sent (would be charged twice): {plan.duplicates}")
    est = money(plan.estimated_credits) if plan.estimated_credits is not None else "unknown"
    lines.append(f"Estimated credits: {est}")
    return "\n".join(lines)


def confirm(question: str, *, stdin: TextIO, stdout: TextIO, default: bool = False) -> bool:
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
