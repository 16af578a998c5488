"""The append-only, hash-chained audit log (等保 2.0: who, when, what, result; kept ≥ 6 months)."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any, NoReturn

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(_("审计日志不可修改"))

    def delete(self) -> NoReturn:
        raise AppendOnlyError(_("审计日志不可删除"))


class AuditEntry(models.Model):
    class Result(models.TextChoices):
        SUCCESS = "success", gettext_lazy("成功")
        FAILURE = "failure", gettext_lazy("失败")
        DENIED = "denied", gettext_lazy("拒绝")

    at = models.DateTimeField(gettext_lazy("时间"), default=timezone.now, db_index=True)
    # Snapshots rather than foreign keys with cascades: an entry must outlive what it names.
    actor_id = models.BigIntegerField(gettext_lazy("操作人ID"), null=True, db_index=True)
    actor_label = models.CharField(gettext_lazy("操作人"), max_length=150, blank=True)
    actor_role = models.CharField(gettext_lazy("角色"), max_length=20, blank=True)
    institution_id = models.BigIntegerField(gettext_lazy("机构ID"), null=True, db_index=True)
    action = models.CharField(gettext_lazy("操作"), max_length=64, db_index=True)
    target_type = models.CharField(gettext_lazy("对象类型"), max_length=64, blank=True)
    target_id = models.CharField(gettext_lazy("对象ID"), max_length=64, blank=True)
    result = models.CharField(
        gettext_lazy("结果"), max_length=10, choices=Result.choices, default=Result.SUCCESS
    )
    ip = models.GenericIPAddressField(gettext_lazy("IP"), null=True, blank=True)
    detail = models.JSONField(gettext_lazy("详情"), default=dict, blank=True)
    algorithm = models.CharField(gettext_lazy("摘要算法"), max_length=8)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        verbose_name = gettext_lazy("审计记录")
        verbose_name_plural = gettext_lazy("审计记录")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.result}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError(_("审计日志不可修改"))
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError(_("审计日志不可删除"))

    def canonical_bytes(self) -> bytes:
        """The content the hash chain covers, in a form that survives a database round trip."""
        body = {
            "at": self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "actor_role": self.actor_role,
            "institution_id": self.institution_id,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "result": self.result,
            "ip": self.ip,
            "detail": self.detail,
        }
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
