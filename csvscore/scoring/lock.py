"""One sender per input at a time, across processes: an OS file lock per input content.

A double-click, a second drop while the first window is still slow to appear, or two copies of
the same file dropped together must not send the same contacts twice. The journal's
compare-and-set catches two runs that take the same batch; this lock keeps the second run from
starting at all, and says so plainly. (Two *different* files of the same people are the
ledger's job: :mod:`csvscore.scoring.ledger`.)

The lock is the operating system's (``filelock``: ``flock`` on POSIX, ``msvcrt.locking`` on
Windows), so it is released when its process ends, however it ends: a run killed with -9 never
leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from csvscore.errors import BusyError, StateError

BUSY_MESSAGE = (
    "This file is being scored in another window right now; nothing was sent from this one. "
    "Wait for the other window to finish, then drop the same file again to see the result."
)


def lock_path(state_dir: Path, fingerprint: str, *, sandbox: bool = False) -> Path:
    suffix = ".sandbox.lock" if sandbox else ".lock"
    return state_dir / "locks" / f"{fingerprint[:24]}{suffix}"


def _lock(path: Path) -> FileLock:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"csvscore cannot write its state folder {path.parent.parent} "
            f"({exc.strerror or exc}). Make it writable, then drop the same file again."
        ) from exc
    # thread_local=False: the lock belongs to the run, whichever thread releases it.
    return FileLock(str(path), timeout=0, thread_local=False)


@contextlib.contextmanager
def holding(path: Path) -> Iterator[None]:
    """Hold the input's lock for the block; :class:`BusyError` at once if another run has it."""
    lock = _lock(path)
    try:
        lock.acquire()
    except Timeout:
        raise BusyError(BUSY_MESSAGE) from None
    except OSError as exc:
        raise StateError(
            f"csvscore cannot lock {path} ({exc.strerror or exc}). Make its state folder "
            "writable, then drop the same file again."
        ) from exc
    try:
        _note_owner(path)
        yield
    finally:
        lock.release()


def check_free(path: Path) -> None:
    """Raise :class:`BusyError` now if another run holds the lock (before the review asks)."""
    with holding(path):
        pass


def _note_owner(path: Path) -> None:
    # Only for a person looking at the folder; the lock itself is the OS's, not this text.
    with contextlib.suppress(OSError):
        path.with_suffix(".owner").write_text(f"pid {os.getpid()}\n", encoding="utf-8")
