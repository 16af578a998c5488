"""The institution console: staff of one institution see only that institution's data."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.accounts.selectors import trainee_search, trainees_visible_to
from zhipei.audit.services import audit_log
from zhipei.console.catalogue_views import catalogue_forms
from zhipei.console.forms import InstitutionContactForm
from zhipei.core.pagination import paginate, search_text, sort_order
from zhipei.courses.selectors import courses_visible_to
from zhipei.institutions.scoping import visible_institutions
from zhipei.institutions.services import institution_update

# Columns a table may be sorted by (?sort=key, -key descending) -> model fields.
TRAINEE_SORTS = {"name": "user__name", "created": "created_at"}
COURSE_SORTS = {"title": "title", "kind": "kind", "theory": "theory_hours", "created": "created_at"}


@require_perm(Perm.CONSOLE)
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {
        "institution": user.institution,
        "trainee_count": trainees_visible_to(user).count(),
        "staff_count": User.objects.filter(institution=user.institution, is_active=True).count(),
    }
    return render(request, "console/home.html", context)


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW)
def trainees(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    query, done = search_text(request, "console.trainees")
    if done:
        return done
    ordering, sort = sort_order(request, TRAINEE_SORTS, "-created")
    qs = trainee_search(trainees_visible_to(user), query).order_by(*ordering)
    page, query_string = paginate(request, qs)
    # The search text may itself be an ID number: log that a search happened, not its value.
    audit_log(
        action="trainee.list",
        request=request,
        detail={"searched": bool(query), "page": page.number},
    )
    return render(
        request,
        "console/trainees.html",
        {"page_obj": page, "query_string": query_string, "q": query, "sort": sort},
    )


@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW)
def trainee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    profile = get_object_or_404(trainees_visible_to(user), pk=pk)
    audit_log(action="trainee.view", request=request, target=profile)
    memberships = profile.memberships.filter(institution=user.institution).select_related(
        "institution"
    )
    return render(
        request,
        "console/trainee_detail.html",
        {
            "profile": profile,
            "memberships": memberships,
            "can_reveal": user.has_perm(Perm.TRAINEE_PII_FULL),
        },
    )


@never_cache
@require_POST
@require_perm(Perm.CONSOLE, Perm.TRAINEE_PII_FULL)
def trainee_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The unmasked ID number and phone, for one trainee, once; every use is audited."""
    user: User = request.user  # type: ignore[assignment]
    profile = get_object_or_404(trainees_visible_to(user), pk=pk)
    audit_log(
        action="trainee.pii_full_view",
        request=request,
        target=profile,
        detail={"fields": ["id_number", "phone"]},
    )
    return render(
        request,
        "console/trainee_detail.html",
        {
            "profile": profile,
            "revealed": True,
            "memberships": profile.memberships.filter(institution=user.institution).select_related(
                "institution"
            ),
        },
    )


@require_perm(Perm.CONSOLE)
def institution(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    inst = get_object_or_404(visible_institutions(user), pk=user.institution_id)
    can_edit = user.has_perm(Perm.INSTITUTION_EDIT_OWN)
    form = (
        InstitutionContactForm(request.POST if request.method == "POST" else None, instance=inst)
        if can_edit
        else None
    )
    if request.method == "POST":
        if form is None:
            return HttpResponse(status=403)
        if form.is_valid():
            institution_update(
                institution=form.save(commit=False),
                changed=form.changed_data,
                by=user,
                request=request,
            )
            messages.success(request, _("机构信息已保存"))
            return redirect("console:institution")
    return render(request, "console/institution.html", {"institution": inst, "form": form})


@require_perm(Perm.CONSOLE)
def courses(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    ordering, sort = sort_order(request, COURSE_SORTS, "-created")
    page, query_string = paginate(request, courses_visible_to(user).order_by(*ordering))
    return render(
        request,
        "console/courses.html",
        {"page_obj": page, "query_string": query_string, "sort": sort},
    )


@require_perm(Perm.CONSOLE)
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    course = get_object_or_404(courses_visible_to(user), pk=pk)
    chapters = course.chapters.prefetch_related("lessons__questions")
    context: dict[str, object] = {
        "course": course,
        "chapters": chapters,
        "can_edit": user.has_perm(Perm.CATALOGUE),
    }
    if context["can_edit"]:
        context.update(catalogue_forms(course))
    return render(request, "console/course_detail.html", context)
