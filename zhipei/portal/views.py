"""The regulator portal: read-only supervision across the institutions of the region.

Every read here crosses tenants on purpose, so every read is audited.
"""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.accounts.selectors import trainee_search, trainees_visible_to
from zhipei.audit.services import audit_log
from zhipei.core.pagination import paginate, search_text
from zhipei.faces.selectors import alerts_visible_to
from zhipei.institutions.models import Institution
from zhipei.institutions.scoping import visible_institutions


@require_perm(Perm.PORTAL, Perm.SUPERVISE)
def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    institutions = visible_institutions(user)
    by_kind = dict(institutions.values_list("kind").annotate(n=Count("id")).order_by())
    context = {
        "institution_count": institutions.count(),
        "by_kind": [(label, by_kind.get(value, 0)) for value, label in Institution.Kind.choices],
        "trainee_count": trainees_visible_to(user).count(),
    }
    audit_log(action="supervise.overview", request=request)
    return render(request, "portal/home.html", context)


@require_perm(Perm.PORTAL, Perm.SUPERVISE)
def institutions(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    qs = (
        visible_institutions(user)
        .select_related("region")
        .annotate(trainee_count=Count("memberships"))
    )
    kind = request.GET.get("kind", "")
    if kind in Institution.Kind.values:
        qs = qs.filter(kind=kind)
    query = request.GET.get("q", "").strip()[:50]
    if query:
        qs = qs.filter(name__contains=query)
    page, query_string = paginate(request, qs.order_by("region_id", "name"))
    audit_log(action="supervise.institution_list", request=request, detail={"page": page.number})
    return render(
        request,
        "portal/institutions.html",
        {
            "page_obj": page,
            "query_string": query_string,
            "q": query,
            "kind": kind,
            "kinds": Institution.Kind.choices,
        },
    )


@require_perm(Perm.PORTAL, Perm.SUPERVISE)
def institution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    inst = get_object_or_404(visible_institutions(user).select_related("region"), pk=pk)
    query, done = search_text(request, f"portal.institution.{inst.pk}")
    if done:
        return done
    trainees = trainee_search(
        trainees_visible_to(user).filter(memberships__institution=inst), query
    )
    page, query_string = paginate(request, trainees.order_by("-created_at", "-id"))
    audit_log(
        action="supervise.institution_view", request=request, target=inst, institution_id=inst.pk
    )
    return render(
        request,
        "portal/institution_detail.html",
        {
            "institution": inst,
            "page_obj": page,
            "query_string": query_string,
            "q": query,
            "staff": User.objects.filter(institution=inst, is_active=True).order_by("role", "name"),
        },
    )


@require_perm(Perm.PORTAL, Perm.SUPERVISE)
def alerts(request: HttpRequest) -> HttpResponse:
    """Fraud alerts (e.g. one face on two accounts) of the institutions in the regulator's area."""
    user: User = request.user  # type: ignore[assignment]
    page, query_string = paginate(request, alerts_visible_to(user))
    audit_log(action="supervise.alerts", request=request, detail={"page": page.number})
    return render(request, "portal/alerts.html", {"page_obj": page, "query_string": query_string})
