"""Building API contacts from rows: fields, names, phones, pre-flight, duplicates and keys."""

from __future__ import annotations

import csv
import gc
import hashlib
from pathlib import Path

import pytest

from csvscore.contacts.build import PreparedRow, file_fingerprint, prepare_rows
from csvscore.contacts.names import split_full_name
from csvscore.errors import MappingError
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.read.table import Table
from csvscore.results import DUPLICATE, SKIPPED

FP = "0123456789abcdef" * 4


def make(
    columns: list[tuple[str, str | None]],
    rows: list[list[str]],
    *,
    phone_types: dict[str, str] | None = None,
    source_rows: list[int] | None = None,
    path: Path = Path("contacts.csv"),
) -> tuple[Table, Mapping]:
    """A Table and its Mapping from (header, field) pairs; unmapped columns keyed by header."""
    headers = [h for h, _ in columns]
    table = Table(
        path=path,
        format="csv",
        headers=headers,
        rows=rows,
        source_rows=source_rows or list(range(2, len(rows) + 2)),
        header_row=1,
    )
    types = phone_types or {}
    mapping = Mapping(
        [
            ColumnMapping(
                index=i,
                header=h,
                field=f,
                confidence=1.0,
                method="exact",
                unmapped_key=h if f is None else "",
                phone_type=types.get(h),
            )
            for i, (h, f) in enumerate(columns)
        ]
    )
    return table, mapping


def prepare(table: Table, mapping: Mapping, **kwargs: bool) -> list[PreparedRow]:
    return prepare_rows(table, mapping, fingerprint=FP, **kwargs)


BASIC = [("First", "firstName"), ("Last", "lastName"), ("Phone", "phone")]


# --- fields -----------------------------------------------------------------------------


def test_mapped_unmapped_and_empty_cells() -> None:
    table, mapping = make(
        [*BASIC, ("Email", "email"), ("Employees", "numberOfEmployees"), ("Notes", None),
         ("Stage", None), ("Title", "title")],
        [["  Ann ", "Lee", "415-555-0134", "", "250", " likes golf ", "", "=SUM(A1)"]],
    )  # fmt: skip
    (row,) = prepare(table, mapping)
    assert row.contact == {
        "firstName": "Ann",
        "lastName": "Lee",
        "numberOfEmployees": "250",
        "title": "=SUM(A1)",  # verbatim apart from trimming
        "phone": "+14155550134",
        "customerContactId": "cs-0123456789-2",
        "unmappedFields": {"Notes": "likes golf"},
    }
    assert row.status is None
    assert row.reason == ""
    assert row.phone_count == 1


def test_unmapped_fields_left_out_when_empty() -> None:
    table, mapping = make([*BASIC, ("Notes", None)], [["Ann", "Lee", "4155550134", "  "]])
    (row,) = prepare(table, mapping)
    assert "unmappedFields" not in row.contact


def test_every_value_is_a_string() -> None:
    table, mapping = make(
        [*BASIC, ("Ext", "phoneExt"), ("Calls", "fsTotalCalls"), ("Other", None)],
        [["Ann", "Lee", "4155550134.0", "204", "3", "7"]],
    )
    (row,) = prepare(table, mapping)
    for name, value in row.contact.items():
        if name == "unmappedFields":
            assert all(isinstance(v, str) for v in value.values())
        else:
            assert isinstance(value, str), name


def test_unmapped_key_from_the_mapping_is_used() -> None:
    table, mapping = make([*BASIC, ("Notes", None)], [["Ann", "Lee", "4155550134", "hi"]])
    mapping.columns[3].unmapped_key = "Notes (col 4)"
    (row,) = prepare(table, mapping)
    assert row.contact["unmappedFields"] == {"Notes (col 4)": "hi"}


def test_columns_the_mapping_forgot_are_kept_under_their_header() -> None:
    table, mapping = make([*BASIC, ("Region", None)], [["Ann", "Lee", "4155550134", "West"]])
    del mapping.columns[3]
    (row,) = prepare(table, mapping)
    assert row.contact["unmappedFields"] == {"Region": "West"}


