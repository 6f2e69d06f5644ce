"""Text output for the terminal: the mapping table, run summaries, colour.

Pure functions returning strings, so tests read them directly. The progress bar is in
:mod:`csvscore.cli.progress` (``ProgressLine`` is re-exported here); fitting text to the
window is :mod:`csvscore.cli.wrap`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from collections.abc import Mapping as EnvMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from csvscore import results as rs
from csvscore.cli.progress import ProgressLine
from csvscore.cli.wrap import cell_len, fit, pad, wrap
from csvscore.fields import ALL_FIELDS, FULL_NAME
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.read.table import Table
from csvscore.results import RunSummary

if TYPE_CHECKING:
    from csvscore.pipeline import ScoreOutcome

__all__ = [
    "ProgressLine",
    "Style",
    "describe_table",
    "field_label",
    "fields_list",
    "mapping_table",
    "money",
    "style_for",
    "summary_lines",
]


@dataclass(frozen=True)
class Style:
    """ANSI colour when the stream is a terminal and NO_COLOR is unset; plain text otherwise."""

    enabled: bool = False

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def warn(self, text: str) -> str:
        return self._wrap("33", text)

    def bad(self, text: str) -> str:
        return self._wrap("31", text)

    def good(self, text: str) -> str:
        return self._wrap("32", text)

    def changed(self, text: str) -> str:
        return self._wrap("1;32", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)


def _forced(env: EnvMapping[str, str]) -> bool:
    # force-color.org: present and not empty forces colour; "0"/"false" are read as "off" too,
    # as Node and pytest do, so FORCE_COLOR=0 never turns colour *on*.
    value = env.get("FORCE_COLOR", "").strip().lower()
    return value not in ("", "0", "false", "no")


def style_for(
    stream: TextIO,
    env: EnvMapping[str, str] = os.environ,
    *,
    os_name: str = os.name,
    fix_console: Callable[[], bool] | None = None,
) -> Style:
    """Colour for a terminal that shows it: not with NO_COLOR, TERM=dumb, a pipe or a file.

    FORCE_COLOR turns it on even for a pipe (CI logs, ``less -R``); NO_COLOR wins over it. On
    Windows the console is switched to understand escape codes first (colorama's
    ``just_fix_windows_console``; ``fix_console`` stands in for it in tests); a console where
    that is not possible gets plain text.
    """
    if "NO_COLOR" in env:
        return Style(False)
    forced = _forced(env)
    if not forced:
        if env.get("TERM") == "dumb":
            return Style(False)
        isatty = getattr(stream, "isatty", None)
        if not (isatty and isatty()):
            return Style(False)
    if (
        os_name == "nt"
        and not _windows_terminal(env)
        and not (fix_console or _fix_windows_console)()
    ):
        return Style(False)
    return Style(True)


def _windows_terminal(env: EnvMapping[str, str]) -> bool:
    """Windows Terminal and ANSICON understand escape codes as they are."""
    return "WT_SESSION" in env or "ANSICON" in env


def _fix_windows_console() -> bool:
    """Turn on escape codes in a classic Windows console (a no-op in Windows Terminal)."""
    try:
        # Imported only here, on Windows: the package is a dependency on Windows only.
        from colorama import just_fix_windows_console
    except ImportError:
        return False
    try:
        just_fix_windows_console()
    except Exception:  # an odd console (redirected, no console at all): plain text
        return False
    return True


def describe_table(table: Table) -> str:
    """What was read: size and header position, then the reader's own notes (encoding...)."""
    where = "line" if table.format == "csv" else "row"
    lines = [
        f"{table.path.name}: {len(table.rows)} rows, {len(table.headers)} columns, "
        f"header on {where} {table.header_row}."
    ]
    lines.extend(f"  {note}" for note in table.notes)
    return "\n".join(lines)


def field_label(field: str | None) -> str:
    if field is None:
        return "(unmappedFields)"
    if field == FULL_NAME:
        return "fullName → first+last"
    return field


# A mark at the end of a row of the review table that needs a look.
REVIEW_MARK = "  ← review"
# What the person just changed, said in the Method column of its row (in the change colour):
# no longer than "override", the method of every such row, so marking a row takes no room from
# the headers and samples.
CHANGED_MARK = "changed"
UNMAPPED_MARK = "unmapped"
# With this many unmapped columns or fewer, the review shows them all: a one-line summary
# would save no room.
FEW_UNMAPPED = 3


