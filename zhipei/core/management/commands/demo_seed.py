"""Seed the demo: Lishui institutions of both kinds, their staff, 20 trainees, regulators,
the platform's three roles and a generated sample lesson video; then print every login."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
from django.conf import settings
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from zhipei.accounts.models import (
    ConsentDocument,
    ConsentRecord,
    Membership,
    Role,
    TraineeProfile,
    User,
)
from zhipei.courses.models import (
    Chapter,
    ClassMember,
    Course,
    Lesson,
    LessonQuestion,
    TrainingClass,
)
from zhipei.courses.services import course_create, lesson_create_with_video
from zhipei.institutions.models import Institution, Region
from zhipei.lib.creditcode import make_credit_code
from zhipei.lib.idnumber import compute_check_digit
from zhipei.lib.video import generate_lesson_video

SAMPLE_COURSE = "安全生产基础知识"  # i18n: data
DEMO_QUESTIONS = [
    (
        "我国安全生产工作的方针是？",  # i18n: data
        ["安全第一、预防为主、综合治理", "效益优先、兼顾安全", "先生产、后安全"],  # i18n: data
        0,
    ),
    ("发现事故隐患，从业人员应当？", ["立即报告", "自行处理后不报告", "不予理会"], 0),  # i18n: data
    (
        "特种作业人员上岗前必须？",  # i18n: data
        ["取得相应资格证书", "只需口头培训", "有经验即可"],  # i18n: data
        0,
    ),
]
DEMO_PASSWORD = "Zhipei-Demo-2026"  # noqa: S105 - printed for the demo, never in production
INSTITUTIONS = [
    {
        "key": "voc",
        "name": "丽水市莲都区职业技能培训学校",  # i18n: data
        "kind": Institution.Kind.VOCATIONAL,
        "region": "331102",
        "credit": "52331102MJ8800001",
        "licence": "人社民1331102000001",  # i18n: data
        "legal_person": "周建华",  # i18n: data
        "contact_name": "陈晓燕",  # i18n: data
        "contact_title": "教务主任",  # i18n: data
        "contact_phone": "13957800001",
        "address": "浙江省丽水市莲都区中山街 88 号",  # i18n: data
    },
    {
        "key": "ent",
        "name": "丽水市青田县创业培训中心",  # i18n: data
        "kind": Institution.Kind.ENTREPRENEURSHIP,
        "region": "331121",
        "credit": "52331121MJ8800002",
        "licence": "人社民1331121000002",  # i18n: data
        "legal_person": "吴海峰",  # i18n: data
        "contact_name": "叶丽娟",  # i18n: data
        "contact_title": "培训部负责人",  # i18n: data
        "contact_phone": "13957800002",
        "address": "浙江省丽水市青田县鹤城街道 66 号",  # i18n: data
    },
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"  # i18n: data
GIVEN = [
    "伟",  # i18n: data
    "芳",  # i18n: data
    "娜",  # i18n: data
    "敏",  # i18n: data
    "静",  # i18n: data
    "丽",  # i18n: data
    "强",  # i18n: data
    "磊",  # i18n: data
    "洋",  # i18n: data
    "艳",  # i18n: data
    "勇",  # i18n: data
    "军",  # i18n: data
    "杰",  # i18n: data
    "娟",  # i18n: data
    "涛",  # i18n: data
    "明",  # i18n: data
    "超",  # i18n: data
    "秀英",  # i18n: data
    "霞",  # i18n: data
    "平",  # i18n: data
]


DEMO_BANK = [
    (
        "single",
        "《安全生产法》规定，生产经营单位的主要负责人对本单位安全生产工作负什么责任？",  # i18n: data
        ["全面责任", "部分责任", "领导责任", "监督责任"],  # i18n: data
        [0],
    ),
    (
        "single",
        "发现火灾后，应立即拨打的报警电话是？",  # i18n: data
        ["110", "119", "120", "122"],
        [1],
    ),
    (
        "single",
        "从业人员发现直接危及人身安全的紧急情况时，有权采取的措施是？",  # i18n: data
        ["继续作业", "停止作业或撤离", "等待领导指示", "拍照留存"],  # i18n: data
        [1],
    ),
    (
        "single",
        "安全色中表示“禁止、停止”的颜色是？",  # i18n: data
        ["红色", "黄色", "蓝色", "绿色"],  # i18n: data
        [0],
    ),
    (
        "single",
        "特种作业人员必须经过专门培训，取得什么后方可上岗？",  # i18n: data
        ["毕业证书", "特种作业操作证", "健康证", "居住证"],  # i18n: data
        [1],
    ),
    (
        "single",
        "使用灭火器扑救初起火灾时，应对准火焰的哪个部位？",  # i18n: data
        ["顶部", "中部", "根部", "外围"],  # i18n: data
        [2],
    ),
    (
        "multiple",
        "生产经营单位的从业人员享有下列哪些权利？",  # i18n: data
        ["知情权", "建议权", "拒绝违章指挥权", "随意离岗权"],  # i18n: data
        [0, 1, 2],
    ),
    (
        "multiple",
        "下列属于个人劳动防护用品的是？",  # i18n: data
        ["安全帽", "安全带", "绝缘手套", "手机"],  # i18n: data
        [0, 1, 2],
    ),
    (
        "multiple",
        "安全生产工作应当坚持的方针包括？",  # i18n: data
        ["安全第一", "预防为主", "综合治理", "效益优先"],  # i18n: data
        [0, 1, 2],
    ),
    ("judge", "从业人员有权拒绝违章指挥和强令冒险作业。", [], [0]),  # i18n: data
    ("judge", "新员工上岗前可以不接受安全生产教育和培训。", [], [1]),  # i18n: data
    ("judge", "安全帽出现裂纹后仍可继续使用。", [], [1]),  # i18n: data
    ("fill", "我国安全生产的方针是：安全第一、____为主、综合治理。", [], [["预防"]]),  # i18n: data
    ("fill", "火警电话是____。", [], [["119", "幺幺九"]]),  # i18n: data
]


def demo_id_number(n: int) -> str:
    first17 = f"331102{1985 + n % 15}{(n % 12) + 1:02d}{(n % 27) + 1:02d}{100 + n:03d}"
    return first17 + compute_check_digit(first17)


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_seed must not run with ZHIPEI_ENV=production")
        with transaction.atomic():
            staff, trainees = self._seed()
            course = self._course(
                Institution.objects.get(credit_code=make_credit_code(INSTITUTIONS[0]["credit"]))
            )
            training_class = self._class_and_questions(course)
            self._exams(course, training_class)
        self._print(staff, trainees, course)

    def _seed(self) -> tuple[list[User], list[User]]:
        institutions = {}
        for spec in INSTITUTIONS:
            inst, _created = Institution.objects.get_or_create(
                credit_code=make_credit_code(spec["credit"]),
                defaults={
                    "name": spec["name"],
                    "kind": spec["kind"],
                    "region": Region.objects.get(code=spec["region"]),
                    "licence_no": spec["licence"],
                    "legal_person": spec["legal_person"],
                    "contact_name": spec["contact_name"],
                    "contact_title": spec["contact_title"],
                    "contact_phone": spec["contact_phone"],
                    "address": spec["address"],
                },
            )
            institutions[spec["key"]] = inst
        staff = [
            self._staff(
                "voc_admin",
                "陈晓燕",  # i18n: data
                Role.INSTITUTION_ADMIN,
                institution=institutions["voc"],
            ),
            self._staff(
                "voc_teacher",
                "王立新",  # i18n: data
                Role.INSTRUCTOR,
                institution=institutions["voc"],
            ),
            self._staff(
                "ent_admin",
                "叶丽娟",  # i18n: data
                Role.INSTITUTION_ADMIN,
                institution=institutions["ent"],
            ),
            self._staff(
                "ent_teacher",
                "徐文斌",  # i18n: data
                Role.INSTRUCTOR,
                institution=institutions["ent"],
            ),
            self._staff(
                "lishui_bureau",
                "丽水市人社局（备案测试账号）",  # i18n: data
                Role.REGULATOR,
                region_id="331100",
                regulator_office=User.RegulatorOffice.ALL,
            ),
            self._staff(
                "liandu_bureau",
                "莲都区人社局培训科",  # i18n: data
                Role.REGULATOR,
                region_id="331102",
                regulator_office=User.RegulatorOffice.TRAINING,
            ),
            self._staff("ops_admin", "平台运维", Role.OPERATOR),  # i18n: data
            self._staff("sec_officer", "安全保密管理员", Role.SECURITY),  # i18n: data
            self._staff("auditor", "安全审计员", Role.AUDITOR),  # i18n: data
        ]
        consent = ConsentDocument.objects.filter(kind=ConsentDocument.Kind.PERSONAL_INFO).latest(
            "effective_at"
        )
        trainees = []
        for n in range(20):
            phone = f"1380000{n + 1:04d}"
            user = User.objects.filter(username=f"demo_trainee_{n + 1:02d}").first()
            if user is None:
                user = User(
                    username=f"demo_trainee_{n + 1:02d}",
                    role=Role.TRAINEE,
                    name=SURNAMES[n] + GIVEN[n],
                )
                user.set_phone(phone)
                user.set_unusable_password()
                user.save()
                profile = TraineeProfile(user=user)
                profile.set_id_number(demo_id_number(n))
                profile.save()
                inst = institutions["voc"] if n < 10 else institutions["ent"]
                Membership.objects.create(
                    trainee=profile, institution=inst, source=Membership.Source.IMPORT
                )
                ConsentRecord.objects.create(
                    user=user, document=consent, action=ConsentRecord.Action.ACCEPT
                )
            trainees.append(user)
        return staff, trainees

    def _course(self, institution: Institution) -> Course:
        """A sample course whose lesson video is generated here (PyAV), nothing downloaded."""
        course = Course.objects.filter(institution=institution, title=SAMPLE_COURSE).first()
        if course is not None:
            return course
        course = course_create(
            by=None,
            institution=institution,
            title=SAMPLE_COURSE,
            kind=Course.Kind.VOCATIONAL,
            occupation="安全生产通用",  # i18n: data
            level="—",
            theory_hours=8,
            practical_hours=0,
            description="演示课程：视频由平台使用 PyAV 在本地生成。",  # i18n: data
        )
        chapter = Chapter.objects.create(
            course=course,
            title="第一章 安全生产法律法规",  # i18n: data
            position=1,
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "sample-lesson.mp4"
            generate_lesson_video(path, seconds=120, title="安全生产基础知识 第一讲")  # i18n: data
            with path.open("rb") as fh:
                lesson_create_with_video(
                    chapter=chapter,
                    title="第一讲 安全生产法概述",  # i18n: data
                    video=File(fh),
                    by=None,
                )
        return course

    def _exams(self, course: Course, training_class: TrainingClass) -> None:
        """A question bank, a random paper, a course exam (no prerequisite, open for a month,
        answers shown after submitting) and the class's final exam (after its 学时)."""
        from zhipei.exams.models import Exam, Question
        from zhipei.exams.services import exam_create, paper_create, question_create

        institution = course.institution
        if Exam.objects.filter(institution=institution).exists():
            return
        if not Question.objects.filter(institution=institution).exists():
            for kind, stem, options, answer in DEMO_BANK:
                question_create(
                    institution=institution,
                    by=None,
                    kind=kind,
                    stem=stem,
                    options=options,
                    answer=answer,
                    course=course,
                )
        paper = paper_create(
            institution=institution,
            title="安全生产基础知识 随机卷",  # i18n: data
            by=None,
            rules=[
                {"kind": "single", "count": 4, "score": 10},
                {"kind": "multiple", "count": 2, "score": 15},
                {"kind": "judge", "count": 2, "score": 10},
                {"kind": "fill", "count": 1, "score": 10},
            ],
        )
        now = timezone.now()
        exam_create(
            institution=institution,
            by=None,
            paper=paper,
            title="安全生产基础知识 课程测验",  # i18n: data
            scope=Exam.Scope.COURSE,
            course=course,
            opens_at=now,
            closes_at=now + timedelta(days=30),
            duration_minutes=20,
            max_attempts=3,
            show_answers=Exam.ShowAnswers.AFTER_SUBMIT,
            requires_completion=False,
        )
        exam_create(
            institution=institution,
            by=None,
            paper=paper,
            title=f"{training_class.name} 结业考试",  # i18n: data
            scope=Exam.Scope.CLASS,
            training_class=training_class,
            opens_at=now,
            closes_at=now + timedelta(days=30),
            duration_minutes=30,
            max_attempts=2,
        )

    def _class_and_questions(self, course: Course) -> TrainingClass:
        """Each piece on its own, so a demo database from an older version gets the new ones."""
        lesson = Lesson.objects.filter(chapter__course=course).first()
        if lesson is not None and not lesson.questions.exists():
            for text, options, answer in DEMO_QUESTIONS:
                LessonQuestion.objects.create(
                    lesson=lesson, text=text, options=options, answer=answer
                )
        training_class, _created = TrainingClass.objects.get_or_create(
            institution=course.institution,
            name="2026 年 12 月安全生产培训班",  # i18n: data
            defaults={
                "kind": Course.Kind.VOCATIONAL,
                "start_date": timezone.localdate(),
                "end_date": timezone.localdate() + timedelta(days=30),
                "required_xueshi": 8,
            },
        )
        training_class.courses.add(course)
        for profile in TraineeProfile.objects.filter(memberships__institution=course.institution):
            ClassMember.objects.get_or_create(training_class=training_class, trainee=profile)
        return training_class

    def _staff(self, username: str, name: str, role: str, **fields: Any) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, name=name, role=role, **fields)
            user.set_password(DEMO_PASSWORD)
            user.totp_secret = pyotp.random_base32()
            user.totp_confirmed_at = timezone.now()
            user.save()
        return user

    def _print(self, staff: list[User], trainees: list[User], course: Course) -> None:
        out = self.stdout.write
        out("")
        out("=" * 72)
        out(_("职培 Zhipei demo — http://127.0.0.1:8000"))
        out("=" * 72)
        out(
            _(
                "工作人员（密码均为 %(password)s；第二步的动态验证码：\n"
                "  在身份验证器 App 中添加下列密钥，或运行 .venv/bin/python manage.py demo_totp 用户名）"
            )
            % {"password": DEMO_PASSWORD}
        )
        for user in staff:
            where = {
                "inst_admin": "/console/login/",
                "instructor": "/console/login/",
                "regulator": "/portal/login/",
            }.get(user.role, "/ops/login/")
            out(
                "  "
                + _("%(username)-15s %(role)-10s %(where)-16s TOTP 密钥 %(secret)s")
                % {
                    "username": user.username,
                    "role": user.get_role_display(),
                    "where": where,
                    "secret": user.totp_secret,
                }
            )
        out(_("学员（手机号 + 短信验证码，登录页 /login/；演示环境的验证码打印在本终端）:"))
        for user in trainees[:3] + trainees[10:12]:
            inst = user.trainee_profile.memberships.first().institution.name  # type: ignore[union-attr]
            out(
                "  "
                + _("%(name)-4s 手机 %(phone)s  %(institution)s")
                % {"name": user.name, "phone": user.phone, "institution": inst}
            )
        out(
            "  "
            + ngettext(
                "…共 %(count)s 名学员，手机号 13800000001 – 13800000020",
                "…共 %(count)s 名学员，手机号 13800000001 – 13800000020",
                len(trainees),
            )
            % {"count": len(trainees)}
        )
        lesson = Lesson.objects.filter(chapter__course=course).first()
        seconds = lesson.duration_seconds if lesson else 0
        out(
            ngettext(
                "示例课程：%(course)s（%(institution)s，视频 %(seconds)s 秒，由 PyAV 本地生成）",
                "示例课程：%(course)s（%(institution)s，视频 %(seconds)s 秒，由 PyAV 本地生成）",
                seconds,
            )
            % {"course": course.title, "institution": course.institution.name, "seconds": seconds}
        )
        out("=" * 72)
