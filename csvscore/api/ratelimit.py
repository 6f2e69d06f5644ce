"""TitanX's rate-limit headers: parse the three tiers and pace requests to stay under them.

Every answer carries ``X-RateLimit-{Limit,Remaining,Reset}-{Second,Minute,Day}``. The client
records them in a shared :class:`RateLimitState`; before each request a worker of the pool calls
:meth:`RateLimitState.reserve`, which picks the first moment with a free slot in every tier's
window, counts the request there and says how long to wait: so concurrent workers never both take
the last slot, and 429s (which count against the quota too) stay rare.

The headers alone are not enough: they lag by the requests still in flight, and at every new
window they would make the client forget those. So the state counts its own sends per server
window (the grid of windows is learnt from the reset times) and merges each answer into that
count instead of replacing it. No I/O here: the clock is passed in, so a fake one tests it all.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime

# Tier name (as in the header suffix, lower-cased) -> window length in seconds.
TIER_SECONDS: dict[str, int] = {"second": 1, "minute": 60, "day": 86_400}
TIERS: tuple[str, ...] = tuple(TIER_SECONDS)

# A reset value below this is read as "seconds from now" rather than a Unix time: the docs say
# Unix seconds, but some gateways send a delta, and 10^9 s (2001) cannot be a real reset time.
_DELTA_RESET_BELOW = 1_000_000_000

# Spread requests out when a short window has less than this share of its limit left
# (delay_before_next only: reserve() counts exactly and needs no spreading).
LOW_FRACTION = 0.2

# A request sent this close before a window's end may be counted by the server in the next one
# (network delay, clock skew): reserve() wants room in both windows and counts it in both.
BOUNDARY_GUARD = 0.05
# When a window is full, wait until this long after its end before sending into the next one.
AFTER_RESET = 0.01
# A reset time this far (share of the window) from the learnt grid means the server's windows
# moved (not a fixed grid): learn the grid again.
_REGRID_SHARE = 0.25
# Sends remembered before any answer told us the windows (placed when the first one does).
_UNPLACED_MAX = 1000


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


def exhausted_tier(headers: Mapping[str, str], now: float) -> str | None:
    """The longest tier ("day", "minute", "second") an answer says has nothing remaining."""
    spent = [tier.name for tier in parse_tiers(headers, now).values() if tier.remaining == 0]
    return max(spent, key=TIER_SECONDS.__getitem__, default=None)


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


@dataclass
class _Window:
    """What we know of one server window of one tier."""

    sent: int = 0  # our requests counted in it (reservations and sends, in flight or answered)
    # From the answers: the lowest (remaining + what we had counted here when it was measured).
    # Remaining now is cap - sent: the server may not yet have counted our later requests, but
    # no request of ours it had counted can be missing from `sent` at that moment.
    cap: float = math.inf


@dataclass
class _Grid:
    """A tier's server windows: they end at ``anchor + k * size`` (k, an int, keys them)."""

    anchor: float
    size: int
    windows: dict[int, _Window] = field(default_factory=dict)

    def key_at(self, t: float) -> int:
        """The window containing time ``t``."""
        return math.floor((t - self.anchor) / self.size) + 1

    def end(self, key: int) -> float:
        return self.anchor + key * self.size

    def window(self, key: int) -> _Window:
        return self.windows.setdefault(key, _Window())


