"""A signed token per study session, for the heartbeat endpoint.

Heartbeats are the platform's hottest path (every learner, every 10 s). The player gets this token
when its session starts and sends it with each heartbeat, so the endpoint needs neither the Django
session nor the user row: it checks the signature and locks the study session row it names, which
must belong to the user the token was issued to.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

SALT = "zhipei.study.heartbeat"


def session_token(*, session_id: int, user_id: int) -> str:
    return signing.dumps({"s": session_id, "u": user_id}, salt=SALT, compress=False)


def read_session_token(token: str) -> tuple[int, int] | None:
    """(session id, user id), or None for a forged or expired token."""
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.STUDY_TOKEN_SECONDS)
    except signing.BadSignature:
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("s"), int)
        or not isinstance(data.get("u"), int)
    ):
        return None
    return data["s"], data["u"]
