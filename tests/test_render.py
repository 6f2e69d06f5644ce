"""Terminal output follows the terminal: colour, the progress bar, summaries, wrapping, widths."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from csvscore.cli.progress import ProgressLine, Tally, figures
from csvscore.cli.render import Style, mapping_table, score_lines, style_for, summary_lines
from csvscore.cli.wrap import cell_len, clip, fit, pad, wrap
from csvscore.errors import ExitCode
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.results import RunSummary
from csvscore.scoring.submit import Progress

PLAIN = Style(False)
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


# -- colour ----------------------------------------------------------------------------------


def test_colour_only_on_a_terminal_that_wants_it() -> None:
    assert style_for(_Tty(), {}, os_name="posix").enabled
    assert style_for(_Tty(), {}, os_name="posix").bad("x") == "\x1b[31mx\x1b[0m"
    assert not style_for(io.StringIO(), {}, os_name="posix").enabled  # a pipe or a file
    assert not style_for(_Tty(), {"NO_COLOR": ""}, os_name="posix").enabled
    assert not style_for(_Tty(), {"TERM": "dumb"}, os_name="posix").enabled
    assert style_for(_Tty(), {"WT_SESSION": "1"}, os_name="nt").enabled  # Windows Terminal
    assert style_for(io.StringIO(), {}).bad("x") == "x"


@pytest.mark.parametrize("value", ["1", "true", "3"])
def test_force_color_turns_colour_on_even_for_a_pipe_unless_no_color(value: str) -> None:
    assert style_for(io.StringIO(), {"FORCE_COLOR": value}, os_name="posix").enabled
    assert style_for(io.StringIO(), {"FORCE_COLOR": value, "TERM": "dumb"}, os_name="posix").enabled
    assert not style_for(io.StringIO(), {"FORCE_COLOR": value, "NO_COLOR": "1"}).enabled


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_force_color_empty_or_zero_forces_nothing(value: str) -> None:
    assert not style_for(io.StringIO(), {"FORCE_COLOR": value}, os_name="posix").enabled


def test_a_classic_windows_console_is_switched_to_colour_first() -> None:
    calls: list[str] = []

    def fixed() -> bool:
        calls.append("fixed")
        return True

    assert style_for(_Tty(), {}, os_name="nt", fix_console=fixed).enabled
    assert calls == ["fixed"]
    # Where the console cannot be switched (no colorama, an odd console): plain text.
    assert not style_for(_Tty(), {}, os_name="nt", fix_console=lambda: False).enabled
    # Never on other systems, where escape codes just work.
    style_for(_Tty(), {}, os_name="posix", fix_console=fixed)
    assert calls == ["fixed"]


# -- the progress bar --------------------------------------------------------------------------


def _big(stopping: bool = False) -> Tally:
    return Tally(64_000, 100_000, 64, 1000, Decimal("4812.35"), 0.0, stopping)


@pytest.mark.parametrize("width", [40, 60, 72, 80, 100, 120, 160, 200])
def test_the_progress_line_fits_every_width_and_keeps_what_matters(width: int) -> None:
    text, bar = figures(_big(), now=3723.0, width=width)
    used = cell_len(text) + (bar + 1 if bar else 0)
    assert used <= width - 1  # the last cell stays free
    assert text.lstrip().startswith("64%")
    if width >= 80:
        assert bar >= 10
        assert "64000/100000 rows" in text and "4812.35 credits" in text and "left" in text
    if width >= 160:
        assert "batch 64/1000" in text and "1:02:03 elapsed" in text


def test_the_estimate_comes_from_the_rate_so_far() -> None:
    t = Tally(250, 1000, 1, 4, Decimal("10"), started=100.0)
    text, _ = figures(t, now=160.0, width=200)  # 60 s for a quarter: 3 minutes left
    assert "25%" in text and "1:00 elapsed" in text and "about 3:00 left" in text
    text, _ = figures(Tally(0, 1000, 0, 4, Decimal(0), 100.0), now=101.0, width=200)
    assert "0%" in text and "estimating time left" in text


def test_when_stopping_the_line_says_so_and_gives_no_estimate() -> None:
    text, _ = figures(_big(stopping=True), now=10.0, width=80)
    assert text.startswith("Stopping:") and "left" not in text


def _frames(raw: str) -> str:
    return ANSI.sub("", raw).replace("\r", "\n")


def test_messages_go_above_the_bar_wrapped_and_the_last_state_stays() -> None:
    out = _Tty()
    clock = iter(float(n) for n in range(100))
    bar = ProgressLine(out, enabled=True, width=60, clock=lambda: next(clock))
    bar.start(rows_total=2000, batches_total=2)
    bar(Progress(1, 2, 1000, 2000, Decimal("50.05")))
    long = "batch 1: rate limited; waiting 1.0 s (retry 1 of 5) " + "and more words " * 6
    bar.say(long.strip())
    bar(Progress(2, 2, 2000, 2000, Decimal("100.10")))
    bar.close()
    shown = [line.rstrip() for line in _frames(out.getvalue()).splitlines() if line.strip()]
    message = [line for line in shown if "rate limited" in line or "more words" in line]
    assert len(message) >= 2 and all(len(line) <= 60 for line in message)  # wrapped, in words
    assert "━" not in "".join(message)  # never drawn through the bar
    assert "100%" in shown[-1] and "2000/2000 rows" in shown[-1] and "100.1 credits" in shown[-1]
    assert "\x1b[2K" in out.getvalue() or "\x1b[K" in out.getvalue()  # lines are cleared


def test_ctrl_c_is_said_at_once_above_the_bar_which_then_says_stopping() -> None:
    out = _Tty()
    bar = ProgressLine(out, enabled=True, width=80, clock=lambda: 5.0)
    bar.start(rows_total=100, batches_total=10)
    bar(Progress(3, 10, 30, 100, Decimal("1.5")))
    before = len(out.getvalue())
    bar.stopping("Stopping after the requests in flight... (their answers are being recorded)")
    said = _frames(out.getvalue()[before:])  # written by the call itself, not a later refresh
    assert "Stopping after the requests in flight" in said
    assert "Stopping:" in said and "30/100 rows" in said
    bar.close()


def test_no_bar_on_a_pipe_and_messages_are_plain_lines() -> None:
    out = io.StringIO()
    bar = ProgressLine(out, enabled=False)
    bar.start(5, 1)
    bar(Progress(1, 1, 5, 5, Decimal(1)))
    message = "batch 1: " + " ".join(["word"] * 40)
    bar.say(message)
    bar.close()
    assert out.getvalue() == message + "\n"  # one line, not wrapped


# -- summaries ---------------------------------------------------------------------------------


def _summary(**kw: object) -> RunSummary:
    s = RunSummary("f.csv", "x", None, 3000, "lightning", "", "", "0")
    for k, v in kw.items():
        setattr(s, k, v)
    return s


def test_summary_names_the_next_step_for_unconfirmed_rows() -> None:
    s = _summary(rows_read=10, accepted=7, unconfirmed=3, credits_charged=Decimal("0.70"))
    s.credits_charged_total = Decimal("0.70")
    text = summary_lines(s, PLAIN)
    assert (
        text.splitlines()[0]
        == "Finished. 10 contacts sent (0.7 credits); 3 of them got no answer (see below)."
    )
    assert "accepted 7" in text and "unconfirmed 3" in text
    assert "Credits charged: 0.7 in this run" in text
    # One piece of advice a shortcut user can follow; never an option that may charge again.
    assert "drop the same file again" in text and "Do not resend it by hand" in text
    assert "--retry-unconfirmed" not in text


def test_after_ctrl_c_the_summary_says_what_was_sent_and_how_to_send_the_rest() -> None:
    s = _summary(
        accepted=1300, skipped=757, not_sent=943, interrupted=True,
        stop_reason="interrupted (Ctrl-C)", credits_charged=Decimal("105.4"),
        credits_charged_total=Decimal("105.4"), stop_exit_code=0,
    )  # fmt: skip
    text = summary_lines(s, PLAIN)
    assert text.splitlines()[0] == (
        "Stopped. 1300 contacts sent (105.4 credits); 943 not sent yet. "
        "Drop the same file again to send the rest."
    )
    assert "Scored" not in text and "3000" not in text  # never claims the whole file
    assert "accepted 1300, rejected 0, skipped 757, duplicates 0, not sent 943" in text
    assert "Not sent (943)" not in text  # the first line already said what to do


def test_a_re_drop_headline_never_reads_as_a_second_charge() -> None:
    done = dict(accepted=40, credits_charged_total=Decimal("5.2"))
    resumed = _summary(**done, sent_before=25, credits_charged=Decimal("1.9"))
    assert summary_lines(resumed, PLAIN).splitlines()[0] == (
        "Done. 40 contacts sent (5.2 credits in all), 15 of them in this run (1.9 credits)."
    )
    nothing = summary_lines(_summary(**done, sent_before=40), PLAIN).splitlines()[0]
    assert nothing == "Done. Nothing new to send: 40 contacts sent before (5.2 credits)."
    stopped = _summary(**done, sent_before=40, not_sent=10, interrupted=True)
    assert summary_lines(stopped, PLAIN).splitlines()[0] == (
        "Stopped. 40 contacts sent before (5.2 credits), none in this run; 10 not sent yet. "
        "Drop the same file again to send the rest."
    )


def test_a_dry_run_after_earlier_runs_says_what_they_sent_and_what_is_unconfirmed() -> None:
    s = _summary(dry_run=True, rows_read=50, ready=10, accepted=32, unconfirmed=8, sent_before=40)
    assert summary_lines(s, PLAIN).splitlines()[1] == (
        "  Ready to send 10, skipped 0, duplicates 0, sent before 40, 8 of them unconfirmed "
        "(of 50 rows)."
    )


def test_a_network_stop_says_why_and_what_to_do_next() -> None:
    s = _summary(
        failed=100, not_sent=2143, stop_exit_code=int(ExitCode.NETWORK),
        stop_reason="Could not connect to TitanX (connection refused); gave up after 5 retries. "
        "The batch was not processed; nothing was charged.",
    )  # fmt: skip
    lines = summary_lines(s, PLAIN).splitlines()
    assert lines[0] == "Stopped early. 0 contacts sent (0 credits); 2243 not sent yet."
    assert lines[1].startswith("  Why: Could not connect to TitanX (connection refused)")
    assert lines[2] == (
        "  What to do: Check your internet connection or VPN, then drop the same file again "
        "to send the rest."
    )


def test_credits_running_out_says_to_top_up() -> None:
    s = _summary(
        accepted=800, not_sent=1443, stop_exit_code=int(ExitCode.CREDITS),
        stop_reason="TitanX refused the batch for lack of credits (HTTP 402): Insufficient credits",
        credits_charged=Decimal(40), credits_charged_total=Decimal(40),
    )  # fmt: skip
    text = summary_lines(s, PLAIN)
    assert (
        "Why: TitanX refused the batch for lack of credits (HTTP 402): Insufficient credits."
        in text
    )
    assert "What to do: Top up your TitanX credits" in text


def test_a_finished_run_is_done_and_credits_not_known_are_never_shown_as_zero() -> None:
    s = _summary(accepted=10, credits_charged=Decimal("1.3"), credits_charged_total=Decimal("1.3"))
    s.credits_remaining = Decimal("998.7")
    lines = summary_lines(s, PLAIN).splitlines()
    assert lines[0] == "Done. 10 contacts sent (1.3 credits)."
    assert (
        lines[-1]
        == "  Credits charged: 1.3 in this run, 1.3 for this file in all; 998.7 remaining."
    )
    s.credits_unknown = 1
    text = summary_lines(s, PLAIN)
    assert "(at least 1.3 credits)" in text and "1 batch whose charge is not known" in text


@pytest.mark.parametrize("width", [40, 60, 80])
def test_summaries_wrap_at_word_boundaries_in_a_narrow_window(width: int) -> None:
    s = _summary(
        accepted=1300, rejected=12, skipped=757, duplicates=4, unconfirmed=20, failed=94,
        not_sent=943, stop_exit_code=int(ExitCode.NETWORK),
        stop_reason="Could not connect to TitanX (connection refused); gave up after 5 retries.",
    )  # fmt: skip
    one_line = summary_lines(s, PLAIN)
    wrapped = summary_lines(s, PLAIN, width)
    assert all(cell_len(line) <= width - 1 for line in wrapped.splitlines())
    # The same words, none cut in two: "f" / "ailed 0" or "failed 94" / "3" cannot happen.
    assert wrapped.split() == one_line.split()


# -- wrapping and widths -------------------------------------------------------------------------


def test_wrap_breaks_at_spaces_keeps_paths_whole_and_indents_continuations() -> None:
    text = (
        "Error: No TitanX API key. Run `csvscore login`, or set TITANX_API_KEY in "
        "/very/long/path/to/a/folder/file.csv"
    )
    lines = wrap(text, 30)
    assert lines[0] == "Error: No TitanX API key. Run"
    assert all(line.startswith("  ") for line in lines[1:])
    assert "TITANX_API_KEY" in " ".join(lines).split()  # never "TITANX_API_KE" / "Y"
    assert "/very/long/path/to/a/folder/file.csv" in lines[-1]  # too long, but whole
    assert fit(text, None) == text  # no window (a pipe): one line


def test_widths_are_counted_in_terminal_cells() -> None:
    assert cell_len("会社名") == 6 and cell_len("📞 Mobile") == 9
    assert clip("会社名 の データ", 6) == "会社…" and cell_len(clip("会社名 の データ", 6)) <= 6
    assert cell_len(pad("会社名", 8)) == 8 and cell_len(pad("✅ hot lead 🔥 yes", 8)) == 8


def test_the_review_table_stays_aligned_with_cjk_and_emoji() -> None:
    def col(i: int, header: str, sample: str, field: str | None) -> ColumnMapping:
        return ColumnMapping(i, header, field, 1.0 if field else 0.0, "exact" if field else "none",
                             sample=sample, unmapped_key="" if field else header)  # fmt: skip

    m = Mapping([
        col(0, "First Name", "Ann", "firstName"),
        col(1, "会社名", "株式会社テスト", "companyAccount"),
        col(2, "📞 Mobile", "+1 415 555 0134", "phone"),
        col(3, "Notes", "✅ hot lead 🔥", None),
        col(4, "Last Name", "Lee", "lastName"),
    ])  # fmt: skip
    for width in (None, 80, 60):
        rows = [line for line in mapping_table(m, PLAIN, threshold=0.6, width=width).splitlines()]
        rows = [line for line in rows if "→" in line]
        arrows = {cell_len(line[: line.index("→")]) for line in rows}
        assert len(arrows) == 1, (width, rows)  # the arrow column lines up on every row


def test_a_column_number_never_ends_a_line_apart_from_its_header() -> None:
    text = "Unmapped (7): " + ", ".join(f"{n}\u00a0Lifecycle Stage" for n in range(9, 16))
    for width in range(24, 90):
        lines = fit(text, width).splitlines()
        assert not any(re.search(r"(^|\s)\d+$", line) for line in lines), (width, lines)
        assert "\u00a0" not in "".join(lines)  # shown as a plain space


def test_a_bar_that_never_moved_is_cleared_so_the_error_after_it_stands_alone() -> None:
    out = _Tty()
    bar = ProgressLine(out, enabled=True, width=80, clock=lambda: 1.0)
    bar.start(rows_total=10, batches_total=1)
    bar.close()  # e.g. the file is being scored in another window: nothing was sent
    raw = out.getvalue()
    assert "0/10 rows" in _frames(raw)  # it was shown...
    assert raw.rstrip("\n").endswith(("\x1b[2K", "\x1b[?25h"))  # ...and erased at the end


# -- score lines -------------------------------------------------------------------------------


@pytest.mark.parametrize("sandbox", [False, True])
def test_scores_still_to_come_name_the_step_that_can_bring_them(sandbox: bool) -> None:
    from csvscore.fetching import SANDBOX_RECEIVER
    from csvscore.pipeline import ScoreOutcome
    from csvscore.results import ACCEPTED, RowResult, RunResult
    from csvscore.scores.priority import load_priorities
    from csvscore.scores.run import RunScores

    rows = [RowResult(i, i + 2, ACCEPTED, "", "job-1", 1, f"k{i}") for i in range(3)]
    receiver = SANDBOX_RECEIVER if sandbox else "https://scores.example.com"
    scores = RunScores({}, {}, load_priorities(), receiver=receiver)
    outcome = ScoreOutcome(RunResult(rows, [], _summary()), [], None, scores=scores)
    lines = score_lines(outcome, "export.csv")
    assert lines[0] == "Scores: 3 pending."
    if sandbox:  # `csvscore results` reads the team's receiver, which never saw these
        assert lines[1] == (
            "  3 still to come from the sandbox: run the same command again with --wait-scores "
            "to add them."
        )
    else:
        assert "drop the same file again later (or run `csvscore results export.csv`)" in lines[1]
