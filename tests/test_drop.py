"""Tests for csvscore.cli.drop (the loop behind ``csvscore drop``) and csvscore.desktop.opener."""

from __future__ import annotations

import io
import shlex
import subprocess
from pathlib import Path

import pytest

from csvscore.cli.drop import (
    ASK_PROMPT,
    DROP_CMDLINE_ENV,
    WAIT_PROMPT,
    DropOutcome,
    ask_for_files,
    dropped_files,
    files_from_cmdcmdline,
    run_drop,
    split_command_line,
    split_pasted_paths,
)
from csvscore.desktop.opener import OpenerError, open_with_default_app
from csvscore.errors import ExitCode, InputError, UsageError


class Scorer:
    """A score_one that succeeds, fails typed, or fails with a bug, by file name."""

    def __init__(self) -> None:
        self.calls: list[Path] = []

    def __call__(self, path: Path) -> DropOutcome:
        self.calls.append(path)
        if "unreadable" in path.name:
            raise InputError(f"cannot read {path.name}:\nnot a CSV or Excel file")
        if "bug" in path.name:
            raise RuntimeError("boom")
        if "ctrl-c" in path.name:
            raise KeyboardInterrupt
        if "partial" in path.name:
            return DropOutcome(
                path,
                (path.with_suffix(".scored.xlsx"),),
                ExitCode.UNCONFIRMED,
                "2 batches unconfirmed",
            )
        return DropOutcome(path, (path.with_suffix(".scored.xlsx"),))


def drop(files, scorer=None, stdin="\n", opened=None, wait=True, **kwargs):
    out = io.StringIO()
    code = run_drop(
        files,
        scorer or Scorer(),
        stdin=io.StringIO(stdin),
        stdout=out,
        open_result=None if opened is None else opened.append,
        wait=wait,
        **kwargs,
    )
    return code, out.getvalue()


FILES = ["/d/good one.csv", "/d/unreadable.csv", "/d/bug.xlsx", "/d/good two.xlsx"]


def test_every_file_runs_even_after_failures() -> None:
    scorer = Scorer()
    drop(FILES, scorer)
    assert scorer.calls == [Path(f) for f in FILES]


def test_summary_lists_each_input_with_its_result_or_error() -> None:
    _, out = drop(FILES)
    summary = out[out.index("Summary:") :]
    assert "Summary: 2 of 4 files had a problem." in summary
    assert (
        "1. /d/good one.csv\n   Result: /d/good one.scored.xlsx\n"
        "2. /d/unreadable.csv\n   Error: cannot read unreadable.csv: not a CSV or Excel file\n"
        "3. /d/bug.xlsx\n   Error: unexpected error: RuntimeError: boom\n"
        "4. /d/good two.xlsx\n   Result: /d/good two.scored.xlsx\n"
    ) in summary


def test_failure_is_shown_as_it_happens_on_one_line() -> None:
    _, out = drop(FILES)
    progress = out[: out.index("Summary:")]
    assert (
        "[2/4] /d/unreadable.csv\nError: cannot read unreadable.csv: not a CSV or Excel file\n"
        in progress
    )
    assert "[3/4] /d/bug.xlsx\nError: unexpected error: RuntimeError: boom\n" in progress


def test_exit_code_is_the_first_failures() -> None:
    assert drop(FILES)[0] == ExitCode.BAD_INPUT
    assert drop(["/d/bug.csv", "/d/unreadable.csv"])[0] == ExitCode.ERROR
    assert drop(["/d/a.csv", "/d/partial.csv"])[0] == ExitCode.UNCONFIRMED


def test_all_good_exits_zero() -> None:
    code, out = drop(["/d/a.csv", "/d/b.csv"])
    assert code == 0
    assert "Summary: All files done." in out


def test_waits_for_enter_also_after_failures() -> None:
    stdin = io.StringIO("\nleft over\n")
    out = io.StringIO()
    run_drop(FILES, Scorer(), stdin=stdin, stdout=out, open_result=None)
    assert out.getvalue().rstrip().endswith(WAIT_PROMPT)
    assert stdin.read() == "left over\n"  # exactly one line was read: the Enter


def test_eof_on_stdin_ends_the_wait() -> None:
    code, out = drop(["/d/a.csv"], stdin="")
    assert code == 0
    assert out.endswith(WAIT_PROMPT + " \n")


