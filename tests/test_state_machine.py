"""A state machine over the sender, the journal and the ledger (hypothesis stateful).

Random sequences of what ops staff and the world do to csvscore: run a file, start two runs at
once, a run killed in flight, Ctrl-C/SIGTERM (the same KeyboardInterrupt), drop the same file
again, a re-export of the same people, a remembered mapping that differs, a lost journal, 5xx
answers before and after the job was created, --retry-unconfirmed, credits running out. After
every step:

- nobody is in two jobs (charged twice) unless a run was asked to resend them;
- every row of the last run has a final status;
- no row is "accepted" without its own job (a job that exists and holds that row's key).

Runs go through the library's front door against the sandbox over real HTTP on 127.0.0.1. A
kill cannot be done to a thread, so it is emulated exactly: after a run whose request was
processed but got no answer, the journal and ledger are put back to the state a kill at that
instant leaves (``sending``), as a killed process would leave them. Real kills are in
test_resume_kill.py and test_signals.py. Longer runs: ``python -m benchmarks.state_machine``.
"""

from __future__ import annotations

import csv
import functools
import os
import random
import shutil
import sqlite3
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import phonenumbers
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

import csvscore
from csvscore.mapping.overrides import dump_mapping_yaml
from csvscore.sandbox.server import Sandbox
from csvscore.user import remembered
from tests.support import HEADERS, contact_row

PEOPLE = 20
FINAL = {"accepted", "rejected", "skipped", "duplicate", "unconfirmed", "failed", "not sent"}
FAULTS = ["500", "html_502_after_create", "503", "drop_after_create", "drop_before_create", "400"]


STEPS: Counter[str] = Counter()  # what the machine did, for benchmarks/soak_money.py


def step(**strategies: Any) -> Callable[[Callable[..., None]], Any]:
    """A hypothesis rule that also counts how often it ran."""

    def wrap(function: Callable[..., None]) -> Any:
        @functools.wraps(function)
        def counted(self: Any, **kwargs: Any) -> None:
            STEPS[function.__name__] += 1
            function(self, **kwargs)

        return rule(**strategies)(counted)

    return wrap


class MoneyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.home = Path(tempfile.mkdtemp(prefix="csvscore-machine-"))
        self.sandbox = Sandbox(job_contact_ids=False).start()
        self.env = {
            "CSVSCORE_STATE_DIR": str(self.home / "state"),
            "CSVSCORE_CONFIG_DIR": str(self.home / "config"),
            "CSVSCORE_KEYRING": "0",
            "TITANX_API_KEY": self.sandbox.api_key,
        }
        self.files: dict[str, Path] = {}
        self.people_of: dict[str, list[int]] = {}
        self.asked: set[Any] = set()  # people a run was asked to resend (may be charged twice)
        self.last: list[Any] = []  # row results of the last run(s)
        self.exports = 0
        self._write("a.csv", list(range(0, 12)))
        self._write("b.csv", list(range(8, 20)))

    def teardown(self) -> None:
        self.sandbox.close()
        shutil.rmtree(self.home, ignore_errors=True)

    # -- files --------------------------------------------------------------------------------

    def _write(self, name: str, people: list[int], *, extra: bool = False) -> Path:
        path = self.home / name
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([*HEADERS, "Exported"] if extra else HEADERS)
            for i in people:
                w.writerow([*contact_row(i), name] if extra else contact_row(i))
        self.files[name] = path
        self.people_of[name] = people
        return path

    def _request(self, name: str, **options: Any) -> csvscore.ScoreRequest:
        return csvscore.ScoreRequest(
            base_url=self.sandbox.url,
            output=self.home / f"{name}.scored.xlsx",
            options=csvscore.ScoreOptions(batch_size=4, workers=2, **options),
        )

    def _run(self, name: str, *, after: int | None = None, **options: Any) -> None:
        progress: Callable[[Any], None] | None = None
        if after is not None:
            done = [0]

            def progress(_p: Any) -> None:
                done[0] += 1
                if done[0] == after:
                    raise KeyboardInterrupt  # what SIGINT/SIGTERM/SIGHUP become

        try:
            outcome = csvscore.score_file(
                self.files[name], self._request(name, **options), env=self.env, progress=progress
            )
        except csvscore.BusyError:
            return
        except csvscore.CsvscoreError as exc:
            raise AssertionError(f"{name}: unexpected {type(exc).__name__}: {exc}") from exc
        self.last = outcome.result.rows

    # -- rules --------------------------------------------------------------------------------

    @step(name=st.sampled_from(["a.csv", "b.csv"]))
    def run(self, name: str) -> None:
        self._run(name)

    @step(name=st.sampled_from(["a.csv", "b.csv"]), after=st.integers(1, 3))
    def interrupted_run(self, name: str, after: int) -> None:
        self._run(name, after=after)

    @step(
        first=st.sampled_from(["a.csv", "b.csv"]),
        second=st.sampled_from(["a.csv", "b.csv", "export"]),
    )
    def two_at_once(self, first: str, second: str) -> None:
        if second == "export":
            second = self._reexport(first)
        errors: list[BaseException] = []

        def go(name: str) -> None:
            try:
                self._run(name)
            except BaseException as exc:  # reported below, on the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=go, args=(n,)) for n in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors

    @step(name=st.sampled_from(["a.csv", "b.csv"]))
    def re_export(self, name: str) -> None:
        self._run(self._reexport(name))

    def _reexport(self, name: str) -> str:
        self.exports += 1
        people = list(self.people_of[name])
        random.Random(self.exports).shuffle(people)
        new = f"export{self.exports}.csv"
        self._write(new, people[: max(4, len(people) - 2)], extra=True)
        return new

    @step(fault=st.sampled_from(FAULTS))
    def next_request_fails(self, fault: str) -> None:
        self.sandbox.state.add_faults(fault)

    @step(name=st.sampled_from(["a.csv", "b.csv"]))
    def killed_in_flight(self, name: str) -> None:
        """A POST processed by TitanX, the process dead before the answer was recorded."""
        self.sandbox.state.add_faults("drop_after_create")
        before = len(self.sandbox.state.score_requests)
        self._run(name)
        if len(self.sandbox.state.score_requests) > before:
            self._as_if_killed(name)

    def _as_if_killed(self, name: str) -> None:
        fingerprint = csvscore.pipeline.file_fingerprint(self.files[name])
        journal = self.home / "state" / "journals" / f"{fingerprint[:24]}.sqlite"
        with sqlite3.connect(journal) as conn:
            journal_id = conn.execute("SELECT value FROM meta WHERE key = 'journal_id'").fetchone()
            rows = conn.execute(
                "SELECT run_key, batch FROM batches WHERE state = 'unknown' AND session != ''"
            ).fetchall()
            for run_key, batch in rows:
                conn.execute(
                    "UPDATE batches SET state = 'sending' WHERE run_key = ? AND batch = ?",
                    (run_key, batch),
                )
        with sqlite3.connect(self.home / "state" / "ledger.sqlite") as ledger:
            for run_key, batch in rows:
                key = (journal_id[0], run_key, batch)
                where = "journal_id = ? AND run_key = ? AND batch = ?"
                ledger.execute(f"UPDATE contacts SET state = 'sending' WHERE {where}", key)
                ledger.execute(f"UPDATE in_flight SET ended_at = '' WHERE {where}", key)

    @step(name=st.sampled_from(["a.csv", "b.csv"]))
    def retry_unconfirmed(self, name: str) -> None:
        for i in self.people_of[name]:
            self.asked.add(_person(i))
        self._run(name, retry_unconfirmed=True)

    @step(name=st.sampled_from(["a.csv", "b.csv"]))
    def lose_the_journal(self, name: str) -> None:
        fingerprint = csvscore.pipeline.file_fingerprint(self.files[name])
        for path in (self.home / "state" / "journals").glob(f"{fingerprint[:24]}*"):
            path.unlink()

    @step(name=st.sampled_from(["a.csv", "b.csv"]))
    def remember_a_different_mapping(self, name: str) -> None:
        mapped = csvscore.map_file(self.files[name], env=self.env)
        for c in mapped.mapping.columns:
            if c.header == "Lead Source":
                c.field = "campaignListName" if c.field is None else None
        remembered.remember(
            mapped.signature, dump_mapping_yaml(mapped.mapping), source_file=name, env=self.env
        )

    @step()
    def credits_run_out_then_are_topped_up(self) -> None:
        self.sandbox.state.add_faults("low_credits")
        self._run("a.csv")
        self.sandbox.state.top_up(Decimal("1000000"))

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def nobody_is_charged_twice_unless_asked(self) -> None:
        twice = {p for p, n in self.sandbox.state.charged_people().items() if n > 1}
        assert twice <= self.asked, twice - self.asked

    @invariant()
    def every_row_is_final(self) -> None:
        assert {r.status for r in self.last} <= FINAL

    @invariant()
    def no_row_is_accepted_without_its_own_job(self) -> None:
        jobs = {j.job_id: j for j in self.sandbox.state.jobs}
        for r in self.last:
            if r.status == "accepted":
                assert r.job_id in jobs, r
                assert r.key in jobs[r.job_id].accepted_ids, r


def _person(i: int) -> Any:
    """Person ``i`` as the sandbox counts charges: folded name, E.164 phones."""
    row = contact_row(i)

    def e164(text: str) -> str:
        number = phonenumbers.parse(text, "US")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    return row[0].casefold(), row[1].casefold(), frozenset(e164(p) for p in (row[3], row[4]) if p)


EXAMPLES = int(os.environ.get("CSVSCORE_MACHINE_EXAMPLES", "12"))


def test_no_sequence_of_events_charges_anyone_twice_or_leaves_a_row_undecided() -> None:
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=10,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=os.environ.get("CSVSCORE_MACHINE_RANDOM") is None,
        ),
    )