class RateLimitState:
    """The rate-limit figures seen and our own requests per window, shared by every worker
    of a client (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tiers: dict[str, Tier] = {}  # the latest window's header figures, per tier
        self._grids: dict[str, _Grid] = {}  # tiers whose reset times are trustworthy
        self._unplaced: deque[float] = deque(maxlen=_UNPLACED_MAX)
        # reserve() marks its thread so that the client's note_sent() for that very request
        # does not count it twice.
        self._local = threading.local()
        # The caller's clock as last seen (its time, our monotonic time): note_sent() gets no
        # time from the client, so it extrapolates the caller's (possibly fake) clock.
        self._seen: tuple[float, float] | None = None
        # reserve() takes no slot further away than this (a spent daily quota resets in hours):
        # it leaves the refusal for take_refusal() and the client stops instead of waiting.
        self.max_wait = math.inf

    def update(self, headers: Mapping[str, str], now: float) -> None:
        """Take in an answer's headers.

        Answers can arrive out of order from several workers: each is merged into the window it
        describes, never replacing what we counted there ourselves. ``tiers()`` shows the latest
        window; within one window the lowest ``remaining`` wins.
        """
        fresh = parse_tiers(headers, now)
        with self._lock:
            self._saw(now)
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
                self._merge(name, new, now)
            self._prune(now)

    def reserve(self, now: float) -> float:
        """Take the next send slot: seconds to wait before sending (0: send now).

        The slot is the first moment, from ``now``, at which every tier's window has room left
        (our own requests counted there, merged with what the answers said); the request is
        counted in that window at once, in the same critical section, so concurrent workers
        never both take the last slot. Tiers without headers (unlimited) add no delay, nor does
        anything before the first answer. The caller must then wait and send (the client's next
        ``note_sent()`` on this thread is this request, already counted).
        """
        with self._lock:
            self._saw(now)
            self._prune(now)
            at, tier = self._first_free(now)
            if at - now > self.max_wait:
                self._local.refusal = (at - now, tier)
                return 0.0
            self._count(at)
            self._local.reserved = True
            return at - now

    def take_refusal(self) -> tuple[float, str | None] | None:
        """The wait (and the tier imposing it) that :meth:`reserve` refused on this thread, once."""
        refusal = getattr(self._local, "refusal", None)
        self._local.refusal = None
        return refusal

    def _first_free(self, now: float) -> tuple[float, str | None]:
        """The first moment from ``now`` with room in every tier, and the tier that set it."""
        at, tier = now, None
        # Each step moves to a later window of some tier; a few steps always settle it.
        for _ in range(100):
            later, blocking = at, None
            for name in self._grids:
                free = self._free_from(name, at)
                if free > later:
                    later, blocking = free, name
            if later <= at:
                break
            at, tier = later, blocking
        return at, tier

    def note_sent(self, now: float | None = None) -> None:
        """Count a request just sent, so workers see requests whose answers are still in flight.

        A request reserved by :meth:`reserve` on this thread is already counted. ``now`` defaults
        to the caller's clock as last seen by :meth:`update`/:meth:`reserve`, moved on by the
        time since.
        """
        with self._lock:
            if getattr(self._local, "reserved", False):
                self._local.reserved = False
                return
            at = now if now is not None else self._guess_now()
            if at is not None:
                self._count(at)

    def tiers(self) -> dict[str, Tier]:
        """A snapshot of the known tiers; ``remaining`` counts our requests still in flight."""
        with self._lock:
            out = {}
            for name, tier in self._tiers.items():
                left = self._left_in_window_of(name, tier)
                if left is not None:
                    tier = replace(tier, remaining=max(0, math.floor(left)))
                out[name] = tier
            return out

    def delay_before_next(self, now: float) -> float:
        """Seconds to wait before the next request so as not to run into a 429 (no reservation:
        a pool of workers should use :meth:`reserve`).

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

    # -- under the lock ------------------------------------------------------------------------

    def _saw(self, now: float) -> None:
        self._seen = (now, time.monotonic())

    def _guess_now(self) -> float | None:
        if self._seen is None:
            return None
        then, mono = self._seen
        return then + (time.monotonic() - mono)

    def _merge(self, name: str, new: Tier, now: float) -> None:
        """Fold one answer's figures for a tier into the window they describe."""
        size = TIER_SECONDS[name]
        # Distrust a reset further away than the tier's window: the clocks disagree, and the
        # client's 429 handling is the safer guide then. A reset in the past is fine (a slow
        # answer about a window that has ended since).
        if new.reset is None or new.reset - now > size + 1:
            return
        grid = self._grids.get(name)
        if grid is None:
            grid = self._grids[name] = _Grid(anchor=new.reset, size=size)
            for at in self._unplaced:  # requests sent before we knew the windows
                self._place(grid, at)
        key = round((new.reset - grid.anchor) / size)
        if abs(new.reset - grid.end(key)) > size * _REGRID_SHARE:
            grid = self._regrid(name, new.reset)
            key = 0
        if new.remaining is not None:
            window = grid.window(key)
            window.cap = min(window.cap, new.remaining + window.sent)

    def _regrid(self, name: str, anchor: float) -> _Grid:
        """The server's windows moved: anchor the grid on the new reset, keeping our counts."""
        old = self._grids[name]
        grid = self._grids[name] = _Grid(anchor=anchor, size=old.size)
        for key, window in old.windows.items():
            # An old window overlaps up to two new ones: count its requests in both (to be
            # safe); the caps were measured on the old grid, so they are dropped.
            end = old.end(key)
            for moved in {grid.key_at(end - old.size), grid.key_at(end - 1e-6)}:
                grid.window(moved).sent += window.sent
        return grid

    def _prune(self, now: float) -> None:
        for grid in self._grids.values():
            for key in [k for k in grid.windows if grid.end(k) < now - 1]:
                del grid.windows[key]

    def _count(self, at: float) -> None:
        if not self._grids:
            self._unplaced.append(at)
        for grid in self._grids.values():
            self._place(grid, at)

    @staticmethod
    def _place(grid: _Grid, at: float) -> None:
        key = grid.key_at(at)
        grid.window(key).sent += 1
        if grid.end(key) - at < BOUNDARY_GUARD:
            grid.window(key + 1).sent += 1

    def _left(self, name: str, grid: _Grid, key: int) -> float:
        """Requests the tier still allows in a window (inf: no limit known)."""
        limit = self._tiers[name].limit
        window = grid.windows.get(key, _Window())
        return min(math.inf if limit is None else limit, window.cap) - window.sent

    def _free_from(self, name: str, at: float) -> float:
        """The first moment from ``at`` with room in this tier (``at`` itself if there is)."""
        grid = self._grids[name]
        key = grid.key_at(at)
        if self._left(name, grid, key) <= 0:
            return grid.end(key) + AFTER_RESET
        if grid.end(key) - at < BOUNDARY_GUARD and self._left(name, grid, key + 1) <= 0:
            return grid.end(key + 1) + AFTER_RESET
        return at

    def _left_in_window_of(self, name: str, tier: Tier) -> float | None:
        grid = self._grids.get(name)
        if grid is None or tier.reset is None:
            return None
        key = round((tier.reset - grid.anchor) / grid.size)
        if key not in grid.windows or abs(tier.reset - grid.end(key)) > grid.size * _REGRID_SHARE:
            return None  # not a window we follow (pruned, or distrusted): the header's figure
        left = self._left(name, grid, key)
        return None if math.isinf(left) else left
