"""Catalogue reads, scoped to the institutions the user may see."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, QuerySet

from zhipei.courses.models import Course
from zhipei.institutions.scoping import scoped

if TYPE_CHECKING:
    from zhipei.accounts.models import User


def courses_visible_to(user: User) -> QuerySet[Course]:
    return scoped(Course.objects.order_by("-created_at", "-id"), user).annotate(
        lesson_count=Count("chapters__lessons")
    )