def test_closed_stdin_ends_the_wait() -> None:
    stdin = io.StringIO("")
    stdin.close()
    out = io.StringIO()
    code = run_drop(["/d/a.csv"], Scorer(), stdin=stdin, stdout=out, open_result=None)
    assert code == 0 and WAIT_PROMPT in out.getvalue()


def test_no_wait_reads_nothing() -> None:
    stdin = io.StringIO("keep\n")
    out = io.StringIO()
    run_drop(["/d/a.csv"], Scorer(), stdin=stdin, stdout=out, open_result=None, wait=False)
    assert WAIT_PROMPT not in out.getvalue()
    assert stdin.read() == "keep\n"


def test_every_output_is_opened_including_partial_results() -> None:
    opened: list[Path] = []
    drop(["/d/a.csv", "/d/unreadable.csv", "/d/partial.csv"], opened=opened)
    assert opened == [Path("/d/a.scored.xlsx"), Path("/d/partial.scored.xlsx")]


def test_partial_result_shows_both_workbook_and_problem() -> None:
    _, out = drop(["/d/partial.csv"])
    assert "   Result: /d/partial.scored.xlsx\n   Error: 2 batches unconfirmed\n" in out


def test_a_failing_opener_says_open_it_yourself_and_goes_on() -> None:
    opened: list[Path] = []

    def open_result(path: Path) -> None:
        if "a." in path.name:
            raise OpenerError("xdg-open was not found", path)
        if "b." in path.name:
            raise PermissionError("denied")
        opened.append(path)

    out = io.StringIO()
    code = run_drop(
        ["/d/a.csv", "/d/b.csv", "/d/c.csv"],
        Scorer(),
        stdin=io.StringIO("\n"),
        stdout=out,
        open_result=open_result,
    )
    text = out.getvalue()
    assert code == 0
    assert opened == [Path("/d/c.scored.xlsx")]
    assert "Open it yourself: /d/a.scored.xlsx" in text
    assert "Open it yourself: /d/b.scored.xlsx" in text


def test_ctrl_c_stops_the_rest_but_still_lists_and_waits() -> None:
    scorer = Scorer()
    code, out = drop(["/d/a.csv", "/d/ctrl-c.csv", "/d/b.csv"], scorer)
    assert scorer.calls == [Path("/d/a.csv"), Path("/d/ctrl-c.csv")]
    assert code == ExitCode.INTERRUPTED
    assert "3. /d/b.csv\n   Stopped: not started (you pressed Ctrl-C)" in out
    assert out.rstrip().endswith(WAIT_PROMPT)


def test_debug_shows_the_traceback_of_a_bug() -> None:
    _, out = drop(["/d/bug.csv"], debug=True)
    assert "Traceback (most recent call last)" in out
    assert "RuntimeError: boom" in out


def test_undecodable_file_name_does_not_break_the_listing() -> None:
    name = "/d/caf\udce9.csv"  # a Latin-1 byte in a UTF-8 system's file name
    _, out = drop([name])
    out.encode("utf-8")  # the stream content is encodable: no lone surrogates
    assert "/d/caf\ufffd.csv" in out


# --- no files: ask for them -------------------------------------------------------------------


def test_no_files_asks_to_drag_them_into_the_window(tmp_path) -> None:
    scorer = Scorer()
    a, b = tmp_path / "my file.csv", tmp_path / "it's.xlsx"
    typed = f"{shlex.quote(str(a))} {shlex.quote(str(b))}\n\n"
    code, out = drop([], scorer, stdin=typed, system="Linux")
    assert out.startswith(ASK_PROMPT + "\n")
    assert scorer.calls == [a, b]
    assert code == 0


def test_no_files_and_nothing_given_says_so_and_waits() -> None:
    code, out = drop([], stdin="\n\n", system="Linux")
    assert code == ExitCode.BAD_INPUT
    assert "No files to score." in out
    assert out.rstrip().endswith(WAIT_PROMPT)


def test_no_files_without_wait_does_not_ask() -> None:
    code, out = drop([], stdin="/d/a.csv\n", wait=False)
    assert code == ExitCode.BAD_INPUT
    assert ASK_PROMPT not in out


def test_unbalanced_quote_in_the_answer_is_reported_and_waits() -> None:
    code, out = drop([], stdin="'/d/a.csv\n\n", system="Darwin")
    assert code == ExitCode.BAD_INPUT
    assert "Error: could not read the file names" in out
    assert out.rstrip().endswith(WAIT_PROMPT)


