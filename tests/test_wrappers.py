"""The drop wrappers as written by install_shortcut, run for real where this machine can.

The Linux ``.sh`` (POSIX sh: run by its own shebang, i.e. dash here, and by bash) and the
macOS ``.command`` (bash) are executed with hostile file names against a recording stub that
stands in for csvscore. The Windows ``.bat`` cannot run in this suite (no cmd.exe; wine's cmd
differs from Windows' and is not in CI), so its text is checked line by line against cmd's
parsing rules, with a small emulation of cmd's percent expansion. The ``.desktop`` launcher
is parsed per the Desktop Entry spec, and also checked with ``desktop-file-validate`` and
launched with GLib's ``gio launch`` when those tools are installed (desktop-file-utils and
libglib2.0-bin; without gio its parsed Exec line is run instead).
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from hypothesis import given
from hypothesis import strategies as st

from csvscore.desktop.shortcuts import (
    desktop_exec_arg,
    desktop_exec_value,
    install_shortcut,
    render_bat,
    render_desktop,
    render_sh,
)

# Names a user's files really have, and some a shell or cmd would love to misread.
NASTY_NAMES = [
    "plain.csv",
    "with space.csv",
    'double "quotes".csv',
    "single 'quotes'.csv",
    "O'Brien's contacts.csv",
    "$HOME $(id) ${PATH}.csv",
    "back`tick`s.csv",
    "a&b;c|d>e<f.csv",
    "café Zürich über.csv",
    "日本語の連絡先.csv",
    "русский список.xlsx",
    "new\nline.csv",
    "tab\tand  two  spaces .csv",
    "*?[glob] {a,b}.csv",
    "back\\slash.csv",
    "100% %PATH% done.csv",
    "!bang #hash ~tilde (1).csv",
]
# Given as bare names (not paths), so they start with a dash as typed.
DASH_NAMES = ["-rf.csv", "--help", "-"]

RECORDER = """\
import json, os, sys
record = {"argv": sys.argv[1:]}
if os.environ.get("CSVSCORE_STUB_READ_STDIN"):
    record["stdin"] = sys.stdin.read()
with open(os.environ["CSVSCORE_STUB_ARGV"], "w", encoding="utf-8") as stream:
    json.dump(record, stream)
sock = os.environ.get("CSVSCORE_STUB_SOCKET")
if sock:  # tell a waiting test that the record is written
    import socket
    client = socket.socket(socket.AF_UNIX)
    client.connect(sock)
    client.sendall(b"done")
    client.close()
sys.exit(int(os.environ.get("CSVSCORE_STUB_EXIT", "0")))
"""


def make_stub(folder: Path, name: str = "csvscore") -> Path:
    """An executable that records its arguments (as JSON) in $CSVSCORE_STUB_ARGV."""
    folder.mkdir(parents=True, exist_ok=True)
    recorder = folder / "recorder.py"
    recorder.write_text(RECORDER, encoding="utf-8")
    stub = folder / name
    # shlex.quote (not the code under test) so the stub works from any folder.
    stub.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(recorder))} "$@"\n',
        encoding="utf-8",
    )
    stub.chmod(0o755)
    return stub


def stub_env(record: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"CSVSCORE_STUB_ARGV": str(record), "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"})
    env.update(extra)
    return env


def run(argv: list[str], env: dict[str, str], stdin: str | None = None):
    return subprocess.run(
        argv,
        env=env,
        input=stdin.encode() if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        timeout=30,  # a guard against a hang, not synchronisation
    )


@pytest.fixture
def hostile_dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(stub csvscore, folder for the wrappers, folder of the dropped files), all hostile."""
    stub = make_stub(tmp_path / "bin dir 'q' \"dq\" $HOME `x` %PATH% é (1) & co")
    desktop = tmp_path / "My Desktop 'ops' $x é 日本"
    desktop.mkdir()
    files = tmp_path / "drop dir \"x\" 'y' $z ; &"
    files.mkdir()
    return stub, desktop, files


