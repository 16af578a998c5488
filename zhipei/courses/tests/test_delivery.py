"""Lesson video delivery: signed per-user, short-lived URLs, Range requests, streaming, and a
real Chromium reading the video's metadata through one."""

import io
import time

import pytest
from django.core import signing
from django.core.files import File
from django.test import Client

from conftest import client_for
from zhipei.courses import delivery
from zhipei.courses.delivery import lesson_video_url
from zhipei.courses.models import Chapter
from zhipei.courses.services import lesson_create_with_video
from zhipei.lib.video import generate_lesson_video

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def video_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("video") / "l.mp4"
    generate_lesson_video(path, seconds=2, width=320, height=180)
    return path


@pytest.fixture
def lesson(personas, video_file):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    with video_file.open("rb") as fh:
        return lesson_create_with_video(
            chapter=chapter, title="第一讲", video=File(fh, name="l.mp4"), by=personas.admin
        )


@pytest.fixture
def data(video_file) -> bytes:
    return video_file.read_bytes()


@pytest.fixture
def trainee_client(personas) -> Client:
    return client_for(personas.trainee)


@pytest.fixture
def url(lesson, personas) -> str:
    return lesson_video_url(lesson=lesson, user=personas.trainee)


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_url_shape_and_lifetime_setting(lesson, personas, settings, monkeypatch):
    url = lesson_video_url(lesson=lesson, user=personas.trainee)
    assert url.startswith("/media/lesson/") and url.endswith("/")
    token = url.removeprefix("/media/lesson/").removesuffix("/")
    assert "/" not in token
    assert signing.loads(token, salt="zhipei.lesson-video")["l"] == lesson.pk
    # Without ``seconds`` the setting decides how long the link lives.
    settings.LESSON_URL_SECONDS = 5
    short = lesson_video_url(lesson=lesson, user=personas.trainee)
    client = client_for(personas.trainee)
    assert client.get(short).status_code == 200
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 6)
    assert client.get(short).status_code == 403


def test_full_get_streams_the_file(trainee_client, url, data):
    response = trainee_client.get(url)
    assert response.status_code == 200
    assert response.streaming is True
    assert body(response) == data
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(data))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Range" not in response


def test_first_hundred_bytes(trainee_client, url, data):
    response = trainee_client.get(url, HTTP_RANGE="bytes=0-99")
    assert response.status_code == 206
    assert response.streaming is True
    got = body(response)
    assert len(got) == 100 and got == data[:100]
    assert response["Content-Range"] == f"bytes 0-99/{len(data)}"
    assert response["Content-Length"] == "100"
    assert response["Content-Type"] == "video/mp4"


@pytest.mark.parametrize(
    ("header", "piece"),
    [
        ("bytes=100-", slice(100, None)),
        ("bytes=-50", slice(-50, None)),
        ("bytes=10-10", slice(10, 11)),
        ("bytes=200-299999999", slice(200, None)),  # an end past the file is clamped
        ("bytes=-99999999", slice(0, None)),  # a suffix longer than the file is all of it
    ],
)
def test_ranges(trainee_client, url, data, header, piece):
    response = trainee_client.get(url, HTTP_RANGE=header)
    assert response.status_code == 206
    expected = data[piece]
    assert body(response) == expected
    first = len(data) - len(expected) if piece.start is None or piece.start < 0 else piece.start
    last = first + len(expected) - 1
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(data)}"
    assert response["Content-Length"] == str(len(expected))


