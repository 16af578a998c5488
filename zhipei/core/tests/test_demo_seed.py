"""`make demo` loads this: it must work on an empty database and twice in a row."""

import io

import pytest
from django.core.management import call_command

from zhipei.accounts.models import Role, User
from zhipei.courses.models import ClassMember, Lesson, LessonQuestion
from zhipei.institutions.models import Institution

pytestmark = pytest.mark.django_db


def test_demo_seed_is_complete_and_idempotent():
    out = io.StringIO()
    call_command("demo_seed", stdout=out)
    call_command("demo_seed", stdout=io.StringIO())
    assert set(Institution.objects.values_list("kind", flat=True)) == {
        "vocational",
        "entrepreneurship",
    }
    roles = dict.fromkeys(Role.values, 0)
    for role in User.objects.values_list("role", flat=True):
        roles[role] += 1
    assert roles == {
        "trainee": 20,
        "instructor": 2,
        "inst_admin": 2,
        "regulator": 2,
        "operator": 1,
        "security": 1,
        "auditor": 1,
    }
    lesson = Lesson.objects.get()
    assert lesson.duration_seconds == 120 and lesson.video
    assert LessonQuestion.objects.count() == 3 and ClassMember.objects.count() == 10
    printed = out.getvalue()
    for username in (
        "voc_admin",
        "lishui_bureau",
        "liandu_bureau",
        "ops_admin",
        "sec_officer",
        "auditor",
    ):
        assert username in printed
    assert "13800000001" in printed and "Zhipei-Demo-2026" in printed
