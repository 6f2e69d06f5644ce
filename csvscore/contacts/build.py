"""Build the API contacts from a table and its mapping, and check them before anything is sent.

One row becomes one contact. The choices, for the README:

- Mapped values are sent verbatim apart from trimming surrounding whitespace; empty cells are
  left out. Every other column goes to ``unmappedFields`` under its ``unmapped_key``;
  ``unmappedFields`` itself is left out when a row has nothing for it, so every key in a
  contact carries data.
- A "full name" column is split into firstName/lastName (honorifics, suffixes and middle names
  dropped; "Lee, Ann" understood). Mapped firstName/lastName columns win when both exist.
- Phones are normalised to E.164 (see :mod:`csvscore.contacts.phones`) using the row's country (the
  ``country`` cell, else ``companyCountry``, else US). Slots stay as mapped (the mapping
  orders them by priority), so a row may send phone2 without phone. A number already sent in
  an earlier slot of the same row is not sent again: it would be paid for twice. A value that
  is not a usable number is not sent; its text is kept in ``unmappedFields`` under
  "<header> (raw)" and the row's reason says why. An extension in the main phone goes to
  ``phoneExt`` when that is empty; any other extension is kept as "<header> (extension)".
- When no type column fills ``phoneNType``, the type the mapping inferred from the header
  ("mobile", "direct"...) is sent for a slot that has a number.
- Pre-flight applies the API's own rule (firstName, lastName, one valid US phone): rows that
  would be rejected are "skipped" (they would still cost rate-limit quota) unless
  ``send_invalid``.
- Rows with the same name and the same set of phones as an earlier row to be sent are
  "duplicate" (the API does not deduplicate and charges per phone) unless
  ``keep_duplicates``. Skipped rows are never the original of a duplicate: an identical later
  row is skipped for the same reason on its own.
- Every row carries a key in ``customerContactId`` so results can be matched back: the file's
  own column when it is mapped and its values are non-empty and unique (ignoring case);
  otherwise ``cs-<first 10 hex of the file's sha256>-<source row>``, the same on every run
  over the same bytes, with the file's values kept in ``unmappedFields``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from csvscore.contacts.names import split_full_name
from csvscore.contacts.phones import describe_region, normalise_phone, region_for_country
from csvscore.errors import MappingError
from csvscore.fields import FULL_NAME, PHONE_SLOTS
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.read.rows import gc_paused
from csvscore.read.table import Table
from csvscore.results import DUPLICATE, SKIPPED

KEY_FIELD = "customerContactId"
_CHUNK = 1 << 20


class ContactSource(Protocol):
    """Where a prepared row's contact comes from when it is needed (sending it, a test)."""

    def contact(self, row: PreparedRow) -> dict[str, Any]: ...


@dataclass(slots=True)
class PreparedRow:
    """One table row as it will be (or would have been) sent.

    The contact itself is not kept: it is built again from the table row when it is sent
    (:class:`TableContacts`), the same way, so 100,000 prepared rows hold their verdicts and
    counts (about 30 MB) instead of 100,000 contacts (90-180 MB).
    """

    index: int  # position in table.rows
    source_row: int  # table.source_rows[index]
    key: str  # customerContactId for this row
    status: str | None  # None = to send; SKIPPED or DUPLICATE (csvscore.results)
    reason: str  # why skipped/duplicate, and notes ("phone2 not sent: ...")
    phone_count: int  # valid US phones in the contact (for credit estimates)
    identity: str  # identity_hash of the contact: who it is, across files
    numbers: int  # phone numbers sent, valid US or not (the upper bound of a charge)
    source: ContactSource

    @classmethod
    def of(
        cls,
        index: int,
        source_row: int,
        key: str,
        contact: dict[str, Any],
        status: str | None,
        reason: str,
        phone_count: int,
    ) -> PreparedRow:
        """A prepared row whose contact is given (not rebuilt from a table)."""
        numbers = sum(1 for s in PHONE_SLOTS if contact.get(s))
        return cls(
            index,
            source_row,
            key,
            status,
            reason,
            phone_count,
            identity_hash(contact),
            numbers,
            _Given(dict(contact)),
        )

    @property
    def contact(self) -> dict[str, Any]:
        """The API contact: str values, ``unmappedFields`` a dict of str."""
        return self.source.contact(self)

    @property
    def payload(self) -> bytes:
        """The contact as the compact UTF-8 JSON that is sent."""
        return encode_contact(self.contact)