def dropped(files: Path) -> list[str]:
    return [str(files / name) for name in NASTY_NAMES] + DASH_NAMES


# --- Linux .sh and macOS .command, run for real ------------------------------------------------


@pytest.mark.parametrize("shell", ["own shebang (/bin/sh)", "bash"])
def test_linux_sh_passes_every_name_through_unchanged(hostile_dirs, tmp_path, shell) -> None:
    stub, desktop, files = hostile_dirs
    script, _launcher = install_shortcut(desktop, system="Linux", csvscore_exe=stub, env={})
    record = tmp_path / "argv.json"
    argv = [str(script)] if shell.startswith("own") else ["bash", str(script)]
    result = run([*argv, *dropped(files)], stub_env(record))
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(record.read_text(encoding="utf-8"))["argv"] == [
        "drop",
        "--",
        *dropped(files),
    ]
    assert b"could not be started" not in result.stdout


@pytest.mark.parametrize("how", ["own shebang (/bin/bash)", "bash"])
def test_macos_command_passes_every_name_through_unchanged(hostile_dirs, tmp_path, how) -> None:
    stub, desktop, files = hostile_dirs
    [script] = install_shortcut(desktop, system="Darwin", csvscore_exe=stub, env={})
    record = tmp_path / "argv.json"
    argv = [str(script)] if how.startswith("own") else ["bash", str(script)]
    result = run([*argv, *dropped(files)], stub_env(record))
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(record.read_text(encoding="utf-8"))["argv"] == [
        "drop",
        "--",
        *dropped(files),
    ]


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_wrapper_without_files_runs_drop_with_none(hostile_dirs, tmp_path, system) -> None:
    # A double-click: csvscore drop then asks for the files itself.
    stub, desktop, _files = hostile_dirs
    script = install_shortcut(desktop, system=system, csvscore_exe=stub, env={})[0]
    record = tmp_path / "argv.json"
    result = run(["bash", str(script)], stub_env(record))
    assert result.returncode == 0
    assert json.loads(record.read_text(encoding="utf-8"))["argv"] == ["drop", "--"]


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_wrapper_leaves_stdin_to_csvscore_and_passes_its_exit_code(
    hostile_dirs, tmp_path, system
) -> None:
    stub, desktop, files = hostile_dirs
    script = install_shortcut(desktop, system=system, csvscore_exe=stub, env={})[0]
    record = tmp_path / "argv.json"
    env = stub_env(record, CSVSCORE_STUB_READ_STDIN="1", CSVSCORE_STUB_EXIT="6")
    result = run([str(script), str(files / "a.csv")], env, stdin="y\n\n")
    assert result.returncode == 6
    assert json.loads(record.read_text(encoding="utf-8"))["stdin"] == "y\n\n"
    assert b"could not be started" not in result.stdout


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
@pytest.mark.parametrize("stdin", ["\n", None], ids=["enter", "eof"])
def test_wrapper_explains_and_waits_when_csvscore_is_gone(tmp_path, system, stdin) -> None:
    gone = tmp_path / "old venv" / "bin" / "csvscore"
    desktop = tmp_path / "Desktop"
    desktop.mkdir()
    script = install_shortcut(desktop, system=system, csvscore_exe=gone, env={})[0]
    result = run([str(script), "/tmp/a.csv"], dict(os.environ), stdin=stdin)
    out = result.stdout.decode()
    assert result.returncode == 127
    assert f"csvscore could not be started: {gone} is missing or broken." in out
    assert "csvscore install-shortcut" in out
    assert "Press Enter to close this window." in (out + result.stderr.decode())


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_wrapper_in_a_terminal_keeps_the_window_until_enter(tmp_path, system) -> None:
    gone = tmp_path / "uninstalled" / "csvscore"
    desktop = tmp_path / "Desktop"
    desktop.mkdir()
    script = install_shortcut(desktop, system=system, csvscore_exe=gone, env={})[0]
    child = pexpect.spawn(str(script), ["/tmp/a.csv"], timeout=30, encoding="utf-8")
    try:
        child.expect_exact("Press Enter to close this window.")
        assert child.isalive()  # blocked in read, not gone
        child.sendline("")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 127


