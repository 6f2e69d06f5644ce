"""Fuzz the readers: generated CSV, XLSX, ODS and XLS bytes, read with ``read_table``.

    python -m benchmarks.fuzz_readers --minutes 10          # a long run
    python -m benchmarks.fuzz_readers --seconds 5 --seed 1  # what the test suite runs

Every input must give a well-formed :class:`~csvscore.read.table.Table` or an
:class:`~csvscore.errors.InputError` of one line naming the file; anything else (another
exception, a traceback, a process killed by calamine) is a finding. Inputs are generated with
hypothesis: text files from rows of awkward cells (quotes, delimiters, line breaks, NUL and other
controls, long runs, non-Latin text) in several encodings, plus raw bytes; workbooks written by hand
(:mod:`benchmarks.handmade`) with cells anywhere (XFD1048576 and beyond, lower case, no ``r``,
namespace prefixes, duplicate attributes), lying shared-string counts, ODS repeats, and an ``.xls``
with patched bytes.

The inputs are read in a child process, which writes each one to ``current.*`` in a folder of its
run under ``benchmarks/out/fuzz/`` before reading it: if calamine aborts the child (a Rust
allocation failure cannot be caught), the parent keeps that input as ``crash-*`` and starts a new
child. Findings are kept the same way; the run's folder is removed at the end.
The child's peak resident memory (``getrusage``: calamine's allocations included) and the slowest
read are printed; a peak over ``--max-rss-mb`` or a read over ``--max-read-seconds`` is a finding.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from benchmarks.handmade import CONTACTS, ods, ods_cell, ods_row, sheet_xml, xlsx
from benchmarks.peak import peak_mib

OUT = Path(__file__).resolve().parent / "out" / "fuzz"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reader"

# -- text files ----------------------------------------------------------------------------------

_PIECES = [
    "Ann", "Lee", "415-555-0134", "José", "Müller", "Café", "“VIP”", "–", "€", "日本", "😀",
    ",", ";", "\t", "|", '"', '""', "\n", "\r", "\r\n", "\x00", "\x1b[2J", "\x07", "\x85",
    "\ufeff", " ", "=1+1", "Grand Totals (3 records)", "Copyright (c) 2024", "First Name",
    "Phone", "x" * 300, "'", "\\", "\ud800",
]  # fmt: skip
_ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252", "mac_roman", "latin-1"]


@st.composite
def text_file(draw: Any) -> tuple[bytes, str]:
    cell = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join) | st.text(max_size=20)
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=8), min_size=0, max_size=25))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quote_all = draw(st.booleans())
    lines = []
    for row in rows:
        cells = []
        for value in row:
            if quote_all or any(ch in value for ch in (delimiter, '"', "\n", "\r")):
                value = '"' + value.replace('"', '""') + '"'
            if draw(st.integers(0, 30)) == 0:
                value = value.lstrip('"')  # an unbalanced quote now and then
            cells.append(value)
        lines.append(delimiter.join(cells))
    text = ending.join(lines) + (ending if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(_ENCODINGS))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # cut anywhere
    return data, draw(st.sampled_from([".csv", ".txt", ".tsv", ".xlsx"]))


raw_file = st.tuples(st.binary(max_size=4096), st.sampled_from([".csv", ".xlsx", ".xls", ".ods"]))

# -- workbooks -------------------------------------------------------------------------------

_REFS = st.one_of(
    st.sampled_from(["A1", "B2", "Z50", "AA10", "XFD1048576", "XFE1", "A1048577", "a1", "AAAA1",
                     "A99999999999", "A0", "1", "", "XFD1", "A1048576", "C3"]),
    st.builds(lambda c, r: f"{c}{r}", st.text("ABCXYZ", min_size=1, max_size=3),
              st.integers(0, 2_000_000)),
)  # fmt: skip


@st.composite
def odd_cell(draw: Any) -> str:
    ref = draw(_REFS)
    value = draw(st.sampled_from(["<v>1</v>", "<is><t>x</t></is>", "", "<v>_x0000_</v>"]))
    shapes = [
        f'<c r="{ref}" t="inlineStr">{value}</c>',
        f'<c t="inlineStr" r="{ref}">{value}</c>',
        f"<c r='{ref}'>{value}</c>",
        f'<x:c xmlns:x="urn:x" r="{ref}">{value}</x:c>',
        f'<c r="A1" r="{ref}">{value}</c>',
        f'<c s=">" r="{ref}">{value}</c>',
        f"<c>{value}</c>",
        f'<c r="{ref}"/>',
        f'<row r="{ref.lstrip("ABCXYZabcxyz") or 1}">'
        + "<c><v>1</v></c>" * draw(st.integers(0, 5))
        + "</row>",
        f'<c\nr="{ref}">{value}</c>',
    ]
    return str(draw(st.sampled_from(shapes)))


@st.composite
def xlsx_file(draw: Any) -> tuple[bytes, str]:
    cells = [*CONTACTS]
    cells += draw(st.lists(st.tuples(st.sampled_from(["D5", "E9", "AB3", "XFD1048576", "C2"]),
                                     st.sampled_from(_PIECES)), max_size=4))  # fmt: skip
    raw = "".join(draw(st.lists(odd_cell(), max_size=4)))
    shared = None
    if draw(st.booleans()):
        count = draw(st.sampled_from([1, 2, 10**9, 4_000_000_000, -1]))
        strings = "".join(f"<si><t>{p}</t></si>" for p in ("First Name", "Ann"))
        shared = f'<sst xmlns="urn:x" uniqueCount="{count}">{strings}</sst>'
        raw += '<row r="7"><c r="A7" t="s"><v>1</v></c></row>'
    try:
        data = xlsx({"Contacts": sheet_xml(cells, raw=raw)}, shared_strings=shared)
    except ValueError:  # a surrogate the XML writer refuses
        data = xlsx({"Contacts": sheet_xml(CONTACTS, raw=raw)}, shared_strings=shared)
    if draw(st.integers(0, 5)) == 0:
        data = _patched(draw, data)
    return data, draw(st.sampled_from([".xlsx", ".xlsm", ".csv"]))


@st.composite
def ods_file(draw: Any) -> tuple[bytes, str]:
    header = ods_row(ods_cell("First Name"), ods_cell("Last Name"), ods_cell("Phone"))
    rows = [header, ods_row(ods_cell("Ann"), ods_cell("Lee"), ods_cell("415-555-0134"))]
    for _ in range(draw(st.integers(0, 4))):
        repeat = draw(st.sampled_from([None, 2, 1024, 16_384, 70_000]))
        times = draw(st.sampled_from([1, 1000, 16_383]))
        empty = f'<table:table-cell table:number-columns-repeated="{times}"/>'
        cells = [draw(st.sampled_from([ods_cell("x", repeat), empty, ods_cell("\x1b")]))]
        rows.append(ods_row(*cells, repeat=draw(st.sampled_from([None, 3, 2000, 1_048_576]))))
    data = ods("".join(rows))
    if draw(st.integers(0, 5)) == 0:
        data = _patched(draw, data)
    return data, ".ods"


@st.composite
def xls_file(draw: Any) -> tuple[bytes, str]:
    data = bytearray((FIXTURES / "contacts.xls").read_bytes())
    at = data.find(b"\x00\x02\x0e\x00")
    if draw(st.booleans()) and at >= 0:
        rf, rl = draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 2**32 - 1))
        cf, cl = draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF))
        data[at + 4 : at + 16] = struct.pack("<IIHH", rf, rl, cf, cl)
    for _ in range(draw(st.integers(0, 3))):
        spot = draw(st.integers(0, len(data) - 1))
        data[spot] = draw(st.integers(0, 255))
    return bytes(data), ".xls"


def _patched(draw: Any, data: bytes) -> bytes:
    """A few bytes changed, or the file cut short."""
    buffer = bytearray(data)
    if draw(st.booleans()):
        return bytes(buffer[: draw(st.integers(0, len(buffer)))])
    for _ in range(draw(st.integers(1, 4))):
        spot = draw(st.integers(0, len(buffer) - 1))
        buffer[spot] = draw(st.integers(0, 255))
    return bytes(buffer)


inputs = st.one_of(text_file(), raw_file, xlsx_file(), ods_file(), xls_file())
_SUFFIXES = [".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".ods"]

# -- the target ------------------------------------------------------------------------------


class Finding(AssertionError):
    """An input the reader handled wrongly (kept under ``OUT``)."""


def check_table(table: Any) -> None:
    """The Table contract, and nothing a reader should have let through."""
    from csvscore.read.controls import CONTROL_RE

    assert len(table.rows) == len(table.source_rows)
    assert all(isinstance(h, str) for h in table.headers)
    for row in table.rows:
        assert len(row) == len(table.headers), "a row is not as wide as the header"
        assert all(isinstance(cell, str) for cell in row)
        assert not any(CONTROL_RE.search(cell) for cell in row), "a control character was kept"
    assert table.source_rows == sorted(table.source_rows)


def read_one(data: bytes, suffix: str, limits: Any, stats: dict[str, float], work: Path) -> None:
    """Read one input as a file; raise Finding when the reader does anything but its contract."""
    from csvscore.errors import InputError
    from csvscore.read.reader import read_table

    work.mkdir(parents=True, exist_ok=True)
    for old in work.glob("current.*"):
        old.unlink()
    path = work / f"current{suffix}"
    path.write_bytes(data)
    started = time.perf_counter()
    try:
        table = read_table(path, limits=limits)
    except InputError as exc:
        message = str(exc)
        if "\n" in message or str(path) not in message:
            raise Finding(f"an error that is not one line naming the file: {message!r}") from None
    except Exception as exc:
        raise Finding(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}") from None
    else:
        try:
            check_table(table)
        except AssertionError as exc:
            raise Finding(f"a malformed table: {exc}") from None
    finally:
        took = time.perf_counter() - started
        stats["reads"] += 1
        if took > stats["slowest"]:
            stats["slowest"] = took
            shutil.copyfile(path, work / "slowest.bin")
        stats["kinds:" + suffix] = stats.get("kinds:" + suffix, 0) + 1
        peak = int(peak_mib() * 1024)
        if peak - stats["peak"] > stats["jump"]:  # the biggest rise of the peak: keep the input
            stats["jump"] = peak - stats["peak"]
            shutil.copyfile(path, work / "peak.bin")
            stats["peak_size"] = len(data)
            stats["peak_kind"] = _SUFFIXES.index(suffix)
        stats["peak"] = max(stats["peak"], peak)
    if took > stats["max_read_seconds"]:
        raise Finding(f"a read took {took:.1f} s")


def child(seed_value: int, seconds: float, max_read_seconds: float, work: Path) -> int:
    """Generate and read inputs for ``seconds``; exit 0, or 1 with the finding printed."""
    from csvscore.read.limits import ReadLimits

    # Tighter than the defaults (which the test suite checks): the guards are the same code, and
    # an input that is merely big (a million rows of one cell) then costs a second, not five.
    limits = [ReadLimits(max_mb=64, max_cells=2_000_000), ReadLimits(max_mb=1, max_cells=50_000)]
    stats: dict[str, float] = {
        "reads": 0,
        "slowest": 0.0,
        "max_read_seconds": max_read_seconds,
        "peak": int(peak_mib() * 1024),
        "peak_size": 0,
        "jump": 0,
    }
    deadline = time.monotonic() + seconds
    rng = random.Random(seed_value)
    batches = 0

    while time.monotonic() < deadline:
        batch_seed = rng.randrange(2**32)

        @seed(batch_seed)
        @settings(
            max_examples=50,
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(inputs, st.sampled_from(limits))
        def target(case: tuple[bytes, str], limit: Any) -> None:
            if time.monotonic() > deadline + 30:
                return  # stop doing work once the time is up (hypothesis may be shrinking)
            read_one(case[0], case[1], limit, stats, work)

        try:
            target()
        except Exception as exc:  # a Finding, or hypothesis' group of several
            current = _current(work)
            keep = OUT / f"finding-{int(time.time())}-{batch_seed}{current.suffix}"
            shutil.copyfile(current, keep)
            print(f"FINDING (input kept as {keep}): {exc}", flush=True)
            return 1
        batches += 1
    peak = int(peak_mib())
    kinds = ", ".join(f"{k[6:]} {int(v)}" for k, v in sorted(stats.items()) if k[:6] == "kinds:")
    size, kind = int(stats["peak_size"]), _SUFFIXES[int(stats.get("peak_kind", 0))]
    jump = int(stats["jump"]) // 1024
    by = f" (the biggest rise, {jump} MiB, from a {size}-byte {kind} input)" if size else ""
    print(
        f"child: {int(stats['reads'])} reads in {batches} batches ({kinds}); slowest read "
        f"{stats['slowest']:.2f} s; peak RSS {peak} MiB{by}",
        flush=True,
    )
    return 0


def _current(work: Path) -> Path:
    """The input being read when a child stopped (written before each read)."""
    found = sorted(work.glob("current.*"))
    if found:
        return found[0]
    empty = work / "current.bin"
    empty.write_bytes(b"")
    return empty


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fuzz_readers")
    ap.add_argument("--minutes", type=float, default=0.0)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=None, help="fix the run (default: random)")
    ap.add_argument("--max-rss-mb", type=int, default=1500, help="a child over this is a finding")
    ap.add_argument("--max-read-seconds", type=float, default=20.0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    seconds = args.seconds + 60 * args.minutes or 60.0
    if args.child:
        # Past this much address space an allocation fails (calamine then aborts: a crash
        # finding) instead of the machine running out of memory.
        limit = max(args.max_rss_mb, 1024) * 2 << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return child(args.seed or 0, seconds, args.max_read_seconds, args.work)
    work = OUT / f"run-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        return _parent(args, seconds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _parent(args: argparse.Namespace, seconds: float, work: Path) -> int:
    run_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(run_seed)
    print(f"fuzzing the readers for {seconds:.0f} s (seed {run_seed})", flush=True)
    started = time.monotonic()
    findings = 0
    children = 0
    while time.monotonic() - started < seconds:
        left = seconds - (time.monotonic() - started)
        children += 1
        done = subprocess.run(
            [
                sys.executable, "-m", "benchmarks.fuzz_readers", "--child",
                "--seed", str(rng.randrange(1, 2**31)), "--seconds", f"{min(left, 120):.1f}",
                "--max-read-seconds", str(args.max_read_seconds), "--work", str(work),
                "--max-rss-mb", str(args.max_rss_mb),
            ],
            capture_output=True, text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        output = (done.stdout + done.stderr).strip()
        if done.returncode == 0:
            print(output, flush=True)
            peak = int(output.rsplit("peak RSS ", 1)[1].split()[0]) if "peak RSS" in output else 0
            if peak > args.max_rss_mb:
                findings += 1
                print(f"FINDING: a child peaked at {peak} MiB (> {args.max_rss_mb})", flush=True)
            continue
        findings += 1
        if done.returncode < 0:
            current = _current(work)
            keep = OUT / f"crash-{int(time.time())}{current.suffix}"
            shutil.copyfile(current, keep)
            name = signal.Signals(-done.returncode).name
            print(f"CRASH: the child died of {name}; input kept as {keep}\n{output[-3000:]}")
        else:
            print(output[-5000:], flush=True)
    elapsed = time.monotonic() - started
    print(f"done: {elapsed:.0f} s, {children} children, {findings} findings", flush=True)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
