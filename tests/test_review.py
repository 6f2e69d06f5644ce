"""The interactive review's pieces (csvscore/review.py, mapping_table) driven with text streams.

The whole CLI under a real pseudo-terminal is tested in tests/test_review_pty.py.
"""

from __future__ import annotations

import fcntl
import io
import os
import re
import struct
import termios
from decimal import Decimal

import pytest

from csvscore.cli.edits import EditError, suggest_field
from csvscore.cli.render import Style, mapping_table
from csvscore.cli.review import (
    PROMPT,
    ReviewCancelled,
    apply_edit,
    confirm,
    example_edit,
    fields_help,
    help_text,
    missing_text,
    parse_field,
    plan_text,
    review_mapping,
    terminal_width,
)
from csvscore.contacts.build import PreparedRow
from csvscore.errors import ExitCode
from csvscore.fields import ALL_FIELDS
from csvscore.mapping.model import ColumnMapping, Mapping
from csvscore.scoring.plan import Plan, make_plan

PLAIN = Style(False)


def col(
    index: int, header: str, field: str | None, *, method: str = "exact", review: bool = False
) -> ColumnMapping:
    return ColumnMapping(
        index=index,
        header=header,
        field=field,
        confidence=1.0 if field else 0.0,
        method=method if field else "none",
        sample=f"sample of {header}",
        reason="",
        review=review,
        unmapped_key="" if field else header,
    )


def contacts_mapping() -> Mapping:
    """First Name, Last Name, Email, Phone, Mobile, Job Title, Lead Source (unmapped)."""
    return Mapping(
        [
            col(0, "First Name", "firstName"),
            col(1, "Last Name", "lastName"),
            col(2, "Email", "email"),
            col(3, "Phone", "phone", method="synonym"),
            col(4, "Mobile", "phone2", method="synonym"),
            col(5, "Job Title", "title", method="synonym"),
            col(6, "Lead Source", None),
        ]
    )


HELP_HEAD = "If this is right, press Enter."


def review(
    mapping: Mapping,
    typed: str,
    *,
    width: int | None = None,
    values: dict[int, list[str]] | None = None,
) -> tuple[bool, str]:
    out = io.StringIO()
    changed = review_mapping(
        mapping,
        stdin=io.StringIO(typed),
        stdout=out,
        style=PLAIN,
        threshold=0.6,
        width=width,
        # Without values, no column's values are checked against the field it is given.
        values=None if values is None else (lambda i: values.get(i, [])),
    )
    return changed, out.getvalue()


# -- parse_field / apply_edit -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "field"),
    [
        ("phone2", "phone2"),
        ("Phone2", "phone2"),
        ("LASTNAME", "lastName"),
        (" companyLinkedInUrl ", "companyLinkedInUrl"),
        ("fullname", "fullName"),
        ("-", None),
        ("", None),
        ("none", None),
        ("unmappedFields", None),
    ],
)
def test_parse_field_accepts_field_names_in_any_case_and_words_for_unmapped(
    typed: str, field: str | None
) -> None:
    assert parse_field(typed) == field


def test_parse_field_names_a_word_that_is_no_field() -> None:
    with pytest.raises(EditError, match=r"^'notAField' is not a TitanX field\. Type \? to list"):
        parse_field("notAField")


def test_apply_edit_moves_a_field_and_unmaps_the_column_that_had_it() -> None:
    m = contacts_mapping()
    said = apply_edit(m, 7, "phone2")
    assert m.columns[6].field == "phone2" and m.columns[6].method == "override"
    assert m.columns[4].field is None  # one column per field
    assert m.columns[4].unmapped_key == "Mobile"  # so it is still sent, under its header
    assert said == "Column 7 'Lead Source' → phone2; column 5 'Mobile' is now unmapped."


def test_apply_edit_leaves_a_column_unmapped() -> None:
    m = contacts_mapping()
    assert apply_edit(m, 6, None) == "Column 6 'Job Title' → unmappedFields."
    assert m.columns[5].field is None and m.columns[5].unmapped_key == "Job Title"
    assert [c.header for c in m.unmapped()] == ["Job Title", "Lead Source"]


@pytest.mark.parametrize("column", [0, 8, 99])
def test_apply_edit_refuses_a_column_that_does_not_exist(column: int) -> None:
    m = contacts_mapping()
    with pytest.raises(EditError, match=f"^There is no column {column}; columns are 1 to 7"):
        apply_edit(m, column, "phone")
    assert [c.field for c in m.columns] == [c.field for c in contacts_mapping().columns]


