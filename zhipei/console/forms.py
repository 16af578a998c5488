from django import forms

from zhipei.accounts.forms import PhoneField
from zhipei.institutions.models import Institution


class InstitutionContactForm(forms.ModelForm):
    """What an institution admin may change about their own institution."""

    contact_phone = PhoneField(label="联系人手机")

    class Meta:
        model = Institution
        fields = ["contact_name", "contact_title", "contact_phone", "address"]
