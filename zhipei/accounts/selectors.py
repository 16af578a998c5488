"""Account reads: consent state, trainee search through blind indexes."""

from __future__ import annotations

from django.db.models import QuerySet

from zhipei.accounts.models import (
    ConsentDocument,
    ConsentRecord,
    TraineeProfile,
    User,
    id_number_index,
    phone_index,
)
from zhipei.institutions.scoping import scoped
from zhipei.lib.idnumber import InvalidIdNumber, parse_id_number
from zhipei.lib.phone import InvalidPhone, normalize_mobile


def consent_current(kind: str) -> ConsentDocument | None:
    return ConsentDocument.objects.filter(kind=kind).order_by("-effective_at", "-id").first()


def consent_given(user: User, kind: str) -> bool:
    """True when the user's latest decision on ``kind`` accepts its current version."""
    current = consent_current(kind)
    if current is None:
        return False
    latest = (
        ConsentRecord.objects.filter(user=user, document__kind=kind).order_by("-at", "-id").first()
    )
    return (
        latest is not None
        and latest.action == ConsentRecord.Action.ACCEPT
        and latest.document_id == current.pk
    )


def trainees_visible_to(user: User) -> QuerySet[TraineeProfile]:
    """Trainees of the institutions the user may see (see institutions.scoping)."""
    qs = TraineeProfile.objects.select_related("user")
    return scoped(qs, user, via="memberships__institution")


def trainee_search(qs: QuerySet[TraineeProfile], query: str) -> QuerySet[TraineeProfile]:
    """An exact ID number or phone goes through the blind index; anything else matches names."""
    query = query.strip()
    if not query:
        return qs
    try:
        number = parse_id_number(query).number
    except InvalidIdNumber:
        pass
    else:
        return qs.filter(id_number_index=id_number_index(number))
    try:
        phone = normalize_mobile(query)
    except InvalidPhone:
        pass
    else:
        return qs.filter(user__phone_index=phone_index(phone))
    return qs.filter(user__name__contains=query)


def locked_accounts() -> QuerySet[User]:
    from django.utils import timezone

    return User.objects.filter(locked_until__gt=timezone.now()).order_by("locked_until")
