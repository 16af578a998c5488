"""Personas for every test: a trainee, staff of institution A, an admin of institution B who
must see nothing of A's, county and city regulators, and the three platform roles."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from zhipei.accounts.models import ConsentDocument, ConsentRecord, Role, User
from zhipei.core.tests.factories import InstitutionFactory, UserFactory, make_trainee
from zhipei.courses.models import Course
from zhipei.institutions.models import Institution, Region

# Fixtures of one app that other apps' tests use too (an exam, its paper and bank).
pytest_plugins = ["zhipei.exams.tests.fixtures"]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """SQLite tests use a database file in memory-backed /dev/shm, not an in-memory database:
    Django's live server hands an in-memory database's one connection to all its request
    threads, and two requests at once (a heartbeat during a face check) then break each other's
    savepoints. With a file, each thread has its own connection and SQLite's own locking applies,
    as in a real deployment."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        shm = Path("/dev/shm")  # noqa: S108 - a per-process file name, removed after the run
        folder = shm if shm.is_dir() else Path(tempfile.gettempdir())
        db.setdefault("TEST", {})["NAME"] = str(folder / f"zhipei-test-{os.getpid()}.sqlite3")


@pytest.fixture(autouse=True)
def _test_environment(settings, tmp_path):
    """Fast hashing, an empty cache, uploads and evidence in a temporary directory; the live
    monitor read afresh on every request (tests change sessions between two reads; the shared
    reading has its own test)."""
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONSOLE_LIVE_SHARE_SECONDS = 0
    cache.clear()
    from zhipei.study.policy import clear_policy_cache

    clear_policy_cache()
    from zhipei.exams.services import clear_pool_cache

    clear_pool_cache()


