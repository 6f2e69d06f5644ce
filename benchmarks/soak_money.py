"""Soak the money-safety state machine: many more random sequences than the test suite runs.

``python -m benchmarks.soak_money --examples 500`` runs ``tests/test_state_machine.py``'s
machine (start, two at once, kill in flight, Ctrl-C, re-drop, re-export, remembered mapping,
lost journal, faults, --retry-unconfirmed, credits running out) with random seeds and prints how
many sequences and steps ran, how long they took, and the failure if any. Not a measure of
speed: a long run of the invariants (nobody charged twice unless asked, every row final, no row
accepted without its own job).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.soak_money", description=__doc__)
    ap.add_argument("--examples", type=int, default=300, help="random sequences (default 300)")
    ap.add_argument("--steps", type=int, default=12, help="steps per sequence at most")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from hypothesis import HealthCheck, settings
    from hypothesis.stateful import run_state_machine_as_test

    from tests.test_state_machine import STEPS, MoneyMachine

    sequences = [0]

    class Counted(MoneyMachine):
        def __init__(self) -> None:
            super().__init__()
            sequences[0] += 1

    started = time.perf_counter()
    failed: BaseException | None = None
    try:
        run_state_machine_as_test(
            Counted,
            settings=settings(
                max_examples=args.examples,
                stateful_step_count=args.steps,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                database=None,
            ),
        )
    except BaseException as exc:  # reported, then the exit status says so
        failed = exc
    elapsed = time.perf_counter() - started
    print(f"# money-safety state machine: {sequences[0]} sequences, {sum(STEPS.values())} steps")
    for name, n in sorted(STEPS.items(), key=lambda kv: -kv[1]):
        print(f"  {name:36} {n:6}")
    print(f"  {elapsed:.0f} s ({elapsed / max(1, sum(STEPS.values())) * 1000:.0f} ms a step)")
    if failed is not None:
        print(f"FAILED: {type(failed).__name__}: {failed}")
        return 1
    print("  invariants held in every sequence")
    return 0


if __name__ == "__main__":
    sys.exit(main())
