"""The floor plan holds: packages by stage, no import circle, every package in the wheel, one
public face that loads nothing heavy."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import grimp
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import csvscore

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "csvscore"
HEAVY = ("rapidfuzz", "openpyxl", "requests", "numpy", "pandas", "python_calamine", "urllib3")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _package_dirs() -> list[str]:
    found = ["csvscore"]
    for init in sorted(PACKAGE.rglob("__init__.py")):
        rel = init.parent.relative_to(ROOT)
        if "__pycache__" not in rel.parts and rel != Path("csvscore"):
            found.append(".".join(rel.parts))
    return found


def test_few_modules_lie_directly_in_the_package() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= 9, modules  # the front door, vocabulary, _version, __init__, __main__


def test_every_module_and_package_says_what_it_is() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if "__pycache__" not in path.parts and not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert missing == []


def test_no_module_name_carries_a_folders_job() -> None:
    names = [p.stem for p in PACKAGE.rglob("*.py")]
    prefixed = [n for n in names if re.match(r"(cli|sandbox|api)_", n)]
    assert prefixed == []
    assert "settings" not in names and "samples" not in names


def test_every_package_folder_is_listed_for_the_wheel() -> None:
    """A folder missing from pyproject still imports in an editable install, not from a wheel."""
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    assert set(_package_dirs()) <= listed
    assert "csvscore.mappings" in listed


def test_a_built_wheel_carries_every_package_and_the_data(tmp_path: Path) -> None:
    # Built from a copy, so a stale build/ folder in the checkout cannot hide an omission; no
    # build isolation, so no network is needed.
    src = tmp_path / "src"
    for name in ("csvscore", "mappings"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = out.glob("csvscore-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in _package_dirs():
        if package == "csvscore.mappings":
            continue
        assert "/".join(package.split(".")) + "/__init__.py" in names, package
    assert "csvscore/mappings/synonyms.yaml" in names
    assert any(n.startswith("csvscore/mappings/profiles/") for n in names)
    assert "csvscore/desktop/wrappers/csvscore-drop.bat" in names


def test_there_is_no_import_circle_anywhere() -> None:
    """Function-level imports count: a circle held together by one is still a circle."""
    graph = grimp.build_graph("csvscore", cache_dir=None)
    circles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported == importer or imported.startswith(importer + "."):
                continue  # a package's own face importing one of its modules
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back and not importer.startswith(imported + "."):
                circles.append(" -> ".join([importer, *back]))
    assert circles == []


def test_library_modules_never_import_the_root_face() -> None:
    """With a lazy face, a module importing the root would make it an importer of every layer."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "csvscore" and node.level == 0:
                # `from csvscore import results` names a submodule; a public name is the face.
                public = {a.name for a in node.names} & {*csvscore.__all__, "__version__"}
                if public:
                    offenders.append(f"{path.relative_to(ROOT)}: {sorted(public)}")
            if isinstance(node, ast.Import) and any(a.name == "csvscore" for a in node.names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# -- the public face ---------------------------------------------------------------------------


def test_all_is_sorted_and_matches_what_the_face_exports() -> None:
    assert csvscore.__all__ == sorted(csvscore.__all__)
    assert set(csvscore.__all__) == set(csvscore._EXPORTS) | {"__version__"}
    assert sorted(dir(csvscore)) == sorted(csvscore.__all__)


@pytest.mark.parametrize("name", sorted(csvscore._EXPORTS))
def test_every_public_name_is_importable_from_where_the_face_says(name: str) -> None:
    value = getattr(csvscore, name)
    assert value is getattr(importlib.import_module(csvscore._EXPORTS[name]), name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        csvscore.nope  # noqa: B018


def test_the_version_has_one_home() -> None:
    from csvscore._version import __version__

    assert csvscore.__version__ == __version__
    assert _pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "csvscore._version.__version__"
    }


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    return {name.split(".")[0] for name in out.split()}


@pytest.mark.parametrize(
    "code",
    [
        "import csvscore",
        "import csvscore; csvscore.__version__; csvscore.ExitCode; csvscore.InputError",
        "import csvscore.cli.app",
        "from csvscore.api.errors import OutcomeUnknown",
        "from csvscore.read.table import Table; from csvscore.mapping.model import Mapping",
    ],
)
def test_light_imports_load_nothing_heavy(code: str) -> None:
    assert _loaded_after(code) & set(HEAVY) == set()


def test_version_option_loads_nothing_heavy() -> None:
    code = (
        "import sys\nfrom csvscore.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) & set(HEAVY) == set()
