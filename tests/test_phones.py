"""Phone normalisation: every format exports produce, what Excel breaks, regions and speed paths."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumber

from csvscore.contacts import phones
from csvscore.contacts.phones import (
    SAFE_TEST_NUMBERS,
    PhoneResult,
    describe_region,
    normalise_phone,
    region_for_country,
)

US = "+14155550134"


@pytest.mark.parametrize(
    "raw",
    [
        "4155550134",
        "415-555-0134",
        "415.555.0134",
        "(415) 555-0134",
        "(415)555-0134",
        "415/555/0134",
        "+1 415 555 0134",
        "+1 (415) 555-0134",
        "+14155550134",
        "1-415-555-0134",
        "14155550134",
        "1 415 555 0134",
        "'+1 415 555 0134",  # Apollo's text guard
        "'4155550134",
        "4155550134.0",  # Excel float
        "4155550134.00",
        "  415 555 0134  ",
        "\u00a0415\u00a0555\u00a00134\u00a0",  # non-breaking spaces
        "415\u202f555\u202f0134",
        "\t415-555-0134\n",
        "tel:+1-415-555-0134",
        "TEL:4155550134",
        '="4155550134"',  # CSV text guard for Excel
        "4,155,550,134",  # number-formatted column with thousands separators
        "415-555-0134 (Mobile)",
    ],
)
def test_formats_normalise_to_e164(raw: str) -> None:
    assert normalise_phone(raw) == PhoneResult(US, None, True, None)


@pytest.mark.parametrize(
    ("raw", "extension"),
    [
        ("415-555-0134 x204", "204"),
        ("415-555-0134x204", "204"),
        ("415-555-0134 X 204", "204"),
        ("(415) 555-0134 ext. 12", "12"),
        ("415 555 0134 ext 12", "12"),
        ("415-555-0134 Ext: 7", "7"),
        ("415-555-0134 extension 5", "5"),
        ("415-555-0134 #204", "204"),
        ("415-555-0134,204", "204"),
        ("+1 415 555 0134 x 204", "204"),
        ("'+1 415 555 0134 ext. 99", "99"),
        ("tel:+1-415-555-0134;ext=204", "204"),
    ],
)
def test_extensions_are_split_off(raw: str, extension: str) -> None:
    result = normalise_phone(raw)
    assert result.number == US
    assert result.extension == extension
    assert result.valid_us


@pytest.mark.parametrize("raw", ["4.15555E+09", "4.15555e+09", "4.1555501E+09", "1.41556E+10"])
def test_excel_rounded_scientific_notation_is_not_sent(raw: str) -> None:
    result = normalise_phone(raw)
    assert result.number is None
    assert not result.valid_us
    assert result.problem == (
        f"'{raw}' looks like a number Excel rounded; re-export with the column as text"
    )


@pytest.mark.parametrize(
    ("raw", "digits"),
    [("4.155550134E+09", "4155550134"), ("4.155550134e9", "4155550134"),
     ("1.4155550134E+10", "14155550134")],
)  # fmt: skip
def test_scientific_notation_with_every_digit_is_recovered(raw: str, digits: str) -> None:
    result = normalise_phone(raw)
    assert result.number == US
    assert result.valid_us
    assert result.problem is None
    assert result.note == f"'{raw}' read as {digits} (Excel scientific notation, all digits kept)"


def test_scientific_notation_with_a_trailing_zero_cannot_be_told_from_rounding() -> None:
    # 4155550130 written as 4.15555013E+09: the last digit could have been anything.
    assert normalise_phone("4.15555013E+09").number is None


def test_fraction_is_not_a_phone_number() -> None:
    assert normalise_phone("1.5") == PhoneResult(None, None, False, "'1.5' is not a phone number")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("abc", "'abc' is not a phone number"),
        ("n/a", "'n/a' is not a phone number"),
        ("-", "'-' is not a phone number"),
        ("'", "''' is not a phone number"),
        ("12345", "'12345' is not a valid number (too few digits)"),
        ("999-555-0134", "'999-555-0134' is not a valid number"),  # no such area code
        ("415-555-0134 after 5pm", "'415-555-0134 after 5pm' is not a phone number"),
    ],
)
def test_garbage_has_a_reason(raw: str, problem: str) -> None:
    assert normalise_phone(raw) == PhoneResult(None, None, False, problem)


@pytest.mark.parametrize("raw", ["", "   ", "\u00a0"])
def test_empty_is_nothing_not_a_problem(raw: str) -> None:
    assert normalise_phone(raw) == PhoneResult(None, None, False, None)


def test_canadian_number_with_country_canada_is_valid_but_not_us() -> None:
    result = normalise_phone("416-555-0134", region_for_country("Canada"))
    assert result == PhoneResult("+14165550134", None, False, None)
    assert describe_region(result.number or "") == "CA"


def test_canadian_area_code_is_not_us_whatever_the_row_says() -> None:
    # North America shares +1: the area code decides, so a US row does not make it US.
    assert normalise_phone("(416) 555-0134", "US") == PhoneResult("+14165550134", None, False, None)


def test_uk_number_in_uk_row() -> None:
    result = normalise_phone("020 7946 0958", region_for_country("United Kingdom"))
    assert result == PhoneResult("+442079460958", None, False, None)
    assert describe_region("+442079460958") == "GB"


def test_international_prefix_wins_over_row_region() -> None:
    assert normalise_phone("+44 20 7946 0958", "US").number == "+442079460958"
    assert normalise_phone("+1 415 555 0134", "GB").number == US


def test_us_number_in_a_foreign_row_is_read_as_us() -> None:
    # Exports often carry the company's country beside a US direct dial.
    assert normalise_phone("415-555-0134", "GB") == PhoneResult(US, None, True, None)
    assert normalise_phone("4155550134", "FR").valid_us


def test_number_valid_in_the_row_country_stays_there() -> None:
    # The same digits are a valid German number: the row's country decides, as documented.
    assert normalise_phone("4155550134", "DE") == PhoneResult("+494155550134", None, False, None)


def test_region_is_case_insensitive_and_empty_means_us() -> None:
    assert normalise_phone("020 7946 0958", "gb").number == "+442079460958"
    assert normalise_phone("415 555 0134", "").number == US


def test_several_numbers_in_one_cell_sends_the_first_usable_one() -> None:
    result = normalise_phone("415-555-0134; 415-555-0199")
    assert result.number == US
    assert result.note == (
        "'415-555-0134; 415-555-0199' holds 2 numbers; sent +14155550134, not '415-555-0199'"
    )
    skipped_bad = normalise_phone("12345 / 415-555-0199 / 212-555-0100")
    assert skipped_bad.number == "+14155550199"
    assert "not '12345', '212-555-0100'" in (skipped_bad.note or "")
    assert normalise_phone("999-555-0134 | 999-555-0135").problem == (
        "'999-555-0134 | 999-555-0135' holds no valid number"
    )


def test_fictional_555_01xx_range_is_valid_us_everywhere() -> None:
    # Fixtures across the project rely on this: 555-0100..0199 must not be skipped.
    for area in ("415", "212", "617", "202", "312", "646", "713", "305", "206", "512"):
        for line in range(100, 200):
            result = normalise_phone(f"{area}-555-0{line}")
            assert result.valid_us, result


def test_safe_test_numbers_are_valid_in_their_regions() -> None:
    for region, numbers in SAFE_TEST_NUMBERS.items():
        for number in numbers:
            parsed = phonenumbers.parse(number, None)
            assert phonenumbers.is_valid_number(parsed), number
            assert phonenumbers.region_code_for_number(parsed) == region, number
            assert normalise_phone(number).valid_us == (region == "US")


def test_fast_us_check_agrees_with_phonenumbers() -> None:
    rng = random.Random(20240501)
    samples = [f"{rng.randint(200, 999)}{rng.randint(0, 9_999_999):07d}" for _ in range(20_000)]
    samples += [f"{area}5550134" for area in range(200, 1000)]  # every area code once
    for national in samples:
        number = PhoneNumber(country_code=1, national_number=int(national))
        expected = phonenumbers.is_valid_number_for_region(number, "US")
        assert phones._valid_us_national(national) == expected, national


def test_fast_path_gives_the_same_result_as_the_full_parse() -> None:
    rng = random.Random(7)
    formats = ["{}{}{}", "({}) {}-{}", "+1 {}.{}.{}", "1-{}-{}-{}", "'+1 {} {} {}", "{}{}{}.0"]
    for _ in range(2_000):
        area = str(rng.choice([415, 212, 416, 604, 809, 999, 555, 800, 900, 201]))
        text = rng.choice(formats).format(
            area, rng.randint(200, 999), f"{rng.randint(0, 9999):04d}"
        )
        slow = phones._normalise_slow(text, text, "US")
        assert normalise_phone(text) == slow, text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("0123456789 +-().xX#,;'eE/tel:\u00a0abc"), max_size=30))
def test_never_raises_and_only_returns_valid_e164(raw: str) -> None:
    result = normalise_phone(raw)
    if result.number is not None:
        assert result.problem is None
        parsed = phonenumbers.parse(result.number, None)
        assert phonenumbers.is_valid_number(parsed)
        assert result.number == phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.E164
        )
    elif raw.strip():
        assert result.problem


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("United States", "US"), ("USA", "US"), ("US", "US"), ("U.S.A.", "US"), ("u.s.", "US"),
        ("United States of America", "US"), ("", "US"), (None, "US"), ("  usa ", "US"),
        ("Canada", "CA"), ("CA", "CA"), ("CAN", "CA"),
        ("United Kingdom", "GB"), ("UK", "GB"), ("GB", "GB"), ("England", "GB"),
        ("Germany", "DE"), ("de", "DE"), ("FR", "FR"), ("Australia", "AU"), ("Mexico", "MX"),
        ("Narnia", "US"), ("ZZ", "US"), ("123", "US"),
    ],
)  # fmt: skip
def test_region_for_country(country: str | None, region: str) -> None:
    assert region_for_country(country) == region
