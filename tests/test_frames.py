"""pandas at the library face: a DataFrame goes through what a file goes through."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import csvscore
from csvscore.sandbox.server import Sandbox

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "exports"


def test_map_frame_maps_a_frame_as_map_file_maps_the_file(env: dict[str, str]) -> None:
    path = FIXTURES / "hubspot.csv"
    df = pd.read_csv(path, dtype=str)
    from_file = csvscore.map_file(path, env=env).mapping
    from_frame = csvscore.map_frame(df, env=env).mapping
    # read_csv renames a repeated header ("City" -> "City.1"); the frame maps as the file does.
    assert "City.1" in df.columns
    assert [c.field for c in from_frame.columns] == [c.field for c in from_file.columns]
    assert [c.phone_type for c in from_frame.columns] == [c.phone_type for c in from_file.columns]


def test_score_frame_returns_the_input_columns_plus_the_status_columns(
    env: dict[str, str], make_sandbox: Callable[..., Sandbox]
) -> None:
    sb = make_sandbox()
    env = {**env, "TITANX_API_KEY": sb.api_key}
    df = pd.read_csv(FIXTURES / "hubspot.csv", dtype=str)
    df.index = [f"r{i}" for i in range(len(df))]  # the caller's index is kept
    df.loc["r3", "Last Name"] = None  # a missing value, as read_csv gives it
    out = csvscore.score_frame(df, csvscore.ScoreRequest(base_url=sb.url), env=env)
    assert list(out.columns[: len(df.columns)]) == list(df.columns)
    assert list(out.index) == list(df.index)
    assert out.loc["r3", "TitanX Status"] == "skipped"
    assert "lastName" in out.loc["r3", "TitanX Reason"]
    accepted = out[out["TitanX Status"] == "accepted"]
    assert len(accepted) == len(df) - 1
    assert accepted["TitanX Job ID"].str.len().min() > 0
    assert sb.state.contact_id_counts() and max(sb.state.contact_id_counts().values()) == 1


def test_scoring_the_same_frame_again_resumes_instead_of_charging_twice(
    env: dict[str, str], make_sandbox: Callable[..., Sandbox]
) -> None:
    sb = make_sandbox()
    env = {**env, "TITANX_API_KEY": sb.api_key}
    df = pd.read_csv(FIXTURES / "hubspot.csv", dtype=str)
    request = csvscore.ScoreRequest(base_url=sb.url)
    first = csvscore.score_frame(df, request, env=env)
    posts = len(sb.state.jobs)
    again = csvscore.score_frame(df.copy(), request, env=env)
    assert len(sb.state.jobs) == posts  # nothing sent the second time
    assert list(again["TitanX Status"]) == list(first["TitanX Status"])
    assert list(again["TitanX Job ID"]) == list(first["TitanX Job ID"])


def test_score_frame_writes_a_workbook_only_when_asked(tmp_path: Path, env: dict[str, str]) -> None:
    df = pd.read_csv(FIXTURES / "hubspot.csv", dtype=str)
    out = tmp_path / "frame.xlsx"
    request = csvscore.ScoreRequest(sandbox=True, output=out)
    csvscore.score_frame(df, request, env=env)
    assert out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".xlsx") == ["frame.xlsx"]


def test_a_non_frame_is_refused_in_one_line(env: dict[str, str]) -> None:
    with pytest.raises(csvscore.InputError, match="expected a pandas DataFrame, not list"):
        csvscore.map_frame([["a"]], env=env)  # type: ignore[arg-type]


def test_without_pandas_the_frame_functions_name_the_extra() -> None:
    code = (
        "import sys; sys.modules['pandas'] = None\n"
        "import csvscore\n"
        "try:\n    csvscore.map_frame(object())\n"
        "except csvscore.UsageError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == (
        "map_frame and score_frame need pandas: pip install 'csvscore[pandas]'"
    )
