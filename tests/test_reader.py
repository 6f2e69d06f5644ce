"""Reading contact exports: encodings, delimiters, line ends, headers, workbooks, errors.

Static edge cases live in fixtures/reader/ (made by fixtures/reader/make_fixtures.py);
cases that need size or a twist are written to tmp_path here.
"""

from __future__ import annotations

import datetime as dt
import gc
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pytest

from csvscore.errors import ExitCode, InputError
from csvscore.read import sheets, sniff, textfile
from csvscore.read.reader import read_table
from csvscore.read.table import Table

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reader"
HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Title"]
PEOPLE = [
    ["Ann", "Lee", "ann.lee@example.com", "415-555-0134", "Acme, Inc", "VP Sales"],
    ["José", "Núñez", "jose@example.org", "+1 415 555 0101", "Café Ltd", "CTO"],
    ["Zoë", "Smith", "zoe@example.com", "(212) 555-0199", "Globex", "Buyer"],
]


def read(name: str, **options: object) -> Table:
    table = read_table(FIXTURES / name, **options)  # type: ignore[arg-type]
    assert_well_formed(table)
    return table


def assert_well_formed(table: Table) -> None:
    """The Table contract: text cells, every row as wide as the header, one line per row."""
    assert len(table.rows) == len(table.source_rows)
    assert all(isinstance(h, str) for h in table.headers)
    for row in table.rows:
        assert len(row) == len(table.headers)
        assert all(isinstance(cell, str) for cell in row)
    assert table.source_rows == sorted(table.source_rows)
    assert all(line > table.header_row for line in table.source_rows)


