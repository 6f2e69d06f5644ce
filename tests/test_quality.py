"""The code-quality gates run as part of the suite, so CI enforces them with the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_finds_nothing() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied() -> None:
    result = _run("ruff", "format", "--check", "csvscore", "tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes_on_the_library() -> None:
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_synonym_data_ships_inside_the_package() -> None:
    """mappings/ is installed as csvscore.mappings, so a wheel has it, not only a checkout."""
    from importlib.resources import files

    root = files("csvscore.mappings")
    assert root.joinpath("synonyms.yaml").is_file()
    assert any(p.name.endswith(".yaml") for p in root.joinpath("profiles").iterdir())


def test_the_layer_rules_hold() -> None:
    """The import-linter contracts in pyproject.toml (README, "Development": the layer rules)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout
    assert " 0 broken" in result.stdout or "0 broken" in result.stdout


def test_the_ops_guide_is_the_readmes_section_word_for_word() -> None:
    """docs/for-ops-staff.md is handed to ops staff on its own; it must not drift."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## For ops staff") : readme.index("## Mapping columns")]
    guide = (ROOT / "docs" / "for-ops-staff.md").read_text(encoding="utf-8")
    assert guide == section.rstrip() + "\n"
