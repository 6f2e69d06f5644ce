"""Tests for csvscore.desktop.macos_droplet and the macOS part of install_shortcut.

osacompile does not exist here, so it is played by a small sh script that takes the same
``-o OUT FILE`` arguments and writes an app-shaped folder holding a copy of the source: the
files and folders are real, only the compiling is not. The AppleScript source is checked as
text: its one string literal is parsed back and compared with the path it was made from.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csvscore.desktop.macos_droplet import (
    APP_NAME,
    applescript_string,
    build_droplet,
    find_osacompile,
    render_droplet_source,
)
from csvscore.desktop.shortcuts import install_shortcut, sh_quote
from csvscore.errors import ConfigError

NASTY_COMMAND_PATHS = [
    "/Users/ann/Desktop/csvscore-drop.command",
    "/Users/ann/My Desktop/csvscore-drop.command",
    '/Users/ann/a "quoted" dir/csvscore-drop.command',
    "/Users/o'brien/it's/csvscore-drop.command",
    "/Users/a\\b\\\\c\\/csvscore-drop.command",
    "/Users/$USER/$(id)/`whoami`/csvscore-drop.command",
    "/Users/zoë/Café Zürich/csvscore-drop.command",
    "/Users/tanaka/デスクトップ/日本語/csvscore-drop.command",
    "/Users/ann/new\nline\ttab\rreturn/csvscore-drop.command",
    "/Users/ann/@@COMMAND@@/csvscore-drop.command",
    '/Users/ann/end\\"/csvscore-drop.command',
]

# Plays osacompile: same arguments, writes an app-shaped folder with the source inside.
FAKE_OSACOMPILE = """#!/bin/sh
if [ "$#" -ne 3 ] || [ "$1" != "-o" ]; then
    echo "usage: osacompile -o OUT FILE" >&2
    exit 64
fi
mkdir -p "$2/Contents/Resources/Scripts" &&
    cp "$3" "$2/Contents/Resources/Scripts/main.applescript"
"""
FAILING_OSACOMPILE = """#!/bin/sh
echo "$4:12:20: script error: Expected end of line but found identifier. (-2741)" >&2
exit 1
"""
# Stands in for csvscore: records its arguments as JSON.
RECORDING_CSVSCORE = """#!{python}
import json, sys
with open({record!r}, "w", encoding="utf-8") as out:
    json.dump(sys.argv[1:], out)
"""


def parse_applescript_string(text: str, start: int = 0) -> tuple[str, int]:
    """Read the AppleScript string literal at ``text[start]``: its value and where it ends."""
    assert text[start] == '"'
    unescape = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    value = []
    i = start + 1
    while text[i] != '"':
        if text[i] == "\\":
            i += 1
            value.append(unescape[text[i]])
        else:
            value.append(text[i])
        i += 1
    return "".join(value), i + 1


def embedded_command_file(source: str) -> str:
    """The value returned by the droplet's csvscoreCommandFile() handler."""
    match = re.search(r"on csvscoreCommandFile\(\)\n\treturn ", source)
    assert match is not None
    value, end = parse_applescript_string(source, match.end())
    assert source[end:].startswith("\nend csvscoreCommandFile\n")
    return value


def handler(source: str, name: str) -> str:
    """The text of one AppleScript handler, from ``on name`` to ``end name``."""
    match = re.search(rf"^on {name}\b.*?^end {name}$", source, re.DOTALL | re.MULTILINE)
    assert match is not None, name
    return match.group(0)


def write_exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(0o755)
    return path


class RecordingRunner:
    """Records each osacompile call and the source file as it was then; runs it for real."""

    def __init__(self, run: bool = True) -> None:
        self.calls: list[list[str]] = []
        self.sources: list[str] = []
        self.options: list[dict[str, Any]] = []
        self.run = run

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        self.options.append(kwargs)
        self.sources.append(Path(argv[-1]).read_text(encoding="utf-8"))
        if self.run:
            return subprocess.run(argv, **kwargs)
        return subprocess.CompletedProcess(argv, 0, "", "")


@pytest.fixture
def fake_osacompile(tmp_path) -> Path:
    return write_exe(tmp_path / "tools" / "osacompile", FAKE_OSACOMPILE)


@pytest.fixture
def desktop(tmp_path) -> Path:
    # A Desktop whose path needs every kind of quoting.
    folder = tmp_path / 'Zoë\'s "Desktop" $HOME `x` 日本語'
    folder.mkdir()
    return folder


# --- the AppleScript string literal ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ("/Users/ann/csvscore-drop.command", '"/Users/ann/csvscore-drop.command"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("it's $HOME `x`", '"it\'s $HOME `x`"'),
        ("café 日本語", '"café 日本語"'),
        ("a\nb\rc\td", '"a\\nb\\rc\\td"'),
        ("", '""'),
    ],
)
def test_applescript_string_escapes_backslash_and_quote_only(text, literal) -> None:
    assert applescript_string(text) == literal


