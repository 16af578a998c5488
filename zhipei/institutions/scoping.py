"""Tenant isolation, in one place: which institutions a user may see, and queries scoped to them.

Every read of institution data goes through ``scoped``; an object outside the scope is then
simply absent, so views answer 404 and never reveal that it exists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db.models import Model, QuerySet

from zhipei.institutions.models import Institution

if TYPE_CHECKING:
    from zhipei.accounts.models import User

M = TypeVar("M", bound=Model)


def visible_institutions(user: User) -> QuerySet[Institution]:
    """Institution staff see their own; a regulator sees its region and office's kind of
    institution; the platform operator sees all (to run them); everyone else none."""
    from zhipei.accounts.models import Role, User

    if not user.is_authenticated or not isinstance(user, User) or not user.is_active:
        return Institution.objects.none()
    if user.role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN):
        return Institution.objects.filter(pk=user.institution_id or 0)
    if user.role == Role.REGULATOR and user.region is not None:
        qs = Institution.objects.filter(region__code__startswith=user.region.scope_prefix)
        if user.regulator_office == User.RegulatorOffice.TRAINING:
            qs = qs.filter(kind__in=[Institution.Kind.VOCATIONAL, Institution.Kind.BOTH])
        elif user.regulator_office == User.RegulatorOffice.EMPLOYMENT:
            qs = qs.filter(kind__in=[Institution.Kind.ENTREPRENEURSHIP, Institution.Kind.BOTH])
        return qs
    if user.role == Role.OPERATOR:
        return Institution.objects.all()
    return Institution.objects.none()


def scoped(queryset: QuerySet[M], user: User, *, via: str = "institution") -> QuerySet[M]:
    """``queryset`` narrowed to rows whose ``via`` institution the user may see."""
    allowed = visible_institutions(user).values("pk")
    if "__" not in via:
        return queryset.filter(**{f"{via}__in": allowed})
    model = queryset.model
    # A pk subquery rather than a join: no duplicates when ``via`` crosses a many-to-many.
    return queryset.filter(
        pk__in=model._default_manager.filter(**{f"{via}__in": allowed}).values("pk")
    )
