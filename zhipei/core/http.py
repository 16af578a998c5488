"""Small request/response helpers shared by every app's views."""

from ipaddress import ip_address

from django.conf import settings
from django.http import HttpRequest, JsonResponse


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