def read_error(path: Path, **options: object) -> str:
    with pytest.raises(InputError) as caught:
        read_table(path, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message  # one line, shown as "Error: ..." by the CLI
    assert str(path) in message  # names the file
    assert caught.value.exit_code == ExitCode.BAD_INPUT
    return message


# --- encodings ------------------------------------------------------------------------


def test_utf8_is_detected() -> None:
    table = read("utf8.csv")
    assert table.encoding == "utf-8"
    assert table.headers == HEADER
    assert table.rows == PEOPLE
    assert table.source_rows == [2, 3, 4]
    assert table.notes[0] == "Read as CSV: encoding UTF-8, delimiter ',', line ends LF"


def test_utf8_bom_is_detected_and_not_left_in_the_first_header() -> None:
    table = read("utf8_bom.csv")
    assert table.encoding == "utf-8-sig"
    assert table.headers[0] == "First Name"
    assert table.rows == PEOPLE
    assert "encoding UTF-8 with BOM" in table.notes[0]


def test_excel_european_csv_is_windows_1252_with_semicolons() -> None:
    table = read("cp1252_semicolon.csv")
    assert (table.encoding, table.delimiter, table.line_ending) == ("cp1252", ";", "\r\n")
    assert table.notes[0] == "Read as CSV: encoding Windows-1252, delimiter ';', line ends CRLF"
    assert table.rows[1][:2] == ["José", "Núñez"]
    assert table.rows[0][4] == "Acme, Inc"  # a comma inside a ';' file is data
    assert table.rows[0][6] == "“VIP” – budget 5 000 €"  # cp1252 smart quotes, dash, euro


def test_bytes_undefined_in_cp1252_fall_back_to_latin1_and_their_controls_are_removed() -> None:
    table = read("latin1_c1.csv")
    assert table.encoding == "cp1252"
    assert table.rows[0][:2] == ["Renée", "Faÿ"]
    # 0x81 decodes (as Latin-1 does) to the C1 control U+0081: not data, so it is taken out.
    assert table.rows[0][4] == "Acme"
    assert "Removed 1 control character (1 U+0081) from line 2" in " ".join(table.notes)


def test_excel_unicode_text_export_is_utf16_le_tab_separated() -> None:
    table = read("utf16le_tab.txt")
    assert (table.encoding, table.delimiter, table.line_ending) == ("utf-16", "\t", "\r\n")
    assert table.notes[0] == "Read as CSV: encoding UTF-16 LE, delimiter tab, line ends CRLF"
    assert table.headers == HEADER
    assert table.rows == PEOPLE


def test_utf16_be_with_bom() -> None:
    table = read("utf16be_tab.txt")
    assert table.encoding == "utf-16"
    assert "UTF-16 BE" in table.notes[0]
    assert table.rows == PEOPLE


def test_utf16_without_bom_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "nobom.txt"
    path.write_bytes("First Name\tEmail\r\nAnn\tann@example.com\r\n".encode("utf-16-le"))
    table = read_table(path)
    assert table.encoding == "utf-16-le"
    assert table.rows == [["Ann", "ann@example.com"]]


def test_a_stray_nul_in_a_text_export_is_removed_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    rows = "".join(f"Ann{i},Lee,ann{i}@example.com\n" for i in range(20))
    path.write_bytes(
        b"First Name,Last Name,Email\n" + rows.encode() + b"Bob,R\x00ay,b@example.com\n"
    )
    table = read_table(path)
    assert table.rows[-1] == ["Bob", "Ray", "b@example.com"]
    assert "Removed 1 control character (1 NUL) from line 22" in " ".join(table.notes)


def test_non_utf8_byte_after_the_sample_rereads_the_file_as_cp1252(tmp_path: Path) -> None:
    lines = ["First Name,Last Name,Email"]
    lines += [f"Ann{i},Lee,ann{i}@example.com" for i in range(4000)]  # > 64 KB of ASCII
    lines.append("René,Faÿ,rene@example.com")
    path = tmp_path / "late.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    assert path.stat().st_size > sniff.SAMPLE_BYTES
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.rows[-1] == ["René", "Faÿ", "rene@example.com"]
    assert table.source_rows[-1] == 4002
    assert any("line 4002 is not" in note for note in table.notes)


def test_encoding_argument_forces_the_encoding() -> None:
    table = read("cp1252_semicolon.csv", encoding="latin-1")
    assert table.encoding == "iso8859-1"
    # Latin-1 makes cp1252's smart quotes, dash and euro into C1 controls: taken out, and said.
    assert table.rows[0][6] == "VIP  budget 5 000 "
    assert "iso8859-1 (as asked)" in table.notes[0]
    assert "control characters (" in " ".join(table.notes)


def test_forced_encoding_that_does_not_fit_names_the_line() -> None:
    message = read_error(FIXTURES / "cp1252_semicolon.csv", encoding="utf-8")
    assert "bytes that are not valid utf-8" in message
    assert "line " in message


def test_unknown_encoding_name_is_an_input_error() -> None:
    assert "unknown encoding 'klingon'" in read_error(FIXTURES / "utf8.csv", encoding="klingon")


def test_detection_is_deterministic() -> None:
    first, second = read("cp1252_semicolon.csv"), read("cp1252_semicolon.csv")
    assert (first.encoding, first.delimiter, first.notes) == (
        second.encoding,
        second.delimiter,
        second.notes,
    )


# --- delimiters, quoting, line ends ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "delimiter", "shown"),
    [
        ("utf8.csv", ",", "','"),
        ("cp1252_semicolon.csv", ";", "';'"),
        ("tab.tsv", "\t", "tab"),
        ("pipe.csv", "|", "'|'"),
    ],
)
def test_each_delimiter_is_detected(name: str, delimiter: str, shown: str) -> None:
    table = read(name)
    assert table.delimiter == delimiter
    assert f"delimiter {shown}" in table.notes[0]
    assert table.headers[:6] == HEADER
    assert [row[:6] for row in table.rows] == PEOPLE


def test_delimiter_argument_forces_it_and_accepts_tab_by_name() -> None:
    assert read("tab.tsv", delimiter="tab").rows == PEOPLE
    table = read("utf8.csv", delimiter=";")
    assert table.delimiter == ";"
    assert table.headers == [",".join(HEADER)]


def test_delimiter_argument_must_be_one_character() -> None:
    assert "one character" in read_error(FIXTURES / "utf8.csv", delimiter=",,")


def test_sniffing_counts_delimiters_outside_quotes_only() -> None:
    sample = 'a;b;c\n"x,y,z,w";2;3\n"p,q,r,s";5;6\n'
    assert sniff.sniff_delimiter(sample) == (";", 3)


