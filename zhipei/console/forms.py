from django import forms

from zhipei.accounts.forms import PhoneField, SmsCodeField
from zhipei.core.forms import Form, ModelForm
from zhipei.faces.models import Purpose
from zhipei.institutions.models import Institution


class InstitutionContactForm(ModelForm):
    """What an institution admin may change about their own institution."""

    contact_phone = PhoneField(label="联系人手机")

    class Meta:
        model = Institution
        fields = ["contact_name", "contact_title", "contact_phone", "address"]


class FacePhotoForm(Form):
    photo = forms.FileField(
        label="存档照片",
        help_text="JPEG、PNG 或 WebP，不超过 5 MB，例如身份证照片；须学员已同意人脸信息处理",
    )


class NonFaceCheckForm(Form):
    purpose = forms.ChoiceField(
        label="用途", choices=[(p.value, p.label) for p in Purpose if p != Purpose.ENROL]
    )
    reason = forms.CharField(label="无法使用人脸识别的原因", max_length=200)
    document_checked = forms.CharField(label="现场核验的证件", max_length=50, initial="居民身份证")
    code = SmsCodeField(label="学员收到的短信验证码")