@pytest.mark.parametrize("system", ["Linux", "Darwin"])
def test_wrapper_explains_when_csvscore_script_has_lost_its_python(tmp_path, system) -> None:
    # The script is still there but the venv Python its #! line names was deleted.
    broken = tmp_path / "bin" / "csvscore"
    broken.parent.mkdir()
    broken.write_text("#!/nonexistent/venv/bin/python\nprint('hi')\n", encoding="utf-8")
    broken.chmod(0o755)
    desktop = tmp_path / "Desktop"
    desktop.mkdir()
    script = install_shortcut(desktop, system=system, csvscore_exe=broken, env={})[0]
    result = run([str(script), "/tmp/a.csv"], dict(os.environ), stdin="\n")
    assert result.returncode == 127
    assert "csvscore could not be started" in result.stdout.decode()


def test_linux_sh_with_python_dash_m_command(tmp_path) -> None:
    # The fallback form [python, "-m", "csvscore"]: every part quoted, names still intact.
    python = make_stub(tmp_path / "Python 3 'x' $y", name="python3")
    script = tmp_path / "csvscore-drop.sh"
    script.write_text(render_sh([str(python), "-m", "csvscore"]), encoding="utf-8")
    script.chmod(0o755)
    record = tmp_path / "argv.json"
    names = [str(tmp_path / n) for n in NASTY_NAMES[:8]]
    result = run([str(script), *names], stub_env(record))
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(record.read_text(encoding="utf-8"))["argv"] == [
        "-m",
        "csvscore",
        "drop",
        "--",
        *names,
    ]


# --- Windows .bat: static checks against cmd's rules ---------------------------------------


WINDOWS_EXES = [
    [r"C:\Users\Zoë O'Neil\100% (ops) & co ^ !x!\Scripts\csvscore.exe"],
    [r"\\fileserver\tools share\csvscore\csvscore.exe"],
    [r"D:\Программы\日本\Python 3.11\python.exe", "-m", "csvscore"],
    [r"C:\a%PATH%b\%%\%1\csvscore.exe"],
]


