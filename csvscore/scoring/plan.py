"""The send plan: what confirming would send, what it would not (and why), and its estimated cost.

Computed once, by the library (``pipeline.prepare``), and shown by the review and by dry runs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from csvscore.contacts.build import PreparedRow
from csvscore.results import DUPLICATE, SKIPPED


@dataclass
class Plan:
    """What confirming will do: rows sent and not sent (and why), batches, phones, cost."""

    to_send: int
    skipped: int
    duplicates: int
    batches: int
    phones: int
    estimated_credits: Decimal | None
    skip_reasons: list[tuple[str, int]]
    rows: int = 0  # rows read from the file (0: not given)
    cost_per_phone: Decimal | None = None  # the price the estimate used
    done_rows: int = 0  # rows an earlier run already sent (resuming): not sent again
    done_batches: int = 0
    all_phones: int = 0  # every number sent, valid US or not: the upper bound of the charge

    @property
    def upper_credits(self) -> Decimal | None:
        """The charge if TitanX counted every number sent, not only valid US ones."""
        if self.cost_per_phone is None or self.all_phones <= self.phones:
            return None
        return self.cost_per_phone * self.all_phones


def make_plan(
    prepared: list[PreparedRow],
    batch_size: int,
    cost_per_phone: Decimal | None,
    *,
    done: dict[str, Any] | None = None,
) -> Plan:
    """Count what would be sent; credits are estimated as cost per phone x valid phones.

    ``done`` (``{"rows": set of row indexes, "batches": n}``) is what an earlier run of the same
    file already sent: those rows are not counted as to send, or in the estimate.
    """
    done_rows: set[int] = set(done["rows"]) if done else set()
    send = [p for p in prepared if p.status is None and p.index not in done_rows]
    reasons = Counter(_reason_kind(p.reason) for p in prepared if p.status == SKIPPED)
    phones = sum(p.phone_count for p in send)
    return Plan(
        to_send=len(send),
        skipped=sum(1 for p in prepared if p.status == SKIPPED),
        duplicates=sum(1 for p in prepared if p.status == DUPLICATE),
        batches=-(-len(send) // batch_size) if send else 0,
        phones=phones,
        estimated_credits=cost_per_phone * phones if cost_per_phone is not None else None,
        skip_reasons=reasons.most_common(5),
        rows=len(prepared),
        cost_per_phone=cost_per_phone,
        done_rows=sum(1 for p in prepared if p.index in done_rows),
        done_batches=int(done["batches"]) if done else 0,
        all_phones=sum(p.numbers for p in send),
    )


def _reason_kind(reason: str) -> str:
    """Group reasons like "no valid US phone: '123' ..." by their first clause."""
    return reason.split(":")[0].split(";")[0].strip() or "no reason given"
