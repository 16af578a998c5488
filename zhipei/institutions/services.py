"""Institution writes: onboarding by the platform operator, contact changes by the institution."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest

from zhipei.audit.services import audit_log
from zhipei.institutions.models import Institution

if TYPE_CHECKING:
    from zhipei.accounts.models import User


def institution_create(
    *, by: User, request: HttpRequest | None = None, **fields: Any
) -> Institution:
    with transaction.atomic():
        inst = Institution(**fields)
        inst.full_clean()
        inst.save()
        audit_log(
            action="institution.create",
            actor=by,
            request=request,
            target=inst,
            institution_id=inst.pk,
            detail={"kind": inst.kind, "region": inst.region_id},
        )
    return inst


def institution_update(
    *, institution: Institution, changed: list[str], by: User, request: HttpRequest | None = None
) -> None:
    """Save fields already set on ``institution`` (validated by a form) and audit which changed."""
    if not changed:
        return
    with transaction.atomic():
        institution.save(update_fields=changed)
        audit_log(
            action="institution.update",
            actor=by,
            request=request,
            target=institution,
            institution_id=institution.pk,
            detail={"fields": changed},
        )
