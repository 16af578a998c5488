"""Server-side pagination for console tables; nonsense page numbers fall back to a valid page."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, queryset: Any, *, per_page: int = 20) -> tuple[Page, str]:
    """The requested page and the other GET parameters, for the pagination links."""
    page = Paginator(queryset, per_page).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return page, params.urlencode()
