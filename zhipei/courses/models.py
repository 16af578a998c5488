"""The catalogue: courses of an institution, their chapters and lessons (video, read for duration)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from zhipei.institutions.models import Institution


class Course(models.Model):
    class Kind(models.TextChoices):
        VOCATIONAL = "vocational", "职业技能类"
        ENTREPRENEURSHIP = "entrepreneurship", "创业类"

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="courses")
    title = models.CharField("课程名称", max_length=100)
    kind = models.CharField("课程类型", max_length=20, choices=Kind.choices)
    occupation = models.CharField("职业（工种）", max_length=100, blank=True)
    level = models.CharField("等级", max_length=20, blank=True)
    theory_hours = models.DecimalField("理论学时", max_digits=6, decimal_places=1, default=0)
    practical_hours = models.DecimalField("实操学时", max_digits=6, decimal_places=1, default=0)
    description = models.TextField("简介", blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "课程"
        verbose_name_plural = "课程"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Chapter(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="chapters")
    title = models.CharField("章节名称", max_length=100)
    position = models.PositiveIntegerField("顺序", default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


def lesson_upload_path(lesson: Lesson, filename: str) -> str:
    return f"lessons/{lesson.chapter.course.institution_id}/{timezone.now():%Y%m}/{filename}"


class Lesson(models.Model):
    chapter = models.ForeignKey(Chapter, on_delete=models.CASCADE, related_name="lessons")
    title = models.CharField("课时名称", max_length=100)
    position = models.PositiveIntegerField("顺序", default=0)
    video = models.FileField("视频", upload_to=lesson_upload_path, blank=True)
    # Read from the file itself (PyAV), never typed in: it bounds what study can credit.
    duration_seconds = models.PositiveIntegerField("时长（秒）", default=0, editable=False)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title
