"""Institution console: the live monitor (实时监控) — who is studying right now, refreshed by the
page every few seconds from a JSON endpoint. Viewing it is a read of personal data: audited once
per page load, and again by the endpoint only when the page's entry is older than ten minutes."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.audit.services import audit_log
from zhipei.console.access import own_institution
from zhipei.console.selectors_live import live_monitor
from zhipei.courses.models import TrainingClass
from zhipei.institutions.models import Institution
from zhipei.institutions.scoping import scoped

# The page's audit entry covers the polls that follow it for this long; a page left open (or the
# endpoint called without the page) is logged again after it.
AUDIT_RENEW_SECONDS = 600
_AUDITED_AT = "console.live_audited_at"
BAD_CLASS = gettext_lazy("所选培训班不存在或不属于本机构")


class BadClass(Exception):
    pass


def _classes(user: User) -> QuerySet[TrainingClass]:
    return scoped(TrainingClass.objects.all(), user)


def _chosen_class(request: HttpRequest, user: User) -> TrainingClass | None:
    """The ``class`` filter: empty for all; anything but one of the institution's classes
    (another institution's included, so its existence does not leak) is refused."""
    raw = request.GET.get("class", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 12:
        raise BadClass
    found = _classes(user).filter(pk=int(raw)).first()
    if found is None:
        raise BadClass
    return found


def _snapshot(institution: Institution, chosen: TrainingClass | None) -> dict[str, Any]:
    """``live_monitor``, shared for ``CONSOLE_LIVE_SHARE_SECONDS`` by everyone allowed to see
    it: the reading is the same for every member of staff (no per-user part; who may look, and
    at which class, is checked before this, and the look audited after it as always), so five
    screens on one monitor cost one reading a second, not five every refresh."""
    seconds = settings.CONSOLE_LIVE_SHARE_SECONDS
    if seconds <= 0:
        return live_monitor(institution=institution, training_class=chosen)
    # Its labels are in the active language: a reading is shared within one language only.
    key = f"console.live:{institution.pk}:{chosen.pk if chosen else 0}:{get_language()}"
    data = cache.get(key)
    if data is None:
        data = live_monitor(institution=institution, training_class=chosen)
        cache.set(key, data, timeout=seconds)
    return data


def _audit(request: HttpRequest, chosen: TrainingClass | None, rows: int, via: str) -> None:
    audit_log(
        action="study.live_view",
        request=request,
        detail={"class": chosen.pk if chosen else None, "rows": rows, "via": via},
    )
    request.session[_AUDITED_AT] = time.time()


@require_GET
@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW)
def live(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    error = ""
    try:
        chosen = _chosen_class(request, user)
    except BadClass:
        # Shown on the page; the unfiltered list is safe to show.
        chosen, error = None, str(BAD_CLASS)
    data = _snapshot(institution, chosen)
    _audit(request, chosen, len(data["rows"]), "page")
    return render(
        request,
        "console/live.html",
        {
            **data,
            "classes": _classes(user).order_by("-start_date", "-id").only("pk", "name"),
            "chosen": chosen,
            "error": error,
            "refresh_seconds": settings.CONSOLE_LIVE_REFRESH_SECONDS,
            # The page stops polling after this much time without a click or a key, so an
            # unattended screen still reaches the staff idle logout.
            "idle_seconds": max(60, settings.STAFF_IDLE_MINUTES * 60 - 60),
        },
    )


# Compressed: a thousand rows are about 500 kB of JSON, every few seconds, per open page. (The
# body holds no secret and reflects nothing the client sent but a class id: no BREACH oracle.)
@gzip_page
@never_cache
@require_GET
@require_perm(Perm.CONSOLE, Perm.TRAINEE_VIEW)
def live_data(request: HttpRequest) -> HttpResponse:
    """The rows as JSON, for the page's polling. 400 ``BAD_CLASS`` for a class filter that is
    not one of the institution's classes."""
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    try:
        chosen = _chosen_class(request, user)
    except BadClass:
        return JsonResponse({"ok": False, "code": "BAD_CLASS", "message": BAD_CLASS}, status=400)
    data = _snapshot(institution, chosen)
    audited = request.session.get(_AUDITED_AT)
    if not isinstance(audited, float | int) or time.time() - audited > AUDIT_RENEW_SECONDS:
        _audit(request, chosen, len(data["rows"]), "poll")
    return JsonResponse(
        {
            "ok": True,
            "class": chosen.pk if chosen else None,
            "refresh_seconds": settings.CONSOLE_LIVE_REFRESH_SECONDS,
            **data,
        },
        json_dumps_params={"ensure_ascii": False, "separators": (",", ":")},
    )
