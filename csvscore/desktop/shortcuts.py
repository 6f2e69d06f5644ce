"""``csvscore install-shortcut``: put a drop target for csvscore on the user's Desktop.

One small wrapper script per system, filled in from the templates in
:mod:`~csvscore.desktop.wrappers` (read with :mod:`importlib.resources`, so they ship in the wheel):

- Windows: ``csvscore-drop.bat`` (drop files onto it, or double-click it);
- macOS: ``csvscore-drop.command`` (double-click; Terminal asks for the files) and, where
  ``osacompile`` exists, ``csvscore.app`` (the droplet to drop files onto; it runs the
  ``.command`` with them, see :mod:`~csvscore.desktop.macos_droplet`);
- Linux: ``csvscore-drop.sh`` plus ``csvscore.desktop``, the launcher to drop files onto.

Each wrapper runs ``<absolute csvscore command> drop -- <files...>``. The command is written
into the script with the quoting of that script's language; the quoting functions are public
so the tests can check them on hostile paths.
"""

from __future__ import annotations

import contextlib
import ntpath
import os
import platform
import posixpath
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

import platformdirs

from csvscore.desktop import macos_droplet
from csvscore.errors import ConfigError

WRAPPER_PACKAGE = "csvscore.desktop.wrappers"
BAT_NAME = "csvscore-drop.bat"
COMMAND_NAME = "csvscore-drop.command"
SH_NAME = "csvscore-drop.sh"
DESKTOP_NAME = "csvscore.desktop"

# Characters the Desktop Entry spec reserves in an Exec argument (such an argument must be
# quoted); inside double quotes, these four must also be escaped with a backslash.
_DESKTOP_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_DESKTOP_QUOTED_ESCAPES = frozenset('"`$\\')
_PLACEHOLDER = re.compile(r"@@([A-Z]+)@@")


# --- quoting, one function per script language ------------------------------------------------


def bat_quote(arg: str) -> str:
    """Quote ``arg`` for a line of a Windows batch file (with delayed expansion off).

    Inside double quotes cmd takes ``&``, ``^``, ``(``, ``)``, ``!``, spaces and so on
    literally; only ``%`` is still expanded in a batch file, so it is doubled. A ``"`` cannot
    be quoted at all, and Windows forbids it in file names anyway.
    """
    if '"' in arg or any(ord(ch) < 32 for ch in arg):
        raise ConfigError(
            f"cannot write {arg!r} into a batch file: it contains a quote or a control character"
        )
    return '"' + arg.replace("%", "%%") + '"'


def sh_quote(arg: str) -> str:
    """Quote ``arg`` as one word for a POSIX shell (sh, bash): always single-quoted.

    Nothing is special inside single quotes; a single quote itself becomes ``'\\''`` (end the
    quoted part, an escaped quote, start a new quoted part).
    """
    if "\0" in arg:
        raise ConfigError(f"cannot write {arg!r} into a shell script: it contains a NUL byte")
    return "'" + arg.replace("'", "'\\''") + "'"


def desktop_exec_arg(arg: str) -> str:
    """Quote one argument for the ``Exec`` key of a Desktop Entry (spec 1.5, "The Exec key").

    This is the Exec level only: an argument holding a reserved character is put in double
    quotes, inside which ``"``, `````, ``$`` and ``\\`` get a backslash; ``%`` is doubled
    because it starts a field code everywhere. The result still needs
    :func:`desktop_string_escape`, as the whole value does (see :func:`desktop_exec_value`).
    """
    if any(ord(ch) < 32 and ch not in "\t\n" for ch in arg) or "\x7f" in arg:
        raise ConfigError(f"cannot write {arg!r} into a desktop entry: control character")
    quoted = arg
    if not arg or any(ch in _DESKTOP_RESERVED for ch in arg):
        quoted = '"' + "".join("\\" + ch if ch in _DESKTOP_QUOTED_ESCAPES else ch for ch in arg)
        quoted += '"'
    return quoted.replace("%", "%%")


def desktop_string_escape(value: str) -> str:
    """Escape a value for a desktop entry file (the spec's escapes for the type string).

    Applied after the Exec quoting: a backslash becomes ``\\\\``, so a literal backslash in
    a quoted Exec argument ends up as four of them, exactly as the spec describes.
    """
    table = {"\\": "\\\\", "\n": "\\n", "\t": "\\t"}
    return "".join(table.get(ch, ch) for ch in value)


