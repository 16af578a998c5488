"""Face reads, scoped by institution like everything else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from zhipei.faces.models import FaceAttempt, FaceTemplate, FraudAlert
from zhipei.institutions.scoping import scoped

if TYPE_CHECKING:
    from zhipei.accounts.models import TraineeProfile, User
    from zhipei.institutions.models import Institution

PENDING = [FaceTemplate.Status.PENDING_APPROVAL, FaceTemplate.Status.PENDING_DUPLICATE]


def trainee_home_institution(profile: TraineeProfile) -> Institution | None:
    """The institution a trainee's own face actions belong to: the one they joined first."""
    membership = (
        profile.memberships.select_related("institution").order_by("joined_at", "id").first()
    )
    return membership.institution if membership else None


def attempts_visible_to(user: User) -> QuerySet[FaceAttempt]:
    return scoped(FaceAttempt.objects.select_related("trainee__user", "institution"), user)


def pending_templates_visible_to(user: User) -> QuerySet[FaceTemplate]:
    qs = FaceTemplate.objects.filter(status__in=PENDING).select_related("trainee__user")
    return scoped(qs, user).order_by("created_at")


def alerts_visible_to(user: User) -> QuerySet[FraudAlert]:
    qs = FraudAlert.objects.select_related(
        "trainee__user", "other_trainee__user", "institution", "template"
    )
    return scoped(qs, user).order_by("-created_at", "-id")


def enrolled_face_count() -> int:
    """People whose face the platform holds (for the cyberspace-office filing threshold)."""
    return (
        FaceTemplate.objects.filter(status__in=[FaceTemplate.Status.ACTIVE, *PENDING])
        .values("trainee")
        .distinct()
        .count()
    )
