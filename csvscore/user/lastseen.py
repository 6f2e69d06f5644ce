"""The account figures TitanX last reported: credits, cost per phone, rate limits.

Every score response carries ``credits.creditsRemaining`` and ``costPerPhone``; keeping the last
ones lets ``csvscore account`` and the cost estimate before a run say something useful without
spending a request (and while offline), always with the time they were seen.

Stored as ``lastseen.json`` in the state directory. Credit figures are decimals written as JSON
strings so they round-trip exactly ("0.05" stays 0.05, never 0.05000000000000000277). The price
per phone is kept per scoring type (``titan`` costs more than ``lightning``), and sandbox runs
never write here: their balance and price are not the account's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from csvscore.user.paths import atomic_write_text, state_dir, utc_now_iso

FILE_NAME = "lastseen.json"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


@dataclass
class LastSeen:
    """Account figures as last reported by TitanX, and when."""

    credits_remaining: Decimal | None
    cost_per_phone: Decimal | None
    limits: dict[str, str] = field(default_factory=dict)  # e.g. {"X-RateLimit-Limit-Minute": "100"}
    seen_at: str = field(default_factory=utc_now_iso)  # ISO 8601 UTC
    costs: dict[str, Decimal] = field(default_factory=dict)  # price per phone by scoring type

    def cost_for(self, scoring_type: str) -> Decimal | None:
        """The last price per phone TitanX reported for this scoring type, if any."""
        if self.costs:
            return self.costs.get(scoring_type)
        # Version 1 kept one price without its type; runs were lightning unless asked otherwise.
        return self.cost_per_phone if scoring_type == "lightning" else None


def lastseen_path(env: Mapping[str, str] = os.environ) -> Path:
    """Where :func:`record` writes (``<state dir>/lastseen.json``)."""
    return state_dir(env) / FILE_NAME


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def record(
    seen: LastSeen, env: Mapping[str, str] = os.environ, *, scoring_type: str | None = None
) -> None:
    """Save ``seen``, replacing what was there, atomically.

    With ``scoring_type``, ``seen.cost_per_phone`` is that type's price; prices of the other
    types recorded earlier are kept. Raises :class:`~csvscore.errors.ConfigError` if the state
    directory cannot be written; callers in the middle of a run should treat that as a warning,
    not a reason to stop.
    """
    costs = dict(seen.costs)
    earlier = load(env)
    if earlier is not None:
        costs = {**earlier.costs, **costs}
    if scoring_type and seen.cost_per_phone is not None:
        costs[scoring_type] = seen.cost_per_phone
    document = {
        "version": FORMAT_VERSION,
        "credits_remaining": _decimal_text(seen.credits_remaining),
        "cost_per_phone": _decimal_text(seen.cost_per_phone),
        "costs": {k: str(v) for k, v in sorted(costs.items())},
        "limits": {str(k): str(v) for k, v in seen.limits.items()},
        "seen_at": seen.seen_at,
    }
    atomic_write_text(lastseen_path(env), json.dumps(document, indent=2, sort_keys=True) + "\n")


def _parse_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("decimal figures are stored as strings")
    return Decimal(value)  # InvalidOperation (an ArithmeticError) for junk


def load(env: Mapping[str, str] = os.environ) -> LastSeen | None:
    """The figures last recorded, or None if none were, or the file is unreadable or corrupt.

    Never raises for a bad file: these figures are a convenience, and a damaged copy must not
    stop csvscore (the next response rewrites it).
    """
    try:
        data = json.loads(lastseen_path(env).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("version") not in READABLE_VERSIONS:
            return None
        costs = data.get("costs", {})
        if not isinstance(costs, dict):
            return None
        limits = data.get("limits", {})
        seen_at = data.get("seen_at")
        if not isinstance(limits, dict) or not isinstance(seen_at, str):
            return None
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in limits.items()):
            return None
        return LastSeen(
            credits_remaining=_parse_decimal(data.get("credits_remaining")),
            cost_per_phone=_parse_decimal(data.get("cost_per_phone")),
            limits=dict(limits),
            seen_at=seen_at,
            costs={str(k): d for k, v in costs.items() if (d := _parse_decimal(v)) is not None},
        )
    except (OSError, UnicodeDecodeError, ValueError, InvalidOperation):
        # json.JSONDecodeError is a ValueError; a missing file is an OSError.
        return None
