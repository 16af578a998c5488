from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from zhipei.accounts.forms import PhoneField
from zhipei.accounts.models import INSTITUTION_ROLES, Role, User
from zhipei.audit.models import AuditEntry
from zhipei.core.forms import Form, ModelForm
from zhipei.institutions.models import Institution, Region
from zhipei.lib.creditcode import InvalidCreditCode, validate_credit_code


class InstitutionForm(ModelForm):
    contact_phone = PhoneField(label=_("联系人手机"))

    class Meta:
        model = Institution
        fields = [
            "name",
            "credit_code",
            "licence_no",
            "kind",
            "region",
            "legal_person",
            "contact_name",
            "contact_title",
            "contact_phone",
            "address",
        ]

    def clean_credit_code(self) -> str:
        try:
            return validate_credit_code(self.cleaned_data["credit_code"])
        except InvalidCreditCode as exc:
            raise forms.ValidationError(str(exc), code="invalid_credit_code") from exc


class StaffAccountForm(Form):
    username = forms.CharField(
        label=_("用户名"),
        max_length=40,
        validators=[
            RegexValidator(
                r"^[a-zA-Z][a-zA-Z0-9_.-]{2,39}$", _("3–40位字母、数字、下划线，以字母开头")
            )
        ],
    )
    name = forms.CharField(label=_("姓名"), max_length=50)
    # Platform roles (operator, security officer, auditor) are created on the server with
    # `manage.py create_platform_account`, never by the operator (三员分立).
    role = forms.ChoiceField(
        label=_("角色"),
        choices=[
            (r.value, r.label) for r in (Role.INSTITUTION_ADMIN, Role.INSTRUCTOR, Role.REGULATOR)
        ],
    )
    institution = forms.ModelChoiceField(
        Institution.objects.filter(is_active=True),
        label=_("所属机构"),
        required=False,
        help_text=_("讲师、机构管理员必填"),
    )
    region = forms.ModelChoiceField(
        Region.objects.all(), label=_("监管地区"), required=False, help_text=_("监管人员必填")
    )
    regulator_office = forms.ChoiceField(
        label=_("监管部门"),
        required=False,
        choices=[("", "—")] + list(User.RegulatorOffice.choices),
    )
    phone = PhoneField(help_text=_("首次登录时向此手机号发送验证码，以确认是本人"))

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("已被使用"), code="username_taken")
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role = data.get("role")
        if role in INSTITUTION_ROLES and not data.get("institution"):
            self.add_error("institution", _("讲师和机构管理员必须属于一个机构"))
        if role == Role.REGULATOR:
            if not data.get("region"):
                self.add_error("region", _("监管人员必须指定监管地区"))
            if not data.get("regulator_office"):
                self.add_error("regulator_office", _("请选择培训职能处（科）室或就业服务中心"))
        if role not in INSTITUTION_ROLES:
            data["institution"] = None
        if role != Role.REGULATOR:
            data["region"], data["regulator_office"] = None, ""
        return data


class AuditFilterForm(Form):
    action = forms.CharField(label=_("操作"), required=False, max_length=64)
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    result = forms.ChoiceField(
        label=_("结果"), required=False, choices=[("", _("全部"))] + list(AuditEntry.Result.choices)
    )
    since = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
