"""Writing to the audit log. Every service that changes data or shows personal data calls audit_log."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest

from zhipei.audit.models import AuditEntry
from zhipei.core.crypto import audit_chain_key
from zhipei.core.http import client_ip
from zhipei.lib.crypto import chain_hash

if TYPE_CHECKING:
    from zhipei.accounts.models import User

GENESIS = "0" * 64
head_log = logging.getLogger("zhipei.audit.head")
_LABEL = re.compile(r"^[A-Za-z0-9_.@-]{1,40}$")


def _safe_label(text: str) -> str:
    """A login attempt's typed username is kept only if it looks like one: people type
    passwords into the username box, and those must not land in the log."""
    # Stored in the hash-chained log in place of a username: a fixed value, not in the language
    # of whoever happened to send the request.
    return text if _LABEL.match(text) else ("（无效用户名）" if text else "")  # i18n: data


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
        actor_label=actor.username if actor else _safe_label(actor_label),
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
    # No savepoint inside the caller's transaction: an entry that cannot be written fails the
    # whole change it records (and saves two round trips on every audited action).
    with transaction.atomic(savepoint=False):
        entry.prev_hash = _chain_head()
        entry.hash = entry_hash(entry)
        entry.save()
    # The head also goes to the log stream, outside the database: truncating the newest entries
    # (which the chain alone cannot reveal) shows against the shipped log.
    head_log.info("audit head id=%s hash=%s", entry.pk, entry.hash)
    return entry


def _chain_head() -> str:
    """Lock the chain for the rest of the transaction and read its newest hash. Every audited
    action runs this: two plain statements on one cursor, no ORM query to build."""
    with connection.cursor() as cursor:
        _lock(cursor, "audit-chain")
        cursor.execute(
            f"SELECT hash FROM {AuditEntry._meta.db_table} ORDER BY id DESC LIMIT 1"  # noqa: S608
        )
        row = cursor.fetchone()
    return row[0] if row else GENESIS


def entry_hash(entry: AuditEntry) -> str:
    return chain_hash(
        entry.prev_hash, entry.canonical_bytes(), hash=entry.algorithm, key=audit_chain_key()
    )


def db_lock(name: str) -> None:
    """Serialise the rest of the current transaction against others taking the same lock.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: its transactions are IMMEDIATE (see
    settings), so writers are already serialised.
    """
    with connection.cursor() as cursor:
        _lock(cursor, name)


def _lock(cursor: Any, name: str) -> None:
    if connection.vendor == "postgresql":
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])
