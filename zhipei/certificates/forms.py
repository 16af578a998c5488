"""Forms of the verification page and the console's issue and revoke actions."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from zhipei.certificates.models import Certificate
from zhipei.certificates.services import normalize_serial
from zhipei.core.forms import Form


class VerifyLookupForm(Form):
    serial = forms.CharField(
        label=_("证书编号"),
        max_length=40,
        help_text=_("证书二维码下方的编号，如 ZP2026-ABCD-EFGH-JKLM"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean_serial(self) -> str:
        serial = normalize_serial(self.cleaned_data["serial"])
        if not serial:
            raise forms.ValidationError(_("格式不正确"))
        return serial


class IssueForm(Form):
    kind = forms.ChoiceField(label=_("证书类型"), choices=Certificate.Kind.choices)
    trainee = forms.IntegerField(label=_("学员"), required=False, widget=forms.HiddenInput)


class RevokeForm(Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=200)
