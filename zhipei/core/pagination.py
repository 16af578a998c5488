"""Server-side pagination, sorting and search for console tables."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


def paginate(request: HttpRequest, queryset: Any, *, per_page: int = 20) -> tuple[Page, str]:
    """The requested page and the other GET parameters, for the pagination links."""
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()


def sort_order(
    request: HttpRequest, columns: dict[str, str], default: str
) -> tuple[list[str], str]:
    """The ORDER BY for ``?sort=key`` or ``?sort=-key`` (descending), ``columns`` mapping the keys a
    table offers to model fields; an unknown key sorts by ``default`` rather than failing. The
    primary key breaks ties so that pages never overlap. Returns the ordering and the key used."""
    key = request.GET.get("sort", "")
    if key.lstrip("-") not in columns:
        key = default
    field = columns[key.lstrip("-")]
    descending = key.startswith("-")
    return [f"-{field}" if descending else field, "-pk" if descending else "pk"], key


def search_text(request: HttpRequest, key: str) -> tuple[str, HttpResponse | None]:
    """The search box's text, kept in the session rather than the URL: a full ID number or
    phone must not land in access logs, browser history or pagination links. A POST stores the
    text and answers with a redirect back to the same page (returned second)."""
    session_key = f"search:{key}"
    if request.method == "POST":
        request.session[session_key] = request.POST.get("q", "").strip()[:50]
        return "", redirect(request.path)
    return request.session.get(session_key, ""), None
