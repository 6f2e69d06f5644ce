"""``csvscore drop FILE...``: what runs when files are dropped onto the csvscore shortcut.

The window that opens belongs to the drop, so this loop must never let it vanish with a
message unread: every file is tried (one bad file does not stop the others), the outcome of
each is listed at the end, the result workbooks are opened, and the window waits for Enter.

It also recovers the file names that Windows mangles on the way to ``csvscore-drop.bat``
(see :func:`dropped_files`) and, when started with no files (a double-click, or macOS where
Finder hands no files to a ``.command``), asks for them to be dragged into the window.
"""

from __future__ import annotations

import os
import platform
import shlex
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from csvscore.errors import CsvscoreError, ExitCode, UsageError

# Set by csvscore-drop.bat to cmd's untouched command line (cmd's %cmdcmdline%).
DROP_CMDLINE_ENV = "CSVSCORE_DROP_CMDLINE"
WAIT_PROMPT = "Press Enter to close this window."
ASK_PROMPT = "Drag your CSV or Excel files into this window, then press Enter:"


@dataclass(frozen=True)
class DropOutcome:
    """What happened to one dropped file.

    ``outputs`` are the workbooks written (empty if none); ``exit_code`` is what
    ``csvscore score`` would have exited with; ``message`` is one line: the error for a
    failure, or an optional note for a success.
    """

    input: Path
    outputs: tuple[Path, ...] = ()
    exit_code: int = ExitCode.OK
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the file was scored without a problem."""
        return self.exit_code == ExitCode.OK


ScoreOne = Callable[[Path], DropOutcome]


def run_drop(
    files: Sequence[str],
    score_one: ScoreOne,
    *,
    stdin: TextIO,
    stdout: TextIO,
    open_result: Callable[[Path], None] | None,
    wait: bool = True,
    system: str | None = None,
    debug: bool = False,
) -> int:
    """Score each file with ``score_one``, list the outcomes, open the results, wait for Enter.

    A :class:`CsvscoreError` from ``score_one`` becomes that file's one-line error; any other
    exception becomes "unexpected error: ..." (with the traceback too when ``debug``); Ctrl-C
    stops the remaining files. Each output workbook is passed to ``open_result`` if given.
    With no files and ``wait`` (a window a person is looking at), the files are asked for
    (see :func:`ask_for_files`). When ``wait``, the function waits for Enter at the end,
    whatever happened; EOF on ``stdin`` ends the wait. Returns 0 if every file succeeded,
    else the exit code of the first that did not.
    """
    names = list(files)
    if not names and wait:
        try:
            names = ask_for_files(stdin, stdout, system=system)
        except CsvscoreError as exc:
            _say(stdout, f"Error: {_one_line(str(exc))}")
            _wait_for_enter(stdin, stdout, wait)
            return exc.exit_code
    if not names:
        _say(stdout, "No files to score. Drop CSV or Excel files onto the csvscore shortcut.")
        _wait_for_enter(stdin, stdout, wait)
        return int(ExitCode.BAD_INPUT)

    outcomes: list[DropOutcome] = []
    for number, name in enumerate(names, start=1):
        path = Path(name)
        _say(stdout, f"\n[{number}/{len(names)}] {_shown(str(path))}")
        outcome = _score_safely(path, score_one, stdout, debug)
        outcomes.append(outcome)
        if not outcome.ok and outcome.message:
            _say(stdout, f"{_label(outcome)}: {_shown(outcome.message)}")
        if outcome.exit_code == ExitCode.INTERRUPTED:
            outcomes += [
                DropOutcome(
                    Path(rest), (), ExitCode.INTERRUPTED, "not started (you pressed Ctrl-C)"
                )
                for rest in names[number:]
            ]
            break

    _print_summary(outcomes, stdout)
    if open_result is not None:
        _open_all(outcomes, open_result, stdout)
    _wait_for_enter(stdin, stdout, wait)
    return next((int(o.exit_code) for o in outcomes if not o.ok), int(ExitCode.OK))


def _score_safely(path: Path, score_one: ScoreOne, stdout: TextIO, debug: bool) -> DropOutcome:
    try:
        return score_one(path)
    except CsvscoreError as exc:
        return DropOutcome(path, (), exc.exit_code, _one_line(str(exc)))
    except KeyboardInterrupt:
        return DropOutcome(path, (), ExitCode.INTERRUPTED, "you pressed Ctrl-C; nothing was sent")
    except SystemExit as exc:  # a score_one built on the CLI may exit instead of returning
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
            return DropOutcome(path, (), code, f"stopped with exit code {code}" if code else "")
        return DropOutcome(path, (), ExitCode.ERROR, _one_line(str(exc.code)))
    except Exception as exc:
        if debug:
            stdout.write(_shown("".join(traceback.format_exception(exc))))
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return DropOutcome(path, (), ExitCode.ERROR, "unexpected error: " + _one_line(detail))


def _print_summary(outcomes: Sequence[DropOutcome], stdout: TextIO) -> None:
    failed = sum(1 for o in outcomes if not o.ok)
    if failed == 0:
        headline = "All files done." if len(outcomes) > 1 else "Done."
    else:
        headline = (
            f"{failed} of {len(outcomes)} files had a problem."
            if len(outcomes) > 1
            else "The file had a problem."
        )
    lines = ["", "=" * 60, f"Summary: {headline}"]
    for number, outcome in enumerate(outcomes, start=1):
        lines.append(f"{number}. {_shown(str(outcome.input))}")
        lines += [f"   Result: {_shown(str(out))}" for out in outcome.outputs]
        if not outcome.ok:
            message = outcome.message or f"exit code {outcome.exit_code}"
            lines.append(f"   {_label(outcome)}: {_shown(message)}")
        elif outcome.message:
            lines.append(f"   Note: {_shown(outcome.message)}")
        elif not outcome.outputs:
            lines.append("   (no result file)")
    lines.append("=" * 60)
    _say(stdout, "\n".join(lines))


def _label(outcome: DropOutcome) -> str:
    # Ctrl-C and "no" at the review are the person's own choice: said plainly, not as errors.
    stopped = (ExitCode.INTERRUPTED, ExitCode.CANCELLED)
    return "Stopped" if outcome.exit_code in stopped else "Error"


def _open_all(
    outcomes: Sequence[DropOutcome], open_result: Callable[[Path], None], stdout: TextIO
) -> None:
    # Partial results (e.g. some batches unconfirmed) are opened too: their Rejected sheet
    # is what the user needs to look at.
    for output in (out for outcome in outcomes for out in outcome.outputs):
        try:
            open_result(output)
        except CsvscoreError as exc:
            _say(stdout, _shown(str(exc)))
        except Exception as exc:
            _say(stdout, f"Could not open {_shown(str(output))} ({_one_line(str(exc))}).")
            _say(stdout, f"Open it yourself: {_shown(str(output))}")


def _wait_for_enter(stdin: TextIO, stdout: TextIO, wait: bool) -> None:
    if not wait:
        return
    stdout.write(f"\n{WAIT_PROMPT} ")
    stdout.flush()
    try:
        # readline() returns "" at EOF at once, so a closed stdin cannot hang the window.
        if stdin.readline() == "":
            stdout.write("\n")
    except (OSError, ValueError, KeyboardInterrupt):  # closed stream, or Ctrl-C to close
        stdout.write("\n")
    stdout.flush()


# --- asking for files in the window -----------------------------------------------------------


def ask_for_files(
    stdin: TextIO,
    stdout: TextIO,
    *,
    system: str | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> list[str]:
    """Ask for files to be dragged into the terminal window and read them from one line.

    Terminals type a dragged file's path, quoted their own way (see
    :func:`split_pasted_paths`). A line that is, as a whole, an existing path (typed by hand,
    spaces and all) is taken as one file. Returns [] for an empty line or EOF; raises
    :class:`UsageError` when the line cannot be split (unbalanced quotes).
    """
    stdout.write(ASK_PROMPT + "\n")
    stdout.flush()
    try:
        line = stdin.readline()
    except (OSError, ValueError):
        return []
    text = line.strip()
    if not text:
        return []
    if exists(text):
        return [text]
    return split_pasted_paths(text, system=system)


def split_pasted_paths(line: str, *, system: str | None = None) -> list[str]:
    """Split a line of dragged-in paths the way this system's terminals quote them.

    macOS Terminal escapes with backslashes (``My\\ File.csv``), GNOME Terminal and Konsole
    single-quote (``'My File.csv'``): both are shell words, split with :mod:`shlex`. The
    Windows console wraps a path with spaces in double quotes and leaves backslashes alone.
    """
    system = system or platform.system()
    if system == "Windows":
        return split_command_line(line)
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(
            "could not read the file names (a quote is not closed); "
            "drag the files into the window again"
        ) from exc


# --- Windows: recovering names cmd cut apart --------------------------------------------------


def split_command_line(text: str) -> list[str]:
    """Split a Windows command line as Explorer builds one for a drop.

    Words are separated by spaces or tabs; double quotes group (and are dropped). There are
    no escapes: a Windows file name cannot contain ``"``, and ``\\`` is only a separator.
    Empty words are left out.
    """
    words: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch in " \t" and not quoted:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


def files_from_cmdcmdline(cmdline: str) -> list[str] | None:
    """The dropped files in cmd's raw command line, or None if it is not a drop launch.

    Explorer starts a dropped-on batch file as ``cmd /c ""C:\\...\\x.bat" C:\\a&b.csv
    "D:\\with space.csv""``, quoting only names with spaces, so cmd itself splits ``a&b.csv``
    at the ``&`` and eats the ``^`` of ``a^b.csv`` before the batch file sees them. This
    applies cmd's documented rule for the quotes after ``/c`` and splits what is left. An
    interactive cmd (``/k``, or no ``/c``) or a line whose first word is not a ``.bat`` or
    ``.cmd`` gives None.
    """
    found = _after_slash_c(cmdline)
    if found is None:
        return None
    rest, strip_always = found
    inner = _strip_cmd_quotes(rest, strip_always)
    words = split_command_line(inner)
    if not words or not words[0].lower().endswith((".bat", ".cmd")):
        return None
    return words[1:]


def dropped_files(argv_files: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """The files to score: recovered from ``CSVSCORE_DROP_CMDLINE`` when the .bat set it.

    Call it with the FILE arguments of ``csvscore drop`` and the environment. Without that
    variable (Linux, macOS, or run by hand), the arguments are returned unchanged; so are
    they when the recovered list is empty while arguments were given (a line that is not
    the drop's own).
    """
    raw = env.get(DROP_CMDLINE_ENV)
    if raw:
        recovered = files_from_cmdcmdline(raw)
        if recovered is not None and (recovered or not argv_files):
            return recovered
    return list(argv_files)


def _after_slash_c(cmdline: str) -> tuple[str, bool] | None:
    """The text after cmd's ``/c`` switch, and whether ``/s`` was given; None without ``/c``."""
    text = cmdline.lstrip()
    # Skip the program: "C:\Windows\system32\cmd.exe" or cmd.exe.
    if text.startswith('"'):
        end = text.find('"', 1)
        if end < 0:
            return None
        text = text[end + 1 :]
    else:
        parts = text.split(None, 1)
        text = parts[1] if len(parts) > 1 else ""
    strip_always = False
    while True:
        text = text.lstrip(" \t")
        if not text.startswith("/"):
            return None
        switch = text[:2].lower()
        if switch in ("/c", "/r"):
            return text[2:].lstrip(" \t"), strip_always
        if switch == "/k":
            return None
        strip_always = strip_always or switch == "/s"
        # Skip this switch (e.g. /d, /v:on, /e:off) up to the next blank or quote.
        cut = len(text)
        for index, ch in enumerate(text[1:], start=1):
            if ch in ' \t"':
                cut = index
                break
        text = text[cut:]


def _strip_cmd_quotes(rest: str, strip_always: bool) -> str:
    """Apply ``cmd /?``'s rule for the quotes of the string after ``/c``.

    Quotes are kept when there are exactly two, with blanks and no special characters
    between them (cmd also checks that they name a program, which changes nothing here).
    Otherwise a leading quote is removed together with the last quote on the line.
    """
    if not strip_always and rest.count('"') == 2 and rest.startswith('"'):
        between = rest[1 : rest.index('"', 1)]
        if any(ch in between for ch in " \t") and not any(ch in between for ch in "&<>()@^|"):
            return rest
    if not rest.startswith('"'):
        return rest
    last = rest.rfind('"')
    if last == 0:
        return rest[1:]
    return rest[1:last] + rest[last + 1 :]


# --- output helpers ---------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _shown(text: str) -> str:
    # A Linux file name that is not valid UTF-8 arrives with lone surrogates, which a
    # terminal stream refuses to encode; show U+FFFD instead of crashing the window.
    try:
        data = text.encode("utf-8", "surrogateescape")  # one U+FFFD per undecodable byte
    except UnicodeEncodeError:  # a surrogate that did not come from a byte
        data = text.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


def _say(stdout: TextIO, text: str) -> None:
    # Wrapped at words to the window (an error names long paths): never cut mid-word.
    from csvscore.cli.wrap import fit, terminal_width

    stdout.write(fit(text, terminal_width(stdout)) + "\n")
    stdout.flush()
