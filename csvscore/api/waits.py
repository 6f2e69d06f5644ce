"""Waits too long to make: said with the local time they end, and the run stops instead.

TitanX's limits come per second, minute and day. Waiting out a second or a minute is part of
sending; waiting out a day is not: a run that sleeps 20 hours looks hung, holds the terminal and
the journal, and the user learns nothing. Past :data:`LONG_WAIT` the client raises
:class:`~csvscore.api.errors.RateLimited` with a sentence saying when the limit resets, in the
user's local time, and what to do then; the sending loop stops and leaves the rest ``not sent``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from csvscore.api.errors import RateLimited

LONG_WAIT = 300.0  # seconds: the longest single wait csvscore makes rather than stopping

_WHY = {
    "day": "TitanX's daily request limit for this account is used up",
    "minute": "TitanX's per-minute request limit is used up",
    "second": "TitanX's per-second request limit is used up",
}


def duration(seconds: float) -> str:
    """``20 h 4 min``, ``7 min``, ``45 s``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def local_time(until: float, now: float) -> str:
    """When ``until`` (Unix seconds) is, in local time: ``at 14:32``, ``at 09:15 tomorrow (Tue 2
    Dec)``, ``at 09:15 on Thu 4 Dec``; the time zone follows."""
    end = datetime.fromtimestamp(until).astimezone()
    today = datetime.fromtimestamp(now).astimezone().date()
    clock = end.strftime("%H:%M")
    zone = end.strftime("%Z") or "local time"
    day = f"{end:%a} {end.day} {end:%b}"
    if end.date() == today:
        return f"at {clock} ({zone})"
    if end.date() == today + timedelta(days=1):
        return f"at {clock} tomorrow, {day} ({zone})"
    return f"at {clock} on {day} ({zone})"


def too_long(wait: float, now: float, tier: str | None) -> RateLimited:
    """The error for a wait of ``wait`` seconds from ``now`` that csvscore will not make."""
    why = _WHY.get(tier or "", "TitanX is rate limiting this account (HTTP 429)")
    until = now + wait
    return RateLimited(
        f"{why}: it resets {local_time(until, now)}, in {duration(wait)}. csvscore stops rather "
        "than wait that long; the rows not sent yet are marked 'not sent' and were not charged. "
        "Drop the same file again after that time to send them.",
        wait,
        until=until,
    )
