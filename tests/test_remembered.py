"""Tests for csvscore.user.remembered: the store of mappings remembered per header signature."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from csvscore.errors import ConfigError
from csvscore.user import remembered

SIG_A = "a1b2c3d4e5f60718"
SIG_B = "a1b2ffff00001111"
SIG_C = "9f8e7d6c5b4a3921"

# A mapping file as `csvscore map --save` might write it (the store only needs valid YAML).
MAPPING_YAML = """\
profile: hubspot
columns:
  First Name: firstName
  Last Name: lastName
  Phone Number: phone
  Company Domain: website
"""


def at(day: int) -> datetime:
    return datetime(2025, 11, day, 9, 30, tzinfo=timezone.utc)


def test_mappings_dir_is_under_config_dir(env: dict[str, str], tmp_path: Path) -> None:
    assert remembered.mappings_dir(env) == tmp_path / "config" / "mappings"


def test_remember_writes_yaml_with_comment_header(env: dict[str, str]) -> None:
    path = remembered.remember(
        SIG_A, MAPPING_YAML, source_file="/exports/2025/hubspot-contacts.csv", env=env, now=at(3)
    )
    assert path == remembered.mappings_dir(env) / f"{SIG_A}.yaml"
    text = path.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert "# source-file: hubspot-contacts.csv" in header  # the name only, not the folder
    assert "# saved-at: 2025-11-03T09:30:00Z" in header
    assert f"# signature: {SIG_A}" in header
    assert "/exports/" not in text
    assert text.endswith(MAPPING_YAML)
    assert yaml.safe_load(text) == yaml.safe_load(MAPPING_YAML)  # still a plain mapping file


def test_remember_replaces_earlier_mapping_without_leaving_temp_files(
    env: dict[str, str],
) -> None:
    remembered.remember(SIG_A, MAPPING_YAML, source_file="old.csv", env=env, now=at(1))
    path = remembered.remember(SIG_A, "columns: {}\n", source_file="new.xlsx", env=env, now=at(2))
    assert [p.name for p in remembered.mappings_dir(env).iterdir()] == [f"{SIG_A}.yaml"]
    (only,) = remembered.list_remembered(env)
    assert (only.path, only.source_file, only.column_count) == (path, "new.xlsx", 0)


def test_remember_adds_missing_final_newline(env: dict[str, str]) -> None:
    path = remembered.remember(SIG_A, "columns: []", source_file="x.csv", env=env)
    assert path.read_text(encoding="utf-8").endswith("columns: []\n")


def test_control_characters_in_source_name_cannot_break_the_header(env: dict[str, str]) -> None:
    path = remembered.remember(
        SIG_A, MAPPING_YAML, source_file="evil\nprofile: x.csv", env=env, now=at(1)
    )
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == yaml.safe_load(MAPPING_YAML)
    assert remembered.list_remembered(env)[0].source_file == "evil?profile: x.csv"


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", "a.b", "sig with space", "x" * 129])
def test_unsafe_signature_is_refused(env: dict[str, str], bad: str) -> None:
    with pytest.raises(ConfigError, match="Invalid header signature"):
        remembered.remember(bad, MAPPING_YAML, source_file="x.csv", env=env)
    with pytest.raises(ConfigError, match="Invalid header signature"):
        remembered.find(bad, env=env)
    assert not remembered.mappings_dir(env).exists()


def test_invalid_yaml_is_refused_and_nothing_written(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        remembered.remember(SIG_A, "columns: [unclosed", source_file="x.csv", env=env)
    assert remembered.find(SIG_A, env=env) is None


def test_find_returns_path_only_when_remembered(env: dict[str, str]) -> None:
    assert remembered.find(SIG_A, env=env) is None
    path = remembered.remember(SIG_A, MAPPING_YAML, source_file="x.csv", env=env)
    assert remembered.find(SIG_A, env=env) == path
    assert remembered.find(SIG_B, env=env) is None


def test_list_is_empty_without_a_mappings_folder(env: dict[str, str]) -> None:
    assert remembered.list_remembered(env) == []


def test_list_reports_fields_newest_first(env: dict[str, str]) -> None:
    remembered.remember(SIG_A, MAPPING_YAML, source_file="hubspot.csv", env=env, now=at(1))
    remembered.remember(SIG_C, MAPPING_YAML, source_file="salesforce.xlsx", env=env, now=at(5))
    remembered.remember(SIG_B, MAPPING_YAML, source_file="apollo.csv", env=env, now=at(3))
    listed = remembered.list_remembered(env)
    assert [m.signature for m in listed] == [SIG_C, SIG_B, SIG_A]
    first = listed[0]
    assert first == remembered.RememberedMapping(
        signature=SIG_C,
        path=remembered.mappings_dir(env) / f"{SIG_C}.yaml",
        source_file="salesforce.xlsx",
        saved_at="2025-11-05T09:30:00Z",
        column_count=4,
        problem="",
    )


@pytest.mark.parametrize(
    ("body", "count"),
    [
        (MAPPING_YAML, 4),  # columns: table
        ("columns:\n  - {header: First, field: firstName}\n  - {header: Cell, field: phone}\n", 2),
        ("version: 1\nprofile: hubspot\nFirst: firstName\nLast: lastName\nCell: phone\n", 3),
        ("- {header: First, field: firstName}\n", 1),  # a bare list
        ("columns:\n", 0),
        ("", 0),
    ],
    ids=["columns-table", "columns-list", "flat-table", "bare-list", "columns-empty", "empty"],
)
def test_column_count_is_parsed_from_the_yaml(env: dict[str, str], body: str, count: int) -> None:
    remembered.remember(SIG_A, body, source_file="x.csv", env=env)
    assert remembered.list_remembered(env)[0].column_count == count


def test_unreadable_or_odd_files_are_listed_with_a_problem(env: dict[str, str]) -> None:
    folder = remembered.mappings_dir(env)
    folder.mkdir(parents=True)
    (folder / f"{SIG_A}.yaml").write_text("columns: [broken\n", encoding="utf-8")
    (folder / f"{SIG_B}.yaml").write_text("columns: 7\n", encoding="utf-8")
    (folder / f"{SIG_C}.yaml").write_bytes(b"\xff\xfe\x00")
    listed = {m.signature: m for m in remembered.list_remembered(env)}
    assert set(listed) == {SIG_A, SIG_B, SIG_C}
    assert all(m.column_count is None for m in listed.values())
    assert listed[SIG_A].problem.startswith("not a valid mapping file:")
    assert "neither a list nor a table" in listed[SIG_B].problem
    assert listed[SIG_C].problem == "cannot read: not UTF-8 text"


def test_list_ignores_other_files_and_reads_hand_written_ones(env: dict[str, str]) -> None:
    folder = remembered.mappings_dir(env)
    folder.mkdir(parents=True)
    (folder / f".{SIG_A}.yaml.0123456789abcdef.tmp").write_text("x: 1\n", encoding="utf-8")
    (folder / "README.txt").write_text("notes\n", encoding="utf-8")
    (folder / "not a signature.yaml").write_text("x: 1\n", encoding="utf-8")
    (folder / "sub.yaml").mkdir()
    (folder / f"{SIG_C}.yaml").write_text("First: firstName\n", encoding="utf-8")
    (only,) = remembered.list_remembered(env)
    assert (only.signature, only.source_file, only.saved_at, only.column_count) == (
        SIG_C,
        "",
        "",
        1,
    )


@pytest.fixture
def three(env: dict[str, str]) -> dict[str, str]:
    remembered.remember(SIG_A, MAPPING_YAML, source_file="HubSpot.csv", env=env, now=at(1))
    remembered.remember(SIG_B, MAPPING_YAML, source_file="apollo.csv", env=env, now=at(2))
    remembered.remember(SIG_C, MAPPING_YAML, source_file="apollo.csv", env=env, now=at(3))
    return env


def remaining(env: dict[str, str]) -> set[str]:
    return {m.signature for m in remembered.list_remembered(env)}


@pytest.mark.parametrize(
    ("query", "gone"),
    [
        (SIG_A, SIG_A),  # full signature
        ("a1b2f", SIG_B),  # unique prefix
        ("9f8", SIG_C),
        (f"{SIG_B}.yaml", SIG_B),  # the file name as listed
        ("hubspot.CSV", SIG_A),  # source file name, any case
        (f"  {SIG_A}  ", SIG_A),
    ],
)
def test_forget_deletes_the_one_match(three: dict[str, str], query: str, gone: str) -> None:
    path = remembered.forget(query, env=three)
    assert path == remembered.mappings_dir(three) / f"{gone}.yaml"
    assert not path.exists()
    assert remaining(three) == {SIG_A, SIG_B, SIG_C} - {gone}


def test_forget_ambiguous_prefix_lists_candidates_and_deletes_nothing(
    three: dict[str, str],
) -> None:
    with pytest.raises(ConfigError) as info:
        remembered.forget("a1b2", env=three)
    message = str(info.value)
    assert "'a1b2' matches 2 remembered mappings" in message
    assert f"{SIG_A} (HubSpot.csv, saved 2025-11-01T09:30:00Z)" in message
    assert f"{SIG_B} (apollo.csv, saved 2025-11-02T09:30:00Z)" in message
    assert SIG_C not in message
    assert "Give more of the signature" in message
    assert remaining(three) == {SIG_A, SIG_B, SIG_C}


def test_forget_ambiguous_source_name_lists_candidates(three: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"'apollo\.csv' matches 2 remembered mappings"):
        remembered.forget("apollo.csv", env=three)
    assert remaining(three) == {SIG_A, SIG_B, SIG_C}


def test_forget_without_match_lists_what_exists(three: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        remembered.forget("zzz", env=three)
    message = str(info.value)
    assert message.startswith("No remembered mapping matches 'zzz'. Remembered mappings: ")
    assert all(sig in message for sig in (SIG_A, SIG_B, SIG_C))


def test_forget_with_nothing_remembered_says_none(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"Remembered mappings: none\.$"):
        remembered.forget(SIG_A, env=env)


def test_forget_empty_query_is_refused(three: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="Say which remembered mapping"):
        remembered.forget("  ", env=three)
    assert remaining(three) == {SIG_A, SIG_B, SIG_C}


def test_forget_exact_signature_wins_over_longer_ones(env: dict[str, str]) -> None:
    remembered.remember("abc", MAPPING_YAML, source_file="x.csv", env=env)
    remembered.remember("abcd", MAPPING_YAML, source_file="y.csv", env=env)
    remembered.forget("abc", env=env)
    assert remaining(env) == {"abcd"}


def test_the_profile_note_says_whether_a_mapping_file_or_a_remembered_mapping_named_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    import csvscore
    from csvscore.mapping.overrides import dump_mapping_yaml

    src = Path(__file__).resolve().parent.parent / "fixtures" / "exports" / "hubspot.csv"
    mapped = csvscore.map_file(src, env=env)
    text = dump_mapping_yaml(mapped.mapping)
    assert "profile: hubspot" in text
    file = tmp_path / "mine.yaml"
    file.write_text(text, encoding="utf-8")
    named = csvscore.map_file(src, options=csvscore.MapOptions(mapping_file=file), env=env)
    assert "Using the HubSpot profile (named in the mapping file)." in named.mapping.notes
    remembered.remember(mapped.signature, text, source_file=src.name, env=env)
    again = csvscore.map_file(src, env=env)
    assert "Using the HubSpot profile (named in the remembered mapping)." in again.mapping.notes
