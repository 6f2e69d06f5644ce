"""Run every benchmark: ``python -m benchmarks`` (``--quick`` for a small smoke run).

Prints each benchmark's figures and its ratios against baselines measured in the same run.
Benchmarks are not tests: a missed goal is reported, not failed. The exit status is 1 only
when a run failed functionally (rows not all read or accepted, a 429 not handled, a contact
charged twice...), else 0.
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmarks import bench_read_map, bench_receiver, bench_score


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of ~1 minute")
    args = ap.parse_args(argv)
    flags = ["--quick"] if args.quick else []
    started = time.perf_counter()
    failures = bench_read_map.main(flags)
    print()
    failures += bench_score.main(flags)
    print()
    if bench_receiver.main(flags):
        failures.append("receiver: a delivery was not stored exactly once")
    print(f"\n# All benchmarks: {time.perf_counter() - started:.0f} s")
    if failures:
        print(f"{len(failures)} functional failure(s):")
        for failure in failures:
            print(f"  {failure}")
        return 1
    print("every run worked (all rows read, scored and written; no 429 left unhandled)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
