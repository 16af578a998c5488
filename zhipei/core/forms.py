"""Form behaviour shared by every form: each error message names its field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _


class LabelledErrorsMixin:
    """Prefix "字段名：" to a field's errors unless the message already starts with the label,
    so that a message read on its own (in an alert, an API answer, a screen reader) is clear."""

    fields: dict[str, forms.Field]
    _errors: Any
    error_class: Any

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        if not self._errors:
            return
        for name, errors in list(self._errors.items()):
            field = self.fields.get(name)
            if field is None or not field.label:
                continue
            label = str(field.label)
            messages = [
                m
                if m.startswith(label)
                else _("%(label)s：%(message)s") % {"label": label, "message": m}
                for m in errors
            ]
            self._errors[name] = self.error_class(
                messages, renderer=getattr(errors, "renderer", None)
            )


class Form(LabelledErrorsMixin, forms.Form):
    pass


class ModelForm(LabelledErrorsMixin, forms.ModelForm):
    pass
