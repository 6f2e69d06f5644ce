"""Closing the window or a polite kill stops a run the way Ctrl-C does.

SIGTERM (a shutdown, ``kill``) and SIGHUP (the terminal window closed) become the same
KeyboardInterrupt that Ctrl-C raises: sending stops, requests in flight finish and are recorded,
the workbook is written and temporary files are removed. Without this, Python's default for
both is to die on the spot, which leaves batches "in flight" for the next run to reconcile and
no result at all.

After SIGHUP the terminal is gone, and writing to it would raise; standard output and error are
pointed at the null device so the run can still finish its work quietly. A second signal while
stopping is ignored: the workbook must be written whole.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from csvscore.cli.env import Env

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def stop_on_signals(env: Env) -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise KeyboardInterrupt once (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if signum == getattr(signal, "SIGHUP", None):
            _detach_terminal(env)
        if received:
            return  # already stopping: let the workbook be written
        received.append(signum)
        raise KeyboardInterrupt

    previous: dict[int, Any] = {}
    for signum in _SIGNALS:
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _detach_terminal(env: Env) -> None:
    """Point stdout/stderr at the null device: the terminal that owned them is gone."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
        os.close(null)
    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the run
    for name in ("stdout", "stderr"):
        if getattr(env, name) is getattr(sys, name):
            setattr(env, name, sink)
    sys.stdout = sys.stderr = sink
