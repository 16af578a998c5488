"""Lesson videos behind short-lived URLs signed for one user, served from storage with Range
support so players can seek without the file ever being public."""

from __future__ import annotations

import mimetypes
import re
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from zhipei.courses.models import Lesson

if TYPE_CHECKING:
    from zhipei.accounts.models import User

SALT = "zhipei.lesson-video"
CHUNK_SIZE = 256 * 1024
# One message for every refusal: whether a link is forged, expired or someone else's is no
# business of whoever holds it.
REFUSED = gettext_lazy("视频链接无效或已过期，请刷新页面后重试")
# A single range only; bounded digits keep int() away from absurd (and slow) numbers.
_RANGE = re.compile(r"bytes=(\d{0,19})-(\d{0,19})")


def lesson_video_url(*, lesson: Lesson, user: User, seconds: int | None = None) -> str:
    """A URL to ``lesson``'s video that works for ``user`` only, for ``seconds``
    (default ``settings.LESSON_URL_SECONDS``)."""
    lifetime = settings.LESSON_URL_SECONDS if seconds is None else seconds
    # The expiry travels inside the signed payload so each URL can have its own lifetime.
    payload = {"l": lesson.pk, "u": user.pk, "x": int(time.time()) + lifetime}
    token = signing.dumps(payload, salt=SALT)
    return reverse("lesson_media:video", kwargs={"token": token})


def _read_token(token: str) -> dict[str, int] | None:
    """The payload of a genuine, unexpired token; otherwise None."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    try:
        lesson_id, user_id, expires = int(payload["l"]), int(payload["u"]), int(payload["x"])
    except (KeyError, TypeError, ValueError):
        return None
    if time.time() > expires:
        return None
    return {"lesson": lesson_id, "user": user_id}


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) byte positions, inclusive, of a single satisfiable range; None if the
    header is malformed, asks for several ranges, or lies outside the file."""
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    start_text, end_text = match.groups()
    if start_text:
        start = int(start_text)
        end = int(end_text) if end_text else size - 1
        if end < start or start >= size:
            return None
        return start, min(end, size - 1)
    if not end_text:
        return None
    suffix = int(end_text)  # "bytes=-n": the last n bytes
    if suffix == 0 or size == 0:
        return None
    return max(size - suffix, 0), size - 1


class _FileSlice:
    """Bytes ``start``..``start + length`` of an open file, read a chunk at a time.

    Django registers ``close`` with the response, so the file is closed even when the client
    goes away before the body is read (a bare generator would not run its ``finally`` then).
    """

    def __init__(self, fh: IO[bytes], start: int, length: int) -> None:
        self.fh = fh
        self.start = start
        self.length = length

    def __iter__(self) -> Iterator[bytes]:
        try:
            self.fh.seek(self.start)
            remaining = self.length
            while remaining > 0:
                chunk = self.fh.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self.fh.close()


def _refused() -> HttpResponse:
    return HttpResponse(str(REFUSED), status=403, content_type="text/plain; charset=utf-8")


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse(status=416)
    response["Content-Range"] = f"bytes */{size}"
    return response


@xframe_options_sameorigin
@require_safe
def lesson_video(request: HttpRequest, token: str) -> HttpResponseBase:
    """The video of the lesson in ``token``, for the user it was signed for."""
    claims = _read_token(token)
    # Bound to the person as well as the time: a copied link is useless to anyone else.
    if claims is None or not request.user.is_authenticated or request.user.pk != claims["user"]:
        return _refused()
    lesson = Lesson.objects.filter(pk=claims["lesson"]).first()
    if lesson is None or not lesson.media:
        raise Http404(_("课时不存在"))
    try:
        size = lesson.media.size
    except FileNotFoundError as exc:
        raise Http404(_("视频文件不存在")) from exc

    first, last = 0, size - 1
    status = 200
    header = request.headers.get("Range")
    # If-Range asks for the range only if the file is unchanged; without validators to compare
    # we cannot tell, and RFC 9110 says to send the whole file then.
    if header and "If-Range" not in request.headers:
        byte_range = _parse_range(header, size)
        if byte_range is None:
            return _unsatisfiable(size)
        first, last = byte_range
        status = 206
    length = max(last - first + 1, 0)

    response: HttpResponseBase
    if request.method == "HEAD":
        response = HttpResponse(status=status)
    else:
        fh: Any = lesson.media.open("rb")
        response = StreamingHttpResponse(_FileSlice(fh, first, length), status=status)
    content_type, _encoding = mimetypes.guess_type(lesson.media.name or "")
    response["Content-Type"] = content_type or "application/octet-stream"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if status == 206:
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    # Signed for one person: no shared or browser cache may keep a copy.
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    # A PDF lesson is shown in a frame of the player page (same origin only).
    response["Content-Security-Policy"] = "frame-ancestors 'self'"
    return response
