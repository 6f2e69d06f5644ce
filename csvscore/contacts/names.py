"""Splitting a whole name ("Dr. Ann Lee-Smith Jr.", "Lee, Ann") into first and last name."""

from __future__ import annotations

import re

_HONORIFICS = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "madam", "rev",
     "reverend", "fr", "hon", "capt"}
)  # fmt: skip
# Only unambiguous ones: "V", "Ma", "Do" are initials or surnames far more often.
_SUFFIXES = frozenset(
    {"jr", "sr", "ii", "iii", "iv", "phd", "md", "dds", "esq", "cpa", "mba", "jd", "dvm", "cfa",
     "pmp", "msc", "bsc"}
)  # fmt: skip
_PARTICLES = frozenset(
    {"van", "von", "de", "da", "del", "della", "der", "den", "di", "du", "la", "le", "st", "bin",
     "ibn", "al", "dos", "das"}
)  # fmt: skip
_NICKNAME = re.compile(r"\([^)]*\)|\"[^\"]*\"")


def _bare(token: str) -> str:
    return token.strip(".").lower()


def split_full_name(value: str) -> tuple[str, str]:
    """Split a full name into (first, last); either may be "".

    "Ann Lee" and "Lee, Ann" give ("Ann", "Lee"); "Dr. Ann B. Lee Jr." gives ("Ann", "Lee");
    "Ann van der Berg" keeps "van der Berg"; a single word is a first name ("Cher" -> ("Cher",
    "")), unless an honorific shows it is a surname ("Dr. Lee" -> ("", "Lee")).
    """
    text = " ".join(_NICKNAME.sub(" ", value).split())
    parts = [p.strip() for p in text.split(",")]
    # Drop ", Jr.", ", PhD" and empty parts after the first.
    parts = parts[:1] + [p for p in parts[1:] if p and not _all_suffixes(p)]
    if len(parts) >= 2:
        last_tokens = _drop_suffixes(_drop_honorifics(parts[0].split()), keep=1)
        given = _drop_honorifics(parts[1].split())
        return (given[0] if given else "", " ".join(last_tokens))
    tokens = parts[0].split()
    had_honorific = bool(tokens) and _bare(tokens[0]) in _HONORIFICS
    tokens = _drop_suffixes(_drop_honorifics(tokens), keep=2)
    if not tokens:
        return ("", "")
    if len(tokens) == 1:
        return ("", tokens[0]) if had_honorific else (tokens[0], "")
    start = len(tokens) - 1
    while start > 1 and _bare(tokens[start - 1]) in _PARTICLES:
        start -= 1
    return (tokens[0], " ".join(tokens[start:]))


def _all_suffixes(part: str) -> bool:
    tokens = part.split()
    return bool(tokens) and all(_bare(t) in _SUFFIXES for t in tokens)


def _drop_honorifics(tokens: list[str]) -> list[str]:
    while len(tokens) > 1 and _bare(tokens[0]) in _HONORIFICS:
        tokens = tokens[1:]
    return tokens


def _drop_suffixes(tokens: list[str], keep: int) -> list[str]:
    while len(tokens) > keep and _bare(tokens[-1]) in _SUFFIXES:
        tokens = tokens[:-1]
    return tokens