def desktop_exec_value(args: Sequence[str], field_code: str = "%F") -> str:
    """The complete, file-ready value of an ``Exec`` key running ``args`` plus a field code."""
    line = " ".join(desktop_exec_arg(arg) for arg in args)
    if field_code:
        line += " " + field_code
    return desktop_string_escape(line)


# --- finding the csvscore command -------------------------------------------------------------


def _is_absolute(path: str, system: str) -> bool:
    return ntpath.isabs(path) if system == "Windows" else posixpath.isabs(path)


def find_csvscore_command(
    *,
    system: str | None = None,
    csvscore_exe: Path | None = None,
    env: Mapping[str, str] = os.environ,
    python: str = sys.executable,
    script_dirs: Iterable[Path] | None = None,
) -> list[str]:
    """The absolute command (program and leading arguments) that runs csvscore.

    In order: ``csvscore_exe`` if given; ``csvscore`` on ``env["PATH"]``; the ``csvscore``
    script installed beside this Python (venv ``bin/``, ``Scripts\\csvscore.exe``, or the user
    scripts folder); else ``[python, "-m", "csvscore"]``. A found script keeps the path it was
    found under (not symlinks resolved), so a ``pipx upgrade`` that replaces its target still
    works.
    """
    system = system or platform.system()
    if csvscore_exe is not None:
        exe = str(csvscore_exe)
        if not _is_absolute(exe, system):
            exe = os.path.abspath(exe)
        return [exe]
    found = shutil.which("csvscore", path=env.get("PATH", ""))
    if found:
        return [os.path.abspath(found)]
    if script_dirs is None:
        script_dirs = _python_script_dirs()
    names = ("csvscore.exe", "csvscore") if system == "Windows" else ("csvscore",)
    for folder in script_dirs:
        for name in names:
            candidate = folder / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return [str(candidate.absolute())]
    return [os.path.abspath(python), "-m", "csvscore"]


def _python_script_dirs() -> list[Path]:
    """Where pip puts console scripts for this Python: its scripts folder, then the user one."""
    dirs = [Path(sysconfig.get_path("scripts"))]
    user_scheme = f"{os.name}_user"
    if user_scheme in sysconfig.get_scheme_names():
        dirs.append(Path(sysconfig.get_path("scripts", user_scheme)))
    return dirs


# --- filling in the templates -----------------------------------------------------------------


