"""A sortable column header: ``{% sort_header "name" "姓名" %}`` links to the same page sorted
by that column (ascending, or descending when it already is), keeping the other parameters."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_header(context: dict[str, Any], key: str, label: str) -> str:
    request = context["request"]
    current = context.get("sort", "")
    params = request.GET.copy()
    params.pop("page", None)
    params["sort"] = f"-{key}" if current == key else key
    mark = " ▲" if current == key else " ▼" if current == f"-{key}" else ""
    state = "ascending" if current == key else "descending" if current == f"-{key}" else "none"
    return format_html(
        '<a class="sort-link" href="?{}" aria-sort="{}">{}{}</a>',
        params.urlencode(),
        state,
        label,
        mark,
    )