# -- review_mapping ----------------------------------------------------------------------------


def test_enter_accepts_the_mapping_unchanged() -> None:
    m = contacts_mapping()
    changed, out = review(m, "\n")
    assert changed is False
    assert "  7  Lead Source" in out and "→ (unmappedFields)" in out
    assert help_text(m) in out and out.endswith(PROMPT)
    assert [c.field for c in m.columns] == [c.field for c in contacts_mapping().columns]


def test_an_edit_redraws_the_table_marks_the_row_and_answers_right_above_the_prompt() -> None:
    m = contacts_mapping()
    changed, out = review(m, "7=Phone3\n\n")
    assert changed is True
    assert m.columns[6].field == "phone3"
    assert out.count(HELP_HEAD) == 2  # drawn again after the change
    redrawn = out.split(PROMPT)[1]  # the screen shown after the change, up to the prompt
    lines = redrawn.splitlines()
    # The answer is the last line before the prompt, under the redrawn table and its help.
    assert lines[-1] == "Column 7 'Lead Source' → phone3."
    [row] = [line for line in lines[:-1] if "Lead Source" in line]
    # The mark stands where the method ("override") would: header and sample keep their room.
    assert "→ phone3" in row and row.endswith("1.00  changed")
    assert "sample of Lead Source" in row
    assert redrawn.index(HELP_HEAD) > redrawn.index(row)


def test_a_marked_row_takes_no_room_from_the_headers_and_samples_at_80_columns() -> None:
    """The mark used to follow the method and squeeze every header and sample ('(415) 555-…');
    now it stands in the Method column, where every changed row said "override"."""
    from csvscore.cli.render import CHANGED_MARK, UNMAPPED_MARK

    m = contacts_mapping()
    for c in m.columns:
        c.sample = f"({c.index}15) 555-0100 ext 12"  # samples long enough to be cut
    m.columns[6].method, m.columns[4].method = "override", "override"
    plain = mapping_table(m, Style(False), threshold=0.6, width=80).splitlines()
    marks = {6: CHANGED_MARK, 4: UNMAPPED_MARK}
    marked = mapping_table(m, Style(False), threshold=0.6, width=80, marks=marks).splitlines()
    width = len("  1  First Name    (015) 555-0100 ext 12")
    assert [line[:width] for line in marked] == [line[:width] for line in plain]
    assert max(len(line) for line in marked) < 80


def test_a_field_taken_from_another_column_marks_that_column_too() -> None:
    m = contacts_mapping()
    _, out = review(m, "7=phone2\n\n")
    screen = out.split(PROMPT)[1].splitlines()
    [mobile] = [line for line in screen if line.startswith("  5  Mobile")]
    assert "→ (unmappedFields)" in mobile and mobile.endswith("1.00  unmapped")
    assert screen[-1] == "Column 7 'Lead Source' → phone2; column 5 'Mobile' is now unmapped."


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("hello", "Did not understand 'hello'. Type e.g. "),
        ("99=phone", "There is no column 99; columns are 1 to 7."),
        ("3=notAField", "'notAField' is not a TitanX field. Type ? to list them."),
        ("3=phnoe2", "'phnoe2' is not a TitanX field. Did you mean phone2? Type ? to list them."),
        ("Kin=lastName", "There is no column called 'Kin'. Type its number, e.g. 7=phone2."),
        ("Mobil=phone3", "There is no column called 'Mobil'. Did you mean 'Mobile' (column 5)?"),
    ],
)
def test_wrong_input_gets_a_message_and_the_prompt_again(typed: str, message: str) -> None:
    m = contacts_mapping()
    changed, out = review(m, f"{typed}\n\n")
    assert changed is False
    assert message in out
    assert out.count(PROMPT) == 2
    assert out.count(HELP_HEAD) == 1  # the table is not redrawn for a mistake
    assert [c.field for c in m.columns] == [c.field for c in contacts_mapping().columns]


def test_question_mark_lists_every_field_and_the_pseudo_fields() -> None:
    _, out = review(contacts_mapping(), "?\n\n")
    listed = out.split(PROMPT)[1].splitlines()
    assert [line.split()[0] for line in listed if line] == [
        *(f.name for f in ALL_FIELDS),
        "fullName",
        "-",
    ]
    assert out.count(HELP_HEAD) == 1


def test_fields_help_has_one_line_per_field_plus_full_name_and_dash() -> None:
    lines = fields_help().splitlines()
    assert len(lines) == len(ALL_FIELDS) + 2 == 59
    assert [line.split()[0] for line in lines[-2:]] == ["fullName", "-"]


