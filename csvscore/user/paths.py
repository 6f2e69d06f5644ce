"""Where csvscore keeps its files, and how it writes them.

- Config (API key file, remembered mappings): ``platformdirs.user_config_dir("csvscore")``,
  e.g. ``~/.config/csvscore`` on Linux, ``~/Library/Application Support/csvscore`` on macOS,
  ``%LOCALAPPDATA%\\csvscore`` on Windows. Override with ``CSVSCORE_CONFIG_DIR``.
- State (journals, the ledger, last-seen account figures):
  ``platformdirs.user_state_dir("csvscore")``, e.g. ``~/.local/state/csvscore`` on Linux.
  Override with ``CSVSCORE_STATE_DIR``.

Every function takes ``env`` (default ``os.environ``) instead of reading globals, so tests and
embedding programs pass their own environment.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import platformdirs

from csvscore.errors import ConfigError

APP_NAME = "csvscore"

ENV_CONFIG_DIR = "CSVSCORE_CONFIG_DIR"

ENV_STATE_DIR = "CSVSCORE_STATE_DIR"


def _dir_from(env: Mapping[str, str], var: str, default: str) -> Path:
    override = env.get(var, "").strip()
    return Path(override).expanduser() if override else Path(default)


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The per-user config directory (``CSVSCORE_CONFIG_DIR`` or the platform's). Not created."""
    return _dir_from(env, ENV_CONFIG_DIR, platformdirs.user_config_dir(APP_NAME, appauthor=False))


def state_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The per-user state directory (``CSVSCORE_STATE_DIR`` or the platform's). Not created."""
    return _dir_from(env, ENV_STATE_DIR, platformdirs.user_state_dir(APP_NAME, appauthor=False))


ENV_FALLBACK_DIR = "CSVSCORE_FALLBACK_DIR"


def fallback_results_dir(env: Mapping[str, str] = os.environ) -> Path:
    """Where a result goes when the folder beside the export cannot be written (the shortcut's
    case: an export in a read-only folder): ``Documents/csvscore``, else ``~/csvscore``.
    ``CSVSCORE_FALLBACK_DIR`` overrides it. Not created."""
    override = env.get(ENV_FALLBACK_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    documents = Path(platformdirs.user_documents_dir())
    return (documents if documents.is_dir() else Path.home()) / APP_NAME


def display_path(path: Path) -> str:
    """``path`` with the home directory shown as ``~`` (shorter, and no user name in output)."""
    try:
        return "~" + os.sep + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # not under home, or no home directory at all
        return str(path)


def utc_now_iso(now: datetime | None = None) -> str:
    """``now`` (default: the current time) as ISO 8601 UTC, e.g. ``2025-11-26T10:40:00Z``."""
    moment = now if now is not None else datetime.now(timezone.utc)
    if moment.tzinfo is None:  # a naive time is taken as UTC rather than guessed as local
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never a part.

    The data goes to a fresh temporary file in the same directory and is then renamed over
    ``path``. With ``mode`` (e.g. 0o600 for secrets) the file has exactly that mode from its
    creation, so it is never readable by others even for a moment; without it the usual
    permissions (0666 less the umask) apply. Parent directories are created (mode 0700).
    Raises :class:`ConfigError` on failure, leaving no temporary file behind.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = text.encode("utf-8")
        tmp, fd = _create_exclusive(path, mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    except OSError as exc:
        raise ConfigError(f"Cannot write {display_path(path)}: {exc.strerror or exc}") from exc


def _create_exclusive(path: Path, mode: int | None) -> tuple[Path, int]:
    for _ in range(10):  # a random 64-bit name colliding even once is already unheard of
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(
                tmp,
                os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0),
                0o666 if mode is None else mode,
            )
        except FileExistsError:
            continue
        # The umask can only remove bits from ``mode``; set it exactly so the file is what we
        # promise. On Windows chmod only toggles read-only, so this is best effort there: the
        # per-user profile folder's ACL is what keeps the file private.
        if mode is not None and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        return tmp, fd
    raise FileExistsError(f"could not create a temporary file next to {path}")
