"""The outside world of one CLI call: streams and environment, swapped for test ones in tests."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Env:
    """The outside world of one CLI call: streams and environment (tests pass their own)."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def interactive(self) -> bool:
        """Prompts only when a person is at both ends (not a pipe, not CI)."""
        if self.environ.get("CI"):
            return False
        return isatty(self.stdin) and isatty(self.stdout)


def isatty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False