def test_mapping_that_does_not_fit_the_table_is_refused() -> None:
    table, mapping = make(BASIC, [["Ann", "Lee", "4155550134"]])
    mapping.columns.append(ColumnMapping(7, "Ghost", "email", 1.0, "override"))
    with pytest.raises(MappingError, match=r"column 8 \('Ghost'\).*has 3 columns"):
        prepare(table, mapping)


def test_second_column_on_the_same_field_goes_to_unmapped_fields() -> None:
    table, mapping = make(
        [*BASIC, ("Work Email", "email"), ("Email 2", "email")],
        [["Ann", "Lee", "4155550134", "ann@example.com", "ann.lee@example.org"]],
    )
    notes: list[str] = []
    (row,) = prepare_rows(table, mapping, fingerprint=FP, notes=notes)
    assert row.contact["email"] == "ann@example.com"
    assert row.contact["unmappedFields"] == {"Email 2": "ann.lee@example.org"}
    assert notes == [
        "columns 'Work Email' and 'Email 2' both map to email; 'Email 2' is sent in unmappedFields"
    ]


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ann Lee", "Ann", "Lee"),
        ("  Ann   Lee ", "Ann", "Lee"),
        ("Lee, Ann", "Ann", "Lee"),
        ("Lee, Ann B.", "Ann", "Lee"),
        ("Dr. Ann B. Lee Jr.", "Ann", "Lee"),
        ("Ann Lee, PhD", "Ann", "Lee"),
        ("Ms Ann Lee III", "Ann", "Lee"),
        ("Mary Ann Lee", "Mary", "Lee"),
        ("Ann van der Berg", "Ann", "van der Berg"),
        ("Ann de la Cruz", "Ann", "de la Cruz"),
        ("van der Berg, Ann", "Ann", "van der Berg"),
        ('Robert "Bob" Lee', "Robert", "Lee"),
        ("Ann (Annie) Lee", "Ann", "Lee"),
        ("Ann Ma", "Ann", "Ma"),  # a surname, not the degree
        ("Cher", "Cher", ""),
        ("Dr. Lee", "", "Lee"),
        ("", "", ""),
    ],
)
def test_split_full_name(full: str, first: str, last: str) -> None:
    assert split_full_name(full) == (first, last)


def test_full_name_column_fills_first_and_last() -> None:
    table, mapping = make(
        [("Name", "fullName"), ("Phone", "phone")],
        [["Dr. Ann B. Lee Jr.", "4155550134"], ["Lee, Bo", "4155550199"]],
    )
    rows = prepare(table, mapping)
    assert (rows[0].contact["firstName"], rows[0].contact["lastName"]) == ("Ann", "Lee")
    assert (rows[1].contact["firstName"], rows[1].contact["lastName"]) == ("Bo", "Lee")
    assert all(r.status is None for r in rows)
    assert "fullName" not in rows[0].contact


def test_first_and_last_columns_win_over_full_name() -> None:
    table, mapping = make(
        [("Name", "fullName"), ("First", "firstName"), ("Last", "lastName"), ("Phone", "phone")],
        [["Ann Lee", "Annie", "", "4155550134"]],
    )
    (row,) = prepare(table, mapping)
    assert (row.contact["firstName"], row.contact["lastName"]) == ("Annie", "Lee")


def test_single_word_full_name_is_skipped_for_missing_last_name() -> None:
    table, mapping = make([("Name", "fullName"), ("Phone", "phone")], [["Cher", "4155550134"]])
    (row,) = prepare(table, mapping)
    assert row.contact["firstName"] == "Cher"
    assert "lastName" not in row.contact
    assert row.status == SKIPPED
    assert row.reason == "missing lastName (full name 'Cher' is one word)"


# --- phones -----------------------------------------------------------------------------


