"""Masking of personal data for display and logs, so staff see only what they need."""

import contextlib

from zhipei.lib.phone import InvalidPhone, normalize_mobile

__all__ = ["mask_id_number", "mask_name", "mask_phone"]


def mask_id_number(value: str | None) -> str:
    """Mask an identity number, keeping the area prefix and the last digits.

    18 digits keep 4 + 4 ("3311**********123X"); old 15-digit numbers keep 4 + 3, because
    their 12th digit is still part of the birth date, which must never be shown.
    """
    text = (value or "").strip()
    if len(text) == 18:
        head, tail = 4, 4
    elif len(text) == 15:
        head, tail = 4, 3
    elif len(text) > 6:
        # Not a resident ID (a passport or permit number?): show little of an unknown layout.
        head, tail = 2, 2
    else:
        return "*" * len(text)
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def mask_phone(value: str | None) -> str:
    """Mask a phone number as "138****5678" (first 3 and last 4 digits kept)."""
    text = (value or "").strip()
    if not text:
        return ""
    # Landlines and foreign numbers are masked as they were given.
    with contextlib.suppress(InvalidPhone):
        text = normalize_mobile(text)
    if len(text) < 8:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_name(value: str | None) -> str:
    """Mask a personal name, keeping the first character ("张三丰" -> "张**")."""
    text = (value or "").strip()
    if len(text) <= 1:
        # Showing the only character would reveal the whole name.
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 1)
