from functools import cache
from hashlib import sha256
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import get_language


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitoring: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def live(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers, nothing else is touched (no database, no session)."""
    return HttpResponse("ok", content_type="text/plain")


@cache
def _catalog_version() -> str:
    """Changes whenever a compiled translation file does (read once per process)."""
    digest = sha256()
    for folder in settings.LOCALE_PATHS:
        for path in sorted(Path(folder).rglob("djangojs.mo")):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def catalog_etag(request: HttpRequest, *args: object, **kwargs: object) -> str:
    """The JavaScript catalog's ETag: its language and the translation files' version."""
    return f"{get_language()}-{_catalog_version()}"
