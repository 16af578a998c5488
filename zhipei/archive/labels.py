"""The study ledger's reason codes as people read them (the labels live beside the codes, in
zhipei.study.ledger), and durations as people read them: the console timeline, the dossier's PDF
and CSVs use them."""

from __future__ import annotations

from zhipei.study import ledger


def reason_label(code: str) -> str:
    """The Chinese label of a ledger reason code; an unknown code is shown as it is."""
    return ledger.REASON_LABELS.get(code, code)


def duration_text(seconds: float | None) -> str:
    """``3725`` → ``1小时2分5秒``; under a minute ``45秒``; nothing → ``0秒``."""
    total = round(seconds or 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}小时")
    if minutes:
        parts.append(f"{minutes}分")
    if secs or not parts:
        parts.append(f"{secs}秒")
    return "".join(parts)
