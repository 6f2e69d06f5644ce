"""Tests for csvscore.desktop.shortcuts: quoting per script language, finding csvscore, installing.

Running the installed wrappers is in test_wrappers.py; here the files are written for each
system into tmp_path and their names, modes and embedded command are checked.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csvscore.desktop import shortcuts
from csvscore.desktop.shortcuts import (
    bat_quote,
    find_csvscore_command,
    install_shortcut,
    render_sh,
    sh_quote,
)
from csvscore.errors import ConfigError

NASTY_POSIX_PATHS = [
    "/opt/csvscore/bin/csvscore",
    "/home/ann/my tools/csvscore",
    "/home/o'brien/it's/csvscore",
    '/home/a "quoted" dir/csvscore',
    "/home/$USER/$(id)/`whoami`/csvscore",
    "/home/a\\b/csvscore",
    "/home/a;b&c|d>e/csvscore",
    "/home/zoë/日本語/русский/csvscore",
    "/home/new\nline/csvscore",
    "/home/-rf/csvscore",
    "/home/*?[x]/~/csvscore",
    "/home/100% %PATH%/!x!/csvscore",
]


def executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR)


# --- quoting -----------------------------------------------------------------------------------


def test_sh_quote_survives_a_real_shell() -> None:
    # One sh run prints every quoted path back, NUL-separated.
    script = "printf '%s\\0' " + " ".join(sh_quote(p) for p in NASTY_POSIX_PATHS)
    for shell in ("sh", "bash"):
        out = subprocess.run([shell, "-c", script], capture_output=True, timeout=30, check=True)
        assert out.stdout.decode("utf-8").split("\0")[:-1] == NASTY_POSIX_PATHS


def test_sh_quote_always_single_quotes() -> None:
    assert sh_quote("/usr/bin/csvscore") == "'/usr/bin/csvscore'"
    assert sh_quote("it's") == "'it'\\''s'"
    assert sh_quote("") == "''"


@given(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=["Cs"])))
def test_sh_quote_is_one_shell_word(text: str) -> None:
    assert shlex.split(sh_quote(text)) == [text]


def test_sh_quote_refuses_nul() -> None:
    with pytest.raises(ConfigError, match="NUL"):
        sh_quote("a\0b")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (r"C:\Program Files\csvscore\csvscore.exe", r'"C:\Program Files\csvscore\csvscore.exe"'),
        (r"C:\Users\Zoë\100% sure\csvscore.exe", r'"C:\Users\Zoë\100%% sure\csvscore.exe"'),
        (r"C:\a%PATH%b\csvscore.exe", r'"C:\a%%PATH%%b\csvscore.exe"'),
        (r"C:\x & y ^ z (1) !bang!\csvscore.exe", r'"C:\x & y ^ z (1) !bang!\csvscore.exe"'),
        (r"\\server\share\csvscore.exe", r'"\\server\share\csvscore.exe"'),
        (r"D:\日本\русский\csvscore.exe", r'"D:\日本\русский\csvscore.exe"'),
    ],
)
def test_bat_quote_doubles_percent_inside_quotes(path: str, expected: str) -> None:
    assert bat_quote(path) == expected


@pytest.mark.parametrize("bad", ['C:\\a"b\\csvscore.exe', "C:\\a\nb", "C:\\a\rb"])
def test_bat_quote_refuses_what_cmd_cannot_quote(bad: str) -> None:
    with pytest.raises(ConfigError, match="batch file"):
        bat_quote(bad)


# --- finding csvscore --------------------------------------------------------------------------


def make_executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_explicit_exe_wins_and_is_made_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_csvscore_command(system="Linux", csvscore_exe=Path("bin/csvscore")) == [
        str(tmp_path / "bin" / "csvscore")
    ]
    windows = Path(r"C:\Tools\csvscore.exe")
    assert find_csvscore_command(system="Windows", csvscore_exe=windows) == [str(windows)]


def test_csvscore_on_path_is_found_first(tmp_path) -> None:
    on_path = make_executable(tmp_path / "path dir" / "csvscore")
    beside_python = make_executable(tmp_path / "venv" / "bin" / "csvscore")
    env = {"PATH": str(on_path.parent)}
    command = find_csvscore_command(system="Linux", env=env, script_dirs=[beside_python.parent])
    assert command == [str(on_path)]


def test_script_beside_python_is_used_when_not_on_path(tmp_path) -> None:
    beside_python = make_executable(tmp_path / "venv" / "bin" / "csvscore")
    command = find_csvscore_command(
        system="Linux", env={"PATH": ""}, script_dirs=[tmp_path / "nothing", beside_python.parent]
    )
    assert command == [str(beside_python)]


def test_windows_looks_for_csvscore_exe_in_scripts(tmp_path) -> None:
    exe = make_executable(tmp_path / "venv" / "Scripts" / "csvscore.exe")
    command = find_csvscore_command(system="Windows", env={"PATH": ""}, script_dirs=[exe.parent])
    assert command == [str(exe)]


def test_falls_back_to_python_dash_m(tmp_path) -> None:
    python = tmp_path / "venv" / "bin" / "python3"
    command = find_csvscore_command(
        system="Linux", env={"PATH": ""}, python=str(python), script_dirs=[tmp_path]
    )
    assert command == [str(python), "-m", "csvscore"]


def test_default_script_dirs_are_this_pythons() -> None:
    # The dev venv installs the csvscore console script beside its Python.
    command = find_csvscore_command(system="Linux", env={"PATH": ""})
    scripts = Path(sys.executable).parent
    assert command in ([str(scripts / "csvscore")], [sys.executable, "-m", "csvscore"])


# --- installing --------------------------------------------------------------------------------


def test_install_on_windows_writes_one_bat(tmp_path) -> None:
    exe = Path(r"C:\Users\Zoë\100% (ops)\Scripts\csvscore.exe")
    written = install_shortcut(tmp_path, system="Windows", csvscore_exe=exe, env={})
    assert written == [tmp_path / "csvscore-drop.bat"]
    data = written[0].read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert bat_quote(str(exe)).encode("utf-8") + b" drop -- %*\r\n" in data


def test_install_on_macos_writes_an_executable_command(tmp_path) -> None:
    exe = tmp_path / "it's here" / "csvscore"
    written = install_shortcut(tmp_path, system="Darwin", csvscore_exe=exe, env={})
    assert written == [tmp_path / "csvscore-drop.command"]
    text = written[0].read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash\n")
    assert f"program={sh_quote(str(exe))}\n" in text
    assert executable(written[0])


def test_install_on_linux_writes_executable_sh_and_desktop(tmp_path) -> None:
    exe = tmp_path / "bin" / "csvscore"
    written = install_shortcut(tmp_path, system="Linux", csvscore_exe=exe, env={})
    assert written == [tmp_path / "csvscore-drop.sh", tmp_path / "csvscore.desktop"]
    script = written[0].read_text(encoding="utf-8")
    assert script.startswith("#!/bin/sh\n")
    assert f"program={sh_quote(str(exe))}\n" in script
    assert all(executable(path) for path in written)
    assert f"Exec={written[0]} %F" in written[1].read_text(encoding="utf-8")


@pytest.mark.parametrize("system", ["FreeBSD", "Linux"])
def test_unknown_systems_get_the_linux_wrappers(tmp_path, system) -> None:
    written = install_shortcut(tmp_path, system=system, csvscore_exe=tmp_path / "c", env={})
    assert [p.name for p in written] == ["csvscore-drop.sh", "csvscore.desktop"]


def test_executable_bits_follow_read_bits(tmp_path) -> None:
    old = os.umask(0o027)
    try:
        [script] = install_shortcut(tmp_path, system="Darwin", csvscore_exe=tmp_path / "c", env={})
    finally:
        os.umask(old)
    assert stat.S_IMODE(script.stat().st_mode) == 0o750


def test_install_again_renews_the_wrapper(tmp_path) -> None:
    install_shortcut(tmp_path, system="Linux", csvscore_exe=tmp_path / "old" / "csvscore", env={})
    [script, _] = install_shortcut(
        tmp_path, system="Linux", csvscore_exe=tmp_path / "new" / "csvscore", env={}
    )
    text = script.read_text(encoding="utf-8")
    assert "/new/csvscore" in text and "/old/csvscore" not in text


def test_install_uses_the_found_command_when_none_given(tmp_path) -> None:
    on_path = make_executable(tmp_path / "bin" / "csvscore")
    [script, _] = install_shortcut(tmp_path, system="Linux", env={"PATH": str(on_path.parent)})
    assert f"program={sh_quote(str(on_path))}\n" in script.read_text(encoding="utf-8")


def test_default_folder_is_the_desktop(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    (tmp_path / "Desktop").mkdir()
    written = install_shortcut(system="Linux", csvscore_exe=tmp_path / "c", env={})
    assert [p.parent for p in written] == [tmp_path / "Desktop"] * 2


def test_missing_desktop_asks_for_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    with pytest.raises(ConfigError, match="--dir") as caught:
        install_shortcut(system="Linux", csvscore_exe=tmp_path / "c", env={})
    assert str(tmp_path / "Desktop") in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_missing_desktop_from_injected_lookup(tmp_path) -> None:
    with pytest.raises(ConfigError, match="--dir"):
        install_shortcut(
            system="Windows", desktop_dir=lambda: str(tmp_path / "OneDrive" / "Desktop"), env={}
        )


def test_missing_dir_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="folder not found"):
        install_shortcut(tmp_path / "nope", system="Linux", csvscore_exe=tmp_path / "c", env={})


def test_unwritable_dir_is_a_config_error(tmp_path) -> None:
    # A file where the wrapper should go cannot be replaced by writing to it as a folder.
    (tmp_path / "csvscore-drop.bat").mkdir()
    with pytest.raises(ConfigError, match="cannot write"):
        install_shortcut(tmp_path, system="Windows", csvscore_exe=Path(r"C:\c.exe"), env={})


def test_linux_launcher_is_marked_trusted_with_gio(tmp_path) -> None:
    log = tmp_path / "gio.log"
    fake = tmp_path / "bin" / "gio"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {shlex.quote(str(log))}\n')
    fake.chmod(0o755)
    _, launcher = install_shortcut(
        tmp_path, system="Linux", csvscore_exe=tmp_path / "c", env={"PATH": str(fake.parent)}
    )
    assert log.read_text().splitlines() == ["set", str(launcher), "metadata::trusted", "true"]


def test_failing_gio_does_not_fail_the_install(tmp_path) -> None:
    fake = tmp_path / "bin" / "gio"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'not supported' >&2\nexit 1\n")
    fake.chmod(0o755)
    written = install_shortcut(
        tmp_path, system="Linux", csvscore_exe=tmp_path / "c", env={"PATH": str(fake.parent)}
    )
    assert len(written) == 2


def test_templates_come_from_the_package() -> None:
    # importlib.resources reads them from csvscore.desktop.wrappers, as it will from a wheel.
    assert render_sh(["/x"]).startswith("#!/bin/sh\n")
    assert "@@" not in render_sh(["/x/@@ARGS@@"]).replace("/x/@@ARGS@@", "")
    assert shortcuts.WRAPPER_PACKAGE == "csvscore.desktop.wrappers"
