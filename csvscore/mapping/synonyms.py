"""Load the header knowledge in ``mappings/`` (synonyms and source profiles) into lookup tables.

The YAML is data, not code: it ships inside the package as ``csvscore.mappings`` (pyproject maps
the top-level ``mappings/`` folder to it) and is read with :mod:`importlib.resources`, so an
installed wheel finds it as well as a checkout. Both loads are cached for the process: the
matcher calls them on every :func:`csvscore.mapping.matcher.map_columns` and must stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from csvscore.errors import MappingError
from csvscore.fields import BY_NAME, FIELD_NAMES, FULL_NAME
from csvscore.mapping.normalize import compact, normalize, tokens

PACKAGE = "csvscore.mappings"
# Pseudo-field for the phone pool: a phone column whose slot (phone..phone5) is decided by type.
PHONE_POOL = "phone"
# Companion roles of a phone column and the per-slot field they become ("Type" -> "phone2Type").
ROLE_FIELDS = {"ext": "phoneExt", "type": "phoneType", "status": "phoneStatus"}
VALID_TARGETS = frozenset((*FIELD_NAMES, FULL_NAME))


@dataclass(frozen=True)
class Entry:
    """One synonym: a header some export uses for ``field``, with how sure that makes us."""

    field: str
    score: float
    label: str  # the header as written in synonyms.yaml, for reasons


@dataclass(frozen=True)
class PhoneRules:
    words: frozenset[str]
    filler: frozenset[str]
    type_words: dict[str, str]  # word -> type ("mobile" -> "mobile", "hq" -> "company")
    precedence: tuple[str, ...]  # which type wins when a header has several type words
    priority: dict[str, int]  # type (or "unknown") -> rank, 0 is best
    roles: dict[str, str]  # word -> role ("extension" -> "ext")


@dataclass(frozen=True)
class Synonyms:
    by_key: dict[str, tuple[Entry, ...]]  # compact header -> entries (best first)
    fuzzy_choices: tuple[str, ...]  # normalised (spaced) synonyms, for rapidfuzz
    fuzzy_entries: tuple[Entry, ...]  # parallel to fuzzy_choices
    phone: PhoneRules
    person_qualifiers: frozenset[str]
    company_qualifiers: frozenset[str]
    company_fields: dict[str, str]  # contact field -> its company counterpart
    company_block_start: frozenset[str]  # compact keys
    block_end_prefix: tuple[str, ...]  # tokens
    never: tuple[tuple[str, ...], ...]  # token sequences
    never_by_first: dict[str, tuple[tuple[str, ...], ...]]  # first token -> sequences
    never_for: dict[str, frozenset[str]]  # word -> field kinds it blocks
    never_unless: dict[str, frozenset[str]]  # word -> the only field kinds it allows
    count: int  # synonym entries in the file


@dataclass(frozen=True)
class Pin:
    """A profile's fixed meaning for one header: a field, the phone pool with a type, or None."""

    field: str | None
    phone_type: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    min_signature: int
    signature: dict[str, str]  # compact key -> header as written
    pins: dict[str, Pin]  # compact key -> pin


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(path: str) -> Any:
    resource = resources.files(PACKAGE).joinpath(path)
    try:
        # libyaml's C loader when PyYAML has it: the built-in data loads ~5x faster.
        return yaml.load(resource.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:  # a broken install, not a user error
        raise MappingError(f"cannot read built-in mapping data {path}: {exc}") from exc


def _check_field(name: str, where: str) -> str:
    if name not in VALID_TARGETS:
        raise MappingError(f"{where}: unknown field '{name}'")
    return name


def _entries(data: dict[str, Any], default: float) -> list[Entry]:
    out: list[Entry] = []
    for field_name, items in (data.get("fields") or {}).items():
        _check_field(field_name, "synonyms.yaml")
        for item in items or []:
            if isinstance(item, dict):
                ((label, score),) = item.items()
                if isinstance(score, bool) or not isinstance(score, (int, float)):
                    # YAML read "Address 1: City" as a mapping: the header needs quotes.
                    raise MappingError(
                        f"synonyms.yaml: entry {item!r} under {field_name} is not "
                        "`Header: score`; quote headers that contain ': '"
                    )
                out.append(Entry(field_name, float(score), str(label)))
            else:
                out.append(Entry(field_name, default, str(item)))
    return out


def _sequences(items: list[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(t for t in (tokens(str(i)) for i in items) if t)


@lru_cache(maxsize=1)
def load_synonyms() -> Synonyms:
    """The parsed ``synonyms.yaml`` (cached for the process)."""
    data = _read("synonyms.yaml")
    entries = _entries(data, float(data.get("default_score", 0.95)))
    count = len(entries)
    by_key: dict[str, list[Entry]] = {}
    for entry in entries:
        by_key.setdefault(compact(entry.label), []).append(entry)
    for field_name in (*FIELD_NAMES, FULL_NAME):
        # The API name itself ("zipPostalCode") is matched as "exact" by the matcher; keep it
        # out of the synonym table but in the fuzzy choices so "zipPostalCod" still matches.
        entries.append(Entry(field_name, 1.0, field_name))
    # Fuzzy choices: one per distinct (normalised text, field).
    seen: set[tuple[str, str]] = set()
    choices: list[str] = []
    choice_entries: list[Entry] = []
    for entry in entries:
        text = normalize(entry.label)
        if text and (text, entry.field) not in seen:
            seen.add((text, entry.field))
            choices.append(text)
            choice_entries.append(entry)

    phone = data["phone"]
    type_words: dict[str, str] = {}
    for phone_type, words in phone["types"].items():
        for word in words:
            type_words.setdefault(str(word), phone_type)
    roles = {str(w): role for role, words in phone["roles"].items() for w in words}
    company_fields = {
        _check_field(k, "company_fields"): _check_field(v, "company_fields")
        for k, v in data["company_fields"].items()
    }
    context = data["context"]
    never = _sequences(data.get("never") or [])
    never_by_first: dict[str, list[tuple[str, ...]]] = {}
    for seq in never:
        never_by_first.setdefault(seq[0], []).append(seq)
    return Synonyms(
        by_key={k: tuple(sorted(v, key=lambda e: -e.score)) for k, v in by_key.items()},
        fuzzy_choices=tuple(choices),
        fuzzy_entries=tuple(choice_entries),
        phone=PhoneRules(
            words=frozenset(map(str, phone["words"])),
            filler=frozenset(map(str, phone["filler"])),
            type_words=type_words,
            precedence=tuple(phone["precedence"]),
            priority={str(t): i for i, t in enumerate(phone["priority"])},
            roles=roles,
        ),
        person_qualifiers=frozenset(map(str, data["qualifiers"]["person"])),
        company_qualifiers=frozenset(map(str, data["qualifiers"]["company"])),
        company_fields=company_fields,
        company_block_start=frozenset(compact(h) for h in context["company_block_start"]),
        block_end_prefix=tokens(context["block_end_prefix"]),
        never=never,
        never_by_first={k: tuple(v) for k, v in never_by_first.items()},
        never_for={str(w): frozenset(k) for w, k in (data.get("never_for") or {}).items()},
        never_unless={str(w): frozenset(k) for w, k in (data.get("never_unless") or {}).items()},
        count=count,
    )


def _pin(value: Any, where: str) -> Pin:
    if value is None:
        return Pin(None)
    text = str(value)
    if "/" in text:  # "phone/work": the phone pool with a type
        base, phone_type = text.split("/", 1)
        if base != PHONE_POOL:
            raise MappingError(f"{where}: only phone pins take a type ('{text}')")
        return Pin(PHONE_POOL, phone_type)
    return Pin(_check_field(text, where))


@lru_cache(maxsize=1)
def load_profiles() -> dict[str, Profile]:
    """Every ``mappings/profiles/*.yaml``, by profile name (cached for the process)."""
    folder = resources.files(PACKAGE).joinpath("profiles")
    out: dict[str, Profile] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".yaml"):
            continue
        data = _read(f"profiles/{item.name}")
        name = str(data["name"])
        where = f"profiles/{item.name}"
        out[name] = Profile(
            name=name,
            title=str(data.get("title", name)),
            min_signature=int(data.get("min_signature", 3)),
            signature={compact(str(h)): str(h) for h in data.get("signature") or []},
            pins={compact(str(h)): _pin(v, where) for h, v in (data.get("pins") or {}).items()},
        )
    return out


def list_profiles() -> list[str]:
    """Names of the built-in source profiles, sorted (``["apollo", "close", ...]``)."""
    return sorted(load_profiles())


def get_profile(name: str) -> Profile:
    """The profile called ``name``; MappingError listing the available ones otherwise."""
    profiles = load_profiles()
    key = name.strip().lower().replace(" ", "").replace("-", "").replace("_", "")
    if key in profiles:
        return profiles[key]
    raise MappingError(
        f"unknown profile '{name}'; available profiles are: {', '.join(sorted(profiles))}"
    )


def field_kind(field_name: str) -> str:
    """The kind of an API field (``"email"``, ``"phone"``...); ``fullName`` is ``"full_name"``."""
    if field_name == FULL_NAME:
        return "full_name"
    return BY_NAME[field_name].kind
