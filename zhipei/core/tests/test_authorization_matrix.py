"""Every URL pattern × every persona has an expected status; a new URL without a row fails here."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from conftest import client_for
from zhipei.certificates.tests.helpers import matrix_certificate

pytestmark = pytest.mark.django_db

PERSONAS = [
    "anon",
    "trainee",
    "instructor",
    "admin",
    "other_admin",
    "county_regulator",
    "city_regulator",
    "operator",
    "security",
    "auditor",
]
INST_STAFF = {"instructor", "admin", "other_admin"}
REGULATORS = {"county_regulator", "city_regulator"}
PLATFORM = {"operator", "security", "auditor"}
STAFF = INST_STAFF | REGULATORS | PLATFORM


def expect(default: int, **overrides: int) -> dict[str, int]:
    return {p: overrides.get(p, default) for p in PERSONAS}


def group(statuses: dict[str, int], members: set[str], status: int) -> dict[str, int]:
    return {**statuses, **{m: status for m in members}}


def staff_only(members: set[str], ok: int = 200) -> dict[str, int]:
    return group(expect(403, anon=302), members, ok)


# name -> (method, kwargs factory over personas, expected status per persona)
MATRIX = {
    "health": ("get", None, expect(200)),
    "live": ("get", None, expect(200)),
    "javascript_catalog": ("get", None, expect(200)),
    "trainee:home": ("get", None, group(expect(200), STAFF, 302)),
    "trainee:login": ("get", None, group(expect(302), {"anon"}, 200)),
    "trainee:register": ("get", None, group(expect(302), {"anon"}, 200)),
    "trainee:profile": ("get", None, staff_only({"trainee"})),
    "trainee:consents": ("get", None, staff_only({"trainee"})),
    "trainee:consent_decide": (
        "post",
        lambda p: {"kind": "biometric", "action": "accept"},
        staff_only({"trainee"}, ok=302),
    ),
    "accounts:sms_send": ("post", None, expect(400)),  # no phone given: a clear 400 for anyone
    "accounts:logout": ("post", None, expect(302)),
    "accounts:totp": ("get", None, expect(302)),  # no password step pending
    "accounts:password_change": ("get", None, group(expect(302), STAFF, 200)),
    "console:login": ("get", None, group(expect(200), INST_STAFF, 302)),
    "console:home": ("get", None, staff_only(INST_STAFF)),
    "console:trainees": ("get", None, staff_only(INST_STAFF)),
    "console:trainee_detail": (
        "get",
        lambda p: {"pk": p.trainee.trainee_profile.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:trainee_reveal": (
        "post",
        lambda p: {"pk": p.trainee.trainee_profile.pk},
        {**staff_only({"admin"}), "other_admin": 404},
    ),
    "console:institution": ("get", None, staff_only(INST_STAFF)),
    "console:courses": ("get", None, staff_only(INST_STAFF)),
    "console:course_new": ("get", None, staff_only(INST_STAFF)),
    "console:chapter_new": (
        "post",
        lambda p: {"pk": p.course.pk},
        {**staff_only({"instructor", "admin"}, ok=302), "other_admin": 404},
    ),
    "console:lesson_new": (
        "post",
        lambda p: {"pk": p.course.pk},
        {**staff_only({"instructor", "admin"}, ok=302), "other_admin": 404},
    ),
    "console:question_new": (
        "post",
        lambda p: {"pk": p.course.pk},
        {**staff_only({"instructor", "admin"}, ok=302), "other_admin": 404},
    ),
    "console:classes": ("get", None, staff_only(INST_STAFF)),
    "console:class_new": ("get", None, staff_only({"admin", "other_admin"})),
    "console:class_sheet_template": ("get", None, staff_only({"admin", "other_admin"})),
    "console:class_detail": (
        "get",
        lambda p: {"pk": p.training_class.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:exam_results": (
        "get",
        lambda p: {"pk": p.exam.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:exam_results_export": (
        "get",
        lambda p: {"pk": p.exam.pk, "fmt": "csv"},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:class_results": (
        "get",
        lambda p: {"pk": p.training_class.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:class_results_export": (
        "get",
        lambda p: {"pk": p.training_class.pk, "fmt": "xlsx"},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    # The question bank, papers and exams: instructors and admins of the institution.
    "console:questions": ("get", None, staff_only(INST_STAFF)),
    "console:bank_question_new": ("get", None, staff_only(INST_STAFF)),
    "console:question_edit": (
        "get",
        lambda p: {"pk": p.question.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:question_retire": (
        "post",
        lambda p: {"pk": p.question.pk},
        {**staff_only({"instructor", "admin"}, ok=302), "other_admin": 404},
    ),
    "console:questions_import": ("get", None, staff_only(INST_STAFF)),
    "console:questions_template": ("get", None, staff_only(INST_STAFF)),
    "console:questions_export": ("get", None, staff_only(INST_STAFF)),
    "console:papers": ("get", None, staff_only(INST_STAFF)),
    "console:paper_new_fixed": ("get", None, staff_only(INST_STAFF)),
    "console:paper_new_random": ("get", None, staff_only(INST_STAFF)),
    "console:paper_detail": (
        "get",
        lambda p: {"pk": p.exam.paper_id},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:exams": ("get", None, staff_only(INST_STAFF)),
    "console:exam_new": ("get", None, staff_only(INST_STAFF)),
    "console:exam_detail": (
        "get",
        lambda p: {"pk": p.exam.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    # The live monitor: each institution's staff see their own sessions (scoping in test_live.py).
    "console:live": ("get", None, staff_only(INST_STAFF)),
    "console:live_data": ("get", None, staff_only(INST_STAFF)),
    "console:trainee_face": (
        "get",
        lambda p: {"pk": p.trainee.trainee_profile.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:trainee_non_face": (
        "get",
        lambda p: {"pk": p.trainee.trainee_profile.pk},
        {**staff_only({"admin"}), "other_admin": 404},
    ),
    "console:face_evidence": (
        "get",
        lambda p: {"pk": p.face_attempt.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:face_reviews": ("get", None, staff_only({"admin", "other_admin"})),
    "console:face_template_decide": (
        "post",
        lambda p: {"pk": p.pending_template.pk, "action": "reject"},
        {**staff_only({"admin"}, ok=302), "other_admin": 404},
    ),
    # A trainee's learning record (timeline) and 一人一档 (GET: the confirmation page; admins
    # only), the import of trainees from Excel (admins).
    "console:trainee_records": (
        "get",
        lambda p: {"pk": p.trainee.trainee_profile.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "console:trainee_dossier": (
        "get",
        lambda p: {"pk": p.trainee.trainee_profile.pk},
        {**staff_only({"admin"}), "other_admin": 404},
    ),
    "console:trainees_import": ("get", None, staff_only({"admin", "other_admin"})),
    "console:trainees_template": ("get", None, staff_only({"admin", "other_admin"})),
    "portal:alerts": ("get", None, staff_only(REGULATORS)),
    "study:home": ("get", None, staff_only({"trainee"})),
    "study:records": ("get", None, staff_only({"trainee"})),
    "study:player": ("get", lambda p: {"lesson_id": p.lesson.pk}, staff_only({"trainee"})),
    "study:api_start": (
        "post",
        lambda p: {"lesson_id": p.lesson.pk},
        staff_only({"trainee"}, ok=409),
    ),  # no video
    "study:api_heartbeat": (
        "post",
        lambda p: {"session_id": 999999},
        expect(403),
    ),  # no study token
    "study:api_face": ("post", lambda p: {"session_id": 999999}, staff_only({"trainee"}, ok=404)),
    "study:api_quiz": ("post", lambda p: {"session_id": 999999}, staff_only({"trainee"}, ok=400)),
    "study:api_activity": (
        "post",
        lambda p: {"session_id": 999999},
        staff_only({"trainee"}, ok=404),
    ),
    "study:api_end": ("post", lambda p: {"session_id": 999999}, staff_only({"trainee"}, ok=404)),
    "exams:home": ("get", None, staff_only({"trainee"})),
    "exams:take": ("get", lambda p: {"exam_id": p.exam.pk}, staff_only({"trainee"})),
    "exams:result": ("get", lambda p: {"attempt_id": p.attempt.pk}, staff_only({"trainee"})),
    "exams:api_face": (
        "post",
        lambda p: {"exam_id": p.exam.pk},
        staff_only({"trainee"}, ok=409),
    ),  # the open attempt is the only one allowed
    "exams:api_start": (
        "post",
        lambda p: {"exam_id": p.exam.pk},
        staff_only({"trainee"}),
    ),  # resumes the open attempt
    "exams:api_state": ("get", lambda p: {"attempt_id": p.attempt.pk}, staff_only({"trainee"})),
    "exams:api_answer": (
        "post",
        lambda p: {"attempt_id": p.attempt.pk},
        staff_only({"trainee"}, ok=400),
    ),  # no question given
    "exams:api_leave": ("post", lambda p: {"attempt_id": p.attempt.pk}, staff_only({"trainee"})),
    "exams:api_recheck": (
        "post",
        lambda p: {"attempt_id": p.attempt.pk},
        staff_only({"trainee"}, ok=400),
    ),  # no frames
    "exams:api_submit": ("post", lambda p: {"attempt_id": p.attempt.pk}, staff_only({"trainee"})),
    "trainee:face": ("get", None, staff_only({"trainee"})),
    "trainee:face_enrol": ("get", None, staff_only({"trainee"}, ok=302)),  # no face consent yet
    "trainee:face_verify": ("get", None, staff_only({"trainee"})),
    "faces:challenge": ("post", None, staff_only({"trainee"}, ok=400)),  # no purpose given
    "faces:enrol": ("post", None, staff_only({"trainee"}, ok=409)),  # no face consent yet
    "faces:verify": ("post", None, staff_only({"trainee"}, ok=400)),  # no frames
    "console:course_detail": (
        "get",
        lambda p: {"pk": p.course.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    # A forged token is refused for everyone; valid tokens (only their own user gets 200) are
    # covered per persona in courses/tests/test_delivery.py.
    "lesson_media:video": ("get", lambda p: {"token": "forged.token:1:abc"}, expect(403)),
    "portal:login": ("get", None, group(expect(200), REGULATORS, 302)),
    "portal:home": ("get", None, staff_only(REGULATORS)),
    "portal:institutions": ("get", None, staff_only(REGULATORS)),
    "portal:institution_detail": ("get", lambda p: {"pk": p.inst_a.pk}, staff_only(REGULATORS)),
    "ops:login": ("get", None, group(expect(200), PLATFORM, 302)),
    "ops:home": ("get", None, staff_only(PLATFORM)),
    "ops:institutions": ("get", None, staff_only({"operator"})),
    "ops:institution_new": ("get", None, staff_only({"operator"})),
    "ops:institution_detail": ("get", lambda p: {"pk": p.inst_a.pk}, staff_only({"operator"})),
    "ops:account_new": ("get", None, staff_only({"operator"})),
    "ops:security": ("get", None, staff_only({"security"})),
    "ops:account_unlock": ("post", lambda p: {"pk": p.admin.pk}, staff_only({"security"}, ok=302)),
    "ops:account_totp_reset": (
        "post",
        lambda p: {"pk": p.instructor.pk},
        staff_only({"security"}, ok=302),
    ),
    "ops:audit": ("get", None, staff_only({"auditor"})),
    "ops:audit_verify": ("post", None, staff_only({"auditor"}, ok=302)),
    # Certificates: the verification page is public; a certificate of institution A's trainee.
    "verify:lookup": ("get", None, expect(200)),
    "verify:detail": ("get", lambda p: {"serial": matrix_certificate(p).serial}, expect(200)),
    "certificates:mine": ("get", None, staff_only({"trainee"})),
    "certificates:download": (
        "get",
        lambda p: {"pk": matrix_certificate(p).pk},
        staff_only({"trainee"}),
    ),
    "certificates_console:list": ("get", None, staff_only(INST_STAFF)),
    "certificates_console:for_class": (
        "get",
        lambda p: {"pk": p.training_class.pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "certificates_console:issue": (
        "post",
        lambda p: {"pk": p.training_class.pk},
        {**staff_only({"admin"}, ok=302), "other_admin": 404},
    ),  # nothing chosen: back to the class page with a message
    "certificates_console:issue_bulk": (
        "post",
        lambda p: {"pk": p.training_class.pk},
        {**staff_only({"admin"}, ok=302), "other_admin": 404},
    ),
    "certificates_console:detail": (
        "get",
        lambda p: {"pk": matrix_certificate(p).pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "certificates_console:download": (
        "get",
        lambda p: {"pk": matrix_certificate(p).pk},
        {**staff_only({"instructor", "admin"}), "other_admin": 404},
    ),
    "certificates_console:revoke": (
        "post",
        lambda p: {"pk": matrix_certificate(p).pk},
        {**staff_only({"admin"}, ok=302), "other_admin": 404},
    ),  # no reason given: refused with a message
    # 学习记录导出: the page and the form for institution staff; a job, its status and its
    # file only for whoever asked for it (the admin here): a colleague gets a 404 like a stranger.
    "console:exports": ("get", None, staff_only(INST_STAFF)),
    "console:export_start": ("post", None, staff_only(INST_STAFF, ok=400)),  # nothing chosen
    "console:export_job": (
        "get",
        lambda p: {"pk": p.export_job.pk},
        {**staff_only({"admin"}), "instructor": 404, "other_admin": 404},
    ),
    "console:export_job_status": (
        "get",
        lambda p: {"pk": p.export_job.pk},
        {**staff_only({"admin"}), "instructor": 404, "other_admin": 404},
    ),
    "console:export_download": (
        "get",
        lambda p: {"pk": p.export_job.pk},
        {**staff_only({"admin"}), "instructor": 404, "other_admin": 404},
    ),
}


def url_names(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    names = []
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            names += url_names(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            names.append(prefix + entry.name)
    return names


def test_every_url_has_a_row():
    missing = sorted(set(url_names()) - set(MATRIX))
    assert not missing, f"URL patterns without an expected outcome in the matrix: {missing}"
    stale = sorted(set(MATRIX) - set(url_names()))
    assert not stale, f"matrix rows for URLs that no longer exist: {stale}"


@pytest.fixture
def face_personas(personas):
    """The personas plus one face attempt with evidence and one pending template, in institution A."""
    import io

    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from zhipei.core.crypto import field_cipher
    from zhipei.faces.models import FaceAttempt, FaceTemplate
    from zhipei.faces.services import EVIDENCE_AAD, _seal_descriptor

    jpeg = io.BytesIO()
    Image.new("RGB", (64, 48), "gray").save(jpeg, "JPEG")
    name = default_storage.save(
        "evidence/t.jpg.enc",
        ContentFile(field_cipher().encrypt_bytes(jpeg.getvalue(), context=EVIDENCE_AAD)),
    )
    profile = personas.trainee.trainee_profile
    personas.face_attempt = FaceAttempt.objects.create(
        trainee=profile,
        institution=personas.inst_a,
        purpose="login",
        decision="MISMATCH",
        evidence=name,
    )
    from zhipei.courses.models import Chapter, Lesson

    chapter = Chapter.objects.create(course=personas.course, title="第一章")
    personas.lesson = Lesson.objects.create(chapter=chapter, title="第一讲")
    from zhipei.courses.models import TrainingClass

    personas.training_class = TrainingClass.objects.create(
        institution=personas.inst_a,
        name="电工班",
        kind="vocational",
        start_date="2026-12-01",
        end_date="2026-12-31",
        required_xueshi=40,
    )
    from datetime import timedelta

    from django.utils import timezone

    from zhipei.exams.models import Attempt, Exam, Paper

    now = timezone.now()
    personas.exam = Exam.objects.create(
        institution=personas.inst_a,
        title="课程考试",
        paper=Paper.objects.create(institution=personas.inst_a, title="试卷", mode="fixed"),
        scope="course",
        course=personas.course,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=1),
        duration_minutes=30,
        requires_completion=False,
    )
    personas.attempt = Attempt.objects.create(
        exam=personas.exam,
        trainee=profile,
        institution=personas.inst_a,
        number=1,
        started_at=now,
        deadline=now + timedelta(minutes=30),
    )
    from zhipei.exams.services import question_create

    personas.question = question_create(
        institution=personas.inst_a,
        by=personas.admin,
        kind="judge",
        stem="带电作业可以不穿绝缘鞋。",
        options=[],
        answer=[1],
    )
    personas.pending_template = FaceTemplate.objects.create(
        trainee=profile,
        institution=personas.inst_a,
        status="pending_approval",
        source="camera",
        descriptor=_seal_descriptor(profile.pk, np.zeros(128, dtype=np.float32)),
    )
    from zhipei.records.models import ExportJob

    personas.export_job = ExportJob.objects.create(
        institution=personas.inst_a,
        requested_by=personas.admin,
        exporter="detail",
        format="csv",
        status="done",
        rows_done=1,
        rows_total=1,
        file=default_storage.save("exports/matrix.csv", ContentFile(b"\xef\xbb\xbfa\r\n")),
        finished_at=now,
        expires_at=now + timedelta(hours=1),
    )
    return personas


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_matrix(name, face_personas):
    personas = face_personas
    method, kwargs, expected = MATRIX[name]
    url = reverse(name, kwargs=kwargs(personas) if kwargs else None)
    got = {}
    for persona in PERSONAS:
        user = None if persona == "anon" else getattr(personas, persona)
        got[persona] = getattr(client_for(user), method)(url).status_code
    assert got == expected


@pytest.mark.parametrize("name", sorted(n for n, row in MATRIX.items() if row[0] == "post"))
def test_post_only_urls_refuse_get(name, face_personas):
    personas = face_personas
    _, kwargs, _ = MATRIX[name]
    url = reverse(name, kwargs=kwargs(personas) if kwargs else None)
    assert client_for(personas.admin).get(url).status_code == 405
