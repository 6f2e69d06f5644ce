"""Report footers below the table ("Grand Totals (6 records)", "Confidential Information - Do Not
Distribute", "Copyright (c) 2000-2024 salesforce.com, inc."): recognised, like the title rows above
the header, and left out of the contacts.

A CRM report exported as CSV or Excel ends with such lines. Read as rows they were contacts with
one cell each: a warning per line ("has 1 cells, header has 17") and a skipped row on the fix
sheet. Only the rows at the very end are looked at, from the last one up, and only while each one
is a footer: its first filled cell says so (totals, record counts, confidentiality, copyright, a
"generated on" line, a page number) and its other filled cells, if any, are numbers (a totals row).
A contact whose first name happens to be "Total" has a last name or a phone after it, so it stays.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_FOOTER = re.compile(
    r"""^\s*(?:
        (?:grand\s+|sub\s*)?totals?\b
      | count\b | (?:record|row)s?\s+count\b
      | \(?\s*\d[\d,.]*\s+(?:records?|rows?|contacts?|leads?|results?)\s*\)?\s*$
      | (?:total\s+)?(?:records?|rows?)\s*:\s*\d
      | confidential\b | .*\bdo\s+not\s+(?:distribute|copy|forward)\b
      | (?:proprietary|internal\s+use\s+only)\b
      | copyright\b | ©\s* | \(c\)\s*(?:\d{4}|copyright)
      | .*\ball\s+rights\s+reserved\b
      | (?:report\s+)?(?:generated|exported|printed|created|run)\s+(?:on|at|by|date)\b
      | (?:report\s+)?(?:generated|exported|printed)\s*:
      | page\s+\d+(?:\s*(?:of|/)\s*\d+)?\s*$
      | end\s+of\s+(?:report|file|data)\b
      | (?:filtered|sorted|grouped)\s+by\b
      | powered\s+by\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_NUMBER = re.compile(r"^[\s\d.,$€£¥%()+\-]*$")
MAX_FOOTER_ROWS = 20  # a report's footer is a handful of lines


def is_footer(row: Sequence[str]) -> bool:
    """Whether a row reads as a report footer line (see the module docstring)."""
    filled = [cell for cell in row if cell and not cell.isspace()]
    if not filled or not _FOOTER.match(filled[0]):
        return False
    return all(_NUMBER.match(cell) for cell in filled[1:])


def footer_start(rows: Sequence[Sequence[str]]) -> int:
    """Index of the first row of the trailing footer (``len(rows)`` when there is none)."""
    start = len(rows)
    while start > 0 and len(rows) - start < MAX_FOOTER_ROWS and is_footer(rows[start - 1]):
        start -= 1
    return start
