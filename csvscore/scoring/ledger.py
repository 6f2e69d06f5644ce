"""The ledger: every contact TitanX has charged for, across all files, so a contact that turns
up again in another export (a re-export, an edited copy, a result workbook dropped again) is
not paid for twice by accident.

The journal protects one file's run; the ledger protects across files. A contact is "the same"
when its name and set of phone numbers are (:func:`csvscore.contacts.build.identity_hash`), which is
also the within-file duplicate rule. Rows of the *same* input file are never held back here:
the journal decides those. ``--rescore`` skips the check on purpose.

It lives in the user's state directory (a separate one for the sandbox, whose charges are not
real), and holds digests, not names or numbers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS charged (
    identity TEXT NOT NULL,        -- sha256 of name + phones
    fingerprint TEXT NOT NULL,     -- sha256 of the input file it was sent from
    file TEXT NOT NULL,            -- that file's name, for the message
    job_id TEXT NOT NULL,
    charged_at TEXT NOT NULL,
    PRIMARY KEY (identity, fingerprint)
);
"""
_CHUNK = 500  # SQLite's limit on bound parameters is 999 on old builds


@dataclass(frozen=True)
class Charge:
    file: str
    job_id: str
    charged_at: str

    def reason(self) -> str:
        job = f" (job {self.job_id})" if self.job_id else ""
        return (
            f"already scored on {self.charged_at[:10]} from {self.file}{job}; "
            "--rescore sends it again"
        )


def ledger_path(state_dir: Path, *, sandbox: bool = False) -> Path:
    return state_dir / ("ledger.sandbox.sqlite" if sandbox else "ledger.sqlite")


class Ledger:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path))
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, entries: Iterable[tuple[str, str, str, str, str]]) -> None:
        """Add (identity, fingerprint, file, job_id, charged_at) rows; repeats are ignored."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR IGNORE INTO charged VALUES (?, ?, ?, ?, ?)", list(entries)
            )

    def earlier(self, identities: list[str], *, other_than: str) -> dict[str, Charge]:
        """The first charge of each identity sent from a file other than ``other_than``."""
        found: dict[str, Charge] = {}
        for start in range(0, len(identities), _CHUNK):
            chunk = identities[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT identity, file, job_id, charged_at FROM charged "
                f"WHERE identity IN ({marks}) AND fingerprint != ? ORDER BY charged_at DESC",
                [*chunk, other_than],
            )
            for identity, file, job_id, at in rows:
                # Newest first, so the oldest charge is written last and wins.
                found[identity] = Charge(file, job_id, at)
        return found
