"""Run a snippet in a fresh child process; report its timing, CPU time and peak memory.

Each measurement gets a process of its own so that one case's imports, caches and heap do not
flatter or penalise the next. The child measures itself: ``setup`` (imports) runs untimed,
``body`` is timed with ``perf_counter`` and ``process_time``, and the peak resident set size is
the child's own high-water mark read at the end (so it covers the whole child, imports
included): ``VmHWM`` from ``/proc/self/status`` on Linux, because ``ru_maxrss`` survives
``fork`` + ``exec`` and reports the *parent's* size when the parent is bigger (measured: a child
of a 400 MB parent said 413 MB, VmHWM 13 MB); ``ru_maxrss`` elsewhere. Unix only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: children import benchmarks from it
RESULT_TAG = "__RESULT__"

_PRELUDE = """
import json as _json, resource as _resource, sys as _sys, time as _time
extra = {}
_t0, _c0 = _time.perf_counter(), _time.process_time()
"""
_POSTLUDE = f"""
_elapsed, _cpu = _time.perf_counter() - _t0, _time.process_time() - _c0
try:
    with open("/proc/self/status") as _status:
        _peak_mb = int(_status.read().split("VmHWM:")[1].split()[0]) / 1024
except (OSError, IndexError):  # not Linux: ru_maxrss is in bytes on macOS
    _peak_mb = _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024)
print({RESULT_TAG!r} + _json.dumps(
    {{"seconds": _elapsed, "cpu": _cpu, "peak_mb": _peak_mb, "extra": extra}}, default=str
))
"""


@dataclass
class Measurement:
    """What one child run reported (``extra`` is whatever the body put in its ``extra`` dict)."""

    name: str
    seconds: float  # wall time of the body
    cpu_seconds: float  # the child's user + system CPU time during the body (all its threads)
    peak_mb: float  # the child's peak resident memory, MiB
    total_seconds: float  # wall time of the whole child: interpreter start-up and imports too
    extra: dict = field(default_factory=dict)


class ChildFailed(RuntimeError):
    """The child process exited non-zero or printed no result."""


def measure(
    name: str,
    setup: str,
    body: str,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> Measurement:
    """Run ``setup`` (untimed) then ``body`` (timed) in a new interpreter; return what it measured.

    The child runs from the checkout's root so ``import benchmarks...`` works in it. ``body`` may
    store JSON-ready values in the dict ``extra`` to report them. Raises :class:`ChildFailed`
    with the end of the child's stderr if it fails.
    """
    code = setup + "\n" + _PRELUDE + body + "\n" + _POSTLUDE
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=dict(env) if env is not None else None,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise ChildFailed(f"{name}: no result within {timeout:g} s") from exc
    total = time.perf_counter() - started
    lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise ChildFailed(f"{name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    data = json.loads(lines[-1][len(RESULT_TAG) :])
    return Measurement(
        name, data["seconds"], data["cpu"], data["peak_mb"], total, data.get("extra", {})
    )


def env_info() -> str:
    """One line about the machine, for the report header."""
    return f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {sys.platform}"