@pytest.mark.parametrize("width", [30, 50, 80, 120])
def test_fields_help_wraps_at_words_within_the_window(width: int) -> None:
    """At 80 columns the terminal used to cut 'HubSpot Recor|d ID' back in the first column."""
    wrapped = fields_help(width).splitlines()
    assert max(len(line) for line in wrapped) < width
    assert " ".join(wrapped).split() == " ".join(fields_help().splitlines()).split()
    # Continuation lines never start in the names' column.
    names = {line.split()[0] for line in fields_help().splitlines()}
    assert [line.split()[0] for line in wrapped if not line.startswith(" ")] == [
        line.split()[0] for line in fields_help().splitlines()
    ]
    assert len(names) == len(ALL_FIELDS) + 2


@pytest.mark.parametrize("typed", ["q\n", "Q\n", "quit\n"])
def test_q_cancels_with_exit_code_8(typed: str) -> None:
    with pytest.raises(ReviewCancelled) as info:
        review(contacts_mapping(), typed)
    assert info.value.exit_code == ExitCode.CANCELLED == 8
    assert "nothing was sent" in info.value.message


def test_end_of_input_cancels_instead_of_looping() -> None:
    with pytest.raises(ReviewCancelled, match="end of input"):
        review(contacts_mapping(), "hello\n")  # then EOF


def test_the_table_and_help_fit_an_80_column_terminal() -> None:
    m = contacts_mapping()
    m.columns[6].header = "A very long column header that goes on and on"
    m.columns[6].sample = "a sample value that is also much longer than the room for it"
    m.columns[2].review = True
    m.columns[2].reason = "looks like an email but the header says otherwise, " * 3
    m.notes.append("Looks like an export from HubSpot; using its header meanings. " * 2)
    _, out = review(m, "\n", width=80)
    assert max(len(line) for line in out.splitlines()) <= 79
    assert re.search(r" 7  A very long[\w ]*… ", out)  # clipped, with an ellipsis


def test_without_a_width_the_table_keeps_its_full_layout() -> None:
    table = mapping_table(contacts_mapping(), PLAIN, threshold=0.6)
    head = table.splitlines()[0]
    assert head.index("Sample") - head.index("Column") == 30  # 28 + 2
    assert head.index("→ Field") - head.index("Sample") == 26  # 24 + 2


def test_a_very_narrow_terminal_drops_the_sample_column() -> None:
    table = mapping_table(contacts_mapping(), PLAIN, threshold=0.6, width=60)
    assert "Sample" not in table and "sample of" not in table
    assert "Lead Source" in table and "→ (unmappedFields)" in table


def test_colours_mark_review_unmapped_and_header_rows() -> None:
    m = contacts_mapping()
    m.columns[5].review = True
    table = mapping_table(m, Style(True), threshold=0.6)
    lines = table.splitlines()
    assert lines[0].startswith("\x1b[1m")  # bold header
    assert lines[6].startswith("\x1b[33m") and "← review" in lines[6]  # yellow review row
    assert lines[7].startswith("\x1b[2m")  # dim unmapped row
    assert "\x1b[32mRequired fields: all mapped" in table


def test_missing_required_fields_are_named_under_the_table() -> None:
    m = contacts_mapping()
    apply_edit(m, 2, None)
    table = mapping_table(m, PLAIN, threshold=0.6)
    assert "Missing required: lastName" in table


def test_terminal_width_reads_a_real_terminal_and_not_a_string_buffer() -> None:
    assert terminal_width(io.StringIO()) is None
    leader, follower = os.openpty()
    try:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 97, 0, 0))
        with open(follower, "w", closefd=False) as stream:
            assert terminal_width(stream) == 97
    finally:
        os.close(leader)
        os.close(follower)


# -- plan ------------------------------------------------------------------------------------


def prepared(status: str | None, reason: str = "", phones: int = 1) -> PreparedRow:
    return PreparedRow.of(0, 2, "k", {}, status, reason, phones)