@pytest.mark.parametrize("path", NASTY_COMMAND_PATHS)
def test_applescript_string_parses_back_to_the_path(path) -> None:
    literal = applescript_string(path)
    assert parse_applescript_string(literal) == (path, len(literal))
    assert "\n" not in literal and "\r" not in literal


@given(
    st.text(
        alphabet=st.characters(
            blacklist_categories=["Cs"],
            blacklist_characters="".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r")
            + "\x7f",
        )
    )
)
def test_applescript_string_round_trips_any_text(text: str) -> None:
    literal = applescript_string(text)
    assert parse_applescript_string(literal) == (text, len(literal))


@pytest.mark.parametrize("bad", ["a\0b", "a\x01b", "a\x1bb", "a\x7fb"])
def test_applescript_string_refuses_control_characters(bad) -> None:
    with pytest.raises(ConfigError, match="control character"):
        applescript_string(bad)


# --- the droplet's source ----------------------------------------------------------------------


@pytest.mark.parametrize("path", NASTY_COMMAND_PATHS)
def test_source_embeds_the_command_path_exactly(path) -> None:
    source = render_droplet_source(path)
    assert embedded_command_file(source) == path
    # The placeholder is filled once; a path holding it is not substituted again.
    assert source.count("@@COMMAND@@") == path.count("@@COMMAND@@")


def test_on_open_quotes_every_dropped_item_and_joins_them() -> None:
    on_open = handler(render_droplet_source("/Users/ann/csvscore-drop.command"), "open")
    assert on_open.startswith("on open droppedItems\n")
    lines = [line.strip() for line in on_open.splitlines() if not line.strip().startswith("--")]
    assert lines[1:6] == [
        "set commandLine to quoted form of csvscoreCommandFile()",
        "repeat with droppedItem in droppedItems",
        'set commandLine to commandLine & " " & quoted form of POSIX path of droppedItem',
        "end repeat",
        "runInTerminal(commandLine)",
    ]


def test_on_run_runs_the_command_without_files() -> None:
    on_run = handler(render_droplet_source("/Users/ann/csvscore-drop.command"), "run")
    assert "runInTerminal(quoted form of csvscoreCommandFile())" in on_run
    assert "droppedItem" not in on_run


def test_terminal_is_activated_and_runs_the_command_line() -> None:
    run_in_terminal = handler(render_droplet_source("/x.command"), "runInTerminal")
    body = [line.strip() for line in run_in_terminal.splitlines()]
    start = body.index('tell application "Terminal"')
    assert body[start + 1] == "activate"
    assert 'do script "exec " & commandLine' in body
    # Refused Automation permission shows an alert pointing to the .command, not nothing.
    assert "on error errorText number errorNumber" in body
    assert "csvscore-drop.command" in run_in_terminal


