"""Reading the audit log: filtering for the auditor and verifying the hash chain."""

from __future__ import annotations

from dataclasses import dataclass

from zhipei.audit.models import AuditEntry
from zhipei.audit.services import GENESIS, entry_hash


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
        if entry.prev_hash != previous or entry.hash != entry_hash(entry):
            return ChainReport(checked=checked, first_bad_id=entry.pk)
        previous = entry.hash
        checked += 1
    return ChainReport(checked=checked, first_bad_id=None)
