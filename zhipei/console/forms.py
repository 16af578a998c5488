from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from zhipei.accounts.forms import PhoneField, SmsCodeField
from zhipei.accounts.models import TraineeProfile
from zhipei.core.forms import Form, ModelForm
from zhipei.courses.models import Chapter, Course, Lesson
from zhipei.faces.models import Purpose
from zhipei.institutions.models import Institution


class InstitutionContactForm(ModelForm):
    """What an institution admin may change about their own institution."""

    contact_phone = PhoneField(label=gettext_lazy("联系人手机"))

    class Meta:
        model = Institution
        fields = ["contact_name", "contact_title", "contact_phone", "address"]


class FacePhotoForm(Form):
    photo = forms.FileField(
        label=gettext_lazy("存档照片"),
        help_text=gettext_lazy(
            "JPEG、PNG 或 WebP，不超过 5 MB，例如身份证照片；须学员已同意人脸信息处理"
        ),
    )


class NonFaceCheckForm(Form):
    purpose = forms.ChoiceField(
        label=gettext_lazy("用途"),
        choices=[(p.value, p.label) for p in Purpose if p != Purpose.ENROL],
    )
    reason = forms.CharField(label=gettext_lazy("无法使用人脸识别的原因"), max_length=200)
    document_checked = forms.CharField(
        label=gettext_lazy("现场核验的证件"), max_length=50, initial=gettext_lazy("居民身份证")
    )
    code = SmsCodeField(label=gettext_lazy("学员收到的短信验证码"))


class CourseForm(ModelForm):
    class Meta:
        model = Course
        fields = [
            "title",
            "kind",
            "occupation",
            "level",
            "theory_hours",
            "practical_hours",
            "description",
        ]


class ChapterForm(Form):
    title = forms.CharField(label=gettext_lazy("章节名称"), max_length=100)


class LessonUploadForm(Form):
    chapter = forms.ModelChoiceField(queryset=Chapter.objects.none(), label=gettext_lazy("章节"))
    title = forms.CharField(label=gettext_lazy("课时名称"), max_length=100)
    video = forms.FileField(
        label=gettext_lazy("视频文件"),
        required=False,
        help_text=gettext_lazy("MP4（H.264），时长从文件中读取"),
    )
    document = forms.FileField(
        label=gettext_lazy("或 PDF 文档"), required=False, help_text=gettext_lazy("不超过 50 MB")
    )
    reading_minutes = forms.IntegerField(
        label=gettext_lazy("PDF 要求阅读时长（分钟）"), required=False, min_value=1, max_value=600
    )

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chapter"].queryset = course.chapters.all()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("video")) == bool(data.get("document")):
            self.add_error("video", _("请上传一个视频，或一个 PDF 文档（二选一）"))
        elif data.get("document") and not data.get("reading_minutes"):
            self.add_error("reading_minutes", _("PDF 课时须设定要求阅读时长"))
        return data


class QuestionForm(Form):
    lesson = forms.ModelChoiceField(queryset=Lesson.objects.none(), label=gettext_lazy("课时"))
    text = forms.CharField(label=gettext_lazy("题目"), max_length=300)
    options = forms.CharField(
        label=gettext_lazy("选项"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("每行一个选项，至少两行"),
    )
    answer = forms.IntegerField(
        label=gettext_lazy("正确选项"),
        min_value=1,
        help_text=gettext_lazy("正确选项的行号，从 1 开始"),
    )

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lesson"].queryset = Lesson.objects.filter(chapter__course=course)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        options = [line.strip() for line in data.get("options", "").splitlines() if line.strip()]
        if len(options) < 2:
            self.add_error("options", _("至少需要两个选项"))
        elif data.get("answer") and data["answer"] > len(options):
            self.add_error(
                "answer",
                ngettext("只有 %(n)s 个选项", "只有 %(n)s 个选项", len(options))
                % {"n": len(options)},
            )
        data["options"] = options
        return data


class TrainingClassForm(Form):
    name = forms.CharField(label=gettext_lazy("班级名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=Course.Kind.choices)
    courses = forms.ModelMultipleChoiceField(
        queryset=Course.objects.none(),
        label=gettext_lazy("课程"),
        widget=forms.CheckboxSelectMultiple,
    )
    start_date = forms.DateField(
        label=gettext_lazy("开班日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end_date = forms.DateField(
        label=gettext_lazy("结业日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    required_xueshi = forms.DecimalField(
        label=gettext_lazy("要求学时"), max_digits=6, decimal_places=1, min_value=0
    )

    def __init__(self, *args: Any, institution: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["courses"].queryset = Course.objects.filter(institution=institution)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("start_date")
            and data.get("end_date")
            and data["end_date"] < data["start_date"]
        ):
            self.add_error("end_date", _("结业日期不能早于开班日期"))
        return data


class ClassMembersForm(Form):
    trainees = forms.ModelMultipleChoiceField(
        queryset=TraineeProfile.objects.none(),
        label=gettext_lazy("学员"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, queryset: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["trainees"].queryset = queryset  # type: ignore[attr-defined]
        field: Any = self.fields["trainees"]
        field.label_from_instance = lambda p: f"{p.user.name} {p.id_number_masked}"


class ClassSheetForm(Form):
    sheet = forms.FileField(
        label=gettext_lazy("Excel 名单（.xlsx）"),
        help_text=gettext_lazy("第一行表头须含“身份证号”列，可含“姓名”列用于核对"),
    )