def test_phones_are_normalised_into_their_slots() -> None:
    table, mapping = make(
        [*BASIC, ("Mobile", "phone2"), ("HQ", "phone4")],
        [["Ann", "Lee", "'+1 415 555 0134", "(212) 555-0100", "617.555.0123"]],
    )
    (row,) = prepare(table, mapping)
    assert row.contact["phone"] == "+14155550134"
    assert row.contact["phone2"] == "+12125550100"
    assert row.contact["phone4"] == "+16175550123"  # slots stay as mapped: no phone3
    assert "phone3" not in row.contact
    assert row.phone_count == 3


def test_phone2_alone_is_sent_without_phone() -> None:
    table, mapping = make([*BASIC, ("Mobile", "phone2")], [["Ann", "Lee", "", "4155550134"]])
    (row,) = prepare(table, mapping)
    assert "phone" not in row.contact
    assert row.contact["phone2"] == "+14155550134"
    assert row.status is None


def test_extension_in_main_phone_goes_to_phone_ext() -> None:
    table, mapping = make(BASIC, [["Ann", "Lee", "415-555-0134 x204"]])
    (row,) = prepare(table, mapping)
    assert row.contact["phone"] == "+14155550134"
    assert row.contact["phoneExt"] == "204"


def test_filled_phone_ext_column_wins_and_the_other_extension_is_kept() -> None:
    table, mapping = make(
        [*BASIC, ("Ext", "phoneExt")],
        [["Ann", "Lee", "415-555-0134 ext. 12", "99"], ["Bo", "Ray", "4155550199 x7", "7"],
         ["Cy", "Day", "4155550100 #5", ""]],
    )  # fmt: skip
    first, second, third = prepare(table, mapping)
    assert first.contact["phoneExt"] == "99"
    assert first.contact["unmappedFields"] == {"Phone (extension)": "12"}
    assert second.contact["phoneExt"] == "7"
    assert "unmappedFields" not in second.contact  # same extension twice: nothing to keep
    assert third.contact["phoneExt"] == "5"  # empty phoneExt cell: filled from the phone


def test_extension_on_another_slot_is_kept_in_unmapped_fields() -> None:
    table, mapping = make(
        [*BASIC, ("Work", "phone3")], [["Ann", "Lee", "4155550134", "212-555-0100 x3"]]
    )
    (row,) = prepare(table, mapping)
    assert row.contact["phone3"] == "+12125550100"
    assert "phoneExt" not in row.contact
    assert row.contact["unmappedFields"] == {"Work (extension)": "3"}


def test_inferred_phone_types_fill_slots_without_a_type_column() -> None:
    table, mapping = make(
        [*BASIC, ("Mobile", "phone2"), ("Direct", "phone3"), ("Phone 3 Type", "phone3Type")],
        [["Ann", "Lee", "4155550134", "2125550100", "6175550123", "work"],
         ["Bo", "Ray", "4155550199", "", "6175550124", ""]],
        phone_types={"Mobile": "mobile", "Direct": "direct"},
    )  # fmt: skip
    first, second = prepare(table, mapping)
    assert first.contact["phone2Type"] == "mobile"
    assert first.contact["phone3Type"] == "work"  # the file's type column wins
    assert "phoneType" not in first.contact  # no type known for slot 1
    assert "phone2Type" not in second.contact  # no number, no type
    assert second.contact["phone3Type"] == "direct"  # type cell empty: the inferred one


def test_unusable_phone_is_kept_raw_and_explained() -> None:
    table, mapping = make(
        [*BASIC, ("Mobile", "phone2")], [["Ann", "Lee", "415-555-0134", "4.15555E+09"]]
    )
    (row,) = prepare(table, mapping)
    assert "phone2" not in row.contact
    assert row.contact["unmappedFields"] == {"Mobile (raw)": "4.15555E+09"}
    assert row.status is None
    assert row.reason == (
        "phone2 not sent: '4.15555E+09' looks like a number Excel rounded; "
        "re-export with the column as text"
    )
    assert row.phone_count == 1