def expand_percent(line: str, args: str, env: dict[str, str]) -> str:
    """cmd's phase 1 in a batch file: %% -> %, %* -> args, %VAR% -> value (undefined: gone)."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if line[i] != "%":
            out.append(line[i])
            i += 1
            continue
        nxt = line[i + 1 : i + 2]
        if nxt == "%":
            out.append("%")
            i += 2
        elif nxt == "*":
            out.append(args)
            i += 2
        elif nxt.isdigit():
            i += 2  # %0..%9: not used by the wrapper
        else:
            end = line.find("%", i + 1)
            if end < 0:
                i += 1  # a lone % is dropped
            else:
                out.append(env.get(line[i + 1 : end].upper(), ""))
                i = end + 1
    return "".join(out)


def unquoted(line: str) -> str:
    """The parts of a cmd line outside double quotes."""
    return "".join(part for n, part in enumerate(line.split('"')) if n % 2 == 0)


def bat_lines(command: list[str]) -> list[str]:
    text = render_bat(command)
    assert "\n" not in text.replace("\r\n", "")  # CRLF only: cmd's goto/labels need it
    lines = text.split("\r\n")
    assert lines[-1] == ""  # ends with a line break
    return lines[:-1]


def bat_quoted(arg: str) -> str:
    return '"' + arg.replace("%", "%%") + '"'


@pytest.mark.parametrize("command", WINDOWS_EXES)
def test_bat_runs_csvscore_with_the_path_quoted_and_percent_doubled(command) -> None:
    lines = bat_lines(command)
    program = bat_quoted(command[0])
    run_line = program + "".join(" " + bat_quoted(a) for a in command[1:]) + " drop -- %*"
    assert [line for line in lines if "%*" in line] == [run_line]
    env = {"PATH": r"C:\Windows", "ERRORLEVEL": "0"}
    dropped_args = r'"C:\my files\a & b (1).csv" D:\x.csv'
    expanded = expand_percent(run_line, dropped_args, env)
    # After cmd's percent expansion the path is exactly the original, in one quoted word,
    # and nothing outside the quotes can start another command or a redirection.
    assert expanded.startswith('"' + command[0] + '"')
    assert expanded.endswith(" drop -- " + dropped_args)
    assert not set(unquoted(expanded)) & set("&|<>^")


@pytest.mark.parametrize("command", WINDOWS_EXES)
def test_bat_existence_check_and_message_name_the_same_path(command) -> None:
    lines = bat_lines(command)
    program = bat_quoted(command[0])
    assert f"if not exist {program} goto cannot_start" in lines
    message = [line for line in lines if line.startswith("echo csvscore could not be started")]
    assert len(message) == 1
    expanded = expand_percent(message[0], "", {})
    assert f'"{command[0]}"' in expanded
    assert not set(unquoted(expanded)) & set("&|<>")


def test_bat_keeps_delayed_expansion_off_wherever_names_or_the_path_appear() -> None:
    command = WINDOWS_EXES[0]
    lines = bat_lines(command)
    assert lines[0] == "@echo off"
    assert lines.index("setlocal DisableDelayedExpansion") < lines.index(
        "setlocal EnableDelayedExpansion"
    )
    state = "default"
    seen_enabled = []
    for line in lines:
        if line.lower().startswith("setlocal "):
            state = line.split()[1]
            continue
        if state == "EnableDelayedExpansion":
            seen_enabled.append(line)
        if "%*" in line or command[0].replace("%", "%%") in line:
            assert state == "DisableDelayedExpansion", line
    # With delayed expansion on, only cmdcmdline is read, and nothing else.
    code = [line for line in seen_enabled if line and not line.startswith("rem ")]
    assert code == [
        'set "CSVSCORE_DROP_CMDLINE=!cmdcmdline!"',
        'set "CSVSCORE_CLOSE=exit /b"',
        'if /i not "!cmdcmdline:/c =!"=="!cmdcmdline!" set "CSVSCORE_CLOSE=exit"',
    ]


def test_bat_switches_to_utf8_before_the_path_and_restores_it() -> None:
    command = WINDOWS_EXES[2]
    lines = bat_lines(command)
    chcp = lines.index("chcp 65001 >nul")
    first_path = next(n for n, line in enumerate(lines) if command[0] in line)
    assert chcp < first_path
    saved = next(
        n for n, line in enumerate(lines) if "in ('chcp') do set \"CSVSCORE_OLD_CP=" in line
    )
    assert saved < chcp
    assert "if defined CSVSCORE_OLD_CP chcp %CSVSCORE_OLD_CP% >nul" in lines
    # UTF-8 without a BOM (a BOM would be read as part of "@echo off").
    data = render_bat(command).encode("utf-8")
    assert not data.startswith(b"\xef\xbb\xbf")
    assert command[0].encode("utf-8") in data


def test_bat_never_uses_single_parameters_and_passes_the_list_outside_blocks() -> None:
    lines = bat_lines(WINDOWS_EXES[0])
    text = "\n".join(lines)
    # %1..%9 and %~1 would be re-parsed one by one; only %* is used, once.
    assert not re.search(r"%~?[0-9]", text)
    assert text.count("%*") == 1
    depth = 0
    for line in lines:
        if "%*" in line:
            assert depth == 0  # not inside ( ): a ")" in a name cannot end a block
        if line.startswith("rem ") or line.startswith("echo "):
            continue
        stripped = unquoted(line).replace("('chcp')", "")
        depth += stripped.count("(") - stripped.count(")")
    assert depth == 0


def test_bat_comments_hold_no_percent_sign() -> None:
    # cmd expands percent signs even on "rem" lines; a bad one there is a fatal error.
    for line in bat_lines(WINDOWS_EXES[0]):
        if line.startswith("rem"):
            assert "%" not in line and not line.endswith("^"), line


def test_bat_waits_with_pause_when_csvscore_cannot_start() -> None:
    lines = bat_lines(WINDOWS_EXES[0])
    labels = {line[1:] for line in lines if line.startswith(":")}
    for line in lines:
        if " goto " in f" {line}":
            assert line.rsplit(" ", 1)[1] in labels, line
    start, end = lines.index(":cannot_start"), lines.index(":done")
    assert "pause" in lines[start:end]
    assert 'if "%CSVSCORE_RC%"=="9009" goto cannot_start' in lines
    assert 'if "%CSVSCORE_RC%"=="101" goto cannot_start' in lines
    # The success path jumps over the message and the pause.
    assert lines[start - 2 : start] == ["goto done", ""]
    assert lines[-1] == "%CSVSCORE_CLOSE% %CSVSCORE_RC%"


def test_bat_template_is_ascii_apart_from_the_path() -> None:
    command = WINDOWS_EXES[2]
    text = render_bat(command).replace(command[0].replace("%", "%%"), "")
    assert text.isascii()


# --- Linux .desktop ----------------------------------------------------------------------------


def desktop_unescape(value: str) -> str:
    """The spec's escapes for string values: \\s \\n \\t \\r \\\\."""
    table = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            out.append(table.get(value[i + 1], "\\" + value[i + 1]))
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def split_exec(value: str) -> list[str]:
    """Split an (already string-unescaped) Exec value per "The Exec key", strictly.

    Quoted arguments may only escape " ` $ and \\; an unquoted argument may not hold a
    reserved character. Literal %% becomes % outside field codes; field codes stay as words.
    """
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    args: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == " ":
            i += 1
            continue
        word: list[str] = []
        if value[i] == '"':
            i += 1
            while value[i] != '"':
                if value[i] == "\\":
                    assert value[i + 1] in '"`$\\', f"bad escape in {value!r}"
                    i += 1
                word.append(value[i])
                i += 1
            i += 1
            assert i == len(value) or value[i] == " ", "a quoted argument must be whole"
        else:
            while i < len(value) and value[i] != " ":
                assert value[i] not in reserved, f"unquoted reserved {value[i]!r} in {value!r}"
                word.append(value[i])
                i += 1
        text = "".join(word)
        args.append(text if re.fullmatch(r"%[fFuUick]", text) else text.replace("%%", "%"))
    return args


