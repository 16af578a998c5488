"""Export jobs: a large learning-record export runs in the background and ends in a private file
that only the person who asked for it may download, until its link expires."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportJob(models.Model):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (xlsx)"

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("生成中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    exporter = models.CharField(_("导出内容"), max_length=40)
    # Ids and ISO dates only (zhipei.records.exporters.ExportScope.params): no personal data.
    params = models.JSONField(default=dict)
    format = models.CharField(_("格式"), max_length=10, choices=Format.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    rows_done = models.PositiveIntegerField(_("已生成行数"), default=0)
    rows_total = models.PositiveIntegerField(_("预计行数"), default=0)  # a COUNT before the run
    file = models.CharField(max_length=200, blank=True)  # a default_storage name under exports/
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("链接有效期至"), null=True, blank=True)
    error = models.CharField(_("失败原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("导出任务")
        verbose_name_plural = _("导出任务")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.exporter}.{self.format} {self.get_status_display()}"

    def expired(self, now: datetime | None = None) -> bool:
        """The download link is dead: past its time, or the file is already purged."""
        moment = now or timezone.now()
        return self.expires_at is None or self.expires_at <= moment or not self.file

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_total))
