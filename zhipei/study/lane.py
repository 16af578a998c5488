"""The heartbeat's own lane, in front of Django's request handling.

Every learner's player sends a heartbeat every 10 to 15 seconds: at scale, heartbeats are most of
the platform's requests. Under gunicorn, Django's handling of a request (its request and response
objects, URL resolution, the middleware, the signals) was about a third of a heartbeat's CPU
(docs/STUDY.md, Capacity), and almost none of it does anything for a heartbeat: it is
authenticated by its signed token, not by the Django session, the user or a CSRF cookie
(study/tokens.py), and it renders nothing. So ``zhipei.wsgi`` answers ``POST`` to the heartbeat URL
here, with the same code as the Django view (``study.views.heartbeat_answer``), and hands every
other request to Django.

What the lane keeps of Django's handling, and how:

- the host check (``ALLOWED_HOSTS``) and the HTTPS redirect (``SECURE_SSL_REDIRECT``): a request
  that fails either is handed to Django, which refuses or redirects it;
- the response headers of the middleware that set them (``HEADER_MIDDLEWARE``): the lane runs
  those middleware once per process, for HTTP and for HTTPS, and sends what they set;
- what Django's receivers of ``request_started`` and ``request_finished`` do for a heartbeat:
  recycle database connections (``close_old_connections``: ``CONN_MAX_AGE``, health checks),
  called directly, once, after the answer (Django calls it before and after every request; after
  is what arms the health check of the next request's first statement). The signals are not sent (their dispatch was a tenth of the lane's CPU), so
  a receiver of them does not see heartbeats; the other receivers Django connects reset what a
  heartbeat does not use (the query log of ``DEBUG``, the URLconf, the cache connections);
- logging to ``django.request`` as Django logs answers: refusals (a forged token, a bad body) as
  warnings, errors with their trace, ``got_request_exception`` sent, and answered 500 with a
  stable code.

Every other middleware in ``settings.MIDDLEWARE`` must be listed in ``NOT_FOR_HEARTBEATS`` with
the reason a heartbeat does not need it; a test fails on any middleware that is in neither list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from zhipei.core.http import refusal

# Must agree with study/urls.py (a test checks it against reverse()).
PATH = re.compile(r"/study/api/sessions/([0-9]{1,18})/heartbeat/")

HEADER_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "zhipei.core.middleware.content_security_policy",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
)
NOT_FOR_HEARTBEATS = {
    "whitenoise.middleware.WhiteNoiseMiddleware": "serves static files only",
    "django.contrib.sessions.middleware.SessionMiddleware": "the token is the credential",
    "django.middleware.common.CommonMiddleware": "the URL is exact; no slash to add",
    "django.middleware.csrf.CsrfViewMiddleware": "the view is CSRF-exempt: no cookie is used",
    "django.contrib.auth.middleware.AuthenticationMiddleware": "the token is the credential",
    "zhipei.accounts.middleware.SessionGuardMiddleware": "the view skips the session guard",
    "django.contrib.messages.middleware.MessageMiddleware": "a heartbeat shows no messages",
}

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class HeartbeatLane:
    """WSGI middleware: heartbeats answered here, every other request by ``app``."""

    def __init__(self, app: Callable[..., Any]) -> None:
        from zhipei.study.views import HEARTBEAT_MAX_BYTES, heartbeat_answer

        self.app = app
        self.answer = heartbeat_answer
        self.max_bytes = HEARTBEAT_MAX_BYTES
        self.headers: dict[bool, list[tuple[str, str]]] = {}  # by request.is_secure()
        # Tests replace it, as Django's test client disconnects it from the request signals:
        # their transaction outlives a request.
        self.recycle_connections = close_old_connections

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = (
            PATH.fullmatch(environ.get("PATH_INFO", ""))
            if environ.get("REQUEST_METHOD") == "POST"
            else None
        )
        if match is None:
            return self.app(environ, start_response)
        request = WSGIRequest(environ)
        try:
            request.get_host()
        except DisallowedHost:
            return self.app(environ, start_response)
        secure = request.is_secure()
        if settings.SECURE_SSL_REDIRECT and not secure:
            return self.app(environ, start_response)
        error: Exception | None = None
        try:
            status, answer = self.answer(
                int(match[1]),
                environ.get("HTTP_X_STUDY_TOKEN", ""),
                request.read(self.max_bytes + 1),
            )
        except Exception as exc:
            signals.got_request_exception.send(sender=self.__class__, request=request)
            status, answer = 500, refusal("SERVER_ERROR", _("服务器内部错误，请稍后重试"))
            error = exc
        finally:
            self.recycle_connections()
        if status >= 400:  # as Django logs them: a warning for 4xx, an error with the trace for 5xx
            log_response(
                "%s: %s",
                HTTPStatus(status).phrase,
                request.path,
                response=HttpResponse(status=status),
                request=request,
                exception=error,
            )
        body = json.dumps(answer).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *self._headers(request, secure),
            ],
        )
        return [body]

    def _headers(self, request: HttpRequest, secure: bool) -> list[tuple[str, str]]:
        """What ``HEADER_MIDDLEWARE`` set on a JSON answer to such a request."""
        headers = self.headers.get(secure)
        if headers is None:
            handler: Callable[[HttpRequest], HttpResponse] = lambda r: HttpResponse(  # noqa: E731
                content_type="application/json"
            )
            for path in reversed(HEADER_MIDDLEWARE):
                handler = import_string(path)(handler)
            response = handler(request)
            headers = [
                (name, value)
                for name, value in response.items()
                if name not in ("Content-Type", "Content-Length")
            ]
            self.headers[secure] = headers
        return headers