@pytest.mark.parametrize(
    ("name", "ending", "shown"),
    [("crlf.csv", "\r\n", "CRLF"), ("utf8.csv", "\n", "LF"), ("cr_only.csv", "\r", "CR")],
)
def test_each_line_ending_is_detected_and_lines_are_numbered(
    name: str, ending: str, shown: str
) -> None:
    table = read(name)
    assert table.line_ending == ending
    assert table.notes[0].endswith(f"line ends {shown}")
    assert table.rows == PEOPLE
    assert table.source_rows == [2, 3, 4]


def test_quoted_fields_keep_newlines_delimiters_and_quotes_and_rows_keep_their_line() -> None:
    table = read("quoted_newlines.csv")
    assert table.rows[0][4] == "Met at the fair,\nasked for a demo"
    assert table.rows[1][1] == 'O"Brien'
    assert table.rows[1][4] == "Line one\r\nline two\r\nline three"
    assert table.rows[2][0] == "Cy"
    # Each record's line is where it starts: Bob's note spans lines 4-6.
    assert table.source_rows == [2, 4, 7]
    assert table.problems == []


def test_apostrophe_phones_are_kept_verbatim() -> None:
    table = read("apollo.csv")
    assert table.rows[0][3:] == ["'+1 415 555 0134", "'+1 415-555-0100"]


# --- header row -----------------------------------------------------------------------


def test_linkedin_notes_preamble_is_skipped() -> None:
    table = read("linkedin_connections.csv")
    assert table.header_row == 4
    assert table.headers == [
        "First Name",
        "Last Name",
        "URL",
        "Email Address",
        "Company",
        "Position",
        "Connected On",
    ]
    assert [row[0] for row in table.rows] == ["Ann", "Bob"]
    assert table.source_rows == [5, 6]
    assert "Header found on line 4; the 3 lines above it were skipped." in table.notes


def test_report_title_lines_above_the_header_are_skipped() -> None:
    table = read("title_rows.csv")
    assert table.header_row == 4
    assert table.headers == HEADER
    assert table.rows == PEOPLE


def test_header_on_line_one_has_no_header_note() -> None:
    assert not any("Header found" in note for note in read("utf8.csv").notes)


def test_header_row_argument_forces_the_header() -> None:
    table = read("title_rows.csv", header_row=5)  # the first data line, as asked
    assert table.header_row == 5
    assert table.headers == PEOPLE[0]
    assert table.rows == PEOPLE[1:]


def test_header_row_argument_on_a_blank_line_is_an_error() -> None:
    assert "line 3 (the header row asked for) is blank" in read_error(
        FIXTURES / "title_rows.csv", header_row=3
    )


def test_header_row_argument_past_the_end_is_an_error() -> None:
    assert "header row 40 is past the end" in read_error(FIXTURES / "utf8.csv", header_row=40)


def test_header_row_argument_inside_a_quoted_field_is_an_error() -> None:
    message = read_error(FIXTURES / "quoted_newlines.csv", header_row=5)
    assert "line 5 (the header row asked for) is inside a quoted field" in message


def test_header_row_must_be_positive() -> None:
    assert "header row must be 1 or more" in read_error(FIXTURES / "utf8.csv", header_row=0)


def test_find_header_passes_over_titles_and_sparse_lines() -> None:
    rows = [
        ["Contacts Report"],
        ["Exported by", "Pat", "2024-01-01"],
        ["First Name", "Last Name", "Email", "Phone", "Company", "Title"],
        ["Ann", "Lee", "ann@example.com", "415-555-0134", "Acme", "CEO"],
    ]
    assert sniff.find_header(rows) == 2


def test_find_header_does_not_take_a_data_row_for_the_header() -> None:
    rows = [
        ["Ann", "ann@example.com", "415-555-0134", "2024-01-01"],
        ["Name", "Email", "Phone", "Added"],
        ["Bob", "bob@example.com", "415-555-0135", "2024-01-02"],
    ]
    assert sniff.find_header(rows) == 1


def test_find_header_accepts_a_header_with_some_blank_names() -> None:
    rows = [
        ["Exported by", "Pat"],
        ["Name", "", "Email", "", "Phone", "", "Company", "Title"],
        ["Ann", "x", "ann@example.com", "y", "415-555-0134", "z", "Acme", "CEO"],
        ["Bob", "x", "bob@example.com", "y", "415-555-0135", "z", "Initech", "CTO"],
    ]
    assert sniff.find_header(rows) == 1


