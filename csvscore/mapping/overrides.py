"""Mapping files: pin columns to fields (``--mapping``) and save a mapping (``--save``).

One human-editable YAML format serves both ways::

    # csvscore mapping (edit `field`; use null to leave a column unmapped)
    csvscore_mapping: 1
    profile: hubspot        # optional
    columns:
      - column: 1           # 1-based position as shown by `csvscore map`
        header: First Name
        field: firstName
      - column: 7
        header: Mobile Phone Number
        field: phone2

An entry names its column by ``column`` (1-based), by ``header``, or both (then they must
agree). ``field`` is one of the 56 API field names, ``fullName``, or null (unmapped).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import process

from csvscore.errors import MappingError
from csvscore.fields import FIELD_NAMES, FULL_NAME, PHONE_SLOTS
from csvscore.mapping.model import Mapping
from csvscore.mapping.normalize import compact, is_blank, normalize
from csvscore.mapping.synonyms import list_profiles

FORMAT_VERSION = 1
HEADER_LINE = "# csvscore mapping (edit `field`; use null to leave a column unmapped)"
VALID_FIELDS: tuple[str, ...] = (*FIELD_NAMES, FULL_NAME)
_BLANK_KEY = re.compile(r"^column (\d+)$", re.IGNORECASE)
_MAX_LISTED = 60  # columns listed in an error message before "... and N more"


@dataclass(frozen=True)
class OverrideEntry:
    """One pin: a column (by 1-based number and/or header) to a field, or to None (unmapped)."""

    field: str | None
    column: int | None = None
    header: str | None = None
    phone_type: str | None = None  # for phone..phone5: the number's type ("mobile", "work"...)


@dataclass
class Overrides:
    """Pins that the matcher must obey, from a mapping file or the interactive review.

    Pinned columns get method ``"override"`` and confidence 1.0; a pinned field is taken out of
    the competition for the other columns.
    """

    entries: list[OverrideEntry] = field(default_factory=list)
    profile: str | None = None  # the file's `profile:`, used when no profile is given
    signature: str | None = None  # the file's `signature:` (header_signature of its export)
    source: str = "mapping file"  # named in error messages and reasons
    remembered: bool = False  # a mapping csvscore remembered for these headers (not a file named)

    def with_pin(
        self, field_name: str | None, *, column: int | None = None, header: str | None = None
    ) -> Overrides:
        """A copy with one more pin (later pins on the same column replace earlier ones)."""
        _check_field(field_name, self.source)
        entry = OverrideEntry(field_name, column, header)
        return replace(self, entries=[*self.entries, entry])

    def resolve(self, headers: list[str]) -> dict[int, str | None]:
        """Pins by 0-based column index for a file with these headers.

        Raises MappingError when an entry names no column, an ambiguous or unknown header, a
        header/column pair that disagree, or when two columns are given the same field.
        """
        pins: dict[int, str | None] = {}
        for entry in self.entries:
            # Later pins on the same column win: the interactive review appends corrections.
            pins[self._index(entry, headers)] = entry.field
        by_field: dict[str, int] = {}
        for index in sorted(pins):
            target = pins[index]
            if target is None:
                continue
            if target in by_field:
                first = by_field[target]
                raise MappingError(
                    f"{self.source}: field '{target}' is given to both column {first + 1} "
                    f"('{headers[first]}') and column {index + 1} ('{headers[index]}'); "
                    "a field can take only one column"
                )
            by_field[target] = index
        return pins

    def phone_types(self, headers: list[str]) -> dict[int, str]:
        """The phone type each pinned column's entry gives (``type:``), by 0-based index."""
        types: dict[int, str] = {}
        for entry in self.entries:
            index = self._index(entry, headers)
            if entry.phone_type:
                types[index] = entry.phone_type
            else:
                types.pop(index, None)  # a later pin without a type drops an earlier one
        return types

    def _index(self, entry: OverrideEntry, headers: list[str]) -> int:
        if entry.column is not None:
            if not 1 <= entry.column <= len(headers):
                raise MappingError(
                    f"{self.source}: column {entry.column} is out of range; "
                    f"the file has {len(headers)} columns"
                )
            index = entry.column - 1
            if entry.header is not None and not _same_header(entry.header, headers[index], index):
                raise MappingError(
                    f"{self.source}: column {entry.column} is '{headers[index]}' but the entry "
                    f"says header '{entry.header}'; fix the column number or the header"
                )
            return index
        assert entry.header is not None
        matches = _find_header(entry.header, headers)
        if not matches:
            raise MappingError(
                f"{self.source}: no column named '{entry.header}'; "
                f"the file's columns are: {_list_columns(headers)}"
            )
        if len(matches) > 1:
            where = ", ".join(str(i + 1) for i in matches)
            raise MappingError(
                f"{self.source}: header '{entry.header}' appears in columns {where}; "
                "add `column:` to say which one"
            )
        return matches[0]


