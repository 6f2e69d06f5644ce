"""Where a result goes, and proof that it can go there *before* anything is sent.

Sending spends the customer's credits; a result that cannot be saved afterwards (a folder that
does not exist, a read-only folder, a name too long for the file system, a CSV companion that
would overwrite the input) must be found before the first request, not after the last one. So
the library asks :func:`check_writable` first: it creates and deletes, in the result's folder,
exactly the temporary file the writer will use, and checks every final name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from csvscore.errors import OutputError, UsageError

FORMATS = ("xlsx", "csv")
# CSV results: the Results as <name>.csv, each other sheet beside it as <stem>.<kind>.csv.
CSV_COMPANIONS = ("to-fix", "check-first", "jobs", "summary", "mapping")
_SCORED = ".scored"
_DRY_RUN = ".dry-run"
_SANDBOX = ".sandbox"
_FALLBACK_NAME_MAX = 255  # bytes in a file name on every common file system


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def with_format_suffix(path: Path, fmt: str) -> Path:
    suffix = path.suffix.lower()
    if suffix == f".{fmt}":
        return path
    if suffix in (f".{f}" for f in FORMATS):
        return path.with_suffix(f".{fmt}")
    return path.with_name(f"{path.name}.{fmt}")


def name_max(folder: Path) -> int:
    """The longest file name (in bytes) the folder's file system takes."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):  # Windows, or a folder that does not exist
        return _FALLBACK_NAME_MAX


def default_output_path(
    input_path: Path, fmt: str = "xlsx", *, dry_run: bool = False, sandbox: bool = False
) -> Path:
    """Where the result goes by default: ``<input stem>.scored.<fmt>`` beside the input.

    ``contacts.csv`` gives ``contacts.scored.xlsx`` (or ``contacts.scored.csv``); the name
    always differs from the input's, so the input is never overwritten. A stem too long for the
    file system with the ending added is shortened (a long export name must not make the result
    impossible to save). A dry run's preview is ``<input stem>.dry-run.<fmt>`` and a sandbox
    run's ``<input stem>.sandbox.<fmt>`` when asked for (``sandbox``): they must never replace
    the result of a run that was sent (and paid for).
    """
    check_format(fmt)
    input_path = Path(input_path)
    ending = f"{_DRY_RUN if dry_run else _SANDBOX if sandbox else _SCORED}.{fmt}"
    return input_path.with_name(fitted_name(input_path.stem, ending, input_path.parent))


def fitted_name(stem: str, ending: str, folder: Path) -> str:
    """``stem + ending``, the stem cut (at a character boundary) to fit the file system."""
    room = name_max(folder) - len(ending.encode("utf-8"))
    # CSV companions add ".check-first.csv" to the stem: leave room for the longest.
    room -= max(len(f".{k}") for k in CSV_COMPANIONS)
    encoded = stem.encode("utf-8")
    if len(encoded) <= room:
        return stem + ending
    cut = encoded[: max(1, room - 1)].decode("utf-8", errors="ignore").rstrip()
    return f"{cut}~{ending}"


def result_paths(target: Path, fmt: str) -> list[Path]:
    """Every file a result of ``fmt`` at ``target`` consists of, the main one first."""
    if fmt == "xlsx":
        return [target]
    return [target, *(target.with_name(f"{target.stem}.{kind}.csv") for kind in CSV_COMPANIONS)]


def temp_path(target: Path) -> Path:
    """The temporary file a result is written to before it is renamed into place.

    Same folder, so the rename is atomic; a short name (not the target's), so a target name
    near the file system's limit still gets one; random, so it never clashes.
    """
    return target.with_name(f".csvscore-{os.getpid()}-{secrets.token_hex(4)}.tmp")


def check_writable(target: Path, fmt: str, input_path: Path) -> None:
    """Prove that a result of ``fmt`` can be written at ``target``; :class:`OutputError` if not.

    Nothing is left behind: the probe file is removed, and existing files are not touched.
    """
    check_format(fmt)
    paths = result_paths(target, fmt)
    try:
        source = input_path.resolve()
    except OSError:
        source = input_path
    for path in paths:
        if path.resolve() == source:
            raise OutputError(
                f"The result would overwrite your export {path}; nothing was sent. "
                "Choose another name with -o."
            )
    folder = target.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise OutputError(
            f"Cannot save the result in {folder}: the folder {what}. Nothing was sent."
        )
    limit = name_max(folder)
    for path in paths:
        if len(path.name.encode("utf-8")) > limit:
            raise OutputError(
                f"Cannot save the result as {path.name}: the name is longer than this folder "
                f"allows ({limit} bytes). Nothing was sent; choose a shorter name with -o."
            )
        if path.is_dir():
            raise OutputError(
                f"Cannot save the result as {path}: it is a folder. Nothing was sent."
            )
        if path.exists() and not os.access(path, os.W_OK):
            raise OutputError(
                f"Cannot replace {path}: it is read-only, or open in another program (Excel, "
                "for example). Nothing was sent; close it or choose another name with -o."
            )
    probe = temp_path(target)
    try:
        with open(probe, "xb") as fh:
            fh.write(b"csvscore")
    except OSError as exc:
        raise OutputError(
            f"Cannot save the result in {folder}: {exc.strerror or exc}. Nothing was sent."
        ) from exc
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
