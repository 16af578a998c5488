"""一人一档: the zip opened and every file checked — each CSV against the database rows, the
images decoded as JPEG, the PDF parsed (masked ID only), the manifest's digests, the audit entry
that anchors the manifest; another institution's admin gets 404, an instructor 403."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from conftest import client_for
from zhipei.accounts.models import ConsentRecord
from zhipei.archive.services import CSV_FILES, trainee_dossier_zip
from zhipei.archive.tests.helpers import full_record
from zhipei.audit.models import AuditEntry
from zhipei.certificates.models import Certificate
from zhipei.certificates.services import certificate_issue
from zhipei.certificates.tests.helpers import add_member, give_hours, make_class
from zhipei.faces.models import FaceAttempt
from zhipei.study.models import QuizAnswer, StudySegment, StudySession, UncreditedInterval

pytestmark = pytest.mark.django_db


def _url(personas) -> str:
    return reverse("console:trainee_dossier", args=[personas.trainee.trainee_profile.pk])


@pytest.fixture
def record(personas):
    record = full_record(personas)
    training_class = make_class(personas.course)
    profile = personas.trainee.trainee_profile
    add_member(training_class, profile)
    give_hours(profile, training_class, 3)
    certificate_issue(
        training_class=training_class, trainee=profile, kind="hours", by=personas.admin
    )
    # Entries about the trainee: A's view of them (in the dossier), B's (never in A's dossier).
    client_for(personas.admin).get(reverse("console:trainee_detail", args=[profile.pk]))
    client_for(personas.other_admin).get(reverse("console:trainee_detail", args=[profile.pk]))
    return record


@pytest.fixture
def archive(personas, record):
    response = client_for(personas.admin).post(_url(personas))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    return zipfile.ZipFile(io.BytesIO(data)), response


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    raw = archive.read(name)
    assert raw.startswith("\ufeff".encode())  # BOM: Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_zip_holds_every_file_and_the_manifest_matches(archive):
    zf, response = archive
    names = set(zf.namelist())
    assert {"summary.pdf", "manifest.json", *CSV_FILES} <= names
    for info in zf.infolist():  # JPEGs do not deflate: stored; everything else deflated
        stored = info.filename.endswith(".jpg")
        assert info.compress_type == (zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    manifest = json.loads(zf.read("manifest.json"))
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == names - {"manifest.json"}
    for name, entry in listed.items():
        content = zf.read(name)
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], name
        assert len(content) == entry["bytes"]
    # The manifest's own digest is in the audit log (and in the response header).
    digest = hashlib.sha256(zf.read("manifest.json")).hexdigest()
    entry = AuditEntry.objects.get(action="trainee.dossier_export")
    assert entry.detail["manifest_sha256"] == digest == response["X-Dossier-Manifest-SHA256"]
    assert entry.detail["face_images"] == manifest["face_images"]
    assert manifest["trainee"]["id_number_masked"].count("*") == 10


def test_csvs_match_the_database(personas, record, archive):
    zf, _ = archive
    profile = personas.trainee.trainee_profile
    inst = personas.inst_a
    sessions = StudySession.objects.filter(trainee=profile, institution=inst)
    rows = _csv(zf, "study_sessions.csv")
    assert sorted(int(r["会话ID"]) for r in rows) == sorted(s.pk for s in sessions)
    assert record.other_session.pk not in {int(r["会话ID"]) for r in rows}
    for row in rows:
        session = sessions.get(pk=row["会话ID"])
        assert float(row["有效时长（秒）"]) == pytest.approx(session.confirmed_seconds)
        assert row["课时"] == session.lesson.title
        assert row["结束方式"] == session.get_end_reason_display()

    segments = StudySegment.objects.filter(session__in=sessions)
    rows = _csv(zf, "study_segments.csv")
    assert sorted(int(r["片段ID"]) for r in rows) == sorted(s.pk for s in segments)
    assert sum(float(r["有效时长（秒）"]) for r in rows) == pytest.approx(
        sum(s.seconds for s in segments)
    )

    intervals = UncreditedInterval.objects.filter(session__in=sessions)
    rows = _csv(zf, "uncredited_intervals.csv")
    assert sorted(int(r["记录ID"]) for r in rows) == sorted(u.pk for u in intervals)
    assert {(r["原因代码"], r["原因"]) for r in rows} == {
        ("HIDDEN", "页面隐藏或未在前台"),
        ("PAUSED", "暂停播放"),
    }

    answers = QuizAnswer.objects.filter(session__in=sessions)
    rows = _csv(zf, "quiz_answers.csv")
    assert sorted(int(r["作答ID"]) for r in rows) == sorted(a.pk for a in answers)
    assert {r["结果"] for r in rows} == {"正确", "超时未答"}
    assert {r["所选答案"] for r in rows} == {"切断电源", ""}

    attempts = profile.exam_attempts.filter(exam__institution=inst)
    rows = _csv(zf, "exam_attempts.csv")
    assert [int(r["考试记录ID"]) for r in rows] == [a.pk for a in attempts]
    assert rows[0]["成绩（百分制）"] == "85.0" and rows[0]["离开页面次数"] == "2"
    assert rows[0]["是否及格"] == "是" and rows[0]["考前人脸核验"] == "通过"

    consents = ConsentRecord.objects.filter(user=personas.trainee)
    rows = _csv(zf, "consents.csv")
    assert sorted(int(r["记录ID"]) for r in rows) == sorted(c.pk for c in consents)

    certificates = Certificate.objects.filter(trainee=profile, institution=inst)
    rows = _csv(zf, "certificates.csv")
    assert [r["证书编号"] for r in rows] == [c.serial for c in certificates] and rows

    rows = _csv(zf, "audit_entries.csv")
    about = AuditEntry.objects.filter(
        target_type="accounts.TraineeProfile", target_id=str(profile.pk)
    )
    assert sorted(int(r["审计ID"]) for r in rows) == sorted(
        about.filter(institution_id=inst.pk)
        .exclude(action="trainee.dossier_export")
        .values_list("pk", flat=True)
    )
    assert {r["操作"] for r in rows} == {"trainee.view"}
    assert about.filter(institution_id=personas.inst_b.pk).exists()  # B's, left out
    assert profile.id_number not in zf.read("audit_entries.csv").decode("utf-8-sig")


def test_face_checks_and_their_images(personas, record, archive):
    zf, _ = archive
    faces = FaceAttempt.objects.filter(
        trainee=personas.trainee.trainee_profile, institution=personas.inst_a
    )
    rows = _csv(zf, "face_checks.csv")
    assert sorted(int(r["核验ID"]) for r in rows) == sorted(f.pk for f in faces)
    assert record.other_face.pk not in {int(r["核验ID"]) for r in rows}
    images = [n for n in zf.namelist() if n.startswith("faces/")]
    assert len(images) == faces.exclude(evidence="").count() == len(rows)
    assert {r["证据图像文件"] for r in rows} == set(images)
    for row in rows:
        name = row["证据图像文件"]
        face = faces.get(pk=row["核验ID"])
        assert re.fullmatch(
            rf"faces/\d{{8}}-\d{{6}}_{face.purpose}_{face.decision}(_\d+)?\.jpg", name
        )
        image = Image.open(io.BytesIO(zf.read(name)))
        image.verify()
        assert image.format == "JPEG"
        assert row["结果"] == face.get_decision_display()


def test_the_pdf_parses_and_shows_only_the_masked_id(personas, record, archive):
    zf, _ = archive
    profile = personas.trainee.trainee_profile
    pdf = PdfReader(io.BytesIO(zf.read("summary.pdf")))
    text = re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in pdf.pages))
    for expected in (
        "学员培训档案",
        "张三",
        profile.id_number_masked,
        personas.inst_a.name,
        "电工（五级）第一期",
        "电工基础",
        "电工基础课程考试",
        "85.0",
        "学时证明",
        "页面隐藏或未在前台",
        "学习开始核验",
    ):
        assert expected in text, expected
    assert profile.id_number not in text
    assert personas.trainee.phone not in text
    assert "创业基础" not in text  # institution B's course


def test_a_missing_evidence_file_is_listed_not_fatal(personas, record):
    face = FaceAttempt.objects.filter(
        trainee=personas.trainee.trainee_profile, institution=personas.inst_a
    ).first()
    default_storage.delete(face.evidence)
    dossier = trainee_dossier_zip(
        trainee=personas.trainee.trainee_profile, institution=personas.inst_a, by=personas.admin
    )
    with dossier.file, zipfile.ZipFile(dossier.file) as zf:
        rows = {r["核验ID"]: r for r in _csv(zf, "face_checks.csv")}
        assert rows[str(face.pk)]["证据图像文件"] == "（证据文件缺失）"
        assert json.loads(zf.read("manifest.json"))["face_images_missing"] == 1


def test_get_shows_the_confirmation_page_and_exports_nothing(personas, record):
    response = client_for(personas.admin).get(_url(personas))
    assert response.status_code == 200
    assert "确认导出" in response.content.decode()
    assert not AuditEntry.objects.filter(action="trainee.dossier_export").exists()


def test_other_institution_404_and_instructor_403(personas, record):
    # B's admin sees the person (a member of B too) but never A's dossier: only B's records.
    profile = personas.trainee.trainee_profile
    other = client_for(personas.other_admin).post(_url(personas))
    assert other.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(b"".join(other.streaming_content)))
    sessions = {int(r["会话ID"]) for r in _csv(zf, "study_sessions.csv")}
    assert sessions == {record.other_session.pk}
    assert not _csv(zf, "exam_attempts.csv")
    # A trainee who is not B's member: 404 for B, as for a missing one.
    profile.memberships.filter(institution=personas.inst_b).delete()
    assert client_for(personas.other_admin).post(_url(personas)).status_code == 404
    assert client_for(personas.instructor).post(_url(personas)).status_code == 403
    assert client_for(personas.instructor).get(_url(personas)).status_code == 403