def _same_header(given: str, actual: str, index: int) -> bool:
    if given.strip() == actual.strip():
        return True
    if is_blank(actual):
        match = _BLANK_KEY.match(given.strip())
        return bool(match and int(match.group(1)) == index + 1)
    return compact(given) == compact(actual) and bool(compact(given))


def _find_header(given: str, headers: list[str]) -> list[int]:
    """Columns whose header is ``given``: exact text first, then case/space/punctuation-blind."""
    text = given.strip()
    exact = [i for i, h in enumerate(headers) if h.strip() == text]
    if exact:
        return exact
    folded = [i for i, h in enumerate(headers) if h.strip().casefold() == text.casefold()]
    if folded:
        return folded
    match = _BLANK_KEY.match(text)
    if match and 1 <= int(match.group(1)) <= len(headers):
        index = int(match.group(1)) - 1
        if is_blank(headers[index]):
            return [index]
    key = compact(text)
    return [i for i, h in enumerate(headers) if key and compact(h) == key]


def _list_columns(headers: list[str]) -> str:
    shown = [
        f"'{h}'" if not is_blank(h) else f"(blank column {i + 1})" for i, h in enumerate(headers)
    ]
    if len(shown) > _MAX_LISTED:
        return ", ".join(shown[:_MAX_LISTED]) + f" ... and {len(shown) - _MAX_LISTED} more"
    return ", ".join(shown)