def test_raw_key_does_not_collide_with_a_real_column() -> None:
    table, mapping = make([*BASIC, ("Phone (raw)", None)], [["Ann", "Lee", "abc", "kept"]])
    (row,) = prepare(table, mapping, send_invalid=True)
    assert row.contact["unmappedFields"] == {"Phone (raw)": "kept", "Phone (raw) (2)": "abc"}


def test_same_number_twice_in_a_row_is_sent_once() -> None:
    table, mapping = make(
        [*BASIC, ("Company Phone", "phone2")], [["Ann", "Lee", "415-555-0134", "(415) 555-0134"]]
    )
    (row,) = prepare(table, mapping)
    assert "phone2" not in row.contact
    assert row.phone_count == 1
    assert (
        row.reason == "phone2 '(415) 555-0134' is a number already sent in this row; not sent twice"
    )


def test_recovered_scientific_notation_is_noted() -> None:
    table, mapping = make(BASIC, [["Ann", "Lee", "4.155550134E+09"]])
    (row,) = prepare(table, mapping)
    assert row.contact["phone"] == "+14155550134"
    assert row.reason == (
        "phone: '4.155550134E+09' read as 4155550134 (Excel scientific notation, all digits kept)"
    )


# --- country and region -----------------------------------------------------------------


COUNTRY = [*BASIC, ("Country", "country"), ("HQ Country", "companyCountry")]


def test_uk_row_reads_a_uk_number_and_is_skipped_without_a_us_phone() -> None:
    table, mapping = make(COUNTRY, [["Ann", "Lee", "020 7946 0958", "United Kingdom", ""]])
    (row,) = prepare(table, mapping)
    assert row.contact["phone"] == "+442079460958"
    assert row.status == SKIPPED
    assert row.reason == "no valid US phone: phone '020 7946 0958' is a GB number"


def test_company_country_is_used_when_the_contact_country_is_empty() -> None:
    table, mapping = make(COUNTRY, [["Ann", "Lee", "020 7946 0958", "", "UK"]])
    (row,) = prepare(table, mapping)
    assert row.contact["phone"] == "+442079460958"


def test_contact_country_wins_over_company_country() -> None:
    table, mapping = make(
        [*COUNTRY, ("Mobile", "phone2")],
        [["Ann", "Lee", "4155550134", "USA", "United Kingdom", "020 7946 0958"]],
    )
    (row,) = prepare(table, mapping)
    # Read as US, "020 7946 0958" is not a number at all.
    assert "phone2" not in row.contact
    assert row.contact["unmappedFields"] == {"Mobile (raw)": "020 7946 0958"}


def test_canadian_row_is_skipped_with_the_reason() -> None:
    table, mapping = make(COUNTRY, [["Ann", "Lee", "416-555-0134", "Canada", ""]])
    (row,) = prepare(table, mapping)
    assert row.contact["phone"] == "+14165550134"
    assert row.status == SKIPPED
    assert row.reason == "no valid US phone: phone '416-555-0134' is a CA number"
    assert row.phone_count == 0


def test_non_us_phone_beside_a_us_one_is_sent_with_a_note() -> None:
    table, mapping = make(
        [*COUNTRY, ("Mobile", "phone2")],
        [["Ann", "Lee", "4155550134", "", "", "+44 20 7946 0958"]],
    )
    (row,) = prepare(table, mapping)
    assert row.contact["phone2"] == "+442079460958"
    assert row.status is None
    assert row.phone_count == 1
    assert row.reason == "phone2 '+44 20 7946 0958' is a GB number, not a US one"


