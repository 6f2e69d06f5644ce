"""How the result looks: one colour per status, the number formats, the column widths.

One place, so a status has the same colour on every sheet (the Results' status cells, the
Summary's counts, the chart's bars) and a credit figure the same format everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from csvscore import results as rs
from csvscore.scores import match as sm

# (fill, text) per status: Excel's own "Good / Neutral / Bad" palette where it fits, so the
# workbook reads like any other; a cool grey-blue for "may have been charged, wait".
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    rs.ACCEPTED: ("#C6EFCE", "#006100"),
    rs.REJECTED: ("#FFEB9C", "#9C5700"),
    rs.SKIPPED: ("#FFEB9C", "#9C5700"),
    rs.DUPLICATE: ("#EDEDED", "#404040"),
    rs.UNCONFIRMED: ("#DDEBF7", "#1F4E78"),
    rs.FAILED: ("#FFC7CE", "#9C0006"),
    rs.NOT_SENT: ("#E4DFEC", "#5B3F86"),
    rs.READY: ("#DDEBF7", "#1F4E78"),
}
# Statuses in the order a person reads them: good news first, then what needs a look.
STATUS_ORDER = (
    rs.ACCEPTED,
    rs.READY,
    rs.DUPLICATE,
    rs.REJECTED,
    rs.SKIPPED,
    rs.FAILED,
    rs.NOT_SENT,
    rs.UNCONFIRMED,
)

# Score states: green for a score, the calm "wait" blue for pending, amber for the ones that need
# a question to TitanX, red for a score that may be someone else's, grey for rows never scored.
SCORE_STATE_COLOURS: dict[str, tuple[str, str]] = {
    sm.SCORED: ("#C6EFCE", "#006100"),
    sm.PENDING: ("#DDEBF7", "#1F4E78"),
    sm.NO_RESULT: ("#FFEB9C", "#9C5700"),
    sm.NOT_ENRICHED: ("#FFEB9C", "#9C5700"),
    sm.MISMATCH: ("#FFC7CE", "#9C0006"),
    sm.NOT_SENT: ("#EDEDED", "#404040"),
}
SCORE_STATE_ORDER = (
    sm.SCORED,
    sm.PENDING,
    sm.MISMATCH,
    sm.NO_RESULT,
    sm.NOT_ENRICHED,
    sm.NOT_SENT,
)
# Call Priority (mappings/statuses.yaml): call first in green, fading to amber, a dial tree in
# grey, do-not-call in red. A lead or phone status is coloured as its priority.
PRIORITY_COLOURS: dict[int, tuple[str, str]] = {
    1: ("#C6EFCE", "#006100"),
    2: ("#E2EFDA", "#375623"),
    3: ("#FFEB9C", "#9C5700"),
    4: ("#EDEDED", "#404040"),
    9: ("#FFC7CE", "#9C0006"),
}

CREDITS_FORMAT = "#,##0.00##"  # at least two decimals, up to four (0.05, 1.30, 0.0125)
COUNT_FORMAT = "#,##0"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
PERCENT_FORMAT = "0%"

MIN_WIDTH = 6
MAX_WIDTH = 50
FILTER_BUTTON = 3  # characters an autofilter's drop-down button covers at a header's right end
WIDTH_SAMPLE_ROWS = 200


def text_width(value: Any) -> int:
    """Roughly how many characters wide a value shows (East Asian wide characters count 2)."""
    text = value if isinstance(value, str) else str(value)
    if text.isascii():
        return len(text)
    return sum(2 if ord(ch) >= 0x1100 and _wide(ch) else 1 for ch in text)


def _wide(ch: str) -> bool:
    import unicodedata

    return unicodedata.east_asian_width(ch) in ("W", "F")


def column_widths(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, filters: bool = True
) -> list[int]:
    """Widths from the header (bold, and room for the filter button) and a sample of rows."""
    extra = FILTER_BUTTON + 1 if filters else 1
    widths = [text_width(h) + extra for h in header]
    n = len(widths)
    for row in rows:
        for i in range(min(n, len(row))):
            value = row[i]
            if value is None or value == "":
                continue
            length = text_width(value) + 1
            if length > widths[i]:
                widths[i] = length
    return [min(MAX_WIDTH, max(MIN_WIDTH, w)) for w in widths]
