"""Interactive review before anything is sent: the mapping, then the plan and its cost.

Only used when a person is at the terminal and ``--yes`` was not given. Streams are passed in,
so tests drive it with text and the real CLI is driven through a pseudo-terminal.

The screen is built so that what matters is on it: the table leaves out unmapped columns (one
line lists them; ``a`` shows them all), the example under it is made from this file's own
columns and the field that is missing, and the answer to a change is printed right above the
prompt, after the redrawn table, with the changed rows marked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TextIO

from csvscore.cli.edits import EditError, is_edit, parse_edit, parse_field
from csvscore.cli.render import (
    CHANGED_MARK,
    FEW_UNMAPPED,
    UNMAPPED_MARK,
    Style,
    fields_list,
    mapping_table,
    money,
    shown_columns,
)
from csvscore.cli.wrap import fit, terminal_width
from csvscore.errors import Cancelled
from csvscore.fields import BY_NAME, FULL_NAME, PHONE_SLOTS
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.mapping.value_fit import has_phone_numbers, misfit
from csvscore.scoring.plan import Plan

__all__ = [
    "PROMPT",
    "ReviewCancelled",
    "apply_edit",
    "confirm",
    "example_edit",
    "fields_help",
    "help_text",
    "missing_text",
    "parse_field",
    "plan_text",
    "review_mapping",
    "terminal_width",
]

PROMPT = "Enter = accept, or a change: "
# The column values of a file by 0-based column index (the first ones are enough).
Values = Callable[[int], Sequence[str]]


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


def apply_edit(mapping: Mapping, column: int, field: str | None) -> str:
    """Pin 1-based ``column`` to ``field`` (None = unmapped); return a sentence saying what changed.

    One-to-one holds: a column that had ``field`` before gives it up and goes to unmappedFields.
    """
    if not 1 <= column <= len(mapping.columns):
        raise EditError(f"There is no column {column}; columns are 1 to {len(mapping.columns)}.")
    if field is not None and field not in BY_NAME and field != FULL_NAME:
        raise EditError(f"'{field}' is not a TitanX field. Type ? to list them.")
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
    head = f"Column {column} '{target.header}' → {field or 'unmappedFields'}"
    return "; ".join([head, *said]) + "."


def _unmap(c: ColumnMapping, reason: str) -> None:
    c.field = None
    c.review = False
    c.method = "override"
    c.confidence = 1.0
    c.reason = reason
    if not c.unmapped_key:
        c.unmapped_key = c.header or f"Column {c.index + 1}"


def fields_help(width: int | None = None) -> str:
    """The ``?`` answer: every field, plus the two pseudo-fields the review accepts."""
    return fields_list(
        width,
        [
            (FULL_NAME, "A full-name column: csvscore splits it into first and last name."),
            ("-", "Leave the column unmapped (it is still sent, in unmappedFields)."),
        ],
    )


_LOOKS_LIKE = re.compile(r"looks like (\w+)")


def example_edit(mapping: Mapping, values: Values | None = None) -> tuple[int, str]:
    """A change worth showing as the example: this file's column number and a field.

    In order: an unmapped column whose values fit a required field that is missing; a
    review-flagged column and the field it looks like; an unmapped column of phone numbers and
    a free phone slot; an unmapped column and a missing name field; a phone column moved to a
    free slot; else the first mapped column and its own field. Never a column for a field its
    values do not fit (no date column as the example for a missing phone).
    """
    missing = mapping.missing_required()
    unmapped = [c for c in mapping.columns if c.field is None]
    taken = {c.field for c in mapping.columns}
    free_slot = next((slot for slot in PHONE_SLOTS if slot not in taken), None)

    def column_values(c: ColumnMapping) -> Sequence[str]:
        return values(c.index) if values is not None else [c.sample]

    def fits(c: ColumnMapping, field: str) -> bool:
        seen = column_values(c)
        return any(v.strip() for v in seen) and misfit(field, seen) is None

    def could_hold(c: ColumnMapping, field: str) -> bool:
        if field == "phone":
            return fits(c, "phone")
        # A name: some text that is not a number, a phone or an address of some kind.
        sample = c.sample.strip()
        return bool(sample) and not any(ch.isdigit() for ch in sample) and "@" not in sample

    for field in missing:
        for c in unmapped:
            if could_hold(c, field):
                return c.index + 1, field
    for c in mapping.review():
        m = _LOOKS_LIKE.search(c.reason)
        if m and m.group(1) in BY_NAME:
            return c.index + 1, m.group(1)
    if free_slot:
        for c in unmapped:
            if fits(c, "phone"):
                return c.index + 1, free_slot
        for c in mapping.columns:
            if c.field in PHONE_SLOTS and c.field != "phone":
                return c.index + 1, free_slot
    first = next((c for c in mapping.columns if c.field), mapping.columns[0])
    return first.index + 1, first.field or "firstName"


def help_text(
    mapping: Mapping,
    values: Values | None = None,
    *,
    show_all: bool = False,
    width: int | None = None,
) -> str:
    """The lines under the table: what Enter does, and examples made from this very file."""
    n, field = example_edit(mapping, values)
    hidden = len(mapping.columns) - len(shown_columns(mapping, show_all=show_all))
    if hidden:
        a_key = ("a", f"show all {len(mapping.columns)} columns")
    elif show_all and len(mapping.unmapped()) > FEW_UNMAPPED:
        a_key = ("a", "show only the mapped columns")
    else:
        a_key = ("", "")
    keys = [
        (f"{n}={field}", f"send column {n} as {field}"),
        (f"{n}=-", f"leave column {n} unmapped"),
        a_key,
        ("?", "list the fields"),
        ("q", "quit, send nothing"),
    ]
    keys = [k for k in keys if k[0]]
    key_width = max(len(k) for k, _ in keys) + 2
    cells = [f"{k:<{key_width}}{what}" for k, what in keys]
    # Two per line, in columns, when the window has room for that; else one per line.
    cell_width = max(len(cell) for cell in cells[::2]) + 3
    per_line = 2 if 2 + cell_width + max(len(c) for c in cells) < (width or 200) else 1
    first = "To change a column, type its number=field:"
    lines = [first if mapping.missing_required() else f"If this is right, press Enter. {first}"]
    for i in range(0, len(cells), per_line):
        row = cells[i : i + per_line]
        lines.append("  " + "".join(f"{cell:<{cell_width}}" for cell in row[:-1]) + row[-1])
    return "\n".join(lines)


def missing_text(mapping: Mapping, values: Values | None = None) -> str:
    """Why Enter does not go on while a required field has no column, and what to do."""
    missing = mapping.missing_required()
    if "phone" in missing and values is not None:
        columns = [values(c.index) for c in mapping.columns]
        if not has_phone_numbers(columns):
            where = (
                " LinkedIn connection exports never do: export these contacts from your CRM "
                "instead."
                if mapping.profile == "linkedin"
                else " Export the contacts again with their phone numbers."
            )
            return (
                "This export has no phone numbers, and TitanX needs a US phone for every "
                f"contact.{where} Type q to quit."
            )
    n, field = example_edit(mapping, values)
    return (
        f"Nothing maps to {', '.join(missing)}: TitanX would reject every row. Map a column to "
        f"it (e.g. {n}={field}) or type q to quit."
    )


def review_mapping(
    mapping: Mapping,
    *,
    stdin: TextIO,
    stdout: TextIO,
    style: Style,
    threshold: float,
    width: int | None = None,
    values: Values | None = None,
) -> bool:
    """Show the table until the user accepts; return True if anything was changed.

    ``width`` is the terminal's width (default: asked from ``stdout``), so the table fits the
    window instead of wrapping. ``values`` gives a column's values: mapping a column whose
    values do not fit the field asks first, and a missing phone is explained. Enter does not
    go on while a required field has no column. Raises :class:`ReviewCancelled` on ``q`` or
    end of input.
    """
    width = width or terminal_width(stdout)
    changed = False
    show = True
    show_all = False
    marks: dict[int, str] = {}
    said = ""  # the answer to the last change, printed right above the prompt

    def out(text: str, paint: Callable[[str], str] | None = None) -> None:
        stdout.write(fit(text, width, paint) + "\n")

    stdout.write("\n")  # apart from what was printed before (the file's description)
    while True:
        if show:
            table = mapping_table(
                mapping, style, threshold=threshold, width=width, show_all=show_all, marks=marks
            )
            stdout.write(table + "\n\n")
            if mapping.missing_required():  # what to do about it, before the keys
                out(missing_text(mapping, values), style.bad)
                stdout.write("\n")
            out(help_text(mapping, values, show_all=show_all, width=width))
            if said:
                out(said, style.good)
        show, said, marks = True, "", {}
        answer = _ask(PROMPT, stdin, stdout).strip()
        if answer == "":
            if not mapping.missing_required():
                return changed
            out(missing_text(mapping, values), style.bad)
            show = False
            continue
        if answer.lower() in ("q", "quit", "n", "no"):
            raise ReviewCancelled("you quit the review")
        if answer in ("?", "help", "h"):
            stdout.write(fields_help(width) + "\n\n")
            show = False
            continue
        if answer.lower() in ("a", "all"):
            show_all = not show_all
            continue
        try:
            if not is_edit(answer):
                raise EditError(
                    f"Did not understand {answer!r}. Type e.g. "
                    f"{'='.join(map(str, example_edit(mapping, values)))} or a number=-, "
                    "? for the fields, q to quit, or just Enter to accept."
                )
            edit = parse_edit(answer, mapping)
        except EditError as exc:
            out(str(exc), style.warn)
            show = False
            continue
        if edit.field is not None and values is not None:
            problem = misfit(edit.field, values(edit.column - 1))
            if problem and not confirm(
                f"{problem[:1].upper()}{problem[1:]}. Map anyway?", stdin=stdin, stdout=stdout
            ):
                out(f"Column {edit.column} left as it was.")
                show = False
                continue
        before = {c.index: c.field for c in mapping.columns}
        said = apply_edit(mapping, edit.column, edit.field)
        marks = {edit.column - 1: CHANGED_MARK}
        for c in mapping.columns:
            if c.index != edit.column - 1 and before[c.index] != c.field:
                marks[c.index] = UNMAPPED_MARK
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
