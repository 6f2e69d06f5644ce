"""One scored contact as csvscore keeps it: read defensively from a ``job.contact.scored`` payload.

TitanX documents the payload as "the full contact object with all phone numbers annotated with
their propensity scores" but not its field names (design/scores.md A.4 #1-2). Both spellings in
its docs are read: the API schema's ``phone``/``phone2``..``phone5`` with ``phoneStatus``..
``phone5Status`` and the guide's ``phone``/``phone1``..``phone4`` with ``phone_status``..
``phone4_status``, and a ``phones`` list as a third guess; the lead status as ``leadStatus`` or
``lead_status``. Status strings are kept exactly as sent. The receiver keeps every raw body, so a
wrong guess here is fixed by changing this module and reprocessing, not by asking TitanX again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from csvscore.scores.identity import e164, identity_hash, name_hash

_PHONE_KEY = re.compile(r"^phone(\d?)$", re.IGNORECASE)


def pick(obj: Mapping[str, Any], *names: str) -> Any:
    """The first non-empty value under one of ``names``, then ignoring case and underscores."""
    for name in names:
        value = obj.get(name)
        if value not in (None, ""):
            return value
    folded = {k.lower().replace("_", ""): v for k, v in obj.items() if isinstance(k, str)}
    for name in names:
        value = folded.get(name.lower().replace("_", ""))
        if value not in (None, ""):
            return value
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


@dataclass(frozen=True)
class PhoneResult:
    """One phone of a scored contact: its slot (1..5), number as sent back, status, type."""

    slot: int
    number: str
    e164: str | None
    status: str | None
    type: str | None = None


@dataclass(frozen=True)
class ContactResult:
    """What one ``job.contact.scored`` event says, in the receiver's words.

    ``statuses_seen`` lists the distinct lead statuses of every event stored for the same key
    and job (the receiver keeps only the newest, so a change is visible this way).
    """

    key: str | None
    job_id: str | None
    lead_status: str | None
    phones: tuple[PhoneResult, ...]
    name_hash: str | None
    identity: str
    event_id: str = ""
    event_ms: int | None = None
    statuses_seen: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["phones"] = [asdict(p) for p in self.phones]
        data["statuses_seen"] = list(self.statuses_seen)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContactResult:
        """The inverse of :meth:`to_json`; tolerant of missing keys (an older receiver)."""
        phones = tuple(
            PhoneResult(
                slot=int(p.get("slot") or 0),
                number=str(p.get("number") or ""),
                e164=p.get("e164"),
                status=p.get("status"),
                type=p.get("type"),
            )
            for p in data.get("phones") or []
            if isinstance(p, Mapping)
        )
        return cls(
            key=data.get("key"),
            job_id=data.get("job_id"),
            lead_status=data.get("lead_status"),
            phones=phones,
            name_hash=data.get("name_hash"),
            identity=str(data.get("identity") or ""),
            event_id=str(data.get("event_id") or ""),
            event_ms=data.get("event_ms"),
            statuses_seen=tuple(data.get("statuses_seen") or ()),
        )


def _phones_from_keys(payload: Mapping[str, Any]) -> list[PhoneResult]:
    suffixes: dict[int, str] = {}
    for key, value in payload.items():
        m = _PHONE_KEY.match(key) if isinstance(key, str) else None
        if m and _text(value):
            suffixes[int(m.group(1) or 0)] = key
    # The guide numbers phone, phone1..phone4; the API schema phone, phone2..phone5.
    guide_style = 1 in suffixes and 5 not in suffixes
    phones = []
    for n in sorted(suffixes):
        key = suffixes[n]
        number = _text(payload[key]) or ""
        base = "phone" if n == 0 else f"phone{n}"
        slot = n + 1 if guide_style else max(n, 1)
        phones.append(
            PhoneResult(
                slot=slot,
                number=number,
                e164=e164(number),
                status=_text(pick(payload, f"{base}Status", f"{base}_status")),
                type=_text(pick(payload, f"{base}Type", f"{base}_type")),
            )
        )
    return phones


def _phones_from_list(items: list[Any]) -> list[PhoneResult]:
    phones = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            continue
        number = _text(pick(item, "number", "phone", "value")) or ""
        if not number:
            continue
        phones.append(
            PhoneResult(
                slot=i,
                number=number,
                e164=e164(number),
                status=_text(pick(item, "status", "phoneStatus")),
                type=_text(pick(item, "type", "phoneType")),
            )
        )
    return phones


def read_scored_contact(
    payload: Mapping[str, Any], *, event_id: str = "", event_ms: int | None = None
) -> ContactResult:
    """A :class:`ContactResult` from a scored-contact payload (any of the spellings above)."""
    phones = _phones_from_keys(payload)
    listed = payload.get("phones")
    if not phones and isinstance(listed, list):
        phones = _phones_from_list(listed)
    names = name_hash(
        _text(pick(payload, "firstName", "first_name")),
        _text(pick(payload, "lastName", "last_name")),
    )
    has_name = bool(pick(payload, "firstName", "first_name", "lastName", "last_name"))
    return ContactResult(
        key=_text(pick(payload, "customerContactId", "customer_contact_id")),
        job_id=_text(pick(payload, "jobId", "job_id")),
        lead_status=_text(pick(payload, "leadStatus", "lead_status", "overallStatus")),
        phones=tuple(phones),
        name_hash=names if has_name else None,
        identity=identity_hash(names if has_name else None, (p.e164 for p in phones)),
        event_id=event_id,
        event_ms=event_ms,
    )
