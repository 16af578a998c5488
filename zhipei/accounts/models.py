"""People: accounts with roles, the trainee's real-name profile, SMS codes and consents.

ID numbers and phones are encrypted field by field; a keyed blind index finds them again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhipei.core.crypto import blind_index
from zhipei.core.fields import EncryptedTextField
from zhipei.lib.masking import mask_id_number, mask_phone


class Role(models.TextChoices):
    TRAINEE = "trainee", _("学员")
    INSTRUCTOR = "instructor", _("讲师")
    INSTITUTION_ADMIN = "inst_admin", _("机构管理员")
    REGULATOR = "regulator", _("监管人员")
    OPERATOR = "operator", _("平台运维管理员")
    SECURITY = "security", _("安全保密管理员")
    AUDITOR = "auditor", _("安全审计员")


STAFF_ROLES = frozenset(r for r in Role if r != Role.TRAINEE)
INSTITUTION_ROLES = frozenset({Role.INSTRUCTOR, Role.INSTITUTION_ADMIN})
PLATFORM_ROLES = frozenset({Role.OPERATOR, Role.SECURITY, Role.AUDITOR})


def phone_index(phone: str) -> str:
    return blind_index().compute(phone, context="phone")


def id_number_index(number: str) -> str:
    return blind_index().compute(number, context="id_number")


class UserManager(BaseUserManager["User"]):
    def create_user(self, username: str, password: str | None = None, **fields: Any) -> User:
        user = self.model(username=username, **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        return user


class User(AbstractBaseUser):
    class RegulatorOffice(models.TextChoices):
        TRAINING = "training", _("培训职能处（科）室")
        EMPLOYMENT = "employment", _("就业服务中心")
        ALL = "all", _("局领导（全部类型）")

    username = models.CharField(_("用户名"), max_length=150, unique=True)
    name = models.CharField(_("姓名"), max_length=50)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    institution = models.ForeignKey(
        "institutions.Institution",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("所属机构"),
    )
    region = models.ForeignKey(
        "institutions.Region",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        verbose_name=_("监管地区"),
    )
    regulator_office = models.CharField(
        _("监管部门"), max_length=20, choices=RegulatorOffice.choices, blank=True
    )
    phone = EncryptedTextField(_("手机号"), blank=True)
    phone_index = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    phone_masked = models.CharField(_("手机号（脱敏）"), max_length=11, blank=True, editable=False)
    is_active = models.BooleanField(_("启用"), default=True)
    date_joined = models.DateTimeField(_("创建时间"), default=timezone.now)
    failed_logins = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    totp_secret = EncryptedTextField(blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    totp_last_step = models.BigIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["name", "role"]

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role__in=["instructor", "inst_admin"])
                | models.Q(institution__isnull=False),
                name="institution_staff_have_institution",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="regulator") | models.Q(region__isnull=False),
                name="regulators_have_region",
            ),
        ]

    def __str__(self) -> str:
        return _("%(name)s（%(username)s）") % {"name": self.name, "username": self.username}

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_trainee(self) -> bool:
        return self.role == Role.TRAINEE

    def set_phone(self, phone: str) -> None:
        """Phone, its blind index and its masked form move together."""
        self.phone = phone
        self.phone_index = phone_index(phone) if phone else None
        self.phone_masked = mask_phone(phone)

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def is_locked(self, now: Any = None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())

    def password_expired(self) -> bool:
        if self.password_changed_at is None:
            return True  # a one-time password set by an administrator
        if not settings.PASSWORD_MAX_AGE_DAYS:
            return False
        return timezone.now() - self.password_changed_at > timedelta(
            days=settings.PASSWORD_MAX_AGE_DAYS
        )

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        from zhipei.accounts.permissions import role_has_perm

        return self.is_active and role_has_perm(self.role, perm)

    @property
    def totp_enabled(self) -> bool:
        return self.totp_confirmed_at is not None


class RecoveryCode(models.Model):
    """Single-use codes that stand in for the TOTP device when it is lost; stored hashed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=128)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return _("恢复码 #%(pk)s（%(state)s）") % {
            "pk": self.pk,
            "state": _("已使用") if self.used_at else _("未使用"),
        }


class TraineeProfile(models.Model):
    """The real-name identity (实名) of a trainee: one per person across the platform."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="trainee_profile")
    id_number = EncryptedTextField(_("身份证号"))
    id_number_index = models.CharField(max_length=64, unique=True, editable=False)
    id_number_masked = models.CharField(_("身份证号（脱敏）"), max_length=18, editable=False)
    institutions = models.ManyToManyField(
        "institutions.Institution", through="Membership", related_name="trainees"
    )
    created_at = models.DateTimeField(_("注册时间"), default=timezone.now)

    class Meta:
        verbose_name = _("学员实名信息")
        verbose_name_plural = _("学员实名信息")

    def __str__(self) -> str:
        return f"{self.user.name} {self.id_number_masked}"

    def set_id_number(self, number: str) -> None:
        self.id_number = number
        self.id_number_index = id_number_index(number)
        self.id_number_masked = mask_id_number(number)


class Membership(models.Model):
    """A trainee studies with an institution: the link that scopes trainee data to tenants."""

    class Source(models.TextChoices):
        SELF = "self", _("学员自行注册")
        ADMIN = "admin", _("机构添加")
        IMPORT = "import", _("批量导入")

    trainee = models.ForeignKey(
        TraineeProfile, on_delete=models.PROTECT, related_name="memberships"
    )
    institution = models.ForeignKey(
        "institutions.Institution", on_delete=models.PROTECT, related_name="memberships"
    )
    source = models.CharField(_("来源"), max_length=10, choices=Source.choices)
    joined_at = models.DateTimeField(_("加入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("机构学员")
        verbose_name_plural = _("机构学员")
        constraints = [
            models.UniqueConstraint(fields=["trainee", "institution"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.trainee_id}@{self.institution_id}"


class SmsCode(models.Model):
    """One verification code sent; also the send log that the rate limits count."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("登录")
        REGISTER = "register", _("注册")
        STAFF_ENROL = "staff_enrol", _("工作人员首次登录")

    phone_index = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)
    # False when the phone has no account: nothing is sent, but the caller can't tell.
    delivered = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} {self.created_at:%Y-%m-%d %H:%M:%S}"


class ConsentDocument(models.Model):
    """A versioned consent text. Biometric (face) consent is separate, as PIPL Art. 29 asks."""

    class Kind(models.TextChoices):
        PERSONAL_INFO = "personal_info", _("个人信息处理同意书")
        BIOMETRIC = "biometric", _("人脸信息（敏感个人信息）单独同意书")

    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    version = models.CharField(_("版本"), max_length=20)
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"))
    effective_at = models.DateTimeField(_("生效时间"), default=timezone.now)

    class Meta:
        verbose_name = _("同意书")
        verbose_name_plural = _("同意书")
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="unique_consent_version")
        ]
        ordering = ["kind", "-effective_at"]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class ConsentRecord(models.Model):
    class Action(models.TextChoices):
        ACCEPT = "accept", _("同意")
        WITHDRAW = "withdraw", _("撤回")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT)
    action = models.CharField(max_length=10, choices=Action.choices)
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.document}"