def read_desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("/home/ann/Desktop/csvscore-drop.sh", "/home/ann/Desktop/csvscore-drop.sh"),
        ("/home/ann/My Desktop/x.sh", '"/home/ann/My Desktop/x.sh"'),
        ('/a "b"', '"/a \\"b\\""'),
        ("/a$b", '"/a\\$b"'),
        ("/a`b`", '"/a\\`b\\`"'),
        ("/a\\b", '"/a\\\\b"'),
        ("/a'b", '"/a\'b"'),
        ("/100%", "/100%%"),
        ("/100% x", '"/100%% x"'),
        ("", '""'),
    ],
)
def test_desktop_exec_arg_quotes_per_spec(arg: str, expected: str) -> None:
    assert desktop_exec_arg(arg) == expected


def test_desktop_exec_value_escapes_backslash_twice_and_dollar_as_spec_says() -> None:
    # The spec: a literal backslash in a quoted argument is four backslashes in the file,
    # a literal dollar sign is \\$.
    assert desktop_exec_value(["/a b\\c$d"], "%F") == '"/a b\\\\\\\\c\\\\$d" %F'


@given(st.text(alphabet=st.sampled_from(list(" \t\n\"'\\><~|&;$*?#()`%=éa/日")), max_size=20))
def test_desktop_exec_value_round_trips_through_the_spec_rules(arg: str) -> None:
    value = desktop_exec_value(["/x/" + arg], "%F")
    assert "\n" not in value
    assert split_exec(desktop_unescape(value)) == ["/x/" + arg, "%F"]


