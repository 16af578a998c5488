"""Session rules for logged-in users: idle timeout, and staff passwords that must be changed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zhipei.accounts.permissions import login_url_name
from zhipei.audit.services import audit_log

# Pages a user must still reach while the guard would otherwise redirect them.
PASSWORD_EXEMPT = {"accounts:password_change", "accounts:logout"}
# Refresh the stored activity time at most this often: saves a session write per request.
TOUCH_SECONDS = 30


class SessionGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # request.user is lazy: only look if the view already loaded it (heartbeats never do).
        loaded = getattr(request, "_cached_user", None)
        if loaded is not None and loaded.is_authenticated and "Cache-Control" not in response:
            # Pages behind a login hold personal data: no browser or proxy may keep a copy.
            response["Cache-Control"] = "private, no-store"
        return response

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if getattr(view, "skips_session_guard", False):
            return None  # token-authenticated endpoints never load the login session
        user = request.user
        if not user.is_authenticated:
            return None
        now = time.time()
        last = request.session.get("last_seen")
        idle_minutes = (
            settings.STAFF_IDLE_MINUTES if user.is_staff_role else settings.TRAINEE_IDLE_MINUTES
        )
        if last is not None and now - last > idle_minutes * 60:
            audit_log(action="logout.idle", actor=user, request=request)
            target = login_url_name(user.role)
            logout(request)
            if request.headers.get("accept", "").startswith("application/json"):
                return JsonResponse(
                    {
                        "ok": False,
                        "code": "SESSION_EXPIRED",
                        "message": _("登录已超时，请重新登录"),
                    },
                    status=401,
                )
            messages.info(
                request,
                ngettext(
                    "超过%(minutes)s分钟未操作，已自动退出，请重新登录",
                    "超过%(minutes)s分钟未操作，已自动退出，请重新登录",
                    idle_minutes,
                )
                % {"minutes": idle_minutes},
            )
            return redirect(target)
        if last is None or now - last > TOUCH_SECONDS:
            request.session["last_seen"] = now
        match = request.resolver_match
        name = match.view_name if match else ""
        if user.is_staff_role and user.password_expired() and name not in PASSWORD_EXEMPT:
            messages.warning(request, _("请先修改密码（初始密码或密码已超过有效期）"))
            return redirect("accounts:password_change")
        return None
