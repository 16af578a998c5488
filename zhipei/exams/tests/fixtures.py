"""Exam fixtures (a pytest plugin of the root conftest, for every app's tests): a four-question fixed paper (one of each kind, 25 points each) and an open
exam over it, and a face match that opens it (the real recognition is tested separately)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from zhipei.exams import services
from zhipei.exams.models import Exam
from zhipei.faces.models import Decision, FaceAttempt, Purpose


@pytest.fixture
def bank(personas):
    inst = personas.inst_a
    make = services.question_create
    return [
        make(
            institution=inst,
            by=personas.admin,
            kind="single",
            stem="安全电压一般不超过多少伏？",
            options=["36 V", "110 V", "220 V", "380 V"],
            answer=[0],
            course=personas.course,
        ),
        make(
            institution=inst,
            by=personas.admin,
            kind="multiple",
            stem="下列属于绝缘材料的是？",
            options=["橡胶", "铜", "陶瓷", "铝"],
            answer=[0, 2],
            course=personas.course,
        ),
        make(
            institution=inst,
            by=personas.admin,
            kind="judge",
            stem="带电作业可以不穿绝缘鞋。",
            options=[],
            answer=[1],
        ),
        make(
            institution=inst,
            by=personas.admin,
            kind="fill",
            stem="我国交流电的频率是____赫兹，用字母____表示。",
            options=[],
            answer=[["50", "五十"], ["Hz"]],
        ),
    ]


@pytest.fixture
def paper(personas, bank):
    return services.paper_create(
        institution=personas.inst_a,
        title="电工基础测验",
        by=personas.admin,
        items=[(q, Decimal(25)) for q in bank],
    )


@pytest.fixture
def exam(personas, paper):
    now = timezone.now()
    return services.exam_create(
        institution=personas.inst_a,
        by=personas.admin,
        title="电工基础课程考试",
        paper=paper,
        scope=Exam.Scope.COURSE,
        course=personas.course,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        duration_minutes=30,
        max_attempts=2,
        requires_completion=False,
    )


def face_pass(profile, exam, *, at=None, decision=Decision.MATCH) -> FaceAttempt:
    """A recorded exam-start face check, as face_verify leaves it."""
    return FaceAttempt.objects.create(
        trainee=profile,
        institution=exam.institution,
        purpose=Purpose.EXAM_START,
        decision=decision,
        context=f"exam:{exam.pk}",
        at=at or timezone.now(),
    )


def start(profile, exam, **kw):
    face_pass(profile, exam)
    return services.attempt_start(exam=exam, trainee=profile, **kw)


def item_of(attempt, kind):
    return next(i for i in attempt.paper if i["kind"] == kind)


def right_answer(item):
    """The right answer in the order the trainee was shown (what the page sends)."""
    if item["kind"] == "fill":
        return [alts[0] for alts in item["answer"]]
    return sorted(item["perm"].index(i) for i in item["answer"])
