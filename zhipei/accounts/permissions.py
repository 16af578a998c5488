"""Named permissions and which role holds which (三员分立 for the platform roles).

The operator runs the platform but cannot read the audit log; the auditor reads the audit log
and can change nothing; the security officer manages accounts' security, not data.
"""

from collections.abc import Callable
from enum import StrEnum
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from zhipei.accounts.models import Role


class Perm(StrEnum):
    STUDY = "study"  # use the trainee site
    CONSOLE = "console.access"
    TRAINEE_VIEW = "trainee.view"  # masked identity
    TRAINEE_PII_FULL = "trainee.pii_full"  # unmasked ID number and phone; every use audited
    # Export a trainee's whole record (一人一档: records, face evidence); every export audited.
    TRAINEE_DOSSIER = "trainee.dossier"
    # Enrol the photo on file, approve re-enrolments, resolve duplicate faces.
    FACE_MANAGE = "face.manage"
    CATALOGUE = "catalogue.edit"  # courses, chapters, lesson videos, pop-up questions
    CLASS_MANAGE = "class.manage"  # classes and their trainees
    INSTITUTION_EDIT_OWN = "institution.edit_own"
    PORTAL = "portal.access"
    SUPERVISE = "supervise.read"  # read-only view across institutions in the region
    OPS = "ops.access"
    INSTITUTION_MANAGE = "institution.manage"
    SECURITY_MANAGE = "security.manage"
    AUDIT_VIEW = "audit.view"


ROLE_PERMISSIONS: dict[str, frozenset[Perm]] = {
    Role.TRAINEE: frozenset({Perm.STUDY}),
    Role.INSTRUCTOR: frozenset({Perm.CONSOLE, Perm.TRAINEE_VIEW, Perm.CATALOGUE}),
    Role.INSTITUTION_ADMIN: frozenset(
        {
            Perm.CATALOGUE,
            Perm.CLASS_MANAGE,
            Perm.CONSOLE,
            Perm.TRAINEE_VIEW,
            Perm.TRAINEE_PII_FULL,
            Perm.TRAINEE_DOSSIER,
            Perm.INSTITUTION_EDIT_OWN,
            Perm.FACE_MANAGE,
        }
    ),
    Role.REGULATOR: frozenset({Perm.PORTAL, Perm.SUPERVISE, Perm.TRAINEE_VIEW}),
    Role.OPERATOR: frozenset({Perm.OPS, Perm.INSTITUTION_MANAGE}),
    Role.SECURITY: frozenset({Perm.OPS, Perm.SECURITY_MANAGE}),
    Role.AUDITOR: frozenset({Perm.OPS, Perm.AUDIT_VIEW}),
}

# Where each face's login page lives, for redirects of anonymous visitors.
LOGIN_URL_FOR_PERM = {
    Perm.STUDY: "trainee:login",
    Perm.CONSOLE: "console:login",
    Perm.PORTAL: "portal:login",
    Perm.OPS: "ops:login",
}


def role_has_perm(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def require_perm(*perms: Perm, login: str = "trainee:login") -> Callable[..., Any]:
    """The view needs a logged-in user holding every one of ``perms``; else login or 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                target = next(
                    (LOGIN_URL_FOR_PERM[p] for p in perms if p in LOGIN_URL_FOR_PERM), login
                )
                return redirect_to_login(request, target)
            if not all(request.user.has_perm(p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def redirect_to_login(request: HttpRequest, login_url_name: str) -> HttpResponse:
    from django.contrib.auth.views import redirect_to_login as django_redirect
    from django.urls import reverse

    return django_redirect(request.get_full_path(), reverse(login_url_name))


def login_url_name(role: str) -> str:
    """The login page of the face a user of ``role`` belongs to."""
    if role == Role.TRAINEE:
        return "trainee:login"
    if role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN):
        return "console:login"
    if role == Role.REGULATOR:
        return "portal:login"
    return "ops:login"


def home_url_name(role: str) -> str:
    """Where a user lands after logging in."""
    if role == Role.TRAINEE:
        return "trainee:home"
    if role in (Role.INSTRUCTOR, Role.INSTITUTION_ADMIN):
        return "console:home"
    if role == Role.REGULATOR:
        return "portal:home"
    return "ops:home"
