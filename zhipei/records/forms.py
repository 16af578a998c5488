"""The export form: what to export, in which format, for which class, course and dates.

The class and course are taken as ids and fetched by the view from the user's own institution:
another institution's class is then a 404, like a missing one, and never a hint that it exists.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from zhipei.core.forms import Form
from zhipei.courses.models import Course, TrainingClass
from zhipei.records.exporters import EXPORTERS
from zhipei.records.models import ExportJob

MAX_DAYS = 366  # the longest date range of one export
EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
MAX_ID = 2**63 - 1  # a bigint primary key: a larger number is not a class, not a database error


class ExportForm(Form):
    exporter = forms.ChoiceField(label=gettext_lazy("导出内容"), choices=())
    format = forms.ChoiceField(
        label=gettext_lazy("格式"), choices=ExportJob.Format.choices, initial=ExportJob.Format.XLSX
    )
    training_class = forms.IntegerField(
        label=gettext_lazy("培训班"), required=False, min_value=1, max_value=MAX_ID
    )
    course = forms.IntegerField(
        label=gettext_lazy("课程"), required=False, min_value=1, max_value=MAX_ID
    )
    date_from = forms.DateField(
        label=gettext_lazy("开始日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = forms.DateField(
        label=gettext_lazy("结束日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, institution_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        exporter = cast(forms.ChoiceField, self.fields["exporter"])
        exporter.choices = [(k, e.verbose_name) for k, e in EXPORTERS.items()]
        classes = TrainingClass.objects.filter(institution_id=institution_id).order_by(
            "-start_date", "-pk"
        )
        courses = Course.objects.filter(institution_id=institution_id).order_by("title", "pk")
        self.fields["training_class"].widget = forms.Select(
            choices=[("", _("全部（须选择日期）"))]
            + [
                (
                    c.pk,
                    _("%(name)s（%(start)s 至 %(end)s）")
                    % {
                        "name": c.name,
                        "start": f"{c.start_date:%Y-%m-%d}",
                        "end": f"{c.end_date:%Y-%m-%d}",
                    },
                )
                for c in classes
            ]
        )
        self.fields["course"].widget = forms.Select(
            choices=[("", _("全部课程"))] + [(c.pk, c.title) for c in courses]
        )
        for name in ("training_class", "course"):
            self.fields[name].error_messages["invalid"] = _("请从列表中选择")

    def clean_date_from(self) -> date | None:
        return _in_range(self.cleaned_data["date_from"])

    def clean_date_to(self) -> date | None:
        return _in_range(self.cleaned_data["date_to"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if self.errors:
            return data
        if (start is None) != (end is None):
            self.add_error("date_to" if end is None else "date_from", _("请同时填写开始和结束日期"))
        elif start is not None and end is not None:
            if start > end:
                self.add_error("date_to", _("结束日期不能早于开始日期"))
            elif end - start >= timedelta(days=MAX_DAYS):
                self.add_error(
                    "date_to",
                    ngettext(
                        "一次最多导出 %(days)s 天的记录", "一次最多导出 %(days)s 天的记录", MAX_DAYS
                    )
                    % {"days": MAX_DAYS},
                )
        elif data.get("training_class") is None:
            self.add_error(None, _("请选择培训班，或填写开始和结束日期"))
        return data


def _in_range(day: date | None) -> date | None:
    if day is not None and not EARLIEST <= day <= LATEST:
        raise forms.ValidationError(
            _("日期须在 %(earliest)s 至 %(latest)s 之间")
            % {"earliest": f"{EARLIEST:%Y-%m-%d}", "latest": f"{LATEST:%Y-%m-%d}"},
            code="out_of_range",
        )
    return day