def test_make_plan_counts_rows_batches_phones_and_credits() -> None:
    rows = (
        [prepared(None, phones=2)] * 5
        + [prepared("skipped", "no valid US phone: '123' is too short")] * 2
        + [prepared("skipped", "missing lastName")]
        + [prepared("duplicate", "same as row 2")]
    )
    plan = make_plan(rows, batch_size=2, cost_per_phone=Decimal("0.05"))
    assert plan == Plan(
        to_send=5,
        skipped=3,
        duplicates=1,
        batches=3,
        phones=10,
        estimated_credits=Decimal("0.50"),
        skip_reasons=[("no valid US phone", 2), ("missing lastName", 1)],
        rows=9,
        cost_per_phone=Decimal("0.05"),
    )
    text = plan_text(plan)
    assert text.splitlines() == [
        "Ready to send 5 contacts (of 9 rows) in 3 batches, 10 phone numbers.",
        "Skipped, not sent (TitanX would reject them): 3",
        "         2  no valid US phone",
        "         1  missing lastName",
        "Duplicates, not sent (they would be charged twice): 1",
        "Estimated credits: about 0.5",
    ]


def test_plan_with_unknown_price_says_how_to_learn_it() -> None:
    plan = make_plan([prepared(None)], batch_size=1000, cost_per_phone=None)
    text = plan_text(plan)
    assert "in 1 batch," in text
    assert "Estimated credits: unknown (csvscore learns TitanX's price per phone" in text
    assert "Skipped" not in text and "Duplicates" not in text


def test_plan_with_nothing_to_send_has_no_batches() -> None:
    plan = make_plan([prepared("skipped", "missing firstName")], 1000, Decimal("0.05"))
    assert (plan.to_send, plan.batches, plan.phones, plan.estimated_credits) == (0, 0, 0, 0)


# -- confirm -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "default", "answer"),
    [
        ("y\n", False, True),
        ("YES\n", False, True),
        ("n\n", True, False),
        ("\n", False, False),
        ("\n", True, True),
        ("maybe\nno\n", True, False),
    ],
)
def test_confirm(typed: str, default: bool, answer: bool) -> None:
    out = io.StringIO()
    got = confirm("Send 3 contacts?", stdin=io.StringIO(typed), stdout=out, default=default)
    assert got is answer
    assert out.getvalue().startswith("Send 3 contacts? " + ("[Y/n]" if default else "[y/N]"))
    assert ("Please answer y or n." in out.getvalue()) == typed.startswith("maybe")


def test_confirm_at_end_of_input_cancels() -> None:
    with pytest.raises(ReviewCancelled):
        confirm("Send?", stdin=io.StringIO(""), stdout=io.StringIO())


# -- what the review shows and understands (issue 10) -----------------------------------------


def wide_mapping() -> Mapping:
    """Names and a phone mapped, then six unmapped columns (a CRM export's extras)."""
    extra = ["Lead Status", "Create Date", "Owner", "Stage", "Source", "Other Phone"]
    return Mapping(
        [
            col(0, "First Name", "firstName"),
            col(1, "Last Name", "lastName"),
            col(2, "Phone", "phone", method="synonym"),
            *(col(3 + i, h, None) for i, h in enumerate(extra)),
        ]
    )


def _rows(screen: str) -> list[str]:
    return [line for line in screen.splitlines() if re.match(r"^ *\d+  ", line)]


def test_the_review_collapses_unmapped_columns_and_a_shows_them_all() -> None:
    m = wide_mapping()
    _, out = review(m, "a\na\n\n")
    first, all_, again = out.split(PROMPT)[:3]
    assert "Lead Status" not in [line[5:16] for line in first.splitlines()]
    assert len(_rows(first)) == 3  # only the mapped ones
    assert "Unmapped, sent in unmappedFields (6; type a to show them): " in first
    assert "4 Lead Status, 5 Create Date" in first  # the numbers to type, with the names
    assert re.search(r"\ba +show all 9 columns", first)
    assert len(_rows(all_)) == 9
    assert "show only the mapped columns" in all_
    assert len(_rows(again)) == 3


def test_a_just_changed_unmapped_column_stays_in_the_collapsed_table() -> None:
    m = wide_mapping()
    _, out = review(m, "9=phone2\n\n")
    after = out.split(PROMPT)[1]
    [row] = [line for line in after.splitlines() if line.startswith("  9  Other Phone")]
    assert "→ phone2" in row and row.endswith("1.00  changed")


@pytest.mark.parametrize(
    ("typed", "column", "field"),
    [
        ("9=phone 2", 9, "phone2"),  # spaces inside a field name
        ("9 = Phone_2", 9, "phone2"),
        ("Other Phone=phone2", 9, "phone2"),  # a column by its header
        ("other  phone = PHONE2", 9, "phone2"),
        ("4=first name", 4, "firstName"),
    ],
)
def test_edits_are_understood_with_spaces_case_and_headers(
    typed: str, column: int, field: str
) -> None:
    m = wide_mapping()
    changed, _ = review(m, f"{typed}\n\n")
    assert changed and m.columns[column - 1].field == field