def test_find_header_prefers_the_full_width_row_in_a_narrow_table() -> None:
    rows = [
        ["Exported by", "Pat"],
        ["Name", "Email", "Company"],
        ["Ann", "ann@example.com", "Acme"],
    ]
    assert sniff.find_header(rows) == 1


def test_contact_headers_are_counted_by_word() -> None:
    header = ["FirstName", "E-mail Address", "Phone Number", "Cancelled", "Subtitle", "Amount"]
    assert sniff.contact_header_count(header) == 3


# --- columns and rows -----------------------------------------------------------------


def test_duplicate_and_blank_headers_are_kept_by_position() -> None:
    table = read("hubspot_duplicate_headers.csv")
    assert table.headers == [
        "Record ID",
        "First Name",
        "Last Name",
        "Phone Number",
        "Phone Number",
        "",
        "Email",
    ]
    assert table.rows[0][3:6] == ["415-555-0134", "415-555-0135", "x"]


def test_blank_and_whitespace_rows_are_dropped_without_problems() -> None:
    table = read("blank_rows.csv")
    assert table.rows == [["Ann", "Lee", "ann.lee@example.com"], ["Bob", "Ray", "bob@example.com"]]
    assert table.source_rows == [3, 7]
    assert table.problems == []
    assert "Skipped 5 blank lines (not contacts)." in table.notes


def test_short_rows_are_padded_and_reported() -> None:
    table = read("ragged.csv")
    assert table.rows[1] == ["Bob", "Ray", "", "", "", ""]
    problem = next(p for p in table.problems if p.source_row == 3)
    assert problem.message == "has 2 cells, header has 4: the missing cells are left empty"


def test_long_rows_keep_their_extra_cells_in_extra_columns() -> None:
    table = read("ragged.csv")
    assert table.headers == ["First Name", "Last Name", "Email", "Phone", "Extra 1", "Extra 2"]
    assert table.rows[2] == ["Cy", "Ng", "cy@example.com", "415-555-0136", "VIP", "met 2024"]
    assert table.rows[0][4:] == ["", ""]  # other rows padded
    problem = next(p for p in table.problems if p.source_row == 4)
    assert "extra cells kept as 'Extra 1', 'Extra 2'" in problem.message
    # Line 5 has two trailing empty cells: not a problem, not a column.
    assert [p.source_row for p in table.problems] == [3, 4]


def test_trailing_delimiter_on_every_line_is_not_a_problem_or_a_column() -> None:
    table = read("trailing_delimiter.csv")
    assert table.headers == HEADER
    assert table.rows == PEOPLE
    assert table.problems == []


def test_blank_header_column_with_data_under_it_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "blankhead.csv"
    path.write_text("Name,Email,\nAnn,ann@example.com,VIP\nBob,bob@example.com,\n")
    table = read_table(path)
    assert table.headers == ["Name", "Email", ""]
    assert table.rows == [["Ann", "ann@example.com", "VIP"], ["Bob", "bob@example.com", ""]]
    assert table.problems == []


def test_unbalanced_quote_that_swallows_the_rest_of_the_file_is_an_error() -> None:
    message = read_error(FIXTURES / "unbalanced_quote.csv")
    assert "line 3: unbalanced quote" in message
    assert gc.isenabled()  # the collector pause is undone on errors too


def test_unbalanced_quote_closed_many_lines_later_is_an_error() -> None:
    message = read_error(FIXTURES / "unbalanced_quote_middle.csv")
    assert "line 2: unbalanced quote" in message
    assert "runs to line 6" in message


def test_quote_left_open_on_the_last_record_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_text('Name,Email,Notes\nAnn,ann@example.com,ok\nBob,bob@example.com,"call\nlater\n')
    message = read_error(path)
    assert "line 3: unbalanced quote" in message
    assert "never closed" in message


