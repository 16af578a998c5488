"""Tests for GB 32100-2015 unified social credit codes."""

import pytest

from zhipei.lib.creditcode import (
    CHARSET,
    InvalidCreditCode,
    make_credit_code,
    validate_credit_code,
)

# Codes as they appear in public registrations; each was checked against the GB 32100
# algorithm independently of this module before being listed here.
REAL_CODES = [
    "91350100M000100Y43",
    "91110108551385082Q",
    "914403001922038216",
    "91440300708461136T",
    "91110000802100433B",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_accepts_real_codes(code):
    assert validate_credit_code(code) == code


@pytest.mark.parametrize("code", REAL_CODES)
def test_make_credit_code_reproduces_the_check_character(code):
    assert make_credit_code(code[:17]) == code


def test_normalises_case_and_spaces():
    assert validate_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert validate_credit_code("9135 0100 M000 100Y 43") == "91350100M000100Y43"


def test_charset_has_the_31_characters_of_the_standard():
    assert len(CHARSET) == 31
    assert not set("IOZSV") & set(CHARSET)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("91350100M000100Y4", "统一社会信用代码应为18位"),
        ("91350100M000100Y433", "统一社会信用代码应为18位"),
        ("", "统一社会信用代码应为18位"),
        ("91350100M000100Y44", "统一社会信用代码校验位不正确"),
        # A widely quoted code that does not satisfy the check character.
        ("913300007125527220", "统一社会信用代码校验位不正确"),
        ("91350100M0001O0Y43", "统一社会信用代码含有无效字符（不使用字母I、O、Z、S、V）"),
        ("91350100M000100YI3", "统一社会信用代码含有无效字符（不使用字母I、O、Z、S、V）"),
        ("91350100M000100Y4Z", "统一社会信用代码含有无效字符（不使用字母I、O、Z、S、V）"),
        ("913A0100M000100Y43", "统一社会信用代码第3至8位应为数字（登记管理机关行政区划码）"),
    ],
)
def test_rejects_invalid_codes_with_a_clear_message(value, message):
    with pytest.raises(InvalidCreditCode) as info:
        validate_credit_code(value)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_every_single_character_substitution_is_detected():
    code = REAL_CODES[0]
    for position in range(18):
        for char in CHARSET:
            if char == code[position]:
                continue
            changed = code[:position] + char + code[position + 1 :]
            with pytest.raises(InvalidCreditCode):
                validate_credit_code(changed)


def test_make_credit_code_validates_its_input():
    with pytest.raises(InvalidCreditCode, match="17位"):
        make_credit_code("9135")
    with pytest.raises(InvalidCreditCode, match="无效字符"):
        make_credit_code("91350100M000100YI")
