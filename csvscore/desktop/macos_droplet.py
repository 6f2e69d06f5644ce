"""``csvscore.app``: the macOS drop target, an AppleScript droplet built with ``osacompile``.

Finder hands files dropped on an icon only to applications; a ``.command`` file is a document
that Terminal opens, so it never sees them. :func:`build_droplet` fills in the template
``csvscore.applescript`` (in :mod:`csvscore.desktop.wrappers`) with the path of the installed
``csvscore-drop.command`` and compiles it with ``/usr/bin/osacompile``, which every Mac has.
The app's ``on open`` handler runs that ``.command`` in Terminal with each dropped item's
POSIX path as one argument (``quoted form of``, done by AppleScript when the files are
dropped); ``on run`` (a double-click) runs it without files, so csvscore asks for them.

Only the ``.command`` path is written into the AppleScript source, as a string literal
(:func:`applescript_string`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from csvscore.errors import ConfigError

APP_NAME = "csvscore.app"
TEMPLATE_NAME = "csvscore.applescript"
_PLACEHOLDER = "@@COMMAND@@"
# Seconds: osacompile takes well under one; a hung one must not hang the install.
_COMPILE_TIMEOUT = 120

# The escapes an AppleScript string literal knows besides \" and \\ (AppleScript Language
# Guide, "text"): writing these three as escapes keeps the source one literal per line.
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}

# What runs osacompile: subprocess.run, or a test's recording stand-in with its signature.
Runner = Callable[..., "subprocess.CompletedProcess[Any]"]


def applescript_string(text: str) -> str:
    """``text`` as an AppleScript string literal: in double quotes, ``\\`` and ``"`` escaped.

    Tab, line feed and return become ``\\t``, ``\\n`` and ``\\r``; every other character,
    accents and non-Latin letters included, stands for itself (AppleScript 2.0 source is
    Unicode). Other control characters have no escape, so they raise :class:`ConfigError`.
    """
    bad = [ch for ch in text if (ord(ch) < 32 and ch not in _ESCAPES) or ch == "\x7f"]
    if bad:
        raise ConfigError(
            f"cannot write {text!r} into an AppleScript: it contains a control character"
        )
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def render_droplet_source(command_file: Path | str) -> str:
    """The AppleScript source of the droplet that runs ``command_file`` in Terminal."""
    template = (
        resources.files("csvscore.desktop.wrappers").joinpath(TEMPLATE_NAME).read_text("utf-8")
    )
    # One placeholder and one replace: a path holding "@@COMMAND@@" is not substituted again.
    return template.replace(f'"{_PLACEHOLDER}"', applescript_string(str(command_file)))


def find_osacompile(env: Mapping[str, str]) -> str | None:
    """``osacompile`` on ``env["PATH"]`` (``/usr/bin`` on every Mac), or None elsewhere."""
    return shutil.which("osacompile", path=env.get("PATH", ""))


def build_droplet(
    folder: Path,
    command_file: Path,
    *,
    osacompile: str | Path,
    runner: Runner = subprocess.run,
) -> Path:
    """Compile ``folder/csvscore.app``, a droplet running ``command_file``; return its path.

    Runs ``osacompile -o <folder>/csvscore.app <source file>`` through ``runner`` (same
    signature as :func:`subprocess.run`, so tests can record the call). An existing
    ``csvscore.app`` bundle is replaced, as the other wrappers are. Raises
    :class:`ConfigError` if the app cannot be built; the caller decides whether that matters.
    """
    app = folder / APP_NAME
    source = render_droplet_source(command_file)
    _remove_old_app(app)
    with tempfile.TemporaryDirectory(prefix="csvscore-droplet-") as tmp:
        script = Path(tmp) / TEMPLATE_NAME
        # UTF-8 (no BOM), what osacompile reads plain-text source as since AppleScript 2.0.
        script.write_text(source, encoding="utf-8", newline="\n")
        argv = [str(osacompile), "-o", str(app), str(script)]
        try:
            done = runner(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_COMPILE_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError(f"could not run {osacompile}: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout or "").strip() or f"exit status {done.returncode}"
        raise ConfigError(f"osacompile failed: {detail}")
    if not app.is_dir():
        raise ConfigError(f"osacompile reported success but wrote no {app}")
    return app


def _remove_old_app(app: Path) -> None:
    """Delete a previous ``csvscore.app`` bundle, so osacompile starts from a clean one.

    Only a folder that looks like an app bundle (it has ``Contents``) is removed; anything
    else with that name is the user's, and is left alone with an error.
    """
    if not (app.exists() or app.is_symlink()):
        return
    if app.is_symlink() or not (app / "Contents").is_dir():
        raise ConfigError(f"{app} exists and is not an app csvscore made; move it away first")
    try:
        shutil.rmtree(app)
    except OSError as exc:
        raise ConfigError(f"cannot replace {app}: {exc.strerror or exc}") from exc
