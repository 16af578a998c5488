from zhipei.accounts.forms import PhoneField
from zhipei.core.forms import ModelForm
from zhipei.institutions.models import Institution


class InstitutionContactForm(ModelForm):
    """What an institution admin may change about their own institution."""

    contact_phone = PhoneField(label="联系人手机")

    class Meta:
        model = Institution
        fields = ["contact_name", "contact_title", "contact_phone", "address"]