# --- pre-flight -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        (["", "Lee", "4155550134"], "missing firstName"),
        (["Ann", "  ", "4155550134"], "missing lastName"),
        (["Ann", "Lee", "12345"],
         "no valid US phone: phone '12345' is not a valid number (too few digits)"),
        (["Ann", "Lee", ""], "no valid US phone: no phone number in the row"),
        (["", "", "abc"],
         "missing firstName; missing lastName; "
         "no valid US phone: phone 'abc' is not a phone number"),
    ],
)  # fmt: skip
def test_preflight_skips_rows_the_api_would_reject(cells: list[str], reason: str) -> None:
    table, mapping = make(BASIC, [cells])
    (row,) = prepare(table, mapping)
    assert row.status == SKIPPED
    assert row.reason == reason


def test_preflight_lists_every_phone_that_failed() -> None:
    table, mapping = make([*BASIC, ("Mobile", "phone2")], [["Ann", "Lee", "12345", "4.15555E+09"]])
    (row,) = prepare(table, mapping)
    assert row.reason == (
        "no valid US phone: phone '12345' is not a valid number (too few digits), "
        "phone2 '4.15555E+09' looks like a number Excel rounded; re-export with the column as text"
    )


def test_send_invalid_sends_with_the_reason_as_a_note() -> None:
    table, mapping = make(BASIC, [["Ann", "", "12345"]])
    (row,) = prepare(table, mapping, send_invalid=True)
    assert row.status is None
    assert row.reason.startswith("missing lastName; no valid US phone")
    assert "phone" not in row.contact  # an unusable number is still not sent
    assert row.contact["unmappedFields"] == {"Phone (raw)": "12345"}


# --- duplicates -------------------------------------------------------------------------


DUPES = [*BASIC, ("Mobile", "phone2")]


def test_same_name_and_phones_is_a_duplicate_of_the_first() -> None:
    table, mapping = make(
        DUPES,
        [
            ["Ann", "Lee", "4155550134", "2125550100"],
            ["Bo", "Ray", "4155550199", ""],
            [" ann ", "LEE", "(212) 555-0100", "+1 415 555 0134"],  # case, spaces, order
            ["Ann", "Lee", "4155550134", ""],  # different phone set
        ],
        source_rows=[2, 3, 12, 13],
    )
    rows = prepare(table, mapping)
    assert [r.status for r in rows] == [None, None, DUPLICATE, None]
    assert rows[2].reason == "same name and phones as row 2"
    assert rows[2].key == "cs-0123456789-12"  # duplicates still have their own key


def test_keep_duplicates_sends_them_with_a_note() -> None:
    table, mapping = make(BASIC, [["Ann", "Lee", "4155550134"], ["Ann", "Lee", "4155550134"]])
    rows = prepare(table, mapping, keep_duplicates=True)
    assert [r.status for r in rows] == [None, None]
    assert rows[1].reason == "same name and phones as row 2; sent anyway"


def test_skipped_rows_are_not_originals_of_duplicates() -> None:
    table, mapping = make(BASIC, [["Ann", "", "4155550134"], ["Ann", "", "4155550134"]])
    rows = prepare(table, mapping)
    assert [r.status for r in rows] == [SKIPPED, SKIPPED]
    assert rows[1].reason == "missing lastName"
    sent_anyway = prepare(table, mapping, send_invalid=True)
    assert [r.status for r in sent_anyway] == [None, DUPLICATE]


def test_rows_with_no_name_and_no_phone_are_not_duplicates_of_each_other() -> None:
    table, mapping = make(
        [*BASIC, ("Email", "email")], [["", "", "", "a@example.com"], ["", "", "", "b@example.com"]]
    )
    rows = prepare(table, mapping, send_invalid=True)
    assert [r.status for r in rows] == [None, None]


# --- keys -------------------------------------------------------------------------------


KEYED = [*BASIC, ("ID", "customerContactId")]


def test_file_key_column_is_used_when_unique() -> None:
    table, mapping = make(
        KEYED, [["Ann", "Lee", "4155550134", " A-1 "], ["Bo", "Ray", "4155550199", "A-2"]]
    )
    notes: list[str] = []
    rows = prepare_rows(table, mapping, fingerprint=FP, notes=notes)
    assert [r.key for r in rows] == ["A-1", "A-2"]
    assert [r.contact["customerContactId"] for r in rows] == ["A-1", "A-2"]
    assert notes == []


