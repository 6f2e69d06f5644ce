"""Run a snippet in a fresh child process; report its own timing and the child's peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

_PRELUDE = """
import json, sys, time
_t0 = time.perf_counter()
"""
_POSTLUDE = """
_elapsed = time.perf_counter() - _t0
print("__RESULT__" + json.dumps({"seconds": _elapsed, "extra": globals().get("extra", {})}))
"""


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_mb: float
    extra: dict


def measure(name: str, setup: str, body: str) -> Measurement:
    """``setup`` runs untimed (imports), ``body`` is timed; peak RSS covers the whole child."""
    code = setup + "\n" + _PRELUDE + body + "\n" + _POSTLUDE
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate()
    # wait4 after communicate() is not possible (already reaped), so read RUSAGE of the child
    # through a tiny wrapper instead: re-run under /usr/bin/time is not portable. We use the
    # child's own ru_maxrss printed in the result instead (see body helpers).
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{err[-2000:]}")
    line = next(x for x in out.splitlines() if x.startswith("__RESULT__"))
    data = json.loads(line[len("__RESULT__") :])
    peak = data["extra"].pop("peak_mb", float("nan"))
    return Measurement(name, data["seconds"], peak, data["extra"])


PEAK = """
import resource as _r
extra = globals().get("extra", {})
extra["peak_mb"] = _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024
"""


def env_info() -> str:
    return f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