def _column_widths(
    width: int | None, rows: list[ColumnMapping], marks: EnvMapping[int, str]
) -> tuple[int, int, int]:
    """Widths (in cells) of the Column, Sample and Field columns so a row fits ``width``.

    None: the full 28/24/24. The number, confidence and method never shrink, and the field
    column is as wide as its longest label; the header and the sample share what is left (the
    sample matters: it is how a person checks a phone column), and the sample disappears (0)
    when fewer than 8 cells would be left for it.
    """
    if width is None:
        return 28, 24, 24
    field = max([len("→ Field"), *(2 + len(field_label(c.field)) for c in rows)])

    def tail(c: ColumnMapping) -> int:
        if c.index in marks:  # the mark stands in the method's place (see mapping_table)
            return len(marks[c.index])
        return len(c.method) + (len(REVIEW_MARK) if c.review else 0)

    method = max([len("Method"), *(tail(c) for c in rows)])
    # "###  " + column + "  " + sample + "  " + field + "  conf  " + method; keep the last
    # cell free because some terminals wrap a line that reaches the right edge.
    avail = width - 1 - (3 + 2 + 2 + field + 2 + 4 + 2 + method)
    longest = max([len("Column"), *(cell_len(c.header or "(blank)") for c in rows)])
    widest = max([len("Sample"), *(cell_len(" ".join(c.sample.split())) for c in rows)])
    column = min(28, longest)
    sample = min(24, widest)
    if column + 2 + sample <= avail:
        return column, sample, field
    # Share: the header gets at most half (but never less than 12 when it needs it).
    column = max(6, min(column, max(12, avail // 2)))
    sample = min(sample, avail - column - 2)
    if sample < 8:
        return max(6, min(28, longest, avail)), 0, field
    return column, sample, field


def shown_columns(
    mapping: Mapping, *, show_all: bool, keep: Collection[int] = ()
) -> list[ColumnMapping]:
    """The review's rows: every column, or (by default) all but the unmapped ones.

    Mapped, review-flagged and just-changed columns (``keep``: indexes) are always shown; the
    unmapped ones are listed on one line under the table instead, unless there are only a few
    or a required field has no column yet.
    """
    unmapped = [c for c in mapping.columns if c.field is None and not c.review]
    # While a required field has no column, the unmapped columns are where it may be: shown.
    if show_all or len(unmapped) <= FEW_UNMAPPED or mapping.missing_required():
        return list(mapping.columns)
    return [c for c in mapping.columns if c.field is not None or c.review or c.index in keep]


def mapping_table(
    mapping: Mapping,
    style: Style,
    *,
    threshold: float,
    width: int | None = None,
    show_all: bool = True,
    marks: EnvMapping[int, str] | None = None,
) -> str:
    """The review table: column number, header, sample, field, confidence, method.

    With ``width`` (the terminal's columns) the header and sample columns shrink, and the
    sentences under the table wrap, so nothing wraps mid-row in a narrow window. Widths are in
    display cells: a CJK header or an emoji sample keeps the columns straight. ``show_all``
    False leaves unmapped columns out of the table (see :func:`shown_columns`); ``marks`` puts
    a word in the Method column of some rows (index -> :data:`CHANGED_MARK` or
    :data:`UNMAPPED_MARK`).
    """
    marks = marks or {}
    rows = shown_columns(mapping, show_all=show_all, keep=marks.keys())
    cw, sw, fw = _column_widths(width, rows, marks)
    sample_head = pad("Sample", sw) + "  " if sw else ""
    lines = [
        style.bold(
            f"{'#':>3}  {pad('Column', cw)}  {sample_head}{'→ Field':<{fw}}  {'Conf':>4}  Method"
        )
    ]
    for c in rows:
        label = field_label(c.field)
        sample = pad(c.sample, sw) + "  " if sw else ""
        # A row the person just changed says so where its method would be: the method is
        # "override" for every such row, and a mark after it cost the header and sample room.
        method = marks.get(c.index, c.method)
        row = (
            f"{c.index + 1:>3}  {pad(c.header or '(blank)', cw)}  "
            f"{sample}→ {label:<{fw - 2}}  {c.confidence:>4.2f}  {method}"
        )
        if c.index in marks:
            row = style.changed(row)
        elif c.review:
            row = style.warn(row + REVIEW_MARK)
        elif c.field is None:
            row = style.dim(row)
        lines.append(row)
    unmapped = mapping.unmapped()
    hidden = [c for c in unmapped if c not in rows]
    if hidden:
        lines.append("")
        lines.extend(style.dim(line) for line in _fit(_hidden_line(hidden, width), width))
    elif unmapped:
        lines.append("")
        keys = ", ".join(c.unmapped_key for c in unmapped)
        lines.extend(_fit(f"Unmapped, sent in unmappedFields ({len(unmapped)}): {keys}", width))
    for c in mapping.review():
        text = f"Review column {c.index + 1} '{c.header}': {c.reason or 'low confidence'}"
        lines.extend(style.warn(line) for line in _fit(text, width))
    missing = mapping.missing_required()
    lines.append("")
    if missing:
        text = (
            "Missing required: "
            + ", ".join(missing)
            + " (TitanX rejects contacts without first name, last name and a US phone)"
        )
        lines.extend(style.bad(line) for line in _fit(text, width))
    else:
        lines.append(style.good("Required fields: all mapped (firstName, lastName, a phone)."))
    for note in mapping.notes:
        lines.extend(_fit(note, width))
    return "\n".join(lines)


# The collapsed unmapped columns take at most about this many lines under the table.
HIDDEN_LINES = 2


def _hidden_line(hidden: list[ColumnMapping], width: int | None) -> str:
    """The unmapped columns left out of the table, numbered, cut to about two lines."""
    head = f"Unmapped, sent in unmappedFields ({len(hidden)}; type a to show them): "
    budget = HIDDEN_LINES * ((width or 100) - 1) - len(head) - len(", and 99 more")
    # A no-break space keeps each number with its header when the line wraps.
    names = [f"{c.index + 1}\u00a0{c.header or '(blank)'}" for c in hidden]
    shown: list[str] = []
    for name in names:
        if shown and sum(cell_len(n) + 2 for n in [*shown, name]) > budget:
            break
        shown.append(name)
    rest = len(names) - len(shown)
    return head + ", ".join(shown) + (f", and {rest} more" if rest else "")


def _fit(text: str, width: int | None) -> list[str]:
    return fit(text, width).split("\n")


def fields_list(width: int | None = None, extra: Sequence[tuple[str, str]] = ()) -> str:
    """Every field and what it holds, one per line; ``extra`` (name, description) pairs after.

    In a window of ``width`` cells a long description goes on under itself, broken at words,
    instead of the terminal cutting it mid-word back in the first column.
    """
    entries = [(f.name, f.description) for f in ALL_FIELDS] + list(extra)
    names = max(len(name) for name, _ in entries)
    room = (width or 0) - names - 2
    lines: list[str] = []
    for name, description in entries:
        text = f"{name:<{names}}  {description}"
        if not width or cell_len(text) < width:
            lines.append(text)
            continue
        if room < 24:  # too narrow for two columns: the description under the name
            lines.append(name)
            lines.extend(wrap("    " + description, width))
            continue
        parts = [part.strip() for part in wrap(description, room)]
        lines.append(f"{name:<{names}}  {parts[0]}")
        lines.extend(" " * (names + 2) + part for part in parts[1:])
    return "\n".join(lines)


def money(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    return f"{value.normalize():f}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def summary_lines(
    s: RunSummary, style: Style, width: int | None = None, failures: Sequence[str] = ()
) -> str:
    """The run's summary: what happened in one sentence, then the counts, credits, next steps.

    The first line never claims more than happened: contacts "sent" are those TitanX took
    (accepted, rejected, or sent without an answer); those it never got are "not sent yet".
    ``width``: wrap to the window (None: one line per sentence, for pipes and logs).
    ``failures``: why batches failed in this run (TitanX's refusal, a wrong address), said on
    the terminal too, not only in the workbook.
    """
    lines: list[tuple[str, Callable[[str], str] | None]] = []
    if s.dry_run:
        lines.append(("Dry run: nothing was sent.", style.bold))
        unsure = f", {s.unconfirmed} of them unconfirmed" if s.unconfirmed else ""
        before = f", sent before {s.sent_before}{unsure}" if s.sent_before else ""
        lines.append(
            (
                f"  Ready to send {s.ready}, skipped {s.skipped}, duplicates {s.duplicates}"
                f"{before} (of {s.rows_read} rows).",
                None,
            )
        )
        est = money(s.estimated_credits) if s.estimated_credits is not None else "unknown"
        lines.append((f"  Phones to score {s.estimated_phones}; estimated credits {est}.", None))
        return _join(lines, width)
    sent = s.accepted + s.rejected + s.unconfirmed
    left = s.not_sent + s.failed
    credits = f"{money(s.credits_charged_total)} credits"
    if s.credits_unknown:  # never shown as 0: a batch whose charge TitanX did not report
        credits = "at least " + credits if s.credits_charged_total else "charge not known yet"
    did = f"{_plural(sent, 'contact')} sent ({credits})"
    # A re-drop must not read as a second charge: say what this run added, or that it added none.
    if s.sent_before == sent and sent:
        did = f"{_plural(sent, 'contact')} sent before ({credits}), none in this run"
    elif s.sent_before:
        did = (
            f"{_plural(sent, 'contact')} sent ({credits} in all), {sent - s.sent_before} of "
            f"them in this run ({money(s.credits_charged)} credits)"
        )
    if s.interrupted:
        lines.append(
            (
                f"Stopped. {did}; {left} not sent yet. Drop the same file again to send the rest.",
                style.bold,
            )
        )
    elif s.stop_reason:
        lines.append((f"Stopped early. {did}; {left} not sent yet.", style.bold))
        lines.append((f"  Why: {_sentence(s.stop_reason)}", style.bad))
        lines.append((f"  What to do: {rs.stop_advice(s)}", style.bad))
    elif left:
        lines.append((f"Finished with problems. {did}; {left} not sent.", style.bold))
        for reason in failures[:3]:
            lines.append((f"  Why: {_sentence(reason)}", style.bad))
        if failures:
            lines.append((f"  What to do: {rs.STOP_ADVICE_OTHER}", style.bad))
    elif s.unconfirmed:
        lines.append(
            (f"Finished. {did}; {s.unconfirmed} of them got no answer (see below).", style.bold)
        )
    elif sent and s.sent_before == sent:
        lines.append(
            (
                f"Done. Nothing new to send: {_plural(sent, 'contact')} sent before ({credits}).",
                style.bold,
            )
        )
    elif sent:
        lines.append((f"Done. {did}.", style.bold))
    else:
        lines.append(("Done. Nothing needed sending.", style.bold))
    counts = [
        ("accepted", s.accepted, True),
        ("rejected", s.rejected, True),
        ("skipped", s.skipped, True),
        ("duplicates", s.duplicates, True),
        ("unconfirmed", s.unconfirmed, False),
        ("failed", s.failed, False),
        ("not sent", s.not_sent, False),
    ]
    lines.append(
        ("  " + ", ".join(f"{name} {n}" for name, n, always in counts if n or always), None)
    )
    unknown = (
        f" (and {_plural(s.credits_unknown, 'batch', 'batches')} whose charge is not known)"
        if s.credits_unknown
        else ""
    )
    remaining = (
        f"; {money(s.credits_remaining)} remaining" if s.credits_remaining is not None else ""
    )
    play = " (sandbox credits: nothing was charged)" if s.sandbox else ""
    lines.append(
        (
            f"  Credits charged: {money(s.credits_charged)} in this run, "
            f"{money(s.credits_charged_total)} for this file in all{unknown}{remaining}{play}.",
            None,
        )
    )
    for status, n in (
        (rs.UNCONFIRMED, s.unconfirmed),
        (rs.FAILED, s.failed),
        (rs.NOT_SENT, s.not_sent),
    ):
        # Not sent: the first line (or the stop's advice) already says to drop the file again.
        if n and not (status == rs.NOT_SENT and (s.interrupted or s.stop_reason)):
            lines.append((f"  {status.capitalize()} ({n}): {rs.ADVICE[status]}", style.warn))
    return _join(lines, width)


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def _join(lines: list[tuple[str, Callable[[str], str] | None]], width: int | None) -> str:
    return "\n".join(fit(text, width, paint) for text, paint in lines)


def score_lines(outcome: ScoreOutcome, name: str) -> list[str]:
    """What the scores came to, in two short lines (nothing when the result has no scores)."""
    from csvscore.fetching import SANDBOX_RECEIVER
    from csvscore.output.score_columns import SCORE_LABELS
    from csvscore.output.style import SCORE_STATE_ORDER
    from csvscore.scores.match import PENDING, SCORED

    scores = outcome.scores
    if scores is None:
        return []
    counts = scores.states(outcome.result.rows)
    shown = [f"{counts[s]} {SCORE_LABELS[s].lower()}" for s in SCORE_STATE_ORDER if counts[s]]
    lines = [f"Scores: {', '.join(shown)}." if shown else "Scores: none yet."]
    if counts[PENDING] and scores.receiver == SANDBOX_RECEIVER:
        # `csvscore results` reads the team's receiver, which never saw the sandbox's scores.
        lines.append(
            f"  {counts[PENDING]} still to come from the sandbox: run the same command again "
            "with --wait-scores to add them."
        )
    elif counts[PENDING]:
        lines.append(
            f"  {counts[PENDING]} still to come from TitanX: drop the same file again later (or "
            f"run `csvscore results {name}`) to add them."
        )
    elif counts[SCORED]:
        lines.append("  Every score is in: the Call List sheet has the rows to call, best first.")
    return lines
