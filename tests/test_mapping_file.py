"""Mapping files: load overrides, save a mapping, round trip, and clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from csvscore.errors import MappingError
from csvscore.mapping.matcher import map_columns
from csvscore.mapping.overrides import (
    HEADER_LINE,
    OverrideEntry,
    Overrides,
    dump_mapping_yaml,
    header_signature,
    load_overrides,
    parse_overrides,
    save_mapping,
)

HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Mobile Phone Number",
    "Lead Status",
    "Phone Number",
    "# Employees",
    "",
    "Notes: misc",
]
SAMPLES = [
    ["Ann"],
    ["Lee"],
    ["ann@example.com"],
    ["415-555-0134"],
    ["415-555-0101"],
    ["Open"],
    ["212-555-0199"],
    ["50"],
    [],
    ["x"],
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_save_then_load_gives_the_same_assignment(tmp_path: Path) -> None:
    first = map_columns(HEADERS, SAMPLES)
    path = tmp_path / "saved.yaml"
    save_mapping(first, path, headers=HEADERS)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER_LINE + "\n")
    assert "csvscore_mapping: 1" in text
    overrides = load_overrides(path)
    assert overrides.signature == header_signature(HEADERS)
    again = map_columns(HEADERS, SAMPLES, overrides=overrides)
    assert [c.field for c in again.columns] == [c.field for c in first.columns]
    assert all(c.method == "override" for c in again.columns)
    assert [c.phone_type for c in again.columns if c.field] == [
        c.phone_type for c in first.columns if c.field
    ]


def test_saved_file_is_human_editable(tmp_path: Path) -> None:
    mapping = map_columns(HEADERS, SAMPLES, profile="hubspot")
    text = dump_mapping_yaml(mapping)
    assert "profile: hubspot" in text
    assert "  - column: 5\n    header: Mobile Phone Number\n    field: phone  # mobile;" in text
    assert '    header: "# Employees"' in text  # quoted: a bare # starts a comment
    assert '    header: ""' in text  # the blank header survives
    assert '    header: "Notes: misc"' in text
    assert "field: null" in text
    data = yaml.safe_load(text)
    assert [c["column"] for c in data["columns"]] == list(range(1, len(HEADERS) + 1))
    # Edit one field by hand and load it back.
    edited = text.replace("field: null  # ", "field: persona  # ", 1)
    overrides = parse_overrides(edited)
    remapped = map_columns(HEADERS, SAMPLES, overrides=overrides)
    assert "persona" in [c.field for c in remapped.columns]


@given(st.lists(st.text(max_size=30), min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_any_header_text_round_trips(headers: list[str]) -> None:
    mapping = map_columns(headers, [[] for _ in headers])
    data = yaml.safe_load(dump_mapping_yaml(mapping))
    assert [c["header"] for c in data["columns"]] == headers
    overrides = parse_overrides(dump_mapping_yaml(mapping))
    assert [
        c.field for c in map_columns(headers, [[]] * len(headers), overrides=overrides).columns
    ] == [c.field for c in mapping.columns]


def test_save_refuses_a_mapping_of_other_headers(tmp_path: Path) -> None:
    mapping = map_columns(HEADERS, SAMPLES)
    with pytest.raises(MappingError, match="does not belong"):
        save_mapping(mapping, tmp_path / "m.yaml", headers=HEADERS[:-1])
    assert not (tmp_path / "m.yaml").exists()


def test_save_into_a_missing_folder_is_a_mapping_error(tmp_path: Path) -> None:
    mapping = map_columns(HEADERS, SAMPLES)
    with pytest.raises(MappingError, match="cannot write"):
        save_mapping(mapping, tmp_path / "nope" / "m.yaml", headers=HEADERS)


def test_header_signature_ignores_order_case_and_repeats() -> None:
    sig = header_signature(["First Name", "Email", "Phone"])
    assert sig == header_signature(["phone", "EMAIL", "first_name", "Email"])
    assert sig != header_signature(["First Name", "Email", "Mobile"])
    assert len(sig) == 16 and int(sig, 16) >= 0


def test_entries_by_header_by_column_or_both(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "csvscore_mapping: 1\ncolumns:\n"
        "  - header: Mobile Phone Number\n    field: phone2\n"
        "  - column: 6\n    field: persona\n"
        "  - column: 7\n    header: Phone Number\n    field: null\n"
        "  - header: column 9\n    field: null\n",
    )
    m = map_columns(HEADERS, SAMPLES, overrides=load_overrides(path))
    assert m.columns[4].field == "phone2" and m.columns[4].method == "override"
    assert m.columns[5].field == "persona"
    assert m.columns[6].field is None and m.columns[6].method == "override"
    assert m.columns[3].field == "phone"  # the unpinned phone takes the free main slot


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [\n  - column: 1", "not valid YAML"),
        ("just a string", "not a csvscore mapping file"),
        ("csvscore_mapping: 2\ncolumns: []", "unsupported csvscore_mapping version 2"),
        (
            "columns:\n  - column: 1\n    field: phone6",
            "unknown field 'phone6' (did you mean 'phone",
        ),
        ("columns:\n  - column: 1\n    field: frstName", "valid fields are: firstName, lastName"),
        ("columns:\n  - column: 0\n    field: email", "`column:` must be a whole number from 1"),
        ("columns:\n  - column: one\n    field: email", "`column:` must be a whole number from 1"),
        ("columns:\n  - header: Email", "has no `field:`; use `field: null`"),
        ("columns:\n  - field: email", "needs `column:`"),
        ("columns:\n  - column: 1\n    field: email\n    colour: red", "unknown key(s) colour"),
        ("columns:\n  - email", "must be a mapping"),
        (
            "profile: hubspott\ncolumns: []",
            "unknown profile 'hubspott'; available profiles are: apollo",
        ),
    ],
)
def test_bad_files_raise_a_clear_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(MappingError) as info:
        load_overrides(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_field_lists_every_valid_one(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as info:
        load_overrides(write(tmp_path, "columns:\n  - column: 1\n    field: Email Address"))
    message = str(info.value)
    for name in ("firstName", "fsTotalCalls", "fullName", "unmapped"):
        assert name in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="mapping file not found"):
        load_overrides(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (OverrideEntry("email", column=11), "column 11 is out of range; the file has 10 columns"),
        (
            OverrideEntry("email", column=3, header="Phone Number"),
            "column 3 is 'Email' but the entry says header 'Phone Number'",
        ),
        (
            OverrideEntry("phone", header="Phone Number"),
            "header 'Phone Number' appears in columns 4, 7; add `column:`",
        ),
        (
            OverrideEntry("email", header="E-Mail Adress"),
            "no column named 'E-Mail Adress'; the file's columns are: 'First Name', 'Last Name'",
        ),
    ],
)
def test_entries_that_do_not_fit_the_file(entry: OverrideEntry, message: str) -> None:
    overrides = Overrides([entry], source="my.yaml")
    with pytest.raises(MappingError) as info:
        map_columns(HEADERS, SAMPLES, overrides=overrides)
    assert message in str(info.value)
    assert str(info.value).startswith("my.yaml: ")


def test_one_field_for_two_columns_is_an_error() -> None:
    overrides = Overrides([OverrideEntry("email", column=3), OverrideEntry("email", column=10)])
    with pytest.raises(MappingError, match="field 'email' is given to both column 3"):
        map_columns(HEADERS, SAMPLES, overrides=overrides)


def test_later_pins_on_a_column_win_and_with_pin_validates() -> None:
    overrides = Overrides([OverrideEntry("persona", column=10)]).with_pin("dept", column=10)
    m = map_columns(HEADERS, SAMPLES, overrides=overrides)
    assert m.columns[9].field == "dept"
    with pytest.raises(MappingError, match="unknown field 'nope'"):
        overrides.with_pin("nope", column=1)


def test_header_matching_is_forgiving_but_exact_first() -> None:
    overrides = Overrides([OverrideEntry("persona", header="notes: MISC")])
    m = map_columns(HEADERS, SAMPLES, overrides=overrides)
    assert m.columns[9].field == "persona"


def test_profile_in_the_file_is_used_when_none_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "csvscore_mapping: 1\nprofile: zoho\ncolumns: []\n")
    m = map_columns(["Phone", "Mobile"], [[], []], overrides=load_overrides(path))
    assert m.profile == "zoho"
    assert m.columns[0].phone_type == "work"
