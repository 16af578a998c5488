"""Regions (行政区划) and training institutions, the tenants of the platform."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhipei.lib.creditcode import InvalidCreditCode, validate_credit_code
from zhipei.lib.phone import InvalidPhone, normalize_mobile


class Region(models.Model):
    class Level(models.TextChoices):
        PROVINCE = "province", _("省")
        CITY = "city", _("市")
        COUNTY = "county", _("县（市、区）")

    code = models.CharField(_("行政区划代码"), max_length=6, primary_key=True)
    name = models.CharField(_("名称"), max_length=50)
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def scope_prefix(self) -> str:
        """Codes under this region share this prefix: 331100 → "3311", 330000 → "33"."""
        code = self.code
        while code.endswith("00") and len(code) > 2:
            code = code[:-2]
        return code


def validate_credit_code_field(value: str) -> None:
    try:
        validate_credit_code(value)
    except InvalidCreditCode as exc:
        raise ValidationError(str(exc), code="invalid_credit_code") from exc


def validate_phone_field(value: str) -> None:
    try:
        normalize_mobile(value)
    except InvalidPhone as exc:
        raise ValidationError(str(exc), code="invalid_phone") from exc


class Institution(models.Model):
    class Kind(models.TextChoices):
        VOCATIONAL = "vocational", _("职业技能类")
        ENTREPRENEURSHIP = "entrepreneurship", _("创业类")
        BOTH = "both", _("职业技能类 + 创业类")

    name = models.CharField(_("机构名称"), max_length=100)
    credit_code = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_credit_code_field]
    )
    licence_no = models.CharField(_("办学许可证编号"), max_length=50)
    kind = models.CharField(_("机构类型"), max_length=20, choices=Kind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, verbose_name=_("所属地区"))
    legal_person = models.CharField(_("法人姓名"), max_length=50)
    contact_name = models.CharField(_("联系人"), max_length=50)
    contact_title = models.CharField(_("联系人职务"), max_length=50, blank=True)
    contact_phone = models.CharField(
        _("联系人手机"), max_length=11, validators=[validate_phone_field]
    )
    address = models.CharField(_("地址"), max_length=200)
    is_active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)

    class Meta:
        verbose_name = _("培训机构")
        verbose_name_plural = _("培训机构")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def offers_vocational(self) -> bool:
        return self.kind in (self.Kind.VOCATIONAL, self.Kind.BOTH)

    @property
    def offers_entrepreneurship(self) -> bool:
        return self.kind in (self.Kind.ENTREPRENEURSHIP, self.Kind.BOTH)
