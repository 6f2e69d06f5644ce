"""Open a result workbook with the user's default spreadsheet program.

Windows uses :func:`os.startfile`, macOS ``open``, Linux ``xdg-open``. When there is nothing
to open it with, :class:`OpenerError` says so and where the file is; callers show its
message and carry on (the workbook has been written either way).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from csvscore.errors import CsvscoreError

Runner = Callable[..., Any]


class OpenerError(CsvscoreError):
    """The file could not be handed to a program; the message ends "Open it yourself: PATH"."""

    def __init__(self, reason: str, path: Path) -> None:
        super().__init__(f"Could not open the result ({reason}). Open it yourself: {path}")
        self.path = path


def open_with_default_app(
    path: Path,
    *,
    system: str | None = None,
    runner: Runner = subprocess.Popen,
    startfile: Callable[[str], None] | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Open ``path`` with the program the desktop associates with it, without waiting for it.

    ``runner`` starts the macOS/Linux opener (``subprocess.Popen``-like); ``startfile`` is
    :func:`os.startfile` unless given. ``env`` (default ``os.environ``) is only used to find
    ``xdg-open`` on ``PATH``. Raises :class:`OpenerError` if no opener can be started.
    """
    system = system or platform.system()
    # Absolute, so a name like "-x.xlsx" is never read as an option by the opener.
    target = Path(os.path.abspath(path))
    if system == "Windows":
        start = startfile if startfile is not None else getattr(os, "startfile", None)
        if start is None:
            raise OpenerError("os.startfile is not available", target)
        try:
            start(str(target))
        except OSError as exc:  # e.g. no program is associated with .xlsx
            raise OpenerError(exc.strerror or str(exc), target) from exc
        return
    if system == "Darwin":
        argv = ["open", str(target)]
    else:
        search_path = (env if env is not None else os.environ).get("PATH", "")
        opener = shutil.which("xdg-open", path=search_path)
        if opener is None:
            raise OpenerError("xdg-open was not found", target)
        argv = [opener, str(target)]
    try:
        runner(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its own session, so closing the terminal window does not take the
            # spreadsheet program down with it (SIGHUP goes to the terminal's session).
            start_new_session=True,
        )
    except OSError as exc:
        raise OpenerError(f"{argv[0]} could not be started: {exc.strerror or exc}", target) from exc