def test_a_header_that_two_columns_share_must_be_named_by_number() -> None:
    m = wide_mapping()
    m.columns[8].header = "Phone"
    _, out = review(m, "Phone=phone2\n\n")
    assert "There are 2 columns called 'Phone' (3 and 9): type the number instead." in out


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("phnoe2", "phone2"), ("lastnam", "lastName"), ("surname", "lastName"), ("emial", "email")],
)
def test_a_mistyped_field_gets_did_you_mean(typed: str, meant: str) -> None:
    assert suggest_field(typed) == meant


def test_a_phone_word_suggests_the_first_phone_slot_that_is_free() -> None:
    m = wide_mapping()  # phone is taken
    assert suggest_field("mobile", m, column=9) == "phone2"
    _, out = review(m, "9=mobile\n\n")
    assert "'mobile' is not a TitanX field. Did you mean phone2? Type ? to list them." in out


def test_values_that_do_not_fit_the_field_are_asked_about_first() -> None:
    m = wide_mapping()
    dates = {4: ["01 Mar 2024", "02 Mar 2024"]}
    changed, out = review(m, "5=phone2\nn\n\n", values=dates)
    assert "'01 Mar 2024' does not look like a phone number. Map anyway? [y/N] " in out
    assert "Column 5 left as it was." in out
    assert not changed and m.columns[4].field is None
    changed, out = review(m, "5=phone2\ny\n\n", values=dates)
    assert changed and m.columns[4].field == "phone2"


def test_values_that_fit_are_mapped_without_a_question() -> None:
    m = wide_mapping()
    changed, out = review(m, "9=phone2\n\n", values={8: ["(415) 555-0134", "+1 212 555 0101"]})
    assert changed and "Map anyway" not in out


def test_the_example_uses_this_files_columns_and_the_missing_field() -> None:
    m = wide_mapping()
    m.columns[1].field = None  # no last name now
    m.columns[1].unmapped_key = "Last Name"
    assert example_edit(m) == (2, "lastName")
    assert "2=lastName  send column 2 as lastName" in help_text(m)
    phones = {8: ["(415) 555-0134"]}
    m = wide_mapping()
    m.columns[2].field = None  # no phone: column 9 holds phone numbers
    assert example_edit(m, lambda i: phones.get(i, ["x"])) == (9, "phone")
    assert "e.g. 9=phone" in missing_text(m, lambda i: phones.get(i, ["x"]))


def test_an_export_without_any_phone_numbers_is_said_plainly() -> None:
    m = wide_mapping()
    m.columns[2].field = None
    m.profile = "linkedin"
    no_phones = {i: ["01 Mar 2024"] for i in range(9)}
    text = missing_text(m, lambda i: no_phones[i])
    assert text.startswith("This export has no phone numbers")
    assert "LinkedIn connection exports never do" in text
    # Under the table at once, and again on Enter, which does not go on.
    out = io.StringIO()
    with pytest.raises(ReviewCancelled):
        review_mapping(
            m,
            stdin=io.StringIO("\nq\n"),
            stdout=out,
            style=PLAIN,
            threshold=0.6,
            values=lambda i: no_phones[i],
        )
    assert out.getvalue().count("This export has no phone numbers") == 2


def test_enter_does_not_go_on_while_a_required_field_is_missing() -> None:
    m = wide_mapping()
    apply_edit(m, 2, None)
    out = io.StringIO()
    with pytest.raises(ReviewCancelled):
        review_mapping(m, stdin=io.StringIO("\n\nq\n"), stdout=out, style=PLAIN, threshold=0.6)
    text = out.getvalue()
    assert text.count("Nothing maps to lastName: TitanX would reject every row.") == 3
    assert text.count("If this is right") == 0  # Enter is not offered as the way on


def test_many_unmapped_columns_take_about_two_lines_not_a_screenful() -> None:
    m = Mapping(
        [
            col(0, "First Name", "firstName"),
            col(1, "Last Name", "lastName"),
            col(2, "Phone", "phone"),
            *(col(3 + i, f"Apollo Column Number {i}", None) for i in range(40)),
        ]
    )
    table = mapping_table(m, PLAIN, threshold=0.6, width=80, show_all=False)
    under = table.split("\n\n")[1].splitlines()
    assert len(under) <= 3 and under[0].startswith("Unmapped, sent in unmappedFields (40; ")
    assert re.search(r", and \d+ more$", under[-1])
