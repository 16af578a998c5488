"""The catalogue: courses of an institution, their chapters and lessons (video, read for duration)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhipei.institutions.models import Institution


class Course(models.Model):
    class Kind(models.TextChoices):
        VOCATIONAL = "vocational", _("职业技能类")
        ENTREPRENEURSHIP = "entrepreneurship", _("创业类")

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="courses")
    title = models.CharField(_("课程名称"), max_length=100)
    kind = models.CharField(_("课程类型"), max_length=20, choices=Kind.choices)
    occupation = models.CharField(_("职业（工种）"), max_length=100, blank=True)
    level = models.CharField(_("等级"), max_length=20, blank=True)
    theory_hours = models.DecimalField(_("理论学时"), max_digits=6, decimal_places=1, default=0)
    practical_hours = models.DecimalField(_("实操学时"), max_digits=6, decimal_places=1, default=0)
    description = models.TextField(_("简介"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("课程")
        verbose_name_plural = _("课程")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Chapter(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="chapters")
    title = models.CharField(_("章节名称"), max_length=100)
    position = models.PositiveIntegerField(_("顺序"), default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


def lesson_upload_path(lesson: Lesson, filename: str) -> str:
    return f"lessons/{lesson.chapter.course.institution_id}/{timezone.now():%Y%m}/{filename}"


class Lesson(models.Model):
    class Kind(models.TextChoices):
        VIDEO = "video", _("视频")
        DOCUMENT = "document", _("PDF 文档")

    chapter = models.ForeignKey(Chapter, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField(_("课时名称"), max_length=100)
    position = models.PositiveIntegerField(_("顺序"), default=0)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.VIDEO)
    video = models.FileField(_("视频"), upload_to=lesson_upload_path, blank=True)
    document = models.FileField(_("PDF 文档"), upload_to=lesson_upload_path, blank=True)
    # A video's duration is read from the file itself (PyAV), never typed in: it bounds what study
    # can credit. A document's is the reading time the institution requires.
    duration_seconds = models.PositiveIntegerField(_("时长（秒）"), default=0, editable=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def media(self) -> models.fields.files.FieldFile:
        """The file the trainee studies: the video, or the PDF."""
        return self.document if self.kind == self.Kind.DOCUMENT else self.video


class LessonQuestion(models.Model):
    """A pop-up question from the lesson's pool, asked at a random moment during study."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(_("题目"), max_length=300)
    options = models.JSONField(_("选项"), default=list)  # ["A text", "B text", ...]
    answer = models.PositiveSmallIntegerField(_("正确选项序号"))  # index into options

    class Meta:
        verbose_name = _("随堂问题")
        verbose_name_plural = _("随堂问题")

    def __str__(self) -> str:
        return self.text[:30]


class TrainingClass(models.Model):
    """A 培训班: an institution's cohort, its courses, dates, required 学时."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="classes")
    name = models.CharField(_("班级名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=20, choices=Course.Kind.choices)
    courses = models.ManyToManyField(Course, related_name="classes", verbose_name=_("课程"))
    start_date = models.DateField(_("开班日期"))
    end_date = models.DateField(_("结业日期"))
    required_xueshi = models.DecimalField(_("要求学时"), max_digits=6, decimal_places=1)
    trainees = models.ManyToManyField(
        "accounts.TraineeProfile", through="ClassMember", related_name="classes"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("培训班")
        verbose_name_plural = _("培训班")
        ordering = ["-start_date", "-id"]

    def __str__(self) -> str:
        return self.name


class ClassMember(models.Model):
    training_class = models.ForeignKey(
        TrainingClass, on_delete=models.CASCADE, related_name="members"
    )
    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="class_memberships"
    )
    enrolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["training_class", "trainee"], name="unique_class_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.trainee_id}@{self.training_class_id}"
