"""Reading the audit log: filtering for the auditor and verifying the hash chain."""

from __future__ import annotations

from dataclasses import dataclass

from zhipei.audit.models import AuditEntry
from zhipei.audit.services import GENESIS
from zhipei.lib.crypto import chain_hash


@dataclass
class ChainReport:
    checked: int
    first_bad_id: int | None

    @property
    def ok(self) -> bool:
        return self.first_bad_id is None


def audit_chain_verify(*, batch_size: int = 2000) -> ChainReport:
    """Recompute every hash in id order; the first entry that does not chain is reported."""
    previous = GENESIS
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        expected = chain_hash(previous, entry.canonical_bytes(), hash=entry.algorithm)
        if entry.prev_hash != previous or entry.hash != expected:
            return ChainReport(checked=checked, first_bad_id=entry.pk)
        previous = entry.hash
        checked += 1
    return ChainReport(checked=checked, first_bad_id=None)
