"""Objective grading of one frozen paper item against what the trainee gave (no Django).

Single choice and true/false: the one right option. Multiple choice: exactly the right set,
nothing for a partly right set (the usual rule of vocational theory exams). Fill-in: each blank
is right when its normalised text equals one of the accepted answers, and the item earns its
share of the score per right blank."""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

_SPACE = re.compile(r"\s+")
# Punctuation that NFKC leaves full-width but a trainee types either way.
_PUNCT = str.maketrans(
    {"。": ".", "，": ",", "、": ",", "；": ";", "：": ":", "－": "-"}
)  # i18n: data


def normalise_fill(text: str) -> str:
    """Full-width → half-width (NFKC), no spaces at all, case folded, common punctuation unified."""
    folded = unicodedata.normalize("NFKC", text).translate(_PUNCT)
    return _SPACE.sub("", folded).casefold()


def given_indexes(item: dict[str, Any], given: Any) -> list[int] | None:
    """The bank indexes a choice answer means (the trainee answers in the order shown)."""
    if not isinstance(given, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in given
    ):
        return None
    perm: list[int] = item["perm"]
    if any(not 0 <= i < len(perm) for i in given) or len(set(given)) != len(given):
        return None
    return sorted(perm[i] for i in given)


def valid_answer(item: dict[str, Any], given: Any) -> bool:
    """Whether ``given`` is a well-formed answer to ``item`` (right or wrong)."""
    kind = item["kind"]
    if kind == "fill":
        return (
            isinstance(given, list)
            and len(given) == len(item["answer"])
            and all(isinstance(g, str) and len(g) <= 200 for g in given)
        )
    indexes = given_indexes(item, given)
    if indexes is None:
        return False
    return len(indexes) <= 1 if kind in ("single", "judge") else True


def grade_item(item: dict[str, Any], given: Any) -> Decimal:
    """Points earned (0.1 precision); an absent or malformed answer earns nothing."""
    score = Decimal(item["score"])
    if given is None or not valid_answer(item, given):
        return Decimal(0)
    if item["kind"] == "fill":
        blanks = item["answer"]
        right = sum(
            1
            for text, accepted in zip(given, blanks, strict=True)
            if normalise_fill(text) in {normalise_fill(a) for a in accepted}
        )
        return (score * right / len(blanks)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return score if given_indexes(item, given) == sorted(item["answer"]) else Decimal(0)