def test_a_typed_path_with_spaces_is_one_file(tmp_path) -> None:
    path = tmp_path / "contacts march 2024.csv"
    path.write_text("name\n", encoding="utf-8")
    assert ask_for_files(io.StringIO(f"{path}\n"), io.StringIO(), system="Linux") == [str(path)]


@pytest.mark.parametrize(
    ("system", "line", "expected"),
    [
        # macOS Terminal escapes with backslashes.
        (
            "Darwin",
            r"/Users/ann/My\ File.csv /Users/ann/O\'Neil\ \(1\).xlsx ",
            ["/Users/ann/My File.csv", "/Users/ann/O'Neil (1).xlsx"],
        ),
        # GNOME Terminal single-quotes.
        (
            "Linux",
            "'/home/ann/my file.csv' '/home/ann/it'\\''s.csv' ",
            ["/home/ann/my file.csv", "/home/ann/it's.csv"],
        ),
        # The Windows console double-quotes names with spaces and keeps backslashes.
        (
            "Windows",
            r'"C:\Users\Ann\my file.csv" D:\x\a&b.csv \\srv\share\c.csv',
            [r"C:\Users\Ann\my file.csv", r"D:\x\a&b.csv", r"\\srv\share\c.csv"],
        ),
    ],
)
def test_split_pasted_paths_per_terminal(system, line, expected) -> None:
    assert split_pasted_paths(line, system=system) == expected


def test_split_pasted_paths_unbalanced_quote_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        split_pasted_paths("'/a.csv", system="Linux")


# --- Windows: names cmd cut apart ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (r'cmd /c ""C:\test\drag.bat" C:\test\a.txt"', [r"C:\test\a.txt"]),
        (r'cmd /c ""C:\test\drag.bat" "C:\test\a b.txt""', [r"C:\test\a b.txt"]),
        # Explorer leaves these unquoted (no space); cmd alone would cut or eat them.
        (r'cmd /c ""C:\test\drag.bat" C:\test\a&b.txt"', [r"C:\test\a&b.txt"]),
        (
            r'cmd /c ""C:\test\drag.bat" C:\x\a^b.csv C:\x\c%OS%d.csv"',
            [r"C:\x\a^b.csv", r"C:\x\c%OS%d.csv"],
        ),
        (
            r'C:\WINDOWS\system32\cmd.exe /c ""C:\Users\Zoë O'
            + "'"
            + r'Neil\Desktop\csvscore-drop.bat" '
            r'"D:\my files\(1) 100%!.csv" \\server\share\x.csv "\\server\my share\y,z;w=.csv" '
            r'C:\日本語\русский.xlsx"',
            [
                r"D:\my files\(1) 100%!.csv",
                r"\\server\share\x.csv",
                r"\\server\my share\y,z;w=.csv",
                r"C:\日本語\русский.xlsx",
            ],
        ),
        # Double-clicked: no files.
        (r'C:\WINDOWS\system32\cmd.exe /c ""C:\Users\Ann\Desktop\csvscore-drop.bat" "', []),
        (
            r'"C:\WINDOWS\system32\cmd.exe" /d /s /c ""C:\x\CSVSCORE-DROP.CMD" C:\a.csv"',
            [r"C:\a.csv"],
        ),
    ],
)
def test_files_from_cmdcmdline(cmdline: str, expected: list[str]) -> None:
    assert files_from_cmdcmdline(cmdline) == expected


@pytest.mark.parametrize(
    "cmdline",
    [
        r'"C:\WINDOWS\system32\cmd.exe" ',  # an interactive console
        r"C:\WINDOWS\system32\cmd.exe /k C:\x\csvscore-drop.bat a.csv",
        r'cmd /c ""C:\x\other.exe" C:\a.csv"',  # not a batch file's line
        "",
    ],
)
def test_files_from_cmdcmdline_rejects_other_lines(cmdline: str) -> None:
    assert files_from_cmdcmdline(cmdline) is None


def test_dropped_files_prefers_the_untouched_line() -> None:
    env = {DROP_CMDLINE_ENV: r'cmd /c ""C:\d\csvscore-drop.bat" C:\x\a&b.csv C:\x\c^d.csv"'}
    # What cmd gave the batch file: the name cut at "&", the "^" eaten.
    assert dropped_files([r"C:\x\a"], env) == [r"C:\x\a&b.csv", r"C:\x\c^d.csv"]


