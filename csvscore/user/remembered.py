"""Remembered mappings: a mapping saved for one set of column headers, reused for the next file.

Each is an ordinary mapping YAML file (the format ``csvscore map --save`` writes, see
:mod:`csvscore.mapping.overrides`) stored as ``<config dir>/mappings/<signature>.yaml``, where the
signature is :func:`csvscore.mapping.overrides.header_signature` of the file's headers. A comment
header records which file it was made from and when, so ``csvscore mappings`` can list them and
a person opening the file knows what it is. Users may edit or delete these files by hand.

This module works on signature strings and YAML text only, so it does not depend on how
mappings are built or applied.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from csvscore.errors import ConfigError
from csvscore.user.paths import atomic_write_text, config_dir, display_path, utc_now_iso

SUFFIX = ".yaml"
# Signatures become file names: allow nothing that could leave the folder or confuse a shell.
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HEADER_LINE = re.compile(r"#\s*(source-file|saved-at|signature):\s*(.*?)\s*$")
# Top-level keys of a mapping file that describe the mapping rather than a column.
_META_KEYS = frozenset({"version", "profile", "notes", "options", "settings", "signature"})


@dataclass(frozen=True)
class RememberedMapping:
    """One remembered mapping as listed by :func:`list_remembered`."""

    signature: str
    path: Path
    source_file: str  # name (not path) of the file it was saved from; "" if not recorded
    saved_at: str  # ISO 8601 UTC, e.g. "2025-11-26T10:40:00Z"; "" if not recorded
    column_count: int | None  # columns the mapping describes; None if the YAML is unreadable
    problem: str = ""  # why the YAML is unreadable (for display), else ""


def mappings_dir(env: Mapping[str, str] = os.environ) -> Path:
    """The folder remembered mappings live in (``<config dir>/mappings``). Not created."""
    return config_dir(env) / "mappings"


def _check_signature(signature: str) -> str:
    if not _SIGNATURE.fullmatch(signature):
        raise ConfigError(
            f"Invalid header signature {signature!r}: expected 1-128 letters, digits, '-' or '_'."
        )
    return signature


def _one_line(text: str) -> str:
    # A file name with a newline in it would end the comment and corrupt the YAML.
    return "".join(ch if ch.isprintable() else "?" for ch in text).strip()


def remember(
    signature: str,
    yaml_text: str,
    *,
    source_file: str,
    env: Mapping[str, str] = os.environ,
    now: datetime | None = None,
) -> Path:
    """Save ``yaml_text`` as the remembered mapping for ``signature``; return its path.

    Replaces any earlier mapping for the same signature, atomically. ``source_file`` may be a
    path; only its name is recorded. Raises :class:`ConfigError` if the signature is not a safe
    file name, the text is not valid YAML, or the file cannot be written.
    """
    _check_signature(signature)
    try:
        yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"Refusing to remember a mapping that is not valid YAML: {exc}") from exc
    header = (
        "# csvscore remembered mapping: used for files with the same column headers.\n"
        f"# source-file: {_one_line(Path(source_file).name)}\n"
        f"# saved-at: {utc_now_iso(now)}\n"
        f"# signature: {signature}\n"
        "# Edit it like any mapping file; delete this file to forget it.\n"
    )
    body = yaml_text if yaml_text.endswith("\n") or not yaml_text else yaml_text + "\n"
    path = mappings_dir(env) / f"{signature}{SUFFIX}"
    atomic_write_text(path, header + body)
    return path


def find(signature: str, env: Mapping[str, str] = os.environ) -> Path | None:
    """The remembered mapping file for ``signature``, or None if there is none."""
    path = mappings_dir(env) / f"{_check_signature(signature)}{SUFFIX}"
    return path if path.is_file() else None


def _count_columns(data: Any) -> int:
    """How many columns a mapping YAML document describes.

    Accepts the shapes a mapping file can reasonably take: a ``columns:`` list or table, a
    top-level table of header -> field (metadata keys aside), or a top-level list.
    """
    if data is None:
        return 0
    if isinstance(data, dict) and "columns" in data:
        columns = data["columns"]
        if columns is None:
            return 0
        if isinstance(columns, (list, dict)):
            return len(columns)
        raise ValueError("'columns' is neither a list nor a table")
    if isinstance(data, dict):
        return sum(1 for key in data if key not in _META_KEYS)
    if isinstance(data, list):
        return len(data)
    raise ValueError("expected a table or a list at the top level")


def _describe(path: Path) -> RememberedMapping:
    signature = path.name[: -len(SUFFIX)]
    meta: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        return RememberedMapping(signature, path, "", "", None, f"cannot read: {reason}")
    for line in text.splitlines():
        if not line.startswith("#"):
            break  # the header is the leading comment block only
        match = _HEADER_LINE.match(line)
        if match:
            meta.setdefault(match.group(1), match.group(2))
    try:
        count: int | None = _count_columns(yaml.safe_load(text))
        problem = ""
    except (yaml.YAMLError, ValueError) as exc:
        count, problem = None, f"not a valid mapping file: {_one_line(str(exc))}"
    return RememberedMapping(
        signature=signature,
        path=path,
        source_file=meta.get("source-file", ""),
        saved_at=meta.get("saved-at", ""),
        column_count=count,
        problem=problem,
    )


def list_remembered(env: Mapping[str, str] = os.environ) -> list[RememberedMapping]:
    """Every remembered mapping, newest first. Unreadable files are listed with a ``problem``."""
    folder = mappings_dir(env)
    try:
        paths = [
            p
            for p in folder.iterdir()
            if p.name.endswith(SUFFIX) and _SIGNATURE.fullmatch(p.name[: -len(SUFFIX)])
        ]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"Cannot read {display_path(folder)}: {exc.strerror or exc}") from exc
    found = [_describe(p) for p in paths if p.is_file()]
    found.sort(key=lambda m: m.signature)
    found.sort(key=lambda m: m.saved_at, reverse=True)  # stable: ties stay by signature
    return found


def _label(m: RememberedMapping) -> str:
    details = ", ".join(
        x for x in (m.source_file, f"saved {m.saved_at}" if m.saved_at else "") if x
    )
    return f"{m.signature} ({details})" if details else m.signature


def forget(name_or_signature_prefix: str, env: Mapping[str, str] = os.environ) -> Path:
    """Delete one remembered mapping and return the path it had.

    ``name_or_signature_prefix`` is a signature, the start of one, its file name
    (``<signature>.yaml``), or the name of the file the mapping was saved from (case does not
    matter). An exact signature wins; otherwise exactly one mapping must match. Raises
    :class:`ConfigError` when nothing or more than one matches, listing the candidates.
    """
    wanted = name_or_signature_prefix.strip()
    if wanted.endswith(SUFFIX) and _SIGNATURE.fullmatch(wanted[: -len(SUFFIX)]):
        wanted = wanted[: -len(SUFFIX)]
    every = list_remembered(env)
    if not wanted:
        raise ConfigError("Say which remembered mapping to forget (a signature or file name).")
    exact = [m for m in every if m.signature == wanted]
    matches = exact or [
        m
        for m in every
        if m.signature.startswith(wanted)
        or (m.source_file and m.source_file.casefold() == wanted.casefold())
    ]
    if not matches:
        known = "; ".join(_label(m) for m in every) if every else "none"
        raise ConfigError(
            f"No remembered mapping matches {wanted!r}. Remembered mappings: {known}."
        )
    if len(matches) > 1:
        listed = "; ".join(_label(m) for m in matches)
        raise ConfigError(
            f"{wanted!r} matches {len(matches)} remembered mappings: {listed}. "
            "Give more of the signature."
        )
    path = matches[0].path
    try:
        path.unlink()
    except FileNotFoundError:
        pass  # removed meanwhile by someone else: the outcome asked for holds
    except OSError as exc:
        raise ConfigError(f"Cannot delete {display_path(path)}: {exc.strerror or exc}") from exc
    return path
