"""Text output for the terminal: the mapping table, run summaries, a progress line, colour.

Pure functions returning strings (plus a tiny progress printer), so tests read them directly.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping as EnvMapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TextIO

from csvscore.fields import ALL_FIELDS, FULL_NAME
from csvscore.mapping.model import Mapping
from csvscore.read.table import Table
from csvscore.results import RunSummary
from csvscore.scoring.submit import Progress


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

    def dim(self, text: str) -> str:
        return self._wrap("2", text)


def style_for(
    stream: TextIO, env: EnvMapping[str, str] = os.environ, *, os_name: str = os.name
) -> Style:
    """Colour only for a terminal that shows it: not with NO_COLOR, TERM=dumb, a pipe or file,
    or a classic Windows console (which prints escape codes literally)."""
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return Style(False)
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return Style(False)
    if os_name == "nt" and "WT_SESSION" not in env and "ANSICON" not in env:
        return Style(False)
    return Style(True)


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


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


def _column_widths(mapping: Mapping, width: int | None) -> tuple[int, int]:
    """Widths of the Column and Sample columns so a row fits ``width`` (None: the full 28/24).

    The number, field, confidence and method never shrink; the sample gives way first and
    disappears (0) when fewer than 8 characters would be left for it.
    """
    if width is None:
        return 28, 24
    method = max([len("Method"), *(len(c.method) for c in mapping.columns)])
    if any(c.review for c in mapping.columns):
        method += len("  ← review")
    # "  #  " + column + "  " + sample + "  → field(22)  conf  " + method; keep the last cell
    # free because some terminals wrap a line that reaches the right edge.
    avail = width - 1 - (3 + 2 + 2 + 24 + 2 + 4 + 2 + method)
    if avail >= 28 + 2 + 24:
        return 28, 24
    longest = max([len("Column"), *(len(c.header or "(blank)") for c in mapping.columns)])
    column = max(6, min(28, longest, max(12, avail - 12)))
    sample = min(24, avail - column - 2)
    if sample < 8:
        return max(6, min(28, avail)), 0
    return column, sample


def _fit(text: str, width: int | None) -> list[str]:
    """``text`` as lines no longer than ``width`` (one line when width is None)."""
    if width is None or len(text) < width:
        return [text]
    # Paths and URLs stay whole (copy-paste beats a tidy margin).
    return textwrap.wrap(
        text, width - 1, subsequent_indent="  ", break_on_hyphens=False, break_long_words=False
    )


def mapping_table(
    mapping: Mapping, style: Style, *, threshold: float, width: int | None = None
) -> str:
    """The review table: column number, header, sample, field, confidence, method.

    With ``width`` (the terminal's columns) the header and sample columns shrink, and the
    sentences under the table wrap, so nothing wraps mid-row in a narrow window.
    """
    cw, sw = _column_widths(mapping, width)
    sample_head = f"{'Sample':<{sw}}  " if sw else ""
    lines = [
        style.bold(f"{'#':>3}  {'Column':<{cw}}  {sample_head}{'→ Field':<24}  {'Conf':>4}  Method")
    ]
    for c in mapping.columns:
        label = field_label(c.field)
        sample = f"{_clip(c.sample, sw):<{sw}}  " if sw else ""
        row = (
            f"{c.index + 1:>3}  {_clip(c.header or '(blank)', cw):<{cw}}  "
            f"{sample}→ {label:<22}  {c.confidence:>4.2f}  {c.method}"
        )
        if c.review:
            row = style.warn(row + "  ← review")
        elif c.field is None:
            row = style.dim(row)
        lines.append(row)
    unmapped = [c.unmapped_key for c in mapping.unmapped()]
    if unmapped:
        lines.append("")
        lines.extend(
            _fit(
                f"Unmapped, sent in unmappedFields ({len(unmapped)}): " + ", ".join(unmapped),
                width,
            )
        )
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


def fields_list() -> str:
    width = max(len(f.name) for f in ALL_FIELDS)
    return "\n".join(f"{f.name:<{width}}  {f.description}" for f in ALL_FIELDS)


def money(value: Decimal | None) -> str:
    if value is None:
        return "unknown"
    return f"{value.normalize():f}"


def summary_lines(s: RunSummary, style: Style) -> str:
    parts = []
    if s.dry_run:
        parts.append(style.bold("Dry run: nothing was sent."))
        parts.append(
            f"  ready to send {s.ready}, skipped {s.skipped}, duplicates {s.duplicates} "
            f"(of {s.rows_read} rows)"
        )
        est = money(s.estimated_credits) if s.estimated_credits is not None else "unknown"
        parts.append(f"  phones to score {s.estimated_phones}; estimated credits {est}")
        return "\n".join(parts)
    parts.append(style.bold(f"Scored {s.rows_read} rows ({s.scoring_type})."))
    parts.append(
        f"  accepted {s.accepted}, rejected {s.rejected}, skipped {s.skipped}, "
        f"duplicates {s.duplicates}, unconfirmed {s.unconfirmed}, failed {s.failed}"
        + (f", not sent {s.not_sent}" if s.not_sent else "")
    )
    parts.append(
        f"  credits charged {money(s.credits_charged)}, remaining {money(s.credits_remaining)}"
    )
    if s.stop_reason:
        parts.append(style.bad(f"  stopped early: {s.stop_reason}"))
    if s.unconfirmed:
        parts.append(
            style.warn(
                f"  {s.unconfirmed} rows are unconfirmed: they were sent but no answer came back, "
                "so they may have been charged. Check your TitanX jobs; to send them again on "
                "purpose, rerun the same command with --retry-unconfirmed."
            )
        )
    return "\n".join(parts)


class ProgressLine:
    """A single redrawn line on a terminal; nothing on pipes (the summary follows anyway)."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self._shown = False

    def __call__(self, p: Progress) -> None:
        if not self.enabled:
            return
        width = 24
        done = int(width * p.batches_done / p.batches_total) if p.batches_total else width
        bar = "#" * done + "." * (width - done)
        self.stream.write(
            f"\r[{bar}] batches {p.batches_done}/{p.batches_total}  rows "
            f"{p.rows_done}/{p.rows_total}  credits {money(p.credits_charged)} "
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
