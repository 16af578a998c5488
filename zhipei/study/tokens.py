"""A signed token per study session, for the heartbeat endpoint.

Heartbeats are the platform's hottest path (every learner, every 10 s). The player gets this token
when its session starts and sends it with each heartbeat, so the endpoint needs neither the Django
session nor the user row: it checks the signature and reads the study session row it names, which
must belong to the trainee (and user) the token was issued to.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from django.conf import settings
from django.core import signing

SALT = "zhipei.study.heartbeat"


class Claims(NamedTuple):
    session_id: int
    user_id: int
    # The user's TraineeProfile: lets the heartbeat check ownership on the session row itself,
    # without a join. None in tokens issued before it was added (the locked path checks those).
    trainee_id: int | None


def session_token(*, session_id: int, user_id: int, trainee_id: int | None = None) -> str:
    claims: dict[str, int] = {"s": session_id, "u": user_id}
    if trainee_id is not None:
        claims["t"] = trainee_id
    return signing.dumps(claims, salt=SALT, compress=False)


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# Tokens whose signature checked out, with the time they were signed: a player sends the same
# token with every heartbeat, and the signature check (key derivation, HMAC, base64, JSON) was
# a tenth of a heartbeat's CPU. Per process; the lifetime is checked on every use.
_verified: dict[str, tuple[Claims, int]] = {}
_VERIFIED_MAX = 20_000


def read_session_token(token: str) -> Claims | None:
    """The token's claims, or None for a forged or expired token."""
    hit = _verified.get(token)
    if hit is None:
        try:
            data = signing.loads(token, salt=SALT)  # the signature; the age is checked below
        except signing.BadSignature:
            return None
        if not isinstance(data, dict) or not _is_id(data.get("s")) or not _is_id(data.get("u")):
            return None
        trainee = data.get("t")
        if trainee is not None and not _is_id(trainee):
            return None
        # payload:timestamp:signature, as signing.dumps made it (the signature covers both).
        signed_at = signing.b62_decode(token.rsplit(":", 2)[1])
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        hit = _verified[token] = (Claims(data["s"], data["u"], trainee), signed_at)
    claims, signed_at = hit
    if time.time() - signed_at > settings.STUDY_TOKEN_SECONDS:
        return None
    return claims
