"""Writing to the audit log. Every service that changes data or shows personal data calls audit_log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest

from zhipei.audit.models import AuditEntry
from zhipei.core.http import client_ip
from zhipei.lib.crypto import chain_hash

if TYPE_CHECKING:
    from zhipei.accounts.models import User

GENESIS = "0" * 64
# Arbitrary constant naming the PostgreSQL advisory lock that serialises chain appends.
_CHAIN_LOCK = 0x7A68_6970_6569


def audit_log(
    *,
    action: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
    target: models.Model | None = None,
    result: str = AuditEntry.Result.SUCCESS,
    institution_id: int | None = None,
    detail: dict[str, Any] | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Append one entry to the hash chain.

    ``detail`` must never hold personal data in clear: name what was seen, not its value.
    """
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    entry = AuditEntry(
        action=action,
        result=result,
        actor_id=actor.pk if actor else None,
        actor_label=actor.username if actor else actor_label,
        actor_role=actor.role if actor else "",
        institution_id=institution_id
        if institution_id is not None
        else (actor.institution_id if actor else None),
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip=client_ip(request) if request is not None else None,
        detail=detail or {},
        algorithm=settings.ZHIPEI_HASH,
    )
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        entry.prev_hash = last or GENESIS
        entry.hash = chain_hash(entry.prev_hash, entry.canonical_bytes(), hash=entry.algorithm)
        entry.save()
    return entry