def test_dropped_files_without_the_variable_keeps_the_arguments() -> None:
    assert dropped_files(["/a b.csv", "-x.csv"], {}) == ["/a b.csv", "-x.csv"]
    console = {DROP_CMDLINE_ENV: r'"C:\WINDOWS\system32\cmd.exe" '}
    assert dropped_files([r"C:\a b.csv"], console) == [r"C:\a b.csv"]
    # A drop line with no files while arguments were given is not this run's line.
    stale = {DROP_CMDLINE_ENV: r'cmd /c ""C:\d\csvscore-drop.bat" "'}
    assert dropped_files([r"C:\a.csv"], stale) == [r"C:\a.csv"]


def test_split_command_line_keeps_backslashes_and_drops_quotes() -> None:
    assert split_command_line('  "C:\\a b\\" x\t""  y ') == ["C:\\a b\\", "x", "y"]


# --- opener -------------------------------------------------------------------------------------


class Recorder:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[list[str], dict]] = []
        self.error = error

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        if self.error:
            raise self.error


def test_opener_windows_uses_startfile(tmp_path) -> None:
    started: list[str] = []
    open_with_default_app(tmp_path / "r.xlsx", system="Windows", startfile=started.append)
    assert started == [str(tmp_path / "r.xlsx")]


def test_opener_windows_without_association_says_open_it_yourself(tmp_path) -> None:
    def startfile(path: str) -> None:
        raise OSError(1155, "No application is associated with the specified file")

    with pytest.raises(OpenerError, match="Open it yourself: ") as caught:
        open_with_default_app(tmp_path / "r.xlsx", system="Windows", startfile=startfile)
    assert caught.value.path == tmp_path / "r.xlsx"
    assert "No application is associated" in str(caught.value)


def test_opener_macos_runs_open_detached(tmp_path, monkeypatch) -> None:
    runner = Recorder()
    monkeypatch.chdir(tmp_path)
    open_with_default_app(Path("-r.xlsx"), system="Darwin", runner=runner)
    [(argv, kwargs)] = runner.calls
    assert argv == ["open", str(tmp_path / "-r.xlsx")]  # absolute: never read as an option
    assert kwargs["start_new_session"] is True
    assert kwargs["stdin"] == subprocess.DEVNULL


def test_opener_linux_runs_xdg_open_for_real(tmp_path) -> None:
    log = tmp_path / "opened.txt"
    fake = tmp_path / "bin" / "xdg-open"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {shlex.quote(str(log))}\n')
    fake.chmod(0o755)
    target = tmp_path / "résultat 'x'.xlsx"
    # subprocess.run instead of Popen, so the test can read the log once it returns.
    open_with_default_app(
        target, system="Linux", runner=subprocess.run, env={"PATH": str(fake.parent)}
    )
    assert log.read_text(encoding="utf-8") == str(target)


def test_opener_linux_without_xdg_open_says_open_it_yourself(tmp_path) -> None:
    with pytest.raises(OpenerError, match=r"xdg-open was not found\)\. Open it yourself: "):
        open_with_default_app(
            tmp_path / "r.xlsx", system="Linux", runner=Recorder(), env={"PATH": ""}
        )


def test_opener_that_cannot_start_is_an_opener_error(tmp_path) -> None:
    runner = Recorder(FileNotFoundError(2, "No such file or directory"))
    with pytest.raises(OpenerError, match="open could not be started"):
        open_with_default_app(tmp_path / "r.xlsx", system="Darwin", runner=runner)


@pytest.mark.parametrize(
    ("code", "expected_exit", "expected_message"),
    [
        (None, 0, ""),
        (0, 0, ""),
        (6, 6, "stopped with exit code 6"),
        ("Error: bad", 1, "Error: bad"),
    ],
)
def test_score_one_that_exits_is_recorded_not_fatal(code, expected_exit, expected_message) -> None:
    def score_one(path: Path) -> DropOutcome:
        raise SystemExit(code)

    out = io.StringIO()
    result = run_drop(
        ["/d/a.csv", "/d/b.csv"],
        score_one,
        stdin=io.StringIO("\n"),
        stdout=out,
        open_result=None,
    )
    assert result == expected_exit
    assert out.getvalue().count("/d/") >= 4  # both files tried and listed
    if expected_message:
        assert f"1. /d/a.csv\n   Error: {expected_message}\n" in out.getvalue()


def test_single_failed_file_headline() -> None:
    _, out = drop(["/d/unreadable.csv"])
    assert "Summary: The file had a problem." in out