def test_rows_after_the_header_search_keep_their_lines_around_multiline_notes(
    tmp_path: Path,
) -> None:
    lines = ["Name,Email,Notes"] + [f"P{i},p{i}@example.com,ok" for i in range(40)]
    lines.append('Q,q@example.com,"two\nlines"')
    lines += ["", "R,r@example.com,", " , ,", "S,s@example.com,last"]
    path = tmp_path / "late_multiline.csv"
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    assert [row[0] for row in table.rows[-3:]] == ["Q", "R", "S"]
    assert table.source_rows[-3:] == [42, 45, 47]  # Q spans 42-43; 44 and 46 are blank
    assert table.source_rows[:2] == [2, 3]
    assert "Skipped 2 blank lines (not contacts)." in table.notes


def test_a_lone_cr_inside_a_quoted_field_counts_as_a_line_break(tmp_path: Path) -> None:
    lines = ["Name,Email,Notes"] + [f"P{i},p{i}@example.com,ok" for i in range(40)]
    lines += ['Q,q@example.com,"old\rmac"', "R,r@example.com,last"]
    path = tmp_path / "cr_inside.csv"
    path.write_text("\n".join(lines) + "\n", newline="")
    table = read_table(path)
    assert table.rows[-2][2] == "old\rmac"
    assert table.source_rows[-2:] == [42, 44]


@pytest.mark.parametrize(
    "name",
    ["quoted_newlines.csv", "ragged.csv", "blank_rows.csv", "linkedin_connections.csv"],
)
def test_bulk_and_line_tracking_passes_agree(name: str, tmp_path: Path) -> None:
    # Pad the fixture past the header search so both passes read rows in bulk or by line.
    path = tmp_path / name
    data = (FIXTURES / name).read_bytes()
    path.write_bytes(data + data.split(b"\n", 1)[1] * 20)
    options = {"encoding": sniff.UTF8, "delimiter": ",", "width": 3, "header_row": None}
    bulk = textfile._parse_pass(path, name, **options, track=False)  # type: ignore[arg-type]
    tracked = textfile._parse_pass(path, name, **options, track=True)  # type: ignore[arg-type]
    assert bulk == tracked
    assert len(bulk.rows) > 20


def test_rows_after_the_header_search_are_checked_for_shape(tmp_path: Path) -> None:
    lines = ["Name,Email,Phone"] + [f"P{i},p{i}@example.com,415-555-0100" for i in range(40)]
    lines += [
        "",
        "Short,s@example.com",
        ",,",
        "Long,l@example.com,415-555-0101,VIP",
        ",x@example.com,",
    ]
    path = tmp_path / "late_ragged.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    table = read_table(path)
    assert_well_formed(table)
    assert table.headers == ["Name", "Email", "Phone", "Extra 1"]
    assert [p.source_row for p in table.problems] == [43, 45]
    assert table.source_rows[-3:] == [43, 45, 46]
    assert table.rows[-1] == ["", "x@example.com", "", ""]
    assert table.rows[-2] == ["Long", "l@example.com", "415-555-0101", "VIP"]


def test_unbalanced_quote_after_the_header_search_is_found(tmp_path: Path) -> None:
    lines = ["Name,Email,Phone,Company"]
    lines += [f"P{i},p{i}@example.com,415-555-0100,Acme" for i in range(40)]
    lines.insert(36, 'Bad,"bad@example.com,415-555-0100,Acme')
    path = tmp_path / "late_quote.csv"
    path.write_text("\n".join(lines) + "\n")
    assert "line 37: unbalanced quote" in read_error(path)


def test_unbalanced_quote_longer_than_the_csv_field_limit_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    body = "".join(f"Person {i} has no commas here\n" for i in range(6000))
    path.write_text('Name,Email\nAnn,"ann@example.com\n' + body)
    message = read_error(path)
    assert "unbalanced quote" in message


# --- workbooks ------------------------------------------------------------------------


def test_xlsx_contacts_on_the_second_sheet_below_title_rows() -> None:
    table = read("multi_sheet.xlsx")
    assert table.format == "xlsx"
    assert table.sheet == "Contacts"
    assert table.sheets == ["Summary", "Contacts", "Notes"]
    assert "Read sheet 'Contacts' (2nd of 3); 'Summary' did not look like contacts." in (
        table.notes
    )
    assert table.header_row == 4
    assert table.headers[:6] == HEADER
    assert table.source_rows == [5, 7, 9]  # row 6 blank, row 8 only spaces: dropped
    assert table.rows[2][:2] == ["", "Cy"]