@dataclass(frozen=True)
class _Given:
    value: dict[str, Any]

    def contact(self, row: PreparedRow) -> dict[str, Any]:
        return dict(self.value)


def encode_contact(contact: dict[str, Any]) -> bytes:
    return json.dumps(contact, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def file_fingerprint(path: Path) -> str:
    """SHA-256 (hex) of the file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# The plan: what to do with each column, worked out once per file


@dataclass(frozen=True)
class _PhoneColumn:
    index: int
    slot: str  # "phone".."phone5"
    type_field: str  # "phoneType".."phone5Type"
    phone_type: str | None  # inferred from the header, sent when no type column fills it
    raw_key: str  # unmappedFields key for an unusable value
    ext_key: str  # unmappedFields key for an extension with nowhere else to go


@dataclass
class _Plan:
    plain: list[tuple[int, str]] = field(default_factory=list)  # (column, API field)
    unmapped: list[tuple[int, str]] = field(default_factory=list)  # (column, key)
    full_name: int | None = None
    phones: list[_PhoneColumn] = field(default_factory=list)
    countries: list[int] = field(default_factory=list)  # country, then companyCountry
    own_keys: list[str] | None = None  # the file's customerContactId values, when usable


class _Keys:
    """Hands out unmappedFields keys that do not collide with each other."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        key, n = wanted, 2
        while key in self.used:
            key, n = f"{wanted} ({n})", n + 1
        self.used.add(key)
        return key


def _header_key(column: ColumnMapping) -> str:
    return column.header.strip() or f"Column {column.index + 1}"


def _build_plan(table: Table, mapping: Mapping, notes: list[str]) -> _Plan:
    width = len(table.headers)
    columns = sorted(mapping.columns, key=lambda c: c.index)
    for column in columns:
        if not 0 <= column.index < width:
            raise MappingError(
                f"the mapping names column {column.index + 1} ('{column.header}'), "
                f"but the file has {width} columns; map the file again"
            )
    covered = {c.index for c in columns}
    for index in range(width):  # columns the mapping forgot are kept, not dropped
        if index not in covered:
            columns.append(ColumnMapping(index, table.headers[index], None, 0.0, "none"))
    columns.sort(key=lambda c: c.index)

    keys = _Keys()
    owners: dict[str, ColumnMapping] = {}
    spare: list[ColumnMapping] = []  # mapped to a field an earlier column already owns
    unmapped_keys: dict[int, str] = {}
    for column in columns:
        if column.field is None:
            unmapped_keys[column.index] = keys.take(column.unmapped_key or _header_key(column))
        elif column.field in owners:
            spare.append(column)
        else:
            owners[column.field] = column
    for column in spare:
        first = owners[str(column.field)]
        notes.append(
            f"columns '{first.header}' and '{column.header}' both map to {column.field}; "
            f"'{column.header}' is sent in unmappedFields"
        )

    plan = _Plan()
    plan.unmapped = list(unmapped_keys.items())
    for column in spare:
        plan.unmapped.append((column.index, keys.take(_header_key(column))))

    key_column = owners.pop(KEY_FIELD, None)
    if key_column is not None:
        values = [row[key_column.index].strip() for row in table.rows]
        problem = _key_problem(values, table.source_rows)
        if problem is None:
            plan.own_keys = values
        else:
            where = keys.take(_header_key(key_column))
            plan.unmapped.append((key_column.index, where))
            notes.append(
                f"customerContactId column '{key_column.header}' {problem}, so it cannot "
                f"identify rows; csvscore made its own keys (cs-<file>-<row>) and sent the "
                f"column's values in unmappedFields['{where}']"
            )

    full_name = owners.pop(FULL_NAME, None)
    plan.full_name = full_name.index if full_name is not None else None
    for slot in PHONE_SLOTS:
        phone_column = owners.pop(slot, None)
        if phone_column is not None:
            base = _header_key(phone_column)
            plan.phones.append(
                _PhoneColumn(
                    phone_column.index,
                    slot,
                    f"{slot}Type",
                    phone_column.phone_type or None,
                    keys.take(f"{base} (raw)"),
                    keys.take(f"{base} (extension)"),
                )
            )
    plan.countries = [owners[f].index for f in ("country", "companyCountry") if f in owners]
    plan.plain = [(c.index, name) for name, c in owners.items()]
    plan.plain.sort()
    return plan


def _key_problem(values: list[str], source_rows: list[int]) -> str | None:
    """Why a customerContactId column cannot key the rows, or None when it can."""
    seen: dict[str, int] = {}
    for value, source_row in zip(values, source_rows, strict=True):
        if not value:
            return f"is empty in row {source_row}"
        folded = value.casefold()
        if folded in seen:
            return f"repeats '{value}' (rows {seen[folded]} and {source_row})"
        seen[folded] = source_row
    return None


# ---------------------------------------------------------------------------------------
# Rows


def prepare_rows(
    table: Table,
    mapping: Mapping,
    *,
    fingerprint: str,
    send_invalid: bool = False,
    keep_duplicates: bool = False,
    notes: list[str] | None = None,
) -> list[PreparedRow]:
    """Turn every row of ``table`` into an API contact, with its status before sending.

    ``fingerprint`` is :func:`file_fingerprint` of the input (it makes row keys stable across
    runs). Rows that fail the API's rule are "skipped" unless ``send_invalid``; repeats of an
    earlier row are "duplicate" unless ``keep_duplicates``. File-level observations (a
    customerContactId column that cannot be used, two columns on one field) are appended to
    ``notes`` when given. Raises :class:`MappingError` when the mapping does not fit the table.
    """
    file_notes: list[str] = []
    plan = _build_plan(table, mapping, file_notes)
    if notes is not None:
        notes.extend(file_notes)
    # Building 100k contacts allocates a few hundred thousand dicts; the cyclic collector would
    # walk every live container again and again (about 40% of the time). They hold no cycles.
    with gc_paused():
        return _prepare(table, plan, fingerprint, send_invalid, keep_duplicates)


class TableContacts:
    """Builds a row's contact from the table and the column plan, whenever it is asked for."""

    def __init__(self, table: Table, plan: _Plan) -> None:
        self.table = table
        self.plan = plan

    def contact(self, row: PreparedRow) -> dict[str, Any]:
        return _build_contact(self.table.rows[row.index], self.plan, row.key)[0]


@dataclass(frozen=True)
class PhoneCell:
    """One cell of a column mapped to a phone slot, and what became of it when sent.

    ``slot`` is the slot the number filled (1 for ``phone`` .. 5), None when it was not sent in
    a slot of its own (a number already sent from an earlier column of the row); ``e164`` is
    the number sent (None: not sent, not a usable number); ``text`` is the cell as the file has
    it, so a score can show the number the way the user knows it.
    """

    column: int
    slot: int | None
    e164: str | None
    text: str


class SentPhones:
    """The phone columns of a file as its contacts are built: which column fills which slot,
    and per row what each of those cells sent (the same rules as the contact builder)."""

    def __init__(self, table: Table, mapping: Mapping) -> None:
        self.table = table
        self.plan = _build_plan(table, mapping, [])
        self.columns: list[tuple[int, str]] = sorted(
            (pc.index, pc.slot) for pc in self.plan.phones
        )  # (column, slot name), in file order

    def row(self, index: int) -> list[PhoneCell]:
        """The row's non-empty phone cells, in the order the builder sends them."""
        row = self.table.rows[index]
        region = _region(row, self.plan)
        sent: list[str] = []
        cells = []
        for pc in self.plan.phones:
            raw = row[pc.index].strip()
            if not raw:
                continue
            number = normalise_phone(raw, region).number
            slot: int | None = PHONE_SLOTS.index(pc.slot) + 1
            if number is None:
                slot = None
            elif number in sent:
                slot = None  # sent once already, from an earlier column of this row
            else:
                sent.append(number)
            cells.append(PhoneCell(pc.index, slot, number, raw))
        return cells


def _region(row: list[str], plan: _Plan) -> str:
    """The region phones are read in: the row's country, else its company's, else US."""
    for i in plan.countries:
        country = row[i].strip()
        if country:
            return region_for_country(country)
    return "US"


def _prepare(
    table: Table, plan: _Plan, fingerprint: str, send_invalid: bool, keep_duplicates: bool
) -> list[PreparedRow]:
    prefix = f"cs-{fingerprint[:10]}-"
    own_keys = plan.own_keys
    source = TableContacts(table, plan)
    originals: dict[str, int] = {}
    out: list[PreparedRow] = []
    for index, row in enumerate(table.rows):
        source_row = table.source_rows[index]
        key = own_keys[index] if own_keys is not None else f"{prefix}{source_row}"
        contact, reasons, row_notes, _sent, us_count = _build_contact(row, plan, key)
        identity = identity_hash(contact)
        status: str | None = None
        if reasons and not send_invalid:
            status = SKIPPED
        elif identity != NOBODY:
            first = originals.setdefault(identity, source_row)
            if first != source_row:
                if keep_duplicates:
                    row_notes.insert(0, f"same name and phones as row {first}; sent anyway")
                else:
                    status = DUPLICATE
                    reasons = [f"same name and phones as row {first}"]
        numbers = sum(1 for s in PHONE_SLOTS if s in contact)
        reason = "; ".join([*reasons, *row_notes]) if reasons or row_notes else ""
        out.append(
            PreparedRow(index, source_row, key, status, reason, us_count, identity, numbers, source)
        )
    return out


def _identity(contact: dict[str, Any]) -> tuple[str, str, frozenset[str]]:
    """Who a contact is, for "is this the same contact?": name (case and spaces folded) and
    the set of phone numbers sent (E.164, so formatting differences do not matter)."""
    return (
        " ".join(str(contact.get("firstName", "")).split()).casefold(),
        " ".join(str(contact.get("lastName", "")).split()).casefold(),
        frozenset(str(contact[s]) for s in PHONE_SLOTS if contact.get(s)),
    )


def identity_hash(contact: dict[str, Any]) -> str:
    """A stable digest of :func:`_identity`, for recognising a contact across files."""
    first, last, phones = _identity(contact)
    raw = "\x1f".join([first, last, *sorted(phones)])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


NOBODY = identity_hash({})  # an empty row: nothing to compare, never a copy of another


def _build_contact(
    row: list[str], plan: _Plan, key: str
) -> tuple[dict[str, Any], list[str], list[str], list[str], int]:
    """(contact, pre-flight failures, notes, numbers sent, valid US phone count) for a row."""
    contact: dict[str, Any] = {}
    for i, name in plan.plain:
        value = row[i].strip()
        if value:
            contact[name] = value
    unmapped: dict[str, str] = {}
    for i, name in plan.unmapped:
        value = row[i].strip()
        if value:
            unmapped[name] = value

    one_word = ""
    if plan.full_name is not None:
        full = row[plan.full_name].strip()
        if full:
            first, last = split_full_name(full)
            if first and "firstName" not in contact:
                contact["firstName"] = first
            if last and "lastName" not in contact:
                contact["lastName"] = last
            elif not last:
                one_word = full

    notes: list[str] = []
    # Why each phone value is not a valid US phone: (for a skip reason, for a note).
    phone_failures: list[tuple[str, str]] = []
    sent: list[str] = []
    us_count = 0
    region = _region(row, plan)
    for pc in plan.phones:
        raw = row[pc.index].strip()
        if not raw:
            continue
        result = normalise_phone(raw, region)
        number = result.number
        if number is None:
            unmapped[pc.raw_key] = raw
            phone_failures.append(
                (f"{pc.slot} {result.problem}", f"{pc.slot} not sent: {result.problem}")
            )
            continue
        if number in sent:
            notes.append(f"{pc.slot} '{raw}' is a number already sent in this row; not sent twice")
            continue
        contact[pc.slot] = number
        sent.append(number)
        if result.valid_us:
            us_count += 1
        else:
            where = f"{pc.slot} '{raw}' is a {describe_region(number) or 'non-US'} number"
            phone_failures.append((where, f"{where}, not a US one"))
        if result.note:
            notes.append(f"{pc.slot}: {result.note}")
        extension = result.extension
        if extension:
            if pc.slot != "phone":
                unmapped[pc.ext_key] = extension  # the API has no extension field for it
            elif "phoneExt" not in contact:
                contact["phoneExt"] = extension
            elif contact["phoneExt"] != extension:
                unmapped[pc.ext_key] = extension  # the file's phoneExt column wins
        if pc.phone_type and pc.type_field not in contact:
            contact[pc.type_field] = pc.phone_type
    contact[KEY_FIELD] = key
    if unmapped:
        contact["unmappedFields"] = unmapped

    reasons: list[str] = []
    if "firstName" not in contact:
        reasons.append("missing firstName")
    if "lastName" not in contact:
        reasons.append(
            f"missing lastName (full name '{one_word}' is one word)"
            if one_word
            else "missing lastName"
        )
    if us_count == 0:
        detail = ", ".join(r for r, _ in phone_failures) or "no phone number in the row"
        reasons.append(f"no valid US phone: {detail}")
    else:
        notes.extend(n for _, n in phone_failures)
    return contact, reasons, notes, sent, us_count
