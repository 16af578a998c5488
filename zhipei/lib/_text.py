"""Shared clean-up of identifiers typed into forms (full-width characters, stray spaces)."""

import re
import unicodedata

_WHITESPACE = re.compile(r"\s+")


def compact(value: str) -> str:
    """Return ``value`` NFKC-normalised, without any whitespace, in upper case.

    Chinese input methods often produce full-width digits and letters (１２３Ｘ) or an
    ideographic space; NFKC folds those to ASCII so that validation sees what the user meant.
    """
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).upper()