def test_the_terminal_command_line_hands_every_name_to_csvscore(tmp_path) -> None:
    # What Terminal's shell gets from `on open`, built here the same way: AppleScript's
    # `quoted form of` single-quotes exactly as sh_quote does. Run through bash, it must
    # reach csvscore (via the real .command) as `drop -- <each name unchanged>`.
    record = tmp_path / "argv.json"
    stub = write_exe(
        tmp_path / "bin" / "csvscore",
        RECORDING_CSVSCORE.format(python=sys.executable, record=str(record)),
    )
    desktop = tmp_path / 'it\'s a "desk" $HOME'
    desktop.mkdir()
    [command] = install_shortcut(desktop, system="Darwin", csvscore_exe=stub, env={})
    names = ["with space.csv", "O'Brien's.csv", '"q".csv', "$(id) `x`.csv", "日本語.csv", "-rf.csv"]
    dropped = [str(tmp_path / name) for name in names]
    line = "exec " + " ".join(sh_quote(arg) for arg in [str(command), *dropped])
    done = subprocess.run(["bash", "-c", line], capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(record.read_text(encoding="utf-8")) == ["drop", "--", *dropped]


def test_template_ships_as_package_data() -> None:
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    line = next(x for x in pyproject.splitlines() if x.startswith('"csvscore.desktop.wrappers" ='))
    assert '"*.applescript"' in line


# --- building the app --------------------------------------------------------------------------


def test_install_on_macos_compiles_the_droplet_beside_the_command(desktop, fake_osacompile) -> None:
    runner = RecordingRunner()
    written = install_shortcut(
        desktop,
        system="Darwin",
        csvscore_exe=Path("/opt/csvscore/bin/csvscore"),
        env={},
        osacompile=fake_osacompile,
        runner=runner,
    )
    command, app = desktop / "csvscore-drop.command", desktop / APP_NAME
    assert written == [command, app]
    assert written.notes == []
    [argv] = runner.calls
    assert argv[:3] == [str(fake_osacompile), "-o", str(app)]
    assert argv[3].endswith("/csvscore.applescript")
    assert runner.options[0]["check"] is False and runner.options[0]["timeout"] > 0
    [source] = runner.sources
    assert source == render_droplet_source(command)
    assert embedded_command_file(source) == str(command)
    # The stub's output is real, and the temporary source file is gone.
    compiled = app / "Contents" / "Resources" / "Scripts" / "main.applescript"
    assert compiled.read_text(encoding="utf-8") == source
    assert not Path(argv[3]).exists()
    assert command.stat().st_mode & 0o100


def test_osacompile_is_found_on_path_by_default(desktop, fake_osacompile) -> None:
    env = {"PATH": str(fake_osacompile.parent)}
    assert find_osacompile(env) == str(fake_osacompile)
    written = install_shortcut(desktop, system="Darwin", csvscore_exe=Path("/c"), env=env)
    assert [p.name for p in written] == ["csvscore-drop.command", APP_NAME]
    assert (desktop / APP_NAME / "Contents").is_dir()


def test_installing_again_replaces_the_old_app(desktop, fake_osacompile) -> None:
    stale = desktop / APP_NAME / "Contents" / "stale.txt"
    stale.parent.mkdir(parents=True)
    stale.write_text("old", encoding="utf-8")
    written = install_shortcut(
        desktop, system="Darwin", csvscore_exe=Path("/c"), env={}, osacompile=fake_osacompile
    )
    assert written[-1] == desktop / APP_NAME
    assert not stale.exists()
    assert (desktop / APP_NAME / "Contents" / "Resources" / "Scripts").is_dir()


def test_without_osacompile_only_the_command_is_installed(desktop, tmp_path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    runner = RecordingRunner()
    written = install_shortcut(
        desktop, system="Darwin", csvscore_exe=Path("/c"), env={"PATH": str(empty)}, runner=runner
    )
    command = desktop / "csvscore-drop.command"
    assert written == [command]
    assert command.is_file() and command.stat().st_mode & 0o100
    assert not (desktop / APP_NAME).exists()
    assert runner.calls == []
    [note] = written.notes
    assert "csvscore.app" in note and "not built" in note and "osacompile was not found" in note
    assert "Double-click csvscore-drop.command" in note


def test_a_missing_osacompile_path_is_a_note_not_a_failure(desktop, tmp_path) -> None:
    written = install_shortcut(
        desktop, system="Darwin", csvscore_exe=Path("/c"), env={}, osacompile=tmp_path / "nope"
    )
    assert written == [desktop / "csvscore-drop.command"]
    [note] = written.notes
    assert "not built" in note and "could not run" in note and "nope" in note


def test_a_failing_osacompile_is_a_note_with_its_message(desktop, tmp_path) -> None:
    failing = write_exe(tmp_path / "tools" / "osacompile", FAILING_OSACOMPILE)
    written = install_shortcut(
        desktop, system="Darwin", csvscore_exe=Path("/c"), env={}, osacompile=failing
    )
    assert written == [desktop / "csvscore-drop.command"]
    [note] = written.notes
    assert "osacompile failed" in note and "Expected end of line" in note
    assert (desktop / "csvscore-drop.command").is_file()


def test_osacompile_that_writes_nothing_is_not_trusted(desktop, fake_osacompile) -> None:
    with pytest.raises(ConfigError, match="wrote no"):
        build_droplet(
            desktop,
            desktop / "csvscore-drop.command",
            osacompile=fake_osacompile,
            runner=RecordingRunner(run=False),
        )


def test_a_hung_osacompile_is_a_note(desktop, fake_osacompile) -> None:
    def hangs(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    written = install_shortcut(
        desktop,
        system="Darwin",
        csvscore_exe=Path("/c"),
        env={},
        osacompile=fake_osacompile,
        runner=hangs,
    )
    assert written == [desktop / "csvscore-drop.command"]
    assert "timed out" in written.notes[0]


def test_a_foreign_csvscore_app_is_left_alone(desktop, fake_osacompile) -> None:
    mine = desktop / APP_NAME
    mine.write_text("the user's own file", encoding="utf-8")
    runner = RecordingRunner()
    written = install_shortcut(
        desktop,
        system="Darwin",
        csvscore_exe=Path("/c"),
        env={},
        osacompile=fake_osacompile,
        runner=runner,
    )
    assert written == [desktop / "csvscore-drop.command"]
    assert mine.read_text(encoding="utf-8") == "the user's own file"
    assert runner.calls == []
    assert "not an app csvscore made" in written.notes[0]


@pytest.mark.parametrize("system", ["Linux", "Windows"])
def test_other_systems_never_run_osacompile(tmp_path, fake_osacompile, system) -> None:
    runner = RecordingRunner()
    written = install_shortcut(
        tmp_path,
        system=system,
        csvscore_exe=Path("/opt/c") if system == "Linux" else Path(r"C:\c.exe"),
        env={"PATH": str(fake_osacompile.parent)},
        osacompile=fake_osacompile,
        runner=runner,
    )
    assert runner.calls == []
    assert written.notes == []
    assert not (tmp_path / APP_NAME).exists()
