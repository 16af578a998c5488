"""The study ledger's reason codes as people read them (the labels live beside the codes, in
zhipei.study.ledger), and durations as people read them: the console timeline, the dossier's PDF
and CSVs use them."""

from __future__ import annotations

from django.utils.translation import ngettext

from zhipei.study import ledger


def reason_label(code: str) -> str:
    """The Chinese label of a ledger reason code; an unknown code is shown as it is."""
    return str(ledger.REASON_LABELS.get(code, code))


def duration_text(seconds: float | None) -> str:
    """``3725`` → ``1小时2分5秒``; under a minute ``45秒``; nothing → ``0秒``."""
    total = round(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(n)s小时", "%(n)s小时", hours) % {"n": hours})
    if minutes:
        parts.append(ngettext("%(n)s分", "%(n)s分", minutes) % {"n": minutes})
    if secs or not parts:
        parts.append(ngettext("%(n)s秒", "%(n)s秒", secs) % {"n": secs})
    return "".join(parts)
