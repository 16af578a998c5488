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


def refusal(code: str, message: str, **extra: object) -> dict[str, Any]:
    """An API refusal's body: a stable machine code plus a Chinese message for people."""
    return {"ok": False, "code": code, "message": message, **extra}


def api_error(code: str, message: str, status: int = 400, **extra: object) -> JsonResponse:
    """An API refusal."""
    return JsonResponse(refusal(code, message, **extra), status=status)


class Refusal(Protocol):
    """What the services raise (FaceError, StudyError, ExamError...)."""

    code: str
    message: str
    status: int


class BadRequest(Exception):
    """A request refused before any service sees it (its body, a field, its credential)."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: object) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.extra = code, message, status, extra


def refusal_of(exc: Refusal) -> dict[str, Any]:
    return refusal(exc.code, exc.message, **getattr(exc, "extra", {}))


def api_refusal(exc: Refusal) -> JsonResponse:
    return JsonResponse(refusal_of(exc), status=exc.status)


def loads_object(raw: bytes) -> dict[str, Any]:
    """A JSON object body, or BadRequest."""
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("MALFORMED_JSON", _("请求内容不是有效的 JSON")) from None
    if not isinstance(data, dict):
        raise BadRequest("MALFORMED_JSON", _("请求内容应为 JSON 对象"))
    return data


def json_object(request: HttpRequest) -> dict[str, Any] | JsonResponse:
    """The request's JSON object body, or the refusal to answer with."""
    try:
        return loads_object(request.body)
    except BadRequest as exc:
        return api_refusal(exc)
