from django import forms

from zhipei.institutions.models import Institution


class InstitutionContactForm(forms.ModelForm):
    """What an institution admin may change about their own institution."""

    class Meta:
        model = Institution
        fields = ["contact_name", "contact_title", "contact_phone", "address"]