def test_xlsx_numbers_dates_and_booleans_read_as_excel_shows_them() -> None:
    ann, bob = read("multi_sheet.xlsx").rows[:2]
    assert ann[3] == "4155550134"  # a phone stored as a number, not 4155550134.0
    assert ann[6:] == ["12.5", "TRUE", "2024-03-05", "2024-03-05 14:30:00", "1234567.25"]
    assert bob[3] == "415-555-0135"
    assert bob[6:] == ["7", "FALSE", "2023-12-31", "2024-01-02 09:05:07", "0.1"]


def test_sheet_argument_selects_by_name() -> None:
    table = read("multi_sheet.xlsx", sheet="Summary")
    assert table.sheet == "Summary"
    assert table.headers == ["Quarter", "Revenue"]
    assert table.rows == [["Q1", "125000"], ["Q2", "98000.5"]]
    assert "Read sheet 'Summary' (1st of 3), as asked." in table.notes


def test_sheet_argument_ignores_case_when_unambiguous() -> None:
    assert read("multi_sheet.xlsx", sheet="contacts").sheet == "Contacts"


def test_unknown_sheet_name_lists_the_sheets() -> None:
    message = read_error(FIXTURES / "multi_sheet.xlsx", sheet="People")
    assert "no sheet named 'People'; the sheets are: 'Summary', 'Contacts', 'Notes'" in message


def test_workbook_without_contacts_reads_the_first_sheet_with_data() -> None:
    table = read("no_contacts.xlsx")
    assert table.sheet == "Data"
    assert table.rows == [["A1", "10"]]
    assert any("no sheet looked like contacts" in note for note in table.notes)


def test_hidden_sheets_are_tried_after_visible_ones() -> None:
    table = read("hidden_sheet.xlsx")
    assert table.sheet == "Live"
    assert table.rows == [["New", "new@example.com"]]


def test_xlsm_is_read_like_xlsx() -> None:
    table = read("macro_copy.xlsm")
    assert table.format == "xlsx"
    assert table.sheet == "Contacts"


def test_xls_numbers_and_dates() -> None:
    table = read("contacts.xls")
    assert table.format == "xls"
    assert table.header_row == 3
    assert table.headers == [*HEADER, "Added"]
    assert table.rows[0] == [
        "Ann",
        "Lee",
        "ann.lee@example.com",
        "4155550134",
        "Acme",
        "VP Sales",
        "2024-03-05",
    ]
    assert table.rows[1][3] == "4155550135"
    assert table.rows[1][5] == "2.5"
    assert table.source_rows == [4, 5]


def test_ods_contacts_on_the_second_sheet() -> None:
    table = read("contacts.ods")
    assert table.format == "ods"
    assert table.sheet == "People"
    assert "Read sheet 'People' (2nd of 2); 'Cover' did not look like contacts." in table.notes
    assert table.rows[0][3] == "4155550134"
    assert table.rows[0][6:] == ["2024-03-05", "TRUE"]
    assert table.rows[1][6:] == ["2024-01-02 09:05:00", "FALSE"]
    assert table.source_rows == [2, 4]


def test_workbook_header_row_argument(tmp_path: Path) -> None:
    table = read("multi_sheet.xlsx", header_row=5)
    assert table.header_row == 5
    assert table.headers[0] == "Ann"
    assert table.source_rows == [7, 9]