@pytest.mark.parametrize(
    "header",
    [
        "bytes=999999999-",  # past the end
        "bytes=-0",  # an empty suffix
        "bytes=abc",
        "bytes=5-1",
        "bytes=-",
        "bytes=0-1,5-9",  # several ranges are not supported
        "items=0-9",
        "bytes 0-9",
        "bytes=" + "9" * 5000 + "-",  # too long for int() in Python 3.11; must not be a 500
    ],
)
def test_unsatisfiable_or_malformed_range_is_416(trainee_client, url, data, header):
    response = trainee_client.get(url, HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"
    assert response.content == b""


def test_range_equal_to_size_is_unsatisfiable(trainee_client, url, data):
    assert trainee_client.get(url, HTTP_RANGE=f"bytes={len(data)}-").status_code == 416
    last = trainee_client.get(url, HTTP_RANGE=f"bytes={len(data) - 1}-")
    assert last.status_code == 206 and body(last) == data[-1:]


def test_if_range_sends_the_whole_file(trainee_client, url, data):
    # No validators are offered, so a conditional range cannot be confirmed: whole file.
    response = trainee_client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"x"')
    assert response.status_code == 200 and body(response) == data


def test_head_has_headers_and_no_body(trainee_client, url, data):
    response = trainee_client.head(url)
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Type"] == "video/mp4"
    assert response["Accept-Ranges"] == "bytes"
    ranged = trainee_client.head(url, HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and ranged.content == b""
    assert ranged["Content-Range"] == f"bytes 0-99/{len(data)}"
    assert ranged["Content-Length"] == "100"


def test_body_is_read_in_chunks(trainee_client, url, data, monkeypatch):
    monkeypatch.setattr(delivery, "CHUNK_SIZE", 1000)
    chunks = list(trainee_client.get(url).streaming_content)
    assert len(chunks) == -(-len(data) // 1000)
    assert all(len(c) <= 1000 for c in chunks)
    assert b"".join(chunks) == data


def test_file_is_closed_even_if_the_body_is_never_read():
    fh = io.BytesIO(b"0123456789")
    piece = delivery._FileSlice(fh, 2, 3)
    piece.close()
    assert fh.closed
    fh = io.BytesIO(b"0123456789")
    assert b"".join(delivery._FileSlice(fh, 2, 3)) == b"234" and fh.closed


def test_expired_token_is_refused(trainee_client, lesson, personas):
    response = trainee_client.get(
        lesson_video_url(lesson=lesson, user=personas.trainee, seconds=-1)
    )
    assert response.status_code == 403
    text = response.content.decode()
    assert "过期" in text and str(lesson.pk) not in text
    assert response["Content-Type"].startswith("text/plain")


def test_token_expires_with_the_clock(trainee_client, url, monkeypatch):
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 599)
    assert trainee_client.get(url).status_code == 200
    monkeypatch.setattr(time, "time", lambda: now + 601)
    assert trainee_client.get(url).status_code == 403


def test_tampered_tokens_are_refused(trainee_client, url, lesson, personas):
    token = url.removeprefix("/media/lesson/").removesuffix("/")
    payload, stamp, signature = token.rsplit(":", 2)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_salt = signing.dumps(
        {"l": lesson.pk, "u": personas.trainee.pk, "x": int(time.time()) + 600}, salt="other"
    )
    for bad in (f"{payload}:{stamp}:{flipped}", f"{payload}x:{stamp}:{signature}", other_salt):
        response = trainee_client.get(f"/media/lesson/{bad}/")
        assert response.status_code == 403, bad
        assert "Signature" not in response.content.decode()


def test_only_the_user_it_was_signed_for_gets_the_video(personas, url):
    got = {"anon": Client().get(url).status_code}
    got |= {name: client_for(user).get(url).status_code for name, user in personas.all().items()}
    assert got == {
        "anon": 403,
        **{name: 403 for name in personas.all()},
        "trainee": 200,
    }
    assert "过期" in Client().get(url).content.decode()


def test_a_copied_link_does_not_work_for_another_trainee(personas, url):
    assert client_for(personas.trainee_b).get(url).status_code == 403
    assert client_for(personas.trainee).get(url).status_code == 200


def test_post_is_not_allowed(trainee_client, url):
    assert trainee_client.post(url).status_code == 405
    assert trainee_client.put(url).status_code == 405


def test_missing_lesson_or_file_is_404(trainee_client, lesson, personas):
    gone_file = lesson_video_url(lesson=lesson, user=personas.trainee)
    lesson.video.storage.delete(lesson.video.name)
    assert trainee_client.get(gone_file).status_code == 404
    gone_lesson = lesson_video_url(lesson=lesson, user=personas.trainee)
    lesson.delete()
    assert trainee_client.get(gone_lesson).status_code == 404


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_chromium_reads_the_video_metadata(live_server, personas, video_file, browser_page):
    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    with video_file.open("rb") as fh:
        lesson = lesson_create_with_video(
            chapter=chapter, title="第一讲", video=File(fh, name="l.mp4"), by=personas.admin
        )
    url = lesson_video_url(lesson=lesson, user=personas.trainee)
    client = Client()
    client.force_login(personas.trainee, backend="zhipei.accounts.backends.ZhipeiBackend")
    page = browser_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    statuses: list[int] = []
    page.on("response", lambda r: "/media/lesson/" in r.url and statuses.append(r.status))
    # A page of the site itself, so its Content-Security-Policy (media-src 'self') applies.
    page.goto(f"{live_server.url}/")
    # One evaluate that waits for the event: the page's CSP forbids the eval() a string
    # predicate in wait_for_function needs. Headless playback may not advance the clock, so
    # only metadata is checked.
    meta = page.evaluate(
        """(src) => new Promise((resolve, reject) => {
            const video = document.createElement("video");
            video.preload = "metadata";
            video.muted = true;
            const done = () => resolve({readyState: video.readyState, duration: video.duration});
            video.addEventListener("loadedmetadata", done);
            video.addEventListener("error", () => reject(new Error("video error " +
                (video.error && video.error.code))));
            setTimeout(() => reject(new Error("no metadata after 15 s")), 15000);
            video.src = src;
            document.body.appendChild(video);
        })""",
        f"{live_server.url}{url}",
    )
    assert meta["readyState"] >= 1
    duration = meta["duration"]
    assert duration == pytest.approx(2, abs=0.2)
    assert statuses and set(statuses) <= {200, 206}
    assert page.console_errors == []
