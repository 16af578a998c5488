"""居民身份证号 (resident identity card number) parsing and validation per GB 11643-1999.

Also converts old 15-digit numbers to the 18-digit form.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from zhipei.lib._text import compact
from zhipei.lib.i18n import gettext as _

__all__ = [
    "EARLIEST_BIRTH_DATE",
    "IdNumber",
    "InvalidIdNumber",
    "compute_check_digit",
    "is_valid_id_number",
    "parse_id_number",
]

# Old residents may carry numbers with 19th-century birth dates; 1850 keeps real ones valid
# while still rejecting obvious typos such as year 0190.
EARLIEST_BIRTH_DATE = date(1850, 1, 1)

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE_18 = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_SHAPE_15 = re.compile(r"[0-9]{15}", re.ASCII)
# 1-6: mainland provinces; 8: residence permits for Hong Kong, Macau and Taiwan residents.
_AREA_FIRST_DIGITS = frozenset("1234568")
# Birth dates are civil dates in China (UTC+8, no daylight saving time).
_CHINA_TZ = timezone(timedelta(hours=8))


class InvalidIdNumber(ValueError):
    """The text is not a valid resident identity card number; the message is for users."""


@dataclass(frozen=True)
class IdNumber:
    """A validated 18-digit identity number and what it encodes."""

    number: str
    birth_date: date
    sex: str  # "M" or "F"
    area_code: str

    def age_on(self, day: date) -> int:
        """Return the age in full years (周岁) on ``day``."""
        if day < self.birth_date:
            raise ValueError(_("所给日期早于出生日期"))
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)


def compute_check_digit(first17: str) -> str:
    """Return the GB 11643 check character ("0"-"9" or "X") for 17 leading digits."""
    if not re.fullmatch(r"[0-9]{17}", first17, re.ASCII):
        raise InvalidIdNumber(_("身份证号前17位应全部为数字"))
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def parse_id_number(value: str, *, today: date | None = None) -> IdNumber:
    """Validate an 18- or old 15-digit identity number and return its parts.

    Spaces and full-width characters are tolerated and a lower-case ``x`` is accepted.
    ``today`` (default: the current date in China) bounds the birth date from above.
    """
    text = compact(value)
    if len(text) == 15:
        if not _SHAPE_15.fullmatch(text):
            raise InvalidIdNumber(_("旧版15位身份证号只能包含数字"))
        # The old format has a two-digit year (always 19xx) and no check digit.
        first17 = text[:6] + "19" + text[6:]
        text = first17 + compute_check_digit(first17)
        check_given = False
    elif len(text) == 18:
        if not _SHAPE_18.fullmatch(text):
            raise InvalidIdNumber(_("身份证号只能包含数字，最后一位可以是X"))
        check_given = True
    else:
        raise InvalidIdNumber(_("身份证号应为18位（或旧版15位）"))

    area_code = text[:6]
    if area_code[0] not in _AREA_FIRST_DIGITS:
        raise InvalidIdNumber(_("身份证号地区码无效"))

    try:
        birth_date = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidIdNumber(_("身份证号中的出生日期无效")) from None
    if today is None:
        today = datetime.now(_CHINA_TZ).date()
    if not EARLIEST_BIRTH_DATE <= birth_date <= today:
        raise InvalidIdNumber(_("身份证号中的出生日期无效"))

    if check_given and compute_check_digit(text[:17]) != text[17]:
        raise InvalidIdNumber(_("身份证号校验位不正确"))

    # The sequence code's last digit is odd for men and even for women.
    sex = "M" if int(text[16]) % 2 else "F"
    return IdNumber(number=text, birth_date=birth_date, sex=sex, area_code=area_code)


def is_valid_id_number(value: str) -> bool:
    """Return True when ``value`` parses as an identity number."""
    try:
        parse_id_number(value)
    except InvalidIdNumber:
        return False
    return True
