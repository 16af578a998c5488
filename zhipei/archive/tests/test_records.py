"""The console's learning-record timeline: what it shows, in which order, only this
institution's records, audited, paginated, and a query count that does not grow with the page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from zhipei.archive import selectors
from zhipei.archive.labels import duration_text, reason_label
from zhipei.archive.tests.helpers import full_record, study_session
from zhipei.audit.models import AuditEntry
from zhipei.certificates.tests.helpers import add_member, make_class

pytestmark = pytest.mark.django_db


def _url(personas) -> str:
    return reverse("console:trainee_records", args=[personas.trainee.trainee_profile.pk])


def test_timeline_shows_sessions_attempts_and_their_details(personas):
    record = full_record(personas)
    response = client_for(personas.admin).get(_url(personas))
    assert response.status_code == 200
    page = response.content.decode()
    # Sessions with their lesson, credited time, uncredited reasons in Chinese, pop-up answers.
    assert "电工基础 / 第一讲 触电急救" in page
    assert duration_text(1200) == "20分" and "20分" in page
    assert "页面隐藏或未在前台" in page and "暂停播放" in page
    assert "随堂问题：正确" in page and "随堂问题：超时未答" in page
    assert "发现有人触电，首先应当？（所选：切断电源）" in page
    # Face checks, their thumbnails through the audited evidence view.
    session = record.sessions[0]
    for face in session.trainee.face_attempts.filter(context=f"study:{session.pk}"):
        assert reverse("console:face_evidence", args=[face.pk]) in page
    assert "学习开始核验" in page and "非本人" in page
    # The exam attempt: score, page leaves, its start check and its recheck.
    attempt = record.attempts[0]
    assert "电工基础课程考试" in page and "85.0" in page and "离开页面" in page
    assert reverse("console:face_evidence", args=[attempt.start_face_id]) in page
    recheck = attempt.trainee.face_attempts.get(context=f"attempt:{attempt.pk}")
    assert reverse("console:face_evidence", args=[recheck.pk]) in page
    # Nothing of institution B, although the same person studies there too.
    assert "创业基础" not in page
    assert reverse("console:face_evidence", args=[record.other_face.pk]) not in page


def test_newest_first_and_only_this_institution(personas):
    record = full_record(personas)
    profile = personas.trainee.trainee_profile
    _, entries = selectors.timeline_page(profile, personas.inst_a, 1)
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert [(e.kind, (e.session or e.attempt).pk) for e in entries] == [
        ("study", record.sessions[1].pk),
        ("exam", record.attempts[0].pk),
        ("study", record.sessions[0].pk),
    ]
    # Under a session its events in the order they happened.
    events = entries[0].events
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert {e.kind for e in events} == {"segment", "uncredited", "face", "quiz"}
    # B sees B's session only.
    _, at_b = selectors.timeline_page(profile, personas.inst_b, 1)
    assert [(e.kind, e.session.pk) for e in at_b] == [("study", record.other_session.pk)]


def test_the_view_is_audited(personas):
    full_record(personas)
    client_for(personas.instructor).get(_url(personas) + "?page=1")
    entry = AuditEntry.objects.filter(action="trainee.records_view").get()
    assert entry.actor_id == personas.instructor.pk
    assert entry.target_id == str(personas.trainee.trainee_profile.pk)
    assert entry.institution_id == personas.inst_a.pk
    assert entry.detail == {"page": 1}


def test_pagination_on_the_server(personas):
    profile = personas.trainee.trainee_profile
    start = timezone.now() - timedelta(days=30)
    sessions = [
        study_session(
            profile, personas.course, start=start + timedelta(hours=n), with_details=False
        )
        for n in range(selectors.TIMELINE_PER_PAGE + 3)
    ]
    page, entries = selectors.timeline_page(profile, personas.inst_a, 2)
    assert page.paginator.count == len(sessions)
    assert [e.session.pk for e in entries] == [s.pk for s in reversed(sessions[:3])]
    # Nonsense page numbers fall back to a real page.
    assert client_for(personas.admin).get(_url(personas) + "?page=zz").status_code == 200
    html = client_for(personas.admin).get(_url(personas) + "?page=2").content.decode()
    assert "第 2 / 2 页" in html


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_the_page(personas):
    profile = personas.trainee.trainee_profile
    client = client_for(personas.admin)
    start = timezone.now() - timedelta(days=20)
    study_session(profile, personas.course, start=start)
    client.get(_url(personas))  # the first request of a session also writes the session
    few = _queries(client, _url(personas))
    for n in range(1, selectors.TIMELINE_PER_PAGE + 4):
        study_session(profile, personas.course, start=start + timedelta(hours=n))
    many = _queries(client, _url(personas))
    assert many == few
    assert many <= 20


def test_class_summary_is_linked(personas):
    full_record(personas)
    training_class = make_class(personas.course)
    add_member(training_class, personas.trainee.trainee_profile)
    page = client_for(personas.admin).get(_url(personas)).content.decode()
    assert reverse("console:class_results", args=[training_class.pk]) in page


def test_trainee_detail_links_the_records_and_the_dossier(personas):
    url = reverse("console:trainee_detail", args=[personas.trainee.trainee_profile.pk])
    admin_page = client_for(personas.admin).get(url).content.decode()
    assert _url(personas) in admin_page
    dossier = reverse("console:trainee_dossier", args=[personas.trainee.trainee_profile.pk])
    assert dossier in admin_page
    instructor_page = client_for(personas.instructor).get(url).content.decode()
    assert _url(personas) in instructor_page and dossier not in instructor_page


def test_another_institution_gets_404_or_only_its_own_records(personas):
    profile = personas.trainee.trainee_profile
    study_session(profile, personas.course, start=timezone.now() - timedelta(hours=3))
    assert client_for(personas.other_admin).get(_url(personas)).status_code == 404
    # Once the person also studies at B, B's admin sees them, with B's records only.
    record = full_record(personas)
    page = client_for(personas.other_admin).get(_url(personas)).content.decode()
    assert "创业基础" in page and "电工基础" not in page
    assert reverse("console:face_evidence", args=[record.other_face.pk]) in page


def test_every_ledger_reason_has_a_chinese_label():
    from zhipei.study import ledger

    codes = {
        value
        for name, value in vars(ledger).items()
        if name.isupper() and isinstance(value, str) and value == name
    }
    assert codes and codes <= set(ledger.REASON_LABELS)
    assert reason_label("SOMETHING_NEW") == "SOMETHING_NEW"
    assert duration_text(3725) == "1小时2分5秒" and duration_text(0) == "0秒"
