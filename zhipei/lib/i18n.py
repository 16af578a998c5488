"""Translation hooks for the plain-Python helpers.

Messages here are marked with the usual names (``_``/``gettext``, ``gettext_lazy``), so that
``makemessages`` finds them. Inside the platform they are translated by Django; in scripts and
benchmarks that never set Django up, the text is returned unchanged instead of raising
``ImproperlyConfigured``. Only ``django.utils.functional`` is imported at module level, and it
needs no settings.
"""

from typing import TYPE_CHECKING

from django.utils.functional import lazy

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise

__all__ = ["gettext", "gettext_lazy"]


def gettext(message: str) -> str:
    """Django's ``gettext`` once settings and apps are ready, otherwise ``message`` itself."""
    from django.apps import apps
    from django.conf import settings

    if not settings.configured or not apps.ready:
        return message
    from django.utils.translation import gettext as django_gettext

    return django_gettext(message)


_lazy_gettext = lazy(gettext, str)


def gettext_lazy(message: str) -> "_StrPromise":
    """Lazy ``gettext``: translated each time it is used as text (module-level tables)."""
    return _lazy_gettext(message)  # type: ignore[return-value]