def _template(name: str) -> str:
    return resources.files(WRAPPER_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def _fill(template: str, values: Mapping[str, str]) -> str:
    # One pass, so a value that happens to contain "@@...@@" is never substituted again.
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def render_bat(command: Sequence[str]) -> str:
    """The Windows wrapper for ``command``, with CRLF line ends (cmd's labels need them)."""
    text = _fill(
        _template(BAT_NAME),
        {
            "PROGRAM": bat_quote(command[0]),
            "ARGS": "".join(" " + bat_quote(a) for a in command[1:]),
        },
    )
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _render_posix(name: str, command: Sequence[str]) -> str:
    return _fill(
        _template(name),
        {"PROGRAM": sh_quote(command[0]), "ARGS": "".join(" " + sh_quote(a) for a in command[1:])},
    )


def render_sh(command: Sequence[str]) -> str:
    """The Linux wrapper script (POSIX sh) for ``command``."""
    return _render_posix(SH_NAME, command)


def render_command(command: Sequence[str]) -> str:
    """The macOS ``.command`` script (bash 3.2 compatible) for ``command``."""
    return _render_posix(COMMAND_NAME, command)


def render_desktop(script: Path | str) -> str:
    """The Linux ``.desktop`` launcher that runs ``script`` in a terminal with the dropped files."""
    args = [str(script)]
    if "%" in args[0]:
        # GLib looks for the Exec program before it turns "%%" back into "%", so it cannot
        # find a script whose path holds a "%" and refuses the launcher; run it through sh.
        args.insert(0, "/bin/sh")
    return _fill(_template(DESKTOP_NAME), {"EXEC": desktop_exec_value(args, "%F")})


# --- installing -------------------------------------------------------------------------------


class InstalledShortcuts(list[Path]):
    """The paths :func:`install_shortcut` wrote (a plain list of them), plus ``notes``.

    ``notes`` are sentences for the user about parts that were skipped, such as the macOS
    droplet when ``osacompile`` is missing or fails; the install itself still succeeded.
    """

    def __init__(self, paths: Iterable[Path] = (), notes: Iterable[str] = ()) -> None:
        super().__init__(paths)
        self.notes: list[str] = list(notes)


def install_shortcut(
    dest_dir: Path | None = None,
    *,
    system: str | None = None,
    csvscore_exe: Path | None = None,
    env: Mapping[str, str] = os.environ,
    desktop_dir: Callable[[], str] = platformdirs.user_desktop_dir,
    osacompile: str | Path | None = None,
    runner: macos_droplet.Runner = subprocess.run,
) -> InstalledShortcuts:
    """Write this system's drop wrapper into ``dest_dir`` (default: the Desktop).

    ``system`` is a :func:`platform.system` value ("Windows", "Darwin", anything else is
    treated as Linux). The csvscore command is found with :func:`find_csvscore_command`.
    Existing wrappers are overwritten, so running it again renews them. Returns the paths
    written (a list; its ``notes`` say what was skipped); raises :class:`ConfigError` if the
    folder is missing or cannot be written.

    On macOS the ``.command`` comes first, then ``csvscore.app`` compiled with ``osacompile``
    (default: found on ``env["PATH"]``) run through ``runner``. Without ``osacompile``, or if
    it fails, the app is left out with a note, never failing the install.
    """
    system = system or platform.system()
    folder = _destination(dest_dir, desktop_dir)
    command = find_csvscore_command(system=system, csvscore_exe=csvscore_exe, env=env)
    if system == "Windows":
        # UTF-8 without a BOM: a BOM would become part of the first command cmd reads.
        bat = _write(folder / BAT_NAME, render_bat(command), executable=False)
        return InstalledShortcuts([bat])
    if system == "Darwin":
        script = _write(folder / COMMAND_NAME, render_command(command), executable=True)
        return _add_droplet(InstalledShortcuts([script]), script, osacompile, runner, env)
    script = _write(folder / SH_NAME, render_sh(command), executable=True)
    # The launcher must be executable too: GNOME and KDE refuse to run one that is not.
    launcher = _write(folder / DESKTOP_NAME, render_desktop(script), executable=True)
    _mark_trusted(launcher, env)
    return InstalledShortcuts([script, launcher])


def _add_droplet(
    written: InstalledShortcuts,
    script: Path,
    osacompile: str | Path | None,
    runner: macos_droplet.Runner,
    env: Mapping[str, str],
) -> InstalledShortcuts:
    """Build ``csvscore.app`` beside the ``.command``; on any failure, only add a note."""
    fallback = (
        f"Double-click {script.name} instead: Terminal opens and asks you to drag your files"
        " into its window."
    )
    tool = osacompile if osacompile is not None else macos_droplet.find_osacompile(env)
    if tool is None:
        written.notes.append(
            f"{macos_droplet.APP_NAME} (the icon to drop files onto) was not built: osacompile"
            f" was not found. {fallback}"
        )
        return written
    try:
        written.append(
            macos_droplet.build_droplet(script.parent, script, osacompile=tool, runner=runner)
        )
    except ConfigError as exc:
        written.notes.append(f"{macos_droplet.APP_NAME} was not built: {exc}. {fallback}")
    return written


def _destination(dest_dir: Path | None, desktop_dir: Callable[[], str]) -> Path:
    if dest_dir is None:
        desktop = Path(desktop_dir())
        if not desktop.is_dir():
            raise ConfigError(
                f"no Desktop folder found (looked for {desktop}); "
                "choose where to put the shortcut with --dir FOLDER"
            )
        return desktop.absolute()
    folder = Path(dest_dir).expanduser()
    if not folder.is_dir():
        raise ConfigError(f"folder not found: {folder}; create it or choose another with --dir")
    return folder.absolute()


def _write(path: Path, text: str, *, executable: bool) -> Path:
    try:
        # newline="" writes the text's own line ends (CRLF for the batch file, LF otherwise).
        with path.open("w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        if executable:
            mode = path.stat().st_mode
            # Executable for whoever may read it, like `chmod +x` under the usual umask.
            path.chmod(mode | ((mode & 0o444) >> 2))
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def _mark_trusted(launcher: Path, env: Mapping[str, str]) -> None:
    """Tell GNOME the launcher is trusted, so it runs instead of showing "Untrusted".

    Best effort: without ``gio`` or a session bus it simply does nothing, and the user can
    still choose "Allow Launching" from the icon's menu.
    """
    gio = shutil.which("gio", path=env.get("PATH", ""))
    if gio is None:
        return
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            [gio, "set", str(launcher), "metadata::trusted", "true"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            timeout=10,
            check=False,
        )
