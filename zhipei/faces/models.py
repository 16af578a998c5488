"""Face identity: enrolled templates (descriptors only, encrypted, apart from identity data),
every verification attempt with its stamped evidence image, fraud alerts and the non-face route."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhipei.core.fields import EncryptedBinaryField


class Purpose(models.TextChoices):
    ENROL = "enrol", _("人脸采集")
    LOGIN = "login", _("登录核验")
    STUDY_START = "study_start", _("学习开始核验")
    STUDY_RECHECK = "study_recheck", _("学习过程抽查")
    EXAM_START = "exam_start", _("考试开始核验")
    EXAM_RECHECK = "exam_recheck", _("考试过程抽查")


class Decision(models.TextChoices):
    MATCH = "MATCH", _("通过")
    MISMATCH = "MISMATCH", _("非本人")
    NO_FACE = "NO_FACE", _("未检测到人脸")
    MULTIPLE_FACES = "MULTIPLE_FACES", _("多张人脸")
    LOW_QUALITY = "LOW_QUALITY", _("图像质量不合格")
    LIVENESS_FAILED = "LIVENESS_FAILED", _("活体检测未通过")
    ENROLLED = "ENROLLED", _("已采集")


class FaceTemplate(models.Model):
    """A trainee's enrolled face: the 128-d descriptor only, never the photo, encrypted.

    At most one ACTIVE template per trainee. A re-enrolment waits for an admin's approval; an
    enrolment whose face matches another account waits for an admin to resolve the alert.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        PENDING_APPROVAL = "pending_approval", _("重新采集待审批")
        PENDING_DUPLICATE = "pending_duplicate", _("疑似重复人脸待核查")
        REJECTED = "rejected", _("已驳回")
        REPLACED = "replaced", _("已被替换")
        ERASED = "erased", _("已删除（撤回同意）")

    class Source(models.TextChoices):
        CAMERA = "camera", _("学员摄像头采集")
        ADMIN_UPLOAD = "admin_upload", _("机构上传存档照片")

    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="face_templates"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    descriptor = EncryptedBinaryField(blank=True)
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices)
    source = models.CharField(_("来源"), max_length=20, choices=Source.choices)
    created_at = models.DateTimeField(_("采集时间"), default=timezone.now)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    decided_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("人脸模板")
        verbose_name_plural = _("人脸模板")
        constraints = [
            models.UniqueConstraint(
                fields=["trainee"],
                condition=models.Q(status="active"),
                name="one_active_face_per_trainee",
            )
        ]
        indexes = [models.Index(fields=["status", "institution"])]

    def __str__(self) -> str:
        return f"{self.trainee_id} {self.get_status_display()}"


class FaceAttempt(models.Model):
    """Evidence of one enrolment or verification: who, where, why, when, the outcome, and the
    frame (stamped with institution, trainee and time, then encrypted) it was decided on."""

    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="face_attempts"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(_("用途"), max_length=20, choices=Purpose.choices)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    decision = models.CharField(_("结果"), max_length=20, choices=Decision.choices)
    distance = models.FloatField(_("特征距离"), null=True, blank=True)
    threshold = models.FloatField(_("阈值"), null=True, blank=True)
    message = models.CharField(_("说明"), max_length=200, blank=True)
    challenge = models.CharField(_("活体动作"), max_length=20, blank=True)
    motion = models.FloatField(_("帧间变化"), null=True, blank=True)
    frame_count = models.PositiveSmallIntegerField(_("帧数"), default=0)
    # dHashes of the burst's frames (hex): a later burst made only of these frames is a replay.
    frame_hashes = models.JSONField(default=list, blank=True)
    evidence = models.CharField(_("证据图像（加密）"), max_length=200, blank=True)
    # A reference the study/exam issues attach to (a session id, an attempt id).
    context = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("人脸核验记录")
        verbose_name_plural = _("人脸核验记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["trainee", "-at"]),
            models.Index(fields=["institution", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.get_decision_display()} {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def passed(self) -> bool:
        return self.decision == Decision.MATCH


class FraudAlert(models.Model):
    """Something a regulator must see: for now, one face on two accounts."""

    class Kind(models.TextChoices):
        DUPLICATE_FACE = "duplicate_face", _("同一人脸对应多个账号")

    class Resolution(models.TextChoices):
        DIFFERENT_PEOPLE = "different_people", _("核实为不同人员，放行")
        SAME_PERSON = "same_person", _("核实为同一人，驳回采集")

    kind = models.CharField(_("类型"), max_length=30, choices=Kind.choices)
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="fraud_alerts"
    )
    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="+"
    )
    other_trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="+"
    )
    template = models.ForeignKey(FaceTemplate, on_delete=models.PROTECT, related_name="alerts")
    distance = models.FloatField(_("特征距离"))
    created_at = models.DateTimeField(_("发现时间"), default=timezone.now)
    resolved_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(
        _("处理结果"), max_length=20, choices=Resolution.choices, blank=True
    )
    note = models.CharField(_("处理说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("异常预警")
        verbose_name_plural = _("异常预警")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d}"


class NonFaceCheck(models.Model):
    """The route for people who cannot use face recognition: the trainee's SMS code plus an
    institution staff member who checked the person in front of them. Recorded as such, so the
    bureau decides whether hours verified this way count."""

    trainee = models.ForeignKey(
        "accounts.TraineeProfile", on_delete=models.PROTECT, related_name="non_face_checks"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField(_("用途"), max_length=20, choices=Purpose.choices)
    witnessed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("无法使用人脸识别的原因"), max_length=200)
    document_checked = models.CharField(
        _("核验的证件"),
        max_length=50,
        default="居民身份证",  # i18n: data (stored; the form offers it translated)
    )
    at = models.DateTimeField(_("时间"), default=timezone.now)
    valid_until = models.DateTimeField(_("有效至"))

    class Meta:
        verbose_name = _("非人脸身份核验")
        verbose_name_plural = _("非人脸身份核验")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.trainee_id} {self.get_purpose_display()} {self.at:%Y-%m-%d}"