@pytest.fixture(autouse=True)
def _reference_data(request):
    """Transactional tests (live server, browser) end with a flush that also empties the
    reference data the migrations seed (regions, consent texts). Put it back, if missing, for
    every database test that follows on this worker."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None or "db" in request.fixturenames:
        request.getfixturevalue(
            "transactional_db" if marker and marker.kwargs.get("transaction") else "db"
        )
        from zhipei.institutions.models import Region

        if not Region.objects.exists():
            import importlib

            from django.apps import apps

            for module in (
                "zhipei.institutions.migrations.0002_lishui_regions",
                "zhipei.accounts.migrations.0002_consent_texts",
            ):
                importlib.import_module(module).seed(apps, None)
    yield


@dataclass
class Personas:
    inst_a: Institution
    inst_b: Institution
    trainee: User
    trainee_b: User
    instructor: User
    admin: User
    other_admin: User
    county_regulator: User
    city_regulator: User
    operator: User
    security: User
    auditor: User
    course: Course

    def all(self) -> dict[str, User]:
        return {k: v for k, v in vars(self).items() if isinstance(v, User)}


def _staff(username: str, role: str, **fields) -> User:
    user = UserFactory(username=username, name=username, role=role, **fields)
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = timezone.now()
    user.save()
    return user


@pytest.fixture
def personas(db) -> Personas:
    inst_a = InstitutionFactory(name="莲都职业技能培训学校", kind=Institution.Kind.VOCATIONAL)
    inst_b = InstitutionFactory(
        name="青田创业培训中心",
        kind=Institution.Kind.ENTREPRENEURSHIP,
        region=Region.objects.get(code="331121"),
    )
    trainee = make_trainee(inst_a, name="张三")
    trainee_b = make_trainee(inst_b, name="李四")
    consent = ConsentDocument.objects.get(kind="personal_info")
    for t in (trainee, trainee_b):
        ConsentRecord.objects.create(user=t, document=consent, action=ConsentRecord.Action.ACCEPT)
    return Personas(
        inst_a=inst_a,
        inst_b=inst_b,
        trainee=trainee,
        trainee_b=trainee_b,
        instructor=_staff("instructor_a", Role.INSTRUCTOR, institution=inst_a),
        admin=_staff("admin_a", Role.INSTITUTION_ADMIN, institution=inst_a),
        other_admin=_staff("admin_b", Role.INSTITUTION_ADMIN, institution=inst_b),
        county_regulator=_staff(
            "reg_liandu",
            Role.REGULATOR,
            region_id="331102",
            regulator_office=User.RegulatorOffice.TRAINING,
        ),
        city_regulator=_staff(
            "reg_lishui",
            Role.REGULATOR,
            region_id="331100",
            regulator_office=User.RegulatorOffice.ALL,
        ),
        operator=_staff("operator", Role.OPERATOR),
        security=_staff("security", Role.SECURITY),
        auditor=_staff("auditor", Role.AUDITOR),
        course=Course.objects.create(
            institution=inst_a,
            title="电工基础",
            kind=Course.Kind.VOCATIONAL,
            occupation="电工",
            level="五级",
            theory_hours=40,
            practical_hours=20,
        ),
    )


def client_for(user: User | None) -> Client:
    """A test client logged in as ``user`` (session login, as after the full login flow)."""
    client = Client()
    if user is not None:
        client.force_login(user, backend="zhipei.accounts.backends.ZhipeiBackend")
    return client


CHROMIUM = "/usr/bin/chromium"
# Real test data (photos, webcam streams, videos) lives beside the project, in CI too.
TESTDATA = Path(__file__).resolve().parent.parent / "shared" / "testdata"
WEBCAM_DIR = TESTDATA / "webcam"


@pytest.fixture(scope="session")
def testdata() -> Path:
    if not TESTDATA.exists():
        if os.getenv("CI"):
            pytest.fail("../shared/testdata must be beside the project in CI")
        pytest.skip("../shared/testdata is not beside the project")
    return TESTDATA


@pytest.fixture(scope="session")
def photo(testdata):
    """Bytes of a photo from testdata/faces."""
    return lambda name: (testdata / "faces" / name).read_bytes()


@pytest.fixture(scope="session")
def burst(testdata):
    """`count` frames of a webcam stream, `step` frames apart, starting at `start`."""
    from zhipei.lib.face import mjpeg_frames

    cache: dict[str, list[bytes]] = {}

    def frames(stream: str, start: int = 0, count: int = 5, step: int = 2) -> list[bytes]:
        if stream not in cache:
            cache[stream] = mjpeg_frames(testdata / "webcam" / f"{stream}.mjpeg", limit=120)
        return cache[stream][start : start + count * step : step]

    return frames


def give_face_consent(user: User) -> None:
    doc = ConsentDocument.objects.get(kind="biometric")
    ConsentRecord.objects.create(user=user, document=doc, action=ConsentRecord.Action.ACCEPT)


def enrol_face(profile, institution: Institution, admin: User, photo_bytes: bytes) -> None:
    """Face consent given, then the photo on file enrolled by an institution admin."""
    from zhipei.faces.models import FaceTemplate
    from zhipei.faces.services import face_enrol

    give_face_consent(profile.user)
    face_enrol(
        trainee=profile,
        institution=institution,
        frames=[photo_bytes],
        source=FaceTemplate.Source.ADMIN_UPLOAD,
        by=admin,
    )


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        if os.getenv("CI"):
            pytest.fail(
                "Debian's Chromium must be installed at /usr/bin/chromium for browser tests"
            )
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # themselves are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return CHROMIUM


@pytest.fixture
def browser_page(chromium_path):
    """A fresh headless Chromium page; console errors (CSP violations...) are collected."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on(
            "response",
            lambda r: r.status >= 400 and page.console_errors.append(f"{r.status} {r.url}"),
        )
        try:
            yield page
        finally:
            browser.close()
            # Playwright's greenlet gives ORM calls made meanwhile their own connection
            # (Django keys connections by context); close it or the test database stays open.
            from django.db import connections

            connections.close_all()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def logged_in_page(
    pw,
    chromium_path: str,
    live_server,
    user: User,
    *,
    stream: str | None = None,
    viewport: tuple[int, int] = (390, 844),
):
    """A Chromium page logged in as ``user`` (session cookie), its camera fed by a webcam stream
    from testdata when ``stream`` is given. Returns (browser, page); close with ``close_browser``."""
    from django.test import Client

    client = Client()
    client.force_login(user, backend="zhipei.accounts.backends.ZhipeiBackend")
    args = list(CHROMIUM_ARGS)
    if stream:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            f"--use-file-for-fake-video-capture={WEBCAM_DIR / f'{stream}.mjpeg'}",
        ]
    browser = pw.chromium.launch(executable_path=chromium_path, args=args)
    context = browser.new_context(
        locale="zh-CN", viewport={"width": viewport[0], "height": viewport[1]}
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return browser, context.new_page()


def close_browser(browser) -> None:
    browser.close()
    # Playwright's greenlet gives ORM calls made meanwhile their own connection; close them.
    from django.db import connections

    connections.close_all()