def test_workbook_data_away_from_a1_keeps_sheet_row_numbers(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"] = "Name", "Email"
    sheet["C4"], sheet["D4"] = "Ann", "ann@example.com"
    sheet["C6"], sheet["D6"] = "Bob", "bob@example.com"
    path = tmp_path / "offset.xlsx"
    book.save(path)
    table = read_table(path)
    assert table.headers == ["Name", "Email"]
    assert table.rows == [["Ann", "ann@example.com"], ["Bob", "bob@example.com"]]
    assert (table.header_row, table.source_rows) == (3, [4, 6])


def test_empty_sheet_asked_for_is_an_error(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["Name", "Email"])
    book.active.append(["Ann", "ann@example.com"])
    book.create_sheet("Blank")
    path = tmp_path / "blank.xlsx"
    book.save(path)
    assert "sheet 'Blank': is empty" in read_error(path, sheet="Blank")


def test_workbook_header_row_argument_on_a_blank_row_is_an_error() -> None:
    message = read_error(FIXTURES / "multi_sheet.xlsx", header_row=3)
    assert "sheet 'Contacts': row 3 (the header row asked for) is blank" in message


def test_text_options_on_a_workbook_are_noted() -> None:
    table = read("contacts.xls", encoding="cp1252")
    assert "The encoding and delimiter options apply to text files only." in table.notes


def test_workbook_named_csv_is_read_as_a_workbook() -> None:
    table = read("workbook_named.csv")
    assert table.format == "xlsx"
    assert table.sheet == "Contacts"
    assert "The file is named .csv but is an Excel workbook; read it as one." in table.notes


def test_csv_named_xlsx_is_read_as_csv() -> None:
    table = read("csv_named.xlsx")
    assert table.format == "csv"
    assert table.rows == PEOPLE
    assert "The file is named .xlsx but contains text; read it as CSV." in table.notes


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4155550134.0, "4155550134"),
        (12.5, "12.5"),
        (-3.0, "-3"),
        (1 / 3, "0.333333333333333"),
        (7, "7"),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.date(2024, 3, 5), "2024-03-05"),
        (dt.datetime(2024, 3, 5, 0, 0), "2024-03-05"),
        (dt.datetime(2024, 3, 5, 14, 30), "2024-03-05 14:30:00"),
        (dt.time(14, 30), "14:30:00"),
        (dt.timedelta(hours=26, minutes=5), "26:05:00"),
    ],
)
def test_cell_values_become_the_text_excel_shows(value: object, text: str) -> None:
    assert sheets._cell_text(value) == text


# --- errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("empty.csv", "the file is empty (0 bytes)"),
        ("whitespace_only.csv", "the file is empty (only blank lines or spaces)"),
        ("header_only.csv", "has a header (line 1) but no contact rows"),
        ("header_only.xlsx", "has a header (row 1) but no contact rows"),
        ("random_bytes.csv", "contains binary data"),
        ("report.pdf.csv", "is a PDF document"),
        ("html_named.xls", "is an HTML page"),
        ("not_a_workbook.xlsx", "is a ZIP archive without a spreadsheet in it"),
        ("encrypted.xlsx", "password-protected"),
        ("encrypted_crafted.xls", "password-protected"),
        ("not_excel.xls", "is an Office file but not a readable Excel workbook"),
    ],
)
def test_unreadable_fixtures_raise_one_line_input_errors(name: str, expected: str) -> None:
    assert expected in read_error(FIXTURES / name)


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in read_error(tmp_path / "nope.csv")


def test_directory(tmp_path: Path) -> None:
    assert "is a folder, not a file" in read_error(tmp_path)


def test_damaged_workbook(tmp_path: Path) -> None:
    data = (FIXTURES / "multi_sheet.xlsx").read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert "is a damaged ZIP or workbook file" in read_error(path)


def test_word_document_is_named(tmp_path: Path) -> None:
    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    assert "is a Word document" in read_error(path)


def test_encrypted_ole_container_is_recognised_by_its_stream_name() -> None:
    # The fixture is the container Excel writes for a password-protected .xlsx.
    assert sniff.ole_has_stream(FIXTURES / "encrypted.xlsx", "EncryptionInfo")
    assert not sniff.ole_has_stream(FIXTURES / "contacts.xls", "EncryptionInfo")


def test_sheet_argument_for_a_csv_is_noted() -> None:
    table = read("utf8.csv", sheet="Contacts")
    assert "Sheet 'Contacts' was asked for, but a text file has no sheets." in table.notes


# --- size and memory ------------------------------------------------------------------


