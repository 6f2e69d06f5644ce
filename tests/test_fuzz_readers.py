"""A short run of the readers' fuzzer (the long one: ``python -m benchmarks.fuzz_readers``).

The fuzzer reads generated CSV, XLSX, ODS and XLS bytes in a child process; every input must give
a well-formed Table or a one-line InputError, with the child's memory and each read's time
bounded. A fixed seed makes the run repeatable.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_few_seconds_of_fuzzing_find_nothing() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "benchmarks.fuzz_readers", "--seconds", "5", "--seed", "7",
            "--max-rss-mb", "800", "--max-read-seconds", "10",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output
    assert re.search(r"done: \d+ s, \d+ children, 0 findings", output), output
    reads = int(re.search(r"child: (\d+) reads", output).group(1))  # type: ignore[union-attr]
    assert reads >= 50, output  # it did read a fair number of inputs
