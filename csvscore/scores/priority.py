"""Call Priority from TitanX status strings, read from ``mappings/statuses.yaml`` (data).

An unknown status has no priority (shown as ``?``); it is never dropped or guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

UNKNOWN = "?"
# The priority statuses.yaml gives a number nobody should dial ("needs attention / bad"): a row
# whose best status has it is left off the Call List (it stays on Results).
DO_NOT_CALL = 9


def normalise_status(status: str) -> str:
    """The comparison form of a status: case, spaces and punctuation ignored."""
    return re.sub(r"[^0-9a-z]+", "", status.casefold())


@dataclass(frozen=True)
class Priorities:
    """Status -> priority (1 = call first). Build with :func:`load_priorities`."""

    by_status: Mapping[str, int]  # normalised status or alias -> priority
    canonical: Mapping[str, str]  # normalised status or alias -> the status as listed
    meanings: Mapping[str, str] = field(default_factory=dict)  # status as listed -> meaning

    def priority(self, status: str | None) -> int | None:
        """The priority of ``status``; None when it is empty or not in the data file."""
        if not status or not status.strip():
            return None
        return self.by_status.get(normalise_status(status))

    def shown(self, status: str | None) -> int | str:
        """The Call Priority cell: the number, or ``?`` for an unknown status."""
        found = self.priority(status)
        return UNKNOWN if found is None else found

    def known(self, status: str | None) -> bool:
        return self.priority(status) is not None

    def same(self, a: str | None, b: str | None) -> bool:
        """Whether two spellings name one status (``p1`` and ``P1``; ``high`` and ``P1``)."""
        if not a or not b:
            return False
        na, nb = normalise_status(a), normalise_status(b)
        return na == nb or (
            na in self.canonical and self.canonical.get(na) == self.canonical.get(nb)
        )

    def meaning(self, status: str | None) -> str:
        """What ``status`` means, from the data file ("" when it is not listed)."""
        if not status:
            return ""
        listed = self.canonical.get(normalise_status(status))
        return self.meanings.get(listed, "") if listed else ""

    def listed(self) -> list[str]:
        """Every status as the data file lists it (aliases not included), in its order."""
        return list(dict.fromkeys(self.canonical.values()))

    def best(self, statuses: Iterable[str | None]) -> str | None:
        """The status with the lowest priority number; unknown ones only when nothing is known."""
        ranked = [(self.priority(s), i, s) for i, s in enumerate(statuses) if s and s.strip()]
        known = [r for r in ranked if r[0] is not None]
        if known:
            return min(known, key=lambda r: (r[0], r[1]))[2]
        return ranked[0][2] if ranked else None


def priorities_from(data: Any, source: str = "statuses data") -> Priorities:
    """Build :class:`Priorities` from the parsed YAML; ValueError naming what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("statuses"), list):
        raise ValueError(f"{source}: expected a mapping with a 'statuses' list")
    by_status: dict[str, int] = {}
    canonical: dict[str, str] = {}
    meanings: dict[str, str] = {}
    for i, entry in enumerate(data["statuses"], 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("status"), str):
            raise ValueError(f"{source}: entry {i} needs a 'status' string")
        priority = entry.get("priority")
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise ValueError(f"{source}: {entry['status']!r} needs an integer 'priority'")
        aliases = entry.get("aliases") or []
        if not isinstance(aliases, list):
            raise ValueError(f"{source}: aliases of {entry['status']!r} must be a list")
        for name in [entry["status"], *aliases]:
            key = normalise_status(str(name))
            if key in by_status and by_status[key] != priority:
                raise ValueError(f"{source}: {name!r} is listed twice with different priorities")
            by_status[key] = priority
            canonical[key] = entry["status"]
        if isinstance(entry.get("meaning"), str):
            meanings[entry["status"]] = entry["meaning"]
    return Priorities(by_status, canonical, meanings)


def load_priorities(path: Path | None = None) -> Priorities:
    """The priorities in ``path``, or in the packaged ``mappings/statuses.yaml``."""
    import yaml

    if path is None:
        from importlib.resources import files

        text = files("csvscore.mappings").joinpath("statuses.yaml").read_text(encoding="utf-8")
        source = "mappings/statuses.yaml"
    else:
        text = path.read_text(encoding="utf-8")
        source = str(path)
    return priorities_from(yaml.safe_load(text), source)
