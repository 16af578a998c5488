"""Tests for mobile-number normalisation and personal-data masking."""

import pytest

from zhipei.lib.masking import mask_id_number, mask_name, mask_phone
from zhipei.lib.phone import InvalidPhone, normalize_mobile


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "86-138-1234-5678",
        "8613812345678",
        "0086 13812345678",
        "１３８１２３４５６７８",
        " 138-1234-5678 ",
    ],
)
def test_normalize_mobile_accepts_common_spellings(typed):
    assert normalize_mobile(typed) == "13812345678"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # second digit 2 is not a mobile prefix
        "23812345678",
        "010-12345678",  # landline
        "+85261234567",  # Hong Kong
        "1381234567a",
        "138１２３４５６７８x",
        "86138123456",  # "86" followed by only 9 digits is not a country code
    ],
)
def test_normalize_mobile_rejects_other_numbers(value):
    with pytest.raises(InvalidPhone) as info:
        normalize_mobile(value)
    assert str(info.value) == "手机号码格式不正确（应为11位中国大陆手机号）"
    assert isinstance(info.value, ValueError)


def test_mask_id_number_hides_the_birth_date():
    assert mask_id_number("33110219900101123X") == "3311**********123X"
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    # In a 15-digit number the 12th digit is still the birth day.
    assert mask_id_number("110105491231002") == "1101********002"


def test_mask_id_number_other_shapes_and_empty():
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("12345") == "*****"
    assert mask_id_number("") == ""
    assert mask_id_number(None) == ""


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("010-12345678") == "010*****5678"
    assert mask_phone("1234") == "****"
    assert mask_phone("") == ""
    assert mask_phone(None) == ""


def test_mask_name():
    assert mask_name("张三丰") == "张**"
    assert mask_name("李四") == "李*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("阿依古丽·买买提") == "阿*******"
    assert mask_name("王") == "*"
    assert mask_name(" 李四 ") == "李*"
    assert mask_name("") == ""
    assert mask_name(None) == ""
