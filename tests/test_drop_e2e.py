"""The whole drag-and-drop path on Linux, for real: the installed wrapper, the installed csvscore,
a file with an awkward name, and the sandbox over HTTP on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from csvscore.desktop.shortcuts import install_shortcut
from csvscore.sandbox.server import Sandbox
from tests.support import sheet_rows, write_contacts

NAMES = ['O\'Brien & Sons "Q3" — 日本語 $HOME.csv', "-списки (1).csv"]


def _csvscore_exe() -> Path:
    found = Path(sys.executable).with_name("csvscore")
    if not found.exists():  # the venv's console script, installed by `pip install -e .`
        which = shutil.which("csvscore")
        assert which, "csvscore is not installed in this environment"
        found = Path(which)
    return found


@pytest.mark.skipif(sys.platform != "linux", reason="runs the Linux wrapper")
def test_dropping_files_with_awkward_names_scores_each_and_waits_for_enter(
    make_sandbox: Callable[..., Sandbox], tmp_path: Path, env: dict[str, str]
) -> None:
    sb = make_sandbox()
    desktop = tmp_path / "Desk top"
    desktop.mkdir()
    script, _launcher = install_shortcut(
        desktop, system="Linux", csvscore_exe=_csvscore_exe(), env={}
    )
    folder = tmp_path / "Shared drive" / "exports"
    folder.mkdir(parents=True)
    files = [write_contacts(folder / name, 3 + i) for i, name in enumerate(NAMES)]
    # Distinct people per file, so the ledger does not hold the second file's rows back.
    second = files[1].read_text(encoding="utf-8").replace("Ann", "Bea")
    files[1].write_text(second, encoding="utf-8")
    run_env = dict(
        os.environ,
        **env,
        TITANX_API_KEY=sb.api_key,
        TITANX_BASE_URL=sb.url,
        PATH="/usr/bin:/bin",  # no xdg-open: opening fails politely, as on a bare machine
    )
    run_env.pop("CI", None)
    proc = subprocess.run(
        [str(script), *map(str, files)],
        input="\n",  # the Enter that closes the window
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for i, src in enumerate(files):
        result = src.with_name(src.stem + ".scored.xlsx")
        assert result.exists(), proc.stdout
        rows = sheet_rows(result, "Results")
        assert [r["TitanX Status"] for r in rows] == ["accepted"] * (3 + i)
        assert str(result) in proc.stdout  # listed at the end
    assert len(sb.state.jobs) == 2
    assert "Enter" in proc.stdout  # it waited for Enter before closing
