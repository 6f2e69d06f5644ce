"""This process's peak resident memory, in MiB, measured so that a child does not inherit it.

``ru_maxrss`` survives ``fork`` + ``exec``: a child of a 400 MB parent reports 413 MB however
little it uses itself (measured). Linux keeps the process's own high-water mark as ``VmHWM`` in
``/proc/self/status``; elsewhere ``ru_maxrss`` is the best there is (bytes on macOS, KiB on the
BSDs).
"""

from __future__ import annotations

import resource
import sys


def peak_mib() -> float:
    try:
        with open("/proc/self/status") as status:
            return int(status.read().split("VmHWM:")[1].split()[0]) / 1024
    except (OSError, IndexError):
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
