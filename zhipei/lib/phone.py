"""Mainland-China mobile numbers: accept what people type, store the plain 11 digits."""

import re
import unicodedata

from zhipei.lib.i18n import gettext as _

__all__ = ["InvalidPhone", "normalize_mobile"]

_MOBILE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
# Separators people put between digit groups: spaces of any width and dashes.
_SEPARATORS = re.compile(r"[\s\-]+")


class InvalidPhone(ValueError):
    """The text is not a mainland mobile number; the message is for users."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            _("手机号码格式不正确（应为11位中国大陆手机号）") if message is None else message
        )


def normalize_mobile(value: str) -> str:
    """Return the 11 digits of a mainland mobile number.

    Accepts an optional country code ("+86", "0086" or "86") and spaces or dashes,
    e.g. "+86 138-1234-5678" -> "13812345678".
    """
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    for prefix in ("+86", "0086"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    else:
        # A bare "86" is only a country code when 11 digits follow it.
        if len(text) == 13 and text.startswith("86"):
            text = text[2:]
    if not _MOBILE.fullmatch(text):
        raise InvalidPhone()
    return text
