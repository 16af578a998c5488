"""统一社会信用代码 (unified social credit code) validation per GB 32100-2015.

Training institutions and employers are identified by this 18-character code.
"""

from zhipei.lib._text import compact
from zhipei.lib.i18n import gettext as _

__all__ = ["CHARSET", "InvalidCreditCode", "make_credit_code", "validate_credit_code"]

# The 31 characters of GB 32100; I, O, Z, S and V are left out as easily misread.
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_INDEX = {char: index for index, char in enumerate(CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


class InvalidCreditCode(ValueError):
    """The text is not a valid unified social credit code; the message is for users."""


def _check_char(first17: str) -> str:
    total = sum(_INDEX[char] * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def _check_body(first17: str) -> None:
    if any(char not in _INDEX for char in first17):
        raise InvalidCreditCode(_("统一社会信用代码含有无效字符（不使用字母I、O、Z、S、V）"))
    # Positions 3-8 hold the six-digit administrative division code (GB/T 2260).
    if not first17[2:8].isascii() or not first17[2:8].isdigit():
        raise InvalidCreditCode(_("统一社会信用代码第3至8位应为数字（登记管理机关行政区划码）"))


def validate_credit_code(value: str) -> str:
    """Validate a unified social credit code and return it stripped and upper-cased."""
    code = compact(value)
    if len(code) != 18:
        raise InvalidCreditCode(_("统一社会信用代码应为18位"))
    _check_body(code[:17])
    if code[17] not in _INDEX:
        raise InvalidCreditCode(_("统一社会信用代码含有无效字符（不使用字母I、O、Z、S、V）"))
    if _check_char(code[:17]) != code[17]:
        raise InvalidCreditCode(_("统一社会信用代码校验位不正确"))
    return code


def make_credit_code(first17: str) -> str:
    """Append the check character to the first 17 characters of a credit code."""
    body = compact(first17)
    if len(body) != 17:
        raise InvalidCreditCode(_("统一社会信用代码本体应为17位"))
    _check_body(body)
    return body + _check_char(body)
