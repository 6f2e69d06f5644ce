"""TitanX's rate-limit headers: parse the three tiers and pace requests to stay under them.

Every answer carries ``X-RateLimit-{Limit,Remaining,Reset}-{Second,Minute,Day}``. The client
records them in a shared :class:`RateLimitState`; a pool of workers asks it
:meth:`RateLimitState.delay_before_next` before each request, so it slows down as a window runs
low instead of running into 429s (which count against the quota too). No I/O here: the clock
is always passed in, so everything is testable with a fake one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime

# Tier name (as in the header suffix, lower-cased) -> window length in seconds.
TIER_SECONDS: dict[str, int] = {"second": 1, "minute": 60, "day": 86_400}
TIERS: tuple[str, ...] = tuple(TIER_SECONDS)

# A reset value below this is read as "seconds from now" rather than a Unix time: the docs say
# Unix seconds, but some gateways send a delta, and 10^9 s (2001) cannot be a real reset time.
_DELTA_RESET_BELOW = 1_000_000_000

# Spread requests out when a short window has less than this share of its limit left.
LOW_FRACTION = 0.2


@dataclass(frozen=True)
class Tier:
    """One tier's figures from the last answer that mentioned it (None: header absent)."""

    name: str  # "second" | "minute" | "day"
    limit: int | None
    remaining: int | None
    reset: float | None  # Unix seconds at which the window restarts


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    # Header names are case-insensitive; callers may pass a plain dict.
    return {str(k).lower(): str(v) for k, v in headers.items()}


def parse_tiers(headers: Mapping[str, str], now: float) -> dict[str, Tier]:
    """The tiers an answer's headers describe (tiers without any header are left out)."""
    lower = _lower_keys(headers)
    tiers: dict[str, Tier] = {}
    for name in TIERS:
        limit = _number(lower.get(f"x-ratelimit-limit-{name}"))
        remaining = _number(lower.get(f"x-ratelimit-remaining-{name}"))
        reset = _number(lower.get(f"x-ratelimit-reset-{name}"))
        if limit is None and remaining is None and reset is None:
            continue
        if reset is not None and 0 <= reset < _DELTA_RESET_BELOW:
            reset = now + reset
        tiers[name] = Tier(
            name=name,
            limit=None if limit is None else int(limit),
            remaining=None if remaining is None else max(0, int(remaining)),
            reset=reset,
        )
    return tiers


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT by definition
        return None
    return max(0.0, when.timestamp() - now)


def wait_after_429(headers: Mapping[str, str], now: float) -> float | None:
    """How long a 429's reset headers say to wait: until the exhausted tier(s) restart.

    Returns None when no tier reports ``Remaining`` 0 with a plausible reset time (a reset in the
    past or further away than the tier's window means the clocks disagree: back off instead).
    """
    waits = []
    for tier in parse_tiers(headers, now).values():
        if tier.remaining != 0 or tier.reset is None:
            continue
        until = tier.reset - now
        if 0 < until <= TIER_SECONDS[tier.name] + 1:
            waits.append(until)
    return max(waits) if waits else None


class RateLimitState:
    """The latest rate-limit figures seen, shared by every worker of a client (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tiers: dict[str, Tier] = {}

    def update(self, headers: Mapping[str, str], now: float) -> None:
        """Take in an answer's headers.

        Answers can arrive out of order from several workers, so a figure for an older window
        is ignored, and within one window the lowest ``remaining`` wins.
        """
        fresh = parse_tiers(headers, now)
        with self._lock:
            for name, new in fresh.items():
                old = self._tiers.get(name)
                if (
                    old is None
                    or old.reset is None
                    or new.reset is None
                    or new.reset > old.reset
                    or old.remaining is None
                ):
                    self._tiers[name] = new
                elif new.reset == old.reset and new.remaining is not None:
                    self._tiers[name] = replace(new, remaining=min(old.remaining, new.remaining))

    def note_sent(self) -> None:
        """Count a request just sent, so workers see requests whose answers are still in flight."""
        with self._lock:
            for name, tier in self._tiers.items():
                if tier.remaining is not None and tier.remaining > 0:
                    self._tiers[name] = replace(tier, remaining=tier.remaining - 1)

    def tiers(self) -> dict[str, Tier]:
        """A snapshot of the known tiers."""
        with self._lock:
            return dict(self._tiers)

    def delay_before_next(self, now: float) -> float:
        """Seconds to wait before the next request so as not to run into a 429.

        - a tier with nothing remaining: wait until it resets;
        - the per-second or per-minute tier running low (< 20 % left): spread the remaining
          requests over what is left of the window;
        - the daily tier is never spread (a user wants the run finished; when it is exhausted the
          wait is long and the caller should stop rather than sleep);
        - figures whose window has already reset are stale and ignored.
        """
        delay = 0.0
        for tier in self.tiers().values():
            if tier.remaining is None or tier.reset is None or tier.reset <= now:
                continue
            until = tier.reset - now
            if tier.remaining <= 0:
                delay = max(delay, until)
            elif (
                tier.name != "day"
                and tier.limit
                and tier.remaining < max(2.0, tier.limit * LOW_FRACTION)
            ):
                delay = max(delay, until / (tier.remaining + 1))
        return delay
