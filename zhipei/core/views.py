from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitoring: the process answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


def live(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers, nothing else is touched (no database, no session)."""
    return HttpResponse("ok", content_type="text/plain")