@pytest.mark.parametrize(
    ("ids", "problem"),
    [
        (["A-1", "A-1"], "repeats 'A-1' (rows 2 and 3)"),
        (["a-1", "A-1"], "repeats 'A-1' (rows 2 and 3)"),  # keys must not differ only by case
        (["A-1", ""], "is empty in row 3"),
    ],
)
def test_file_key_column_that_cannot_identify_rows_is_replaced(
    ids: list[str], problem: str
) -> None:
    table, mapping = make(
        KEYED, [["Ann", "Lee", "4155550134", ids[0]], ["Bo", "Ray", "4155550199", ids[1]]]
    )
    notes: list[str] = []
    rows = prepare_rows(table, mapping, fingerprint=FP, notes=notes)
    assert [r.key for r in rows] == ["cs-0123456789-2", "cs-0123456789-3"]
    assert [r.contact["customerContactId"] for r in rows] == [r.key for r in rows]
    assert rows[0].contact["unmappedFields"] == {"ID": ids[0]}
    assert notes == [
        f"customerContactId column 'ID' {problem}, so it cannot identify rows; csvscore made "
        "its own keys (cs-<file>-<row>) and sent the column's values in unmappedFields['ID']"
    ]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def _table_from_csv(path: Path) -> tuple[Table, Mapping]:
    # A minimal stand-in for the reader: the reader is tested on its own.
    with path.open(newline="", encoding="utf-8") as handle:
        header, *body = list(csv.reader(handle))
    return make(list(zip(header, ["firstName", "lastName", "phone"], strict=True)), body,
                source_rows=list(range(2, len(body) + 2)), path=path)  # fmt: skip


def test_generated_keys_are_stable_across_runs_of_the_same_file(tmp_path: Path) -> None:
    data = [["First", "Last", "Phone"], ["Ann", "Lee", "4155550134"], ["Bo", "Ray", "4155550199"]]
    path = tmp_path / "export.csv"
    _write_csv(path, data)
    keys = []
    for _ in range(2):
        table, mapping = _table_from_csv(path)
        rows = prepare_rows(table, mapping, fingerprint=file_fingerprint(path))
        keys.append([r.key for r in rows])
    prefix = f"cs-{hashlib.sha256(path.read_bytes()).hexdigest()[:10]}-"
    assert keys[0] == keys[1] == [f"{prefix}2", f"{prefix}3"]

    changed = tmp_path / "changed.csv"
    _write_csv(changed, [*data, ["Cy", "Day", "4155550100"]])
    table, mapping = _table_from_csv(changed)
    other = prepare_rows(table, mapping, fingerprint=file_fingerprint(changed))
    assert other[0].key != keys[0][0]  # other bytes, other keys: no accidental match


def test_file_fingerprint_streams_large_files(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    payload = b"First,Last,Phone\r\n" + b"Ann,Lee,415-555-0134\r\n" * 150_000  # > 3 MiB
    path.write_bytes(payload)
    assert file_fingerprint(path) == hashlib.sha256(payload).hexdigest()


# --- housekeeping -----------------------------------------------------------------------


def test_prepared_rows_line_up_with_the_table() -> None:
    table, mapping = make(BASIC, [["Ann", "Lee", "4155550134"], ["", "", ""]], source_rows=[5, 9])
    rows = prepare(table, mapping)
    assert [(r.index, r.source_row) for r in rows] == [(0, 5), (1, 9)]
    assert all(r.key == r.contact["customerContactId"] for r in rows)


def test_garbage_collector_state_is_restored() -> None:
    table, mapping = make(BASIC, [["Ann", "Lee", "4155550134"]])
    assert gc.isenabled()
    prepare(table, mapping)
    assert gc.isenabled()
    gc.disable()
    try:
        prepare(table, mapping)
        assert not gc.isenabled()
    finally:
        gc.enable()