@pytest.mark.parametrize(
    "folder_name",
    ["Desktop", "My Desktop 'ops' \"q\" $HOME `x` \\ é 日本 ; & (1) #~", "100% done"],
)
def test_desktop_entry_runs_the_sh_in_a_terminal(tmp_path, folder_name) -> None:
    folder = tmp_path / folder_name
    folder.mkdir()
    script, launcher = install_shortcut(
        folder, system="Linux", csvscore_exe=tmp_path / "csvscore", env={}
    )
    entry = read_desktop_entry(launcher)
    assert entry["Type"] == "Application"
    assert entry["Terminal"] == "true"
    mime = entry["MimeType"].split(";")
    assert "text/csv" in mime
    assert "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" in mime
    args = split_exec(desktop_unescape(entry["Exec"]))
    # GLib cannot find a program whose path holds "%" (it looks before undoing "%%"),
    # so such a script is run through /bin/sh.
    expected = [str(script), "%F"] if "%" not in str(script) else ["/bin/sh", str(script), "%F"]
    assert args == expected
    validator = shutil.which("desktop-file-validate")
    if validator:  # an extra, independent check where desktop-file-utils is installed
        result = subprocess.run([validator, str(launcher)], capture_output=True, timeout=30)
        assert result.returncode == 0 and not result.stdout, result.stdout.decode()


def test_desktop_entry_launched_by_glib_hands_over_the_files(hostile_dirs, tmp_path) -> None:
    """GLib (what GNOME uses) launches the real .desktop, via a stand-in terminal.

    Without ``gio`` the launcher is checked by running its parsed Exec line instead.
    """
    stub, desktop, files = hostile_dirs
    _script, launcher = install_shortcut(desktop, system="Linux", csvscore_exe=stub, env={})
    names = [str(files / n) for n in NASTY_NAMES if "\n" not in n and "\t" not in n]
    record = tmp_path / "argv.json"
    gio = shutil.which("gio")
    if gio is None:
        exec_args = split_exec(desktop_unescape(read_desktop_entry(launcher)["Exec"]))
        run([*exec_args[:-1], *names], stub_env(record))
    else:
        # A fake xterm first on PATH: GLib runs Terminal=true entries as "xterm -e ...".
        fake_bin = tmp_path / "fakebin"
        fake_bin.mkdir()
        xterm = fake_bin / "xterm"
        xterm.write_text('#!/bin/sh\n[ "$1" = "-e" ] && shift\nexec "$@" </dev/null\n')
        xterm.chmod(0o755)
        sock_path = tmp_path / "done.sock"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(sock_path))
            server.listen(1)
            server.settimeout(30)
            env = stub_env(record, CSVSCORE_STUB_SOCKET=str(sock_path))
            env["PATH"] = f"{fake_bin}{os.pathsep}{env.get('PATH', '')}"
            for name in ("GNOME_SETUP_DISPLAY", "XDG_CURRENT_DESKTOP"):
                env.pop(name, None)
            launched = run([gio, "launch", str(launcher), *names], env)
            assert launched.returncode == 0, launched.stderr.decode()
            conn, _ = server.accept()  # the stub connects once it has written the record
            conn.close()
    assert json.loads(record.read_text(encoding="utf-8"))["argv"] == ["drop", "--", *names]


def test_render_desktop_uses_plain_exec_for_a_plain_path() -> None:
    text = render_desktop("/home/ann/Desktop/csvscore-drop.sh")
    assert "\nExec=/home/ann/Desktop/csvscore-drop.sh %F\n" in text