def test_large_csv_streams_with_few_copies_and_restores_gc(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    columns = 12
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(["First Name", "Last Name", "Email", "Phone"] + [
            f"Field {n}" for n in range(columns - 4)
        ]) + "\r\n")  # fmt: skip
        for i in range(20_000):
            cells = [f"Ann{i}", "Lee", f"ann{i}@example.com", "415-555-0134"]
            cells += [f"value {i} {n}" for n in range(columns - 4)]
            handle.write(",".join(cells) + "\r\n")
    assert gc.isenabled()
    tracemalloc.start()
    try:
        table = read_table(path)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert gc.isenabled()
    assert len(table.rows) == 20_000
    assert table.source_rows[-1] == 20_001
    assert table.rows[-1][2] == "ann19999@example.com"
    # Streaming: the peak is the table itself plus small buffers, not a second copy.
    assert peak < 1.3 * kept


def test_large_xlsx_keeps_numbers_as_text_on_every_row(tmp_path: Path) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(["First Name", "Email", "Phone", "Score"])
    for i in range(3000):
        sheet.append([f"Ann{i}", f"ann{i}@example.com", 4155550100 + i % 100, i / 4])
    path = tmp_path / "big.xlsx"
    book.save(path)
    table = read_table(path)
    assert len(table.rows) == 3000
    assert table.rows[1] == ["Ann1", "ann1@example.com", "4155550101", "0.25"]
    assert table.rows[-1][3] == "749.75"
    assert table.source_rows[-1] == 3001


# -- shared cells ----------------------------------------------------------------------------


def _repeating_export(path: Path, rows: int) -> Path:
    """Country repeats, the e-mail never does, the city is one value until row 1000, then new
    on every row (a sorted export): the three cases of read/shared.py."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("First Name,Email,Country,City\n")
        for i in range(rows):
            city = "Springfield" if i < 1000 else f"Town {i}"
            handle.write(f"Ann,ann{i}@example.com,United States,{city}\n")
    return path


def test_equal_cells_of_a_repeating_column_are_one_string_in_a_csv(tmp_path: Path) -> None:
    # 3 million new strings were ~200 MB for a 100k x 30 export; pandas shares them, so do we.
    table = read_table(_repeating_export(tmp_path / "r.csv", 20_000))
    countries = {id(row[2]) for row in table.rows}
    assert len(countries) == 1 and table.rows[-1][2] == "United States"
    assert len({id(row[0]) for row in table.rows}) == 1
    # Values never change, only which object holds them.
    assert [row[1] for row in table.rows[:3]] == [f"ann{i}@example.com" for i in range(3)]
    assert table.rows[-1] == ["Ann", "ann19999@example.com", "United States", "Town 19999"]


def test_a_column_that_turns_out_distinct_is_let_go(tmp_path: Path) -> None:
    from csvscore.read.shared import SharedValues

    rows = [[f"Ann{i % 3}", "Springfield" if i < 1000 else f"Town {i}"] for i in range(40_000)]
    share = SharedValues(2)
    for start in range(0, len(rows), 8192):
        share(rows[start : start + 8192])
    assert share._lookups is not None
    assert share._lookups[0] is not None and len(share._lookups[0]) == 3
    assert share._lookups[1] is None  # its lookup table stopped growing with the column
    assert rows[39_999] == ["Ann0", "Town 39999"]


def test_rows_of_another_width_and_small_tables_are_left_alone() -> None:
    from csvscore.read.shared import SAMPLE_ROWS, SharedValues

    small = [["Ann", "US"] for _ in range(SAMPLE_ROWS - 1)]
    before = [list(map(id, row)) for row in small]
    SharedValues(2)(small)
    assert [list(map(id, row)) for row in small] == before
    rows = [["Ann", "US"] for _ in range(SAMPLE_ROWS)] + [["Ann", "US", "extra"]]
    SharedValues(2)(rows)
    assert rows[-1] == ["Ann", "US", "extra"]  # not cut to the header's width


def test_equal_cells_of_a_repeating_column_are_one_string_in_a_workbook(tmp_path: Path) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(["First Name", "Email", "Country"])
    for i in range(2000):
        sheet.append(["Ann", f"ann{i}@example.com", "United States"])
    path = tmp_path / "r.xlsx"
    book.save(path)
    table = read_table(path)
    assert len({id(row[2]) for row in table.rows}) == 1
    assert len({id(row[1]) for row in table.rows}) == 2000
