"""Hostile and extreme inputs: bombs, devices, long cells, control characters, report footers.

Every input is read in bounded memory and time or refused with one line before anything is sent.
Workbook bombs are read in a child process: were a check to fail, calamine would abort (exit 134)
the child, not the test run, and the child reports its own peak memory.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import pytest

from benchmarks.handmade import (
    MAIN,
    contacts_xlsx,
    ods_cell,
    ods_contacts,
    ods_row,
    sheet_xml,
    xlsx,
)
from csvscore.errors import ExitCode, InputError
from csvscore.read.limits import ReadLimits
from csvscore.read.reader import read_table
from csvscore.read.sheet_extent import xlsb_reach
from tests.support import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reader"
ROOT = Path(__file__).resolve().parent.parent

_CHILD = textwrap.dedent(
    """
    import resource, sys
    # A regression must not take the machine's memory: past 3 GB an allocation fails (and
    # calamine aborts, which the test reports) instead.
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    from benchmarks.peak import peak_mib
    from csvscore.errors import InputError
    from csvscore.read.limits import ReadLimits
    from csvscore.read.reader import read_table
    limits = ReadLimits(max_mb=int(sys.argv[2]), max_cells=int(sys.argv[3]))
    try:
        table = read_table(sys.argv[1], limits=limits)
        outcome = f"rows {len(table.rows)} columns {len(table.headers)}"
    except InputError as exc:
        outcome = f"refused {exc}"
    peak = int(peak_mib())  # VmHWM: ru_maxrss would report pytest's own size
    print(f"{outcome}\\npeak {peak}")
    """
)


def read_in_child(path: Path, limits: ReadLimits | None = None) -> tuple[str, int]:
    """(what happened: "rows N columns M" or "refused <message>", peak RSS in MiB)."""
    limits = limits or ReadLimits()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(limits.max_mb), str(limits.max_cells)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, f"the reader crashed ({done.returncode}): {done.stderr[-2000:]}"
    assert done.stderr == ""
    outcome, peak = done.stdout.rstrip("\n").rsplit("\n", 1)
    return outcome, int(peak.split()[1])


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- workbook bombs --------------------------------------------------------------------------


def test_a_cell_at_xfd1048576_is_refused_before_calamine_builds_the_sheet(tmp_path: Path) -> None:
    # 17 billion cells: calamine aborted the whole process (exit 134) before this check.
    path = write(tmp_path, "far.xlsx", contacts_xlsx(("XFD1048576", "x")))
    assert path.stat().st_size < 5000
    outcome, peak = read_in_child(path)
    assert outcome.startswith("refused ")
    assert "sheet 'Contacts' spans 1,048,576 rows x 16,384 columns" in outcome
    assert "--max-cells" in outcome
    assert peak < 200


def test_the_cell_limit_is_the_block_from_a1_to_the_last_cell_and_can_be_raised(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "wide.xlsx", contacts_xlsx(("Z400", "x")))  # 400 x 26 = 10,400
    with pytest.raises(InputError, match=r"400 rows x 26 columns \(10,400 cells\)"):
        read_table(path, limits=ReadLimits(max_cells=10_000))
    table = read_table(path, limits=ReadLimits(max_cells=10_400))
    assert len(table.headers) == 26


@pytest.mark.parametrize(
    ("shape", "raw"),
    [
        ("a namespace prefix", '<x:c xmlns:x="urn:x" r="XFD1048576"><x:v>1</x:v></x:c>'),
        ("r not first", '<c t="inlineStr" r="XFD1048576"><is><t>x</t></is></c>'),
        ("a second r", '<c r="D3" r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'),
        ("single quotes", "<c r='XFD1048576' t='inlineStr'><is><t>x</t></is></c>"),
        ("lower case", '<c r="xfd1048576" t="inlineStr"><is><t>x</t></is></c>'),
        ("a quoted > first", '<c s=">" r="XFD1048576"><v>1</v></c>'),
        ("a second r, no space", '<c r="D3"r="XFD1048576"><v>1</v></c>'),
        ("spaces around =", '<c r="D3" r = "XFD1048576"><v>1</v></c>'),
        ("a form feed", '<c r="D3"\fr="XFD1048576"><v>1</v></c>'),
        ("cells without r", '<row r="1048576">' + "<c><v>1</v></c>" * 20 + "</row>"),
    ],
)
def test_far_cells_written_in_unusual_ways_are_found_too(
    tmp_path: Path, shape: str, raw: str
) -> None:
    path = write(tmp_path, "odd.xlsx", contacts_xlsx(raw=raw))
    outcome, _ = read_in_child(path)
    assert outcome.startswith("refused "), shape
    assert "1,048,576 rows" in outcome


def test_an_odd_but_small_sheet_is_still_read(tmp_path: Path) -> None:
    # Cells without r, a prefixed cell and a styled empty cell far out: all within the limit.
    raw = '<row r="3"><c><v>1</v></c><c t="inlineStr"><is><t>x</t></is></c></row>'
    raw += '<c r="Z50" s="1"/>'
    table = read_table(write(tmp_path, "odd.xlsx", contacts_xlsx(raw=raw)))
    assert table.rows[0][:3] == ["Ann", "Lee", "415-555-0134"]


def test_a_cell_outside_excels_grid_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "offgrid.xlsx", contacts_xlsx(("XFE1", "x")))
    outcome, _ = read_in_child(path)
    assert "has cells out to column XFE, outside Excel's grid" in outcome


def test_shared_strings_declaring_four_billion_strings_are_refused(tmp_path: Path) -> None:
    # calamine reserves room for the declared count up front: it aborted on this 2 KB file.
    strings = (
        f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="2" uniqueCount="4000000000">'
        "<si><t>First Name</t></si><si><t>Ann</t></si></sst>"
    )
    sheet = sheet_xml([]).replace(
        "<sheetData>",
        '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>1</v></c></row>',
    )
    path = write(tmp_path, "sst.xlsx", xlsx({"Contacts": sheet}, shared_strings=strings))
    outcome, _ = read_in_child(path)
    assert "shared strings declare 4,000,000,000 strings" in outcome


def test_a_part_larger_than_the_limit_is_refused_by_its_declared_size(tmp_path: Path) -> None:
    # A shared string of 24 MiB in a file of a few KB: refused before it is decompressed.
    path = tmp_path / "bigstring.xlsx"
    path.write_bytes(contacts_xlsx())
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/sharedStrings.xml", "w") as part,
    ):
        part.write(b'<sst uniqueCount="1"><si><t>')
        for _ in range(24):
            part.write(b"x" * (1 << 20))
        part.write(b"</t></si></sst>")
    assert path.stat().st_size < 100_000
    outcome, peak = read_in_child(path, ReadLimits(max_mb=16))
    assert "the part xl/sharedStrings.xml is 24 MiB, more than csvscore reads (16 MiB)" in outcome
    assert "--max-mb" in outcome
    assert peak < 200


def test_a_huge_mimetype_part_is_sniffed_from_its_first_bytes(tmp_path: Path) -> None:
    # The sniffer read the whole "mimetype" part (2 GiB in the probe); it reads 200 bytes now.
    path = tmp_path / "mime.ods"
    path.write_bytes(ods_contacts())
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist() if name != "mimetype"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("mimetype", "w") as part:
            part.write(b"application/vnd.oasis.opendocument.spreadsheet")
            for _ in range(96):
                part.write(b" " * (1 << 20))
        for name, data in parts.items():
            archive.writestr(name, data)
    outcome, peak = read_in_child(path)
    assert outcome == "rows 1 columns 3"
    assert peak < 160  # the 96 MiB part was never read whole


def test_an_archive_of_too_many_parts_is_refused_from_its_end_record(tmp_path: Path) -> None:
    path = tmp_path / "parts.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(10_001):
            archive.writestr(f"p{i}", b"")
    with pytest.raises(InputError, match="declares 10,001 parts"):
        read_table(path)


def test_ods_repeats_that_build_32_million_cells_are_refused(tmp_path: Path) -> None:
    # 1 KB; calamine took 4.4 GB and 19 s to build it.
    repeated = ods_row(ods_cell("x", repeat=16_384), repeat=2000)
    path = write(tmp_path, "repeats.ods", ods_contacts(repeated))
    outcome, peak = read_in_child(path)
    assert "spans 2,002 rows x 16,384 columns" in outcome
    assert peak < 200


def test_ods_trailing_empty_repeats_as_libreoffice_writes_them_are_read(tmp_path: Path) -> None:
    trailing = ods_row('<table:table-cell table:number-columns-repeated="1021"/>', repeat=1048573)
    padded = ods_row(
        ods_cell("Bob"), ods_cell("Ray"), ods_cell("415-555-0135"),
        '<table:table-cell table:number-columns-repeated="1021"/>',
    )  # fmt: skip
    table = read_table(write(tmp_path, "lo.ods", ods_contacts(padded, trailing)))
    assert [row[0] for row in table.rows] == ["Ann", "Bob"]
    assert len(table.headers) == 3


def test_an_xls_whose_dimensions_record_declares_four_billion_rows_is_refused(
    tmp_path: Path,
) -> None:
    # A 20-byte edit of an ordinary .xls: calamine reserved rows x columns and aborted.
    data = bytearray((FIXTURES / "contacts.xls").read_bytes())
    at = data.find(b"\x00\x02\x0e\x00")  # DIMENSIONS, 14 bytes
    data[at + 8 : at + 12] = struct.pack("<I", 0xFFFFFFF0)
    path = write(tmp_path, "dims.xls", bytes(data))
    outcome, peak = read_in_child(path)
    assert "as its DIMENSIONS record declares" in outcome
    assert "4,294,967,280 rows" in outcome
    assert peak < 200


def test_xlsb_records_give_the_reach_calamine_will_build() -> None:
    def record(kind: int, payload: bytes) -> bytes:
        return bytes([kind, len(payload)]) + payload

    row = record(0, struct.pack("<I", 41) + b"\0" * 4)
    cell = record(2, struct.pack("<I", 16_383) + b"\0" * 8)  # a number cell at column XFD
    blank = record(1, struct.pack("<I", 900_000) + b"\0" * 4)  # blank cells are not kept
    reach = xlsb_reach([row + cell + blank])
    assert (reach.rows, reach.columns) == (42, 16_384)


# -- files that are not files ----------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX thing")
def test_a_named_pipe_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "contacts.csv"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    with pytest.raises(InputError, match=r"is a pipe \(FIFO\), not a file"):
        read_table(fifo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_device_is_refused_not_read_as_empty(environ: dict[str, str]) -> None:
    run = run_cli(["map", "/dev/zero"], environ)
    assert run.code == ExitCode.BAD_INPUT
    assert run.err.strip() == (
        "Error: /dev/zero: is a device, not a file; csvscore reads CSV/TSV text, Excel "
        "(.xlsx, .xlsm, .xlsb, .xls) and .ods files"
    )


# -- big text files --------------------------------------------------------------------------


def test_a_text_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"First Name,Last Name,Phone\n" + b"Ann,Lee,415-555-0134\n" * 60_000)
    over = r"the file is 1.2 MiB, more than csvscore reads \(1 MiB\)"
    with pytest.raises(InputError, match=over):
        read_table(path, limits=ReadLimits(max_mb=1))


def test_a_text_file_over_the_cell_limit_is_refused_while_reading(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_bytes(b"First Name,Last Name,Phone\n" + b"Ann,Lee,415-555-0134\n" * 200_000)
    with pytest.raises(InputError, match=r"more than csvscore reads \(300,000 cells\)"):
        read_table(path, limits=ReadLimits(max_cells=300_000))
    assert len(read_table(path, limits=ReadLimits(max_cells=600_003)).rows) == 200_000


def test_a_cell_longer_than_128_kib_is_read(tmp_path: Path) -> None:
    note = "x" * (300 * 1024)  # csv's own limit is 128 KiB: this was "unbalanced quote"
    path = tmp_path / "long.csv"
    path.write_text(f'First Name,Last Name,Notes\nAnn,Lee,"{note}"\nBob,Ray,short\n')
    table = read_table(path)
    assert table.rows[0][2] == note
    assert table.source_rows == [2, 3]


def test_a_quoted_note_of_800_lines_is_read(tmp_path: Path) -> None:
    note = "\n".join(f"call {i}: left a message, will try again" for i in range(800))
    rows = "".join(f"P{i},L{i},415-555-01{i % 100:02d},ok\n" for i in range(60))
    path = tmp_path / "notes.csv"
    path.write_text(
        f'First Name,Last Name,Phone,Notes\n{rows}Ann,Lee,415-555-0134,"{note}"\nBob,Ray,1,x\n'
    )
    table = read_table(path)
    assert table.rows[-2][3] == note
    assert table.source_rows[-2:] == [62, 862]


# -- control characters ----------------------------------------------------------------------


def test_nul_and_escape_in_a_workbook_cell_are_removed_and_noted(tmp_path: Path) -> None:
    # XLSX escapes control characters as _xHHHH_; calamine turns them back into them.
    path = write(tmp_path, "ctrl.xlsx", contacts_xlsx(("B3", "R_x0000_ay_x001B_[31m")))
    table = read_table(path)
    assert table.rows[1][1] == "Ray[31m"
    note = next(n for n in table.notes if n.startswith("Removed"))
    assert note.startswith("Removed 2 control characters (1 NUL, 1 ESC) from row 3")


def test_control_characters_in_a_utf16_file_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "u16.txt"
    path.write_bytes("First Name\tLast Name\r\nAnn\tL\x00ee\x07\r\n".encode("utf-16"))
    table = read_table(path)
    assert table.rows == [["Ann", "Lee"]]
    assert any("1 NUL, 1 BEL" in note for note in table.notes)


# -- report footers and Mac Roman (ops review, findings 19 and 20) ---------------------------


@pytest.mark.parametrize("name", ["salesforce_report_footer.csv", "salesforce_report_footer.xlsx"])
def test_a_salesforce_report_footer_is_not_read_as_contacts(
    name: str, environ: dict[str, str]
) -> None:
    table = read_table(FIXTURES / name)
    assert [row[2] for row in table.rows] == ["Ann", "Bob", "Cy", "Di", "Ed", "Flo"]
    assert table.problems == []
    what = "lines" if name.endswith(".csv") else "rows"
    note = next(n for n in table.notes if n.startswith("Skipped 3 report footer"))
    assert f"at the end ({what} " in note and "'Grand Totals (6 records)'" in note
    run = run_cli(["map", FIXTURES / name], environ)
    assert run.code == 0
    assert "Warning" not in run.err  # it printed three "has 1 cells, header has 17"


def test_a_contact_named_total_is_not_a_footer(tmp_path: Path) -> None:
    path = tmp_path / "total.csv"
    path.write_text("First Name,Last Name,Phone\nAnn,Lee,415-555-0134\nTotal,Smith,415-555-0135\n")
    assert [row[0] for row in read_table(path).rows] == ["Ann", "Total"]


def test_an_excel_for_mac_csv_is_read_as_mac_roman_and_said(environ: dict[str, str]) -> None:
    table = read_table(FIXTURES / "mac_roman.csv")
    assert table.encoding == "mac_roman"
    assert table.rows[0][:2] == ["José", "Müller"]  # was "JosŽ", "MŸller"
    assert table.rows[0][4] == "Café Señor"
    assert table.notes[0] == "Read as CSV: encoding Mac Roman, delimiter ',', line ends CR"
    assert any("Excel for Mac" in note and "--encoding cp1252" in note for note in table.notes)


def test_windows_1252_with_the_same_names_stays_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "win.csv"
    text = "First Name,Last Name,Company\r\nJosé,Müller,Café Señor\r\nZoë,Núñez,“VIP” – €5\r\n"
    path.write_bytes(text.encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.rows[1] == ["Zoë", "Núñez", "“VIP” – €5"]


def test_mac_roman_found_after_the_sample_is_told_from_windows_1252(tmp_path: Path) -> None:
    lines = ["First Name,Last Name,Company"] + [f"Ann{i},Lee,Acme" for i in range(4000)]
    lines.append("José,Müller,Café Señor")
    path = tmp_path / "late.csv"
    path.write_bytes("\r".join(lines).encode("mac_roman") + b"\r")
    table = read_table(path)
    assert table.rows[-1] == ["José", "Müller", "Café Señor"]
    assert any("read it all as Mac Roman" in note for note in table.notes)


def test_handmade_workbooks_are_what_they_claim(tmp_path: Path) -> None:
    # The builders the bombs use make files calamine reads as ordinary ones.
    table = read_table(write(tmp_path, "plain.xlsx", contacts_xlsx()))
    assert table.rows == [["Ann", "Lee", "415-555-0134"]]
    with zipfile.ZipFile(io.BytesIO(ods_contacts())) as archive:
        assert archive.read("mimetype").startswith(b"application/vnd.oasis")


# -- the limits as options -------------------------------------------------------------------


def test_the_limits_are_options_of_the_command_and_of_the_library(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    import csvscore

    path = tmp_path / "c.csv"
    path.write_text("First Name,Last Name,Phone\nAnn,Lee,415-555-0134\nBob,Ray,415-555-0135\n")
    refused = run_cli(["map", path, "--max-cells", "5"], environ)
    assert refused.code == ExitCode.BAD_INPUT
    assert refused.err.count("\n") == 1 and "raise the limit with --max-cells" in refused.err
    assert run_cli(["map", path, "--max-cells", "9", "--max-mb", "1"], environ).code == 0
    assert "must be 1 or more" in run_cli(["map", path, "--max-mb", "0"], environ).err
    with pytest.raises(InputError, match="more than csvscore reads"):
        csvscore.map_file(path, csvscore.ReadOptions(limits=csvscore.ReadLimits(max_cells=5)))


def test_control_characters_in_a_dataframe_are_removed_too() -> None:
    pd = pytest.importorskip("pandas")
    from csvscore.frames import table_from_frame

    frame = pd.DataFrame({"First Name": ["A\x00nn"], "Last Name": ["Lee\x1b"]})
    table = table_from_frame(frame)
    assert table.rows == [["Ann", "Lee"]]
    assert any(note.startswith("Removed 2 control characters") for note in table.notes)


# -- wider than Excel ------------------------------------------------------------------------


def test_an_export_wider_than_excel_is_scored_and_every_column_kept(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    # 16,400 columns: the contacts were sent and charged, then the write crashed ("Invalid
    # column index 18279" at 100,000 columns) and every rerun crashed the same way.
    import csv

    from openpyxl import load_workbook

    width = 16_400
    src = tmp_path / "wide.csv"
    with src.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["First Name", "Last Name", "Phone"] + [f"X{i}" for i in range(width - 3)])
        for i in range(2):
            out.writerow([f"Ann{i}", "Lee", f"415-555-013{i}"] + [f"v{i}"] * (width - 3))
    result = tmp_path / "wide.scored.xlsx"
    run = run_cli(["score", src, "--sandbox", "--yes", "-o", result], environ)
    assert run.code == ExitCode.OK, run.err
    said = (
        "Note: The file has 16,400 columns and an Excel sheet holds 16,384: Results shows "
        "columns 1-16,378 and the TitanX columns; every column is in "
        "wide.scored.all-columns.csv beside it."
    )
    assert said in run.err  # said before sending, with the other notes of the plan
    assert f"Result: {tmp_path / 'wide.scored.all-columns.csv'}" in run.out
    book = load_workbook(result, read_only=True)
    header = next(book["Results"].iter_rows(max_row=1, values_only=True))
    assert len(header) == 16_384
    # The TitanX columns first, as always, then as many of the export's columns as fit.
    assert header[1] == "TitanX Status" and header[6] == "First Name"
    assert header[16_383] == "X16374"
    notes = [row[1] for row in book["Summary"].iter_rows(values_only=True) if row[0] == "Note"]
    assert said[len("Note: ") :] in notes
    book.close()
    with (tmp_path / "wide.scored.all-columns.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert len(rows[0]) == width + 6 and rows[1][6 + width - 1] == "v0"
    assert rows[1][1] == "accepted"


def test_a_finished_run_of_a_too_wide_table_writes_too(tmp_path: Path) -> None:
    # A rerun writes from the journal's finished result, not from live rows: the other path.
    from openpyxl import load_workbook

    from csvscore.mapping.model import Mapping
    from csvscore.output.workbook import write_result
    from csvscore.read.table import Table
    from csvscore.results import ACCEPTED, RowResult, RunResult, RunSummary

    headers = [f"C{i}" for i in range(16_390)]
    table = Table(tmp_path / "w.csv", "csv", headers, [["v"] * 16_390], [2], 1)
    summary = RunSummary(str(table.path), "f" * 64, None, 1, "lightning", "t0", "t1", "0")
    done = RunResult([RowResult(0, 2, ACCEPTED)], [], summary)
    outputs = write_result(tmp_path / "w.scored.xlsx", table, Mapping(columns=[]), done)
    assert [p.name for p in outputs] == ["w.scored.xlsx", "w.scored.all-columns.csv"]
    book = load_workbook(outputs[0], read_only=True)
    assert len(next(book["Results"].iter_rows(max_row=1, values_only=True))) == 16_384
    book.close()


def test_a_sheet_part_whose_local_name_differs_from_the_directory_is_a_damaged_file(
    tmp_path: Path,
) -> None:
    # Found by the fuzzer: the sheet's measuring raised BadZipFile past the error handling.
    data = bytearray(contacts_xlsx())
    local = data.index(b"PK\x03\x04", data.index(b"xl/_rels/workbook.xml.rels"))
    at = data.index(b"xl/worksheets/sheet1.xml", local)
    data[at : at + 2] = b"XX"
    path = write(tmp_path, "damaged.xlsx", bytes(data))
    with pytest.raises(InputError, match="cannot be read as an Excel workbook"):
        read_table(path)


def test_an_xls_read_the_way_calamine_reads_it_despite_an_odd_header(tmp_path: Path) -> None:
    # Found by the fuzzer: a header saying small streams go up to 4 MB (calamine keeps 4096)
    # sent the check to the wrong stream, and the patched DIMENSIONS record aborted calamine.
    data = bytearray((FIXTURES / "contacts.xls").read_bytes())
    data[0x3A] = 0x40  # the mini stream cutoff: 4096 -> 4,198,400
    at = data.find(b"\x00\x02\x0e\x00")
    data[at + 8 : at + 12] = struct.pack("<I", 0x07EB00B8)
    outcome, _ = read_in_child(write(tmp_path, "cutoff.xls", bytes(data)))
    assert "as its DIMENSIONS record declares" in outcome


def test_an_xls_whose_directory_chain_loops_is_refused_as_damaged(tmp_path: Path) -> None:
    # calamine follows the chain to its end marker: one that loops grows its memory forever.
    data = bytearray((FIXTURES / "contacts.xls").read_bytes())
    first_dir = struct.unpack_from("<I", data, 0x30)[0]
    fat_sector = struct.unpack_from("<I", data, 0x4C)[0]
    data[(fat_sector + 1) * 512 + 4 * first_dir : (fat_sector + 1) * 512 + 4 * first_dir + 4] = (
        struct.pack("<I", first_dir)
    )
    outcome, peak = read_in_child(write(tmp_path, "loop.xls", bytes(data)))
    assert "is a damaged Excel 97-2003 file (a sector chain leaves its table or loops)" in outcome
    assert peak < 200


def test_a_file_that_makes_calamine_panic_gives_one_line_not_a_rust_backtrace(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    # Found by the fuzzer: a sheet position past the end of the stream makes calamine panic.
    # pyo3 turns the panic into an exception, but Rust prints it (and, with RUST_BACKTRACE set,
    # a 40-line backtrace) to the terminal first.
    data = bytearray((FIXTURES / "contacts.xls").read_bytes())
    at = data.find(b"\x85\x00\x10\x00")  # BOUNDSHEET, 16 bytes: the sheet's stream position
    data[at + 4 : at + 8] = struct.pack("<I", 10_749_093)
    path = write(tmp_path, "panic.xls", bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "csvscore", "map", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **environ, "RUST_BACKTRACE": "1"},
        timeout=120,
    )
    assert done.returncode == ExitCode.BAD_INPUT
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"Error: {path}: is an Office file but not a readable Excel")


def test_unpacking_ahead_on_a_helper_thread_hands_over_errors_and_stops_when_left() -> None:
    from csvscore.read.zipparts import prefetched

    def parts() -> Any:
        yield b"a"
        yield b"b"
        yield b"c"
        raise zipfile.BadZipFile("Bad CRC-32")

    early = prefetched(parts(), depth=1)
    assert next(early) == b"a"
    early.close()  # returns: the helper stopped instead of waiting to hand over the rest
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        list(prefetched(parts()))


def test_an_xls_sheet_is_checked_where_calamine_reads_it_not_where_a_walk_gets_to(
    tmp_path: Path,
) -> None:
    # Found by the fuzzer: a damaged record length in the workbook globals derailed a walk from
    # the start, while calamine reads each sheet from its BOUNDSHEET position and aborted on its
    # DIMENSIONS record.
    data = bytearray((FIXTURES / "contacts.xls").read_bytes())
    data[1699] = 0x5A
    at = data.find(b"\x00\x02\x0e\x00")
    data[at + 4 : at + 16] = struct.pack("<IIHH", 0xFFFFFFFF, 0x009D459F, 0x0900, 0x6EAE)
    outcome, _ = read_in_child(write(tmp_path, "derailed.xls", bytes(data)))
    assert "as its DIMENSIONS record declares" in outcome


def test_ods_empty_rows_before_a_last_filled_row_are_counted_as_calamine_builds_them(
    tmp_path: Path,
) -> None:
    # Found by the fuzzer: a million repeated empty rows, then one filled row past the row
    # cap. calamine builds every empty row before it (a peak of 1.1 GB in the fuzzer).
    empty = ods_row('<table:table-cell table:number-columns-repeated="1000"/>', repeat=1048576)
    path = write(tmp_path, "gap.ods", ods_contacts(empty, ods_row(ods_cell("x"))))
    with pytest.raises(InputError, match=r"spans 1,048,577 rows x 3 columns"):
        read_table(path, limits=ReadLimits(max_cells=2_000_000))


def test_styled_empty_cells_far_out_do_not_make_a_sheet_too_big(tmp_path: Path) -> None:
    # calamine leaves empty cells out of the sheet's block: a template formatted down to row
    # 1,048,576 is read, not refused.
    raw = '<row r="1048576"><c r="Z1048576" s="3"/></row>'
    table = read_table(write(tmp_path, "styled.xlsx", contacts_xlsx(raw=raw)))
    assert table.rows == [["Ann", "Lee", "415-555-0134"]]


def test_an_xls_stream_is_found_by_name_as_calamine_finds_it(tmp_path: Path) -> None:
    # Found by the fuzzer: a damaged name-length field hid the "Workbook" stream from the
    # check, not from calamine (which cuts names at their first NUL), and it aborted.
    data = bytearray((FIXTURES / "contacts.xls").read_bytes())
    entry = data.find("Workbook".encode("utf-16-le"))
    data[entry + 64] = 0xB8  # the name's length: 18 -> 184
    at = data.find(b"\x00\x02\x0e\x00")
    data[at + 4 : at + 16] = struct.pack("<IIHH", 0x119, 0x000C3C34, 0x04F6, 0x0207)
    outcome, _ = read_in_child(write(tmp_path, "named.xls", bytes(data)))
    assert "as its DIMENSIONS record declares" in outcome
