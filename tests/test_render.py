"""Terminal output follows the terminal: colour, progress line, summaries."""

from __future__ import annotations

import io
from decimal import Decimal

from csvscore.cli.render import ProgressLine, style_for, summary_lines
from csvscore.results import RunSummary
from csvscore.scoring.submit import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_that_wants_it() -> None:
    assert style_for(_Tty(), {}, os_name="posix").enabled
    assert style_for(_Tty(), {}, os_name="posix").bad("x") == "\x1b[31mx\x1b[0m"
    assert not style_for(io.StringIO(), {}, os_name="posix").enabled  # a pipe or a file
    assert not style_for(_Tty(), {"NO_COLOR": ""}, os_name="posix").enabled
    assert not style_for(_Tty(), {"TERM": "dumb"}, os_name="posix").enabled
    assert not style_for(_Tty(), {}, os_name="nt").enabled  # classic Windows console
    assert style_for(_Tty(), {"WT_SESSION": "1"}, os_name="nt").enabled  # Windows Terminal
    assert style_for(io.StringIO(), {}).bad("x") == "x"


def test_progress_line_redraws_one_line_and_shows_credits() -> None:
    out = io.StringIO()
    bar = ProgressLine(out, enabled=True)
    bar(Progress(1, 2, 1000, 2000, Decimal("50.05")))
    bar(Progress(2, 2, 2000, 2000, Decimal("100.10")))
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "batches 2/2" in text and "rows 2000/2000" in text and "credits 100.1" in text


def test_no_progress_line_on_a_pipe() -> None:
    out = io.StringIO()
    bar = ProgressLine(out, enabled=False)
    bar(Progress(1, 1, 5, 5, Decimal(1)))
    bar.close()
    assert out.getvalue() == ""


def test_summary_names_the_next_step_for_unconfirmed_rows() -> None:
    s = RunSummary("f.csv", "x", None, 10, "lightning", "", "", "0", accepted=7, unconfirmed=3)
    s.credits_charged = Decimal("0.70")
    text = summary_lines(s, style_for(io.StringIO(), {}))
    assert "accepted 7" in text and "unconfirmed 3" in text
    assert "credits charged 0.7 in this run" in text
    # One piece of advice a shortcut user can follow; never an option that may charge again.
    assert "drop the same file again" in text and "Do not resend it by hand" in text
    assert "--retry-unconfirmed" not in text
