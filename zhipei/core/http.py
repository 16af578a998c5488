"""Small request/response helpers shared by every app's views."""

import json
from ipaddress import ip_address
from typing import Any, Protocol

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _


def client_ip(request: HttpRequest) -> str | None:
    """The caller's IP; X-Forwarded-For is believed only behind a configured reverse proxy, and
    then only its last entry, the one our proxy appended (the client writes the ones before)."""
    raw = request.META.get("REMOTE_ADDR", "")
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            raw = forwarded.split(",")[-1].strip()
    try:
        return str(ip_address(raw))
    except ValueError:
        return None


def api_error(code: str, message: str, status: int = 400, **extra: object) -> JsonResponse:
    """An API refusal: a stable machine code plus a Chinese message for people."""
    return JsonResponse({"ok": False, "code": code, "message": message, **extra}, status=status)


class Refusal(Protocol):
    """What the services raise (FaceError, StudyError, ExamError...)."""

    code: str
    message: str
    status: int


def api_refusal(exc: Refusal) -> JsonResponse:
    return api_error(exc.code, exc.message, status=exc.status)


def json_object(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    """The request's JSON object body, or the refusal to answer with."""
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return api_error("MALFORMED_JSON", _("请求内容不是有效的 JSON"))
    if not isinstance(data, dict):
        return api_error("MALFORMED_JSON", _("请求内容应为 JSON 对象"))
    return data
