"""Tests for GB 11643-1999 identity numbers."""

from datetime import date

import pytest

from zhipei.lib.idnumber import (
    IdNumber,
    InvalidIdNumber,
    compute_check_digit,
    is_valid_id_number,
    parse_id_number,
)

TODAY = date(2025, 6, 1)


def test_parses_the_standard_example_with_x_check_digit():
    # The example number printed in GB 11643-1999 itself.
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    assert parsed == IdNumber(
        number="11010519491231002X",
        birth_date=date(1949, 12, 31),
        sex="F",
        area_code="110105",
    )


def test_parses_the_second_standard_example_born_1880():
    parsed = parse_id_number("440524188001010014", today=TODAY)
    assert parsed.birth_date == date(1880, 1, 1)
    assert parsed.sex == "M"
    assert parsed.area_code == "440524"


def test_converts_an_old_15_digit_number():
    parsed = parse_id_number("110105491231002", today=TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "F"


@pytest.mark.parametrize(
    "typed",
    ["11010519491231002x", " 110105 19491231 002X ", "１１０１０５１９４９１２３１００２Ｘ"],
)
def test_tolerates_lower_case_spaces_and_full_width_input(typed):
    assert parse_id_number(typed, today=TODAY).number == "11010519491231002X"


def test_check_digit_computation_matches_the_standard_examples():
    assert compute_check_digit("11010519491231002") == "X"
    assert compute_check_digit("44052418800101001") == "4"
    with pytest.raises(InvalidIdNumber):
        compute_check_digit("1101051949123100")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("110105194912310021", "身份证号校验位不正确"),
        ("11010519490231002X", "身份证号中的出生日期无效"),  # no 31 February
        ("110105194913010029", "身份证号中的出生日期无效"),  # month 13
        ("110105203001010027", "身份证号中的出生日期无效"),  # after TODAY
        ("110105184912310024", "身份证号中的出生日期无效"),  # before 1850
        ("710105194912310021", "身份证号地区码无效"),
        ("010105194912310021", "身份证号地区码无效"),
        ("1101051949123100A2", "身份证号只能包含数字，最后一位可以是X"),
        ("11010519491231002", "身份证号应为18位（或旧版15位）"),
        ("11010519491231002XX", "身份证号应为18位（或旧版15位）"),
        ("", "身份证号应为18位（或旧版15位）"),
        ("11010549123100X", "旧版15位身份证号只能包含数字"),
        ("110105490231002", "身份证号中的出生日期无效"),
    ],
)
def test_rejects_invalid_numbers_with_a_clear_message(value, message):
    with pytest.raises(InvalidIdNumber) as info:
        parse_id_number(value, today=TODAY)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_the_check_digit_catches_every_single_digit_typo():
    number = "11010519491231002X"
    for position in range(17):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            typo = number[:position] + digit + number[position + 1 :]
            with pytest.raises(InvalidIdNumber):
                parse_id_number(typo, today=TODAY)


def test_hong_kong_macau_taiwan_residence_permits_are_accepted():
    first17 = "81000019900101001"
    number = first17 + compute_check_digit(first17)
    assert parse_id_number(number, today=TODAY).area_code == "810000"


def test_default_today_rejects_a_birth_date_in_the_future():
    first17 = "11010521000101001"
    assert not is_valid_id_number(first17 + compute_check_digit(first17))


def test_is_valid_id_number():
    assert is_valid_id_number("11010519491231002X")
    assert not is_valid_id_number("110105194912310021")
    assert not is_valid_id_number("abc")


@pytest.mark.parametrize(
    ("day", "age"),
    [
        (date(1950, 12, 30), 0),
        (date(1950, 12, 31), 1),
        (date(2024, 12, 30), 74),
        (date(2024, 12, 31), 75),
    ],
)
def test_age_on_counts_full_years(day, age):
    assert parse_id_number("11010519491231002X", today=TODAY).age_on(day) == age


def test_age_on_a_leap_day_birthday():
    first17 = "11010520000229001"
    person = parse_id_number(first17 + compute_check_digit(first17), today=TODAY)
    assert person.age_on(date(2018, 2, 28)) == 17
    assert person.age_on(date(2018, 3, 1)) == 18


def test_age_on_before_birth_is_an_error():
    person = parse_id_number("11010519491231002X", today=TODAY)
    with pytest.raises(ValueError):
        person.age_on(date(1949, 12, 30))