def _check_field(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in VALID_FIELDS:
        return value
    hint = ""
    if isinstance(value, str):
        best = process.extractOne(value, VALID_FIELDS, score_cutoff=70)
        if best:
            hint = f" (did you mean '{best[0]}'?)"
    raise MappingError(
        f"{where}: unknown field '{value}'{hint}; valid fields are: "
        f"{', '.join(VALID_FIELDS)}, or null to leave the column unmapped"
    )


def _parse_entry(item: Any, number: int, where: str) -> OverrideEntry:
    label = f"{where}: entry {number} of `columns:`"
    if not isinstance(item, dict):
        raise MappingError(f"{label} must be a mapping with `field:` and `column:` or `header:`")
    unknown = set(item) - {"column", "header", "field", "type"}
    if unknown:
        raise MappingError(
            f"{label} has unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            "use column, header, field and (for phones) type"
        )
    column = item.get("column")
    header = item.get("header")
    if column is not None and (
        isinstance(column, bool) or not isinstance(column, int) or column < 1
    ):
        raise MappingError(f"{label}: `column:` must be a whole number from 1 (got {column!r})")
    if header is not None:
        header = str(header)
    if column is None and header is None:
        raise MappingError(f"{label} needs `column:` (1-based) or `header:` to say which column")
    if "field" not in item:
        name = f" ('{header}')" if header else ""
        raise MappingError(
            f"{label}{name} has no `field:`; use `field: null` to leave the column unmapped"
        )
    field = _check_field(item["field"], label)
    phone_type = item.get("type")
    if phone_type is not None:
        if not isinstance(phone_type, str) or not phone_type.strip():
            raise MappingError(f"{label}: `type:` must be a word such as mobile or work")
        if field not in PHONE_SLOTS:
            raise MappingError(f"{label}: `type:` is for phone fields (phone..phone5) only")
        phone_type = phone_type.strip()
    return OverrideEntry(field, column, header, phone_type)


def parse_overrides(text: str, *, source: str = "mapping file") -> Overrides:
    """Overrides from mapping-file text; MappingError with a one-line reason when invalid."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise MappingError(f"{source}: not valid YAML ({problem}{where})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("columns"), list):
        raise MappingError(f"{source}: not a csvscore mapping file (expected a `columns:` list)")
    version = data.get("csvscore_mapping", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise MappingError(
            f"{source}: unsupported csvscore_mapping version {version!r}; "
            f"this csvscore reads version {FORMAT_VERSION}"
        )
    profile = data.get("profile")
    if profile is not None:
        profile = str(profile)
        if profile not in list_profiles():
            raise MappingError(
                f"{source}: unknown profile '{profile}'; available profiles are: "
                f"{', '.join(list_profiles())}"
            )
    signature = data.get("signature")
    entries = [_parse_entry(item, n, source) for n, item in enumerate(data["columns"], start=1)]
    return Overrides(
        entries, profile, str(signature) if signature is not None else None, source=source
    )


def load_overrides(path: Path) -> Overrides:
    """Read a mapping file; MappingError with a clear one-line message if it is unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise MappingError(f"{path}: mapping file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: cannot read mapping file ({exc})") from exc
    return parse_overrides(text, source=str(path))


def header_signature(headers: list[str]) -> str:
    """A stable hash of the *set* of normalised headers: same export layout, same signature.

    Order, case, spacing and repeats do not change it, so a re-export with shuffled columns is
    recognised as the same layout.
    """
    names = sorted({normalize(h) for h in headers})
    digest = hashlib.sha256("\x1f".join(names).encode("utf-8")).hexdigest()
    return digest[:16]


def _yaml_printable(ch: str) -> bool:
    """Characters safe to write unescaped in a one-line YAML scalar or comment.

    YAML's "printable" set, minus the characters YAML reads as line breaks (NEL, LS, PS).
    """
    code = ord(ch)
    return (
        code == 0x09
        or 0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
        or 0xE000 <= code <= 0xFFFD
        or code >= 0x10000
    )


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when it reads back unchanged, else double-quoted."""
    if (
        text
        and text == text.strip()
        and all(0x20 <= ord(c) <= 0x7E for c in text)
        and "#" not in text
    ):
        try:
            if yaml.safe_load(f"k: {text}") == {"k": text}:
                return text
        except yaml.YAMLError:
            pass
    # A JSON string is a YAML double-quoted scalar; escape what YAML refuses even inside quotes.
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(c if _yaml_printable(c) else f"\\u{ord(c):04x}" for c in quoted)


def _comment(text: str) -> str:
    return " ".join("".join(c if _yaml_printable(c) else "?" for c in text).split())


def dump_mapping_yaml(mapping: Mapping) -> str:
    """The mapping as mapping-file YAML (what ``--save`` writes and ``--mapping`` reads)."""
    lines = [HEADER_LINE, f"csvscore_mapping: {FORMAT_VERSION}"]
    if mapping.profile:
        lines.append(f"profile: {_scalar(mapping.profile)}")
    lines.append(
        f"signature: {header_signature([c.header for c in mapping.columns])}"
        "  # identifies this export layout"
    )
    lines.append("columns:")
    for col in mapping.columns:
        note = f"{col.method} {col.confidence:.2f}"
        if col.phone_type and col.field:
            note = f"{col.phone_type}; {note}"
        if col.review:
            note = f"REVIEW: {col.reason}"
        lines.append(f"  - column: {col.index + 1}")
        lines.append(f"    header: {_scalar(col.header)}")
        lines.append(f"    field: {col.field or 'null'}  # {_comment(note)}")
        if col.phone_type and col.field in PHONE_SLOTS:
            # Kept, so a remembered mapping sends exactly what was accepted (phone2Type...).
            lines.append(f"    type: {_scalar(col.phone_type)}")
    return "\n".join(lines) + "\n"


def save_mapping(mapping: Mapping, path: Path, *, headers: list[str]) -> None:
    """Write ``mapping`` to ``path`` as a mapping file (atomically: a reader never sees half).

    ``headers`` are the file's headers; they must be the ones the mapping was made for.
    """
    if [c.header for c in mapping.columns] != list(headers):
        raise MappingError(
            f"{path}: the mapping does not belong to this file "
            f"({len(mapping.columns)} mapped columns, {len(headers)} headers)"
        )
    path = Path(path)
    text = dump_mapping_yaml(mapping)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise MappingError(f"{path}: cannot write mapping file ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a mapping file is not a secret
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise MappingError(f"{path}: cannot write mapping file ({exc.strerror or exc})") from exc
