"""Tests for csvscore.user.lastseen: the last account figures TitanX reported."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from csvscore.errors import ConfigError
from csvscore.user import lastseen
from csvscore.user.lastseen import LastSeen

LIMITS = {"X-RateLimit-Limit-Second": "5", "X-RateLimit-Limit-Minute": "100"}


def test_path_is_in_state_dir(env: dict[str, str], tmp_path: Path) -> None:
    assert lastseen.lastseen_path(env) == tmp_path / "state" / "lastseen.json"


def test_load_without_a_file_is_none(env: dict[str, str]) -> None:
    assert lastseen.load(env) is None


@pytest.mark.parametrize(
    ("credits", "cost"),
    [
        ("995", "0.05"),
        ("995.000", "0.050"),  # trailing zeros are kept, not normalised
        ("12345678901234567890.123456789", "0.0000001"),  # beyond float precision
        ("0", "1E+2"),
    ],
)
def test_record_then_load_round_trips_decimals_exactly(
    env: dict[str, str], credits: str, cost: str
) -> None:
    seen = LastSeen(Decimal(credits), Decimal(cost), dict(LIMITS), "2025-11-26T10:40:00Z")
    lastseen.record(seen, env)
    back = lastseen.load(env)
    assert back == seen
    # Same digits and exponent, not merely an equal value (so "0.050" stays "0.050").
    assert back is not None and back.credits_remaining is not None and back.cost_per_phone
    assert back.credits_remaining.as_tuple() == Decimal(credits).as_tuple()
    assert back.cost_per_phone.as_tuple() == Decimal(cost).as_tuple()


def test_decimals_are_stored_as_json_strings(env: dict[str, str]) -> None:
    lastseen.record(LastSeen(Decimal("995"), Decimal("0.05"), {}, "2025-11-26T10:40:00Z"), env)
    stored = json.loads(lastseen.lastseen_path(env).read_text(encoding="utf-8"))
    assert stored == {
        "version": 2,
        "credits_remaining": "995",
        "cost_per_phone": "0.05",
        "costs": {},
        "limits": {},
        "seen_at": "2025-11-26T10:40:00Z",
    }


def test_unknown_figures_round_trip_as_none(env: dict[str, str]) -> None:
    seen = LastSeen(None, None, {}, "2025-11-26T10:40:00Z")
    lastseen.record(seen, env)
    assert lastseen.load(env) == seen


def test_limit_values_are_stored_as_strings(env: dict[str, str]) -> None:
    lastseen.record(LastSeen(None, None, {"daily": 10000}, "2025-11-26T10:40:00Z"), env)  # type: ignore[dict-item]
    back = lastseen.load(env)
    assert back is not None and back.limits == {"daily": "10000"}


def test_seen_at_defaults_to_now_in_utc() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", LastSeen(None, None).seen_at)


def test_record_replaces_previous_figures_without_temp_files(env: dict[str, str]) -> None:
    lastseen.record(LastSeen(Decimal("995"), Decimal("0.05"), {}, "2025-11-25T08:00:00Z"), env)
    newer = LastSeen(Decimal("990"), Decimal("0.05"), dict(LIMITS), "2025-11-26T10:40:00Z")
    lastseen.record(newer, env)
    assert lastseen.load(env) == newer
    assert [p.name for p in lastseen.lastseen_path(env).parent.iterdir()] == ["lastseen.json"]


def test_record_into_unwritable_state_dir_raises_config_error(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "state").write_text("a file where the folder should be", encoding="utf-8")
    with pytest.raises(ConfigError, match="Cannot write"):
        lastseen.record(LastSeen(Decimal("1"), None, {}, "2025-11-26T10:40:00Z"), env)


GOOD = {
    "version": 1,
    "credits_remaining": "995",
    "cost_per_phone": "0.05",
    "limits": {},
    "seen_at": "2025-11-26T10:40:00Z",
}


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        "[]",
        "null",
        json.dumps({**GOOD, "version": 3}),
        json.dumps({k: v for k, v in GOOD.items() if k != "version"}),
        json.dumps({**GOOD, "credits_remaining": 995}),  # a number: may have lost exactness
        json.dumps({**GOOD, "cost_per_phone": "five cents"}),
        json.dumps({**GOOD, "limits": ["5/s"]}),
        json.dumps({**GOOD, "limits": {"second": 5}}),
        json.dumps({k: v for k, v in GOOD.items() if k != "seen_at"}),
    ],
    ids=[
        "empty",
        "not-json",
        "list",
        "null",
        "future-version",
        "no-version",
        "number-credits",
        "junk-decimal",
        "limits-list",
        "limits-number",
        "no-seen-at",
    ],
)
def test_corrupt_file_loads_as_none(env: dict[str, str], content: str) -> None:
    path = lastseen.lastseen_path(env)
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    assert lastseen.load(env) is None


def test_good_hand_written_file_loads(env: dict[str, str]) -> None:
    # The control case for the corrupt-file test above: the same document, unspoilt.
    path = lastseen.lastseen_path(env)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    assert lastseen.load(env) == LastSeen(
        Decimal("995"), Decimal("0.05"), {}, "2025-11-26T10:40:00Z"
    )


def test_non_utf8_or_unreadable_file_loads_as_none(env: dict[str, str]) -> None:
    path = lastseen.lastseen_path(env)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe{}")
    assert lastseen.load(env) is None
    path.unlink()
    path.mkdir()  # a folder in its place: reading fails with an OSError
    assert lastseen.load(env) is None


def test_the_price_is_kept_per_scoring_type(env: dict[str, str]) -> None:
    """A titan run must not change the lightning estimate, nor the other way round."""
    lastseen.record(LastSeen(Decimal("990"), Decimal("0.05")), env, scoring_type="lightning")
    lastseen.record(LastSeen(Decimal("980"), Decimal("0.25")), env, scoring_type="titan")
    seen = lastseen.load(env)
    assert seen is not None
    assert seen.cost_for("lightning") == Decimal("0.05")
    assert seen.cost_for("titan") == Decimal("0.25")
    assert seen.credits_remaining == Decimal("980")


def test_a_version_1_price_counts_for_lightning_only(env: dict[str, str]) -> None:
    path = lastseen.lastseen_path(env)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(GOOD), encoding="utf-8")
    seen = lastseen.load(env)
    assert seen is not None
    assert seen.cost_for("lightning") == seen.cost_per_phone is not None
    assert seen.cost_for("titan") is None
