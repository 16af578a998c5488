"""Forms for sign-up and login. Field errors are Chinese sentences naming the field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from zhipei.accounts.models import SmsCode
from zhipei.core.forms import Form
from zhipei.institutions.models import Institution
from zhipei.lib.idnumber import InvalidIdNumber, parse_id_number
from zhipei.lib.phone import InvalidPhone, normalize_mobile


class PhoneField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("手机号"))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"inputmode": "numeric", "autocomplete": "tel", "placeholder": _("11位手机号")}
        )

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value and not self.required:
            return ""
        try:
            return normalize_mobile(value)
        except InvalidPhone as exc:
            raise forms.ValidationError(str(exc), code="invalid_phone") from exc


class IdNumberField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("身份证号"))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "placeholder": _("18位居民身份证号")})

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        try:
            parsed = parse_id_number(value)
        except InvalidIdNumber as exc:
            raise forms.ValidationError(str(exc), code="invalid_id_number") from exc
        if parsed.age_on(timezone.localdate()) < settings.MIN_TRAINEE_AGE:
            age = settings.MIN_TRAINEE_AGE
            raise forms.ValidationError(
                ngettext(
                    "未满%(age)s周岁，须由监护人陪同到培训机构线下办理",
                    "未满%(age)s周岁，须由监护人陪同到培训机构线下办理",
                    age,
                )
                % {"age": age},
                code="too_young",
            )
        return parsed.number


class SmsCodeField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("短信验证码"))
        kwargs.setdefault("max_length", 6)
        kwargs.setdefault("min_length", 6)
        kwargs.setdefault(
            "error_messages",
            {
                "min_length": _("应为6位数字"),
                "max_length": _("应为6位数字"),
                "required": _("请输入短信验证码"),
            },
        )
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "one-time-code"})


class SmsSendForm(Form):
    phone = PhoneField()
    # Only what a visitor may ask for; staff first-login codes are sent by the server itself.
    purpose = forms.ChoiceField(
        choices=[(p.value, p.label) for p in (SmsCode.Purpose.LOGIN, SmsCode.Purpose.REGISTER)]
    )


class TraineeLoginForm(Form):
    phone = PhoneField()
    code = SmsCodeField()


class TraineeRegisterForm(Form):
    institution = forms.ModelChoiceField(
        queryset=Institution.objects.filter(is_active=True),
        label=_("培训机构"),
        empty_label=_("请选择培训机构"),
        error_messages={"invalid_choice": _("请选择列表中的机构")},
    )
    name = forms.CharField(
        label=_("真实姓名"),
        max_length=50,
        min_length=2,
        error_messages={"min_length": _("至少2个字")},
    )
    id_number = IdNumberField()
    phone = PhoneField()
    code = SmsCodeField()
    agree = forms.BooleanField(
        label=_("我已阅读并同意《个人信息处理同意书》"),
        error_messages={"required": _("请阅读并同意《个人信息处理同意书》")},
    )

    def clean_name(self) -> str:
        name = "".join(self.cleaned_data["name"].split())
        if any(c.isdigit() for c in name):
            raise forms.ValidationError(_("不能包含数字"), code="invalid_name")
        return name


class StaffLoginForm(Form):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class TotpForm(Form):
    def __init__(self, *args: Any, need_sms: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if need_sms:
            # First login: the code sent to the account's own phone proves that the person
            # enrolling the authenticator is its owner, not whoever saw the initial password.
            self.fields["sms_code"] = SmsCodeField(label=_("短信验证码"))
            self.order_fields(["sms_code", "code"])

    code = forms.CharField(
        label=_("动态验证码"),
        max_length=20,
        help_text=_("身份验证器 App 中的6位数字；设备丢失时可输入一个恢复码"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class PasswordChangeForm(Form):
    old_password = forms.CharField(
        label=_("当前密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = forms.CharField(
        label=_("新密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("确认新密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self) -> str:
        old = self.cleaned_data["old_password"]
        if not self.user.check_password(old):
            raise forms.ValidationError(_("当前密码不正确"), code="password_incorrect")
        return old

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        p1, p2 = data.get("new_password1"), data.get("new_password2")
        if p1 and p2:
            if p1 != p2:
                self.add_error("new_password2", _("两次输入的新密码不一致"))
            elif p1 == data.get("old_password"):
                self.add_error("new_password1", _("新密码不能与当前密码相同"))
            else:
                try:
                    password_validation.validate_password(p1, self.user)
                except forms.ValidationError as exc:
                    self.add_error("new_password1", exc)
        return data
