"""Institution console: the question bank (by hand and from Excel), papers (fixed or drawn by
rules) and exams. Everything is the user's own institution's: another's is a 404."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from zhipei.accounts.models import User
from zhipei.accounts.permissions import Perm, require_perm
from zhipei.console.access import own_institution
from zhipei.core.exports import attachment
from zhipei.core.forms import Form
from zhipei.core.pagination import paginate
from zhipei.courses.models import Chapter, Course, Lesson, TrainingClass
from zhipei.exams import services, sheets
from zhipei.exams.models import Attempt, Exam, Paper, Question
from zhipei.institutions.models import Institution
from zhipei.institutions.scoping import scoped

Kind = Question.Kind
CHOICE_KINDS = (Kind.SINGLE, Kind.MULTIPLE)
RULE_ROWS = 8
PICK_LIMIT = 200  # questions offered at once when picking a fixed paper
SCORE_HELP = gettext_lazy("0.1–100 分，最多一位小数")
CHAPTER_LABEL = gettext_lazy("章节")


def _post(request: HttpRequest) -> QueryDict | None:
    return request.POST if request.method == "POST" else None


def _courses(institution: Institution) -> QuerySet[Course]:
    return Course.objects.filter(institution=institution).order_by("title", "id")


def _chapters(institution: Institution) -> QuerySet[Chapter]:
    return (
        Chapter.objects.filter(course__institution=institution)
        .select_related("course")
        .order_by("course__title", "course_id", "position", "id")
    )


class ChapterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.course.title} / {obj.title}"


class LessonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.chapter.course.title} / {obj.chapter.title} / {obj.title}"


def _chapter_field(label: Any = CHAPTER_LABEL) -> ChapterChoiceField:
    return ChapterChoiceField(queryset=Chapter.objects.none(), label=label, required=False)


def _score_field(**kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("0.1"),
        max_value=Decimal(100),
        **kwargs,
    )


# --- the bank ------------------------------------------------------------------------------------


class QuestionFilterForm(Form):
    SORTS = [
        ("-id", gettext_lazy("最新创建")),
        ("id", gettext_lazy("最早创建")),
        ("kind", gettext_lazy("按题型")),
        ("difficulty", gettext_lazy("难度由易到难")),
        ("-difficulty", gettext_lazy("难度由难到易")),
        ("course", gettext_lazy("按课程")),
    ]
    ORDERING = {
        "-id": ["-id"],
        "id": ["id"],
        "kind": ["kind", "-id"],
        "difficulty": ["difficulty", "-id"],
        "-difficulty": ["-difficulty", "-id"],
        "course": ["course__title", "chapter__position", "-id"],
    }

    q = forms.CharField(label=gettext_lazy("题干包含"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=gettext_lazy("题型"),
        required=False,
        choices=[("", gettext_lazy("全部")), *Kind.choices],
    )
    difficulty = forms.TypedChoiceField(
        label=gettext_lazy("难度"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("全部")), *Question.Difficulty.choices],
    )
    course = forms.ModelChoiceField(
        label=gettext_lazy("课程"),
        required=False,
        queryset=Course.objects.none(),
        empty_label=gettext_lazy("全部"),
    )
    chapter = _chapter_field()
    active = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[
            ("1", gettext_lazy("启用中")),
            ("0", gettext_lazy("已停用")),
            ("all", gettext_lazy("全部")),
        ],
    )
    sort = forms.ChoiceField(label=gettext_lazy("排序"), required=False, choices=SORTS)

    def __init__(
        self, *args: Any, institution: Institution, picking: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = _courses(institution)  # type: ignore[attr-defined]
        self.fields["chapter"].queryset = _chapters(institution)  # type: ignore[attr-defined]
        self.fields["chapter"].empty_label = _("全部")  # type: ignore[attr-defined]
        if picking:  # choosing questions for a paper: only active ones, in bank order
            del self.fields["active"], self.fields["sort"]

    def apply(self, questions: QuerySet[Question]) -> QuerySet[Question]:
        """``questions`` narrowed by the valid filters (an invalid one is shown and ignored)."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("q"):
            questions = questions.filter(stem__icontains=data["q"])
        for key in ("kind", "difficulty", "course", "chapter"):
            if data.get(key) not in (None, ""):
                questions = questions.filter(**{key: data[key]})
        if "active" in self.fields:
            state = data.get("active") or "1"
            if state != "all":
                questions = questions.filter(active=state == "1")
        return questions.order_by(*self.ORDERING[data.get("sort") or "-id"])

    @property
    def filtered(self) -> bool:
        return any(v not in (None, "") for k, v in self.cleaned_data.items() if k != "sort")


def _bank(user: User) -> QuerySet[Question]:
    return scoped(Question.objects.all(), user).select_related("course", "chapter")


class BankQuestionForm(Form):
    """One form for the four kinds; the fields a kind does not use are left out."""

    stem = forms.CharField(
        label=gettext_lazy("题干"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    correct = forms.MultipleChoiceField(
        label=gettext_lazy("正确选项"),
        choices=[(letter, letter) for letter in sheets.LETTERS],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choice-inline"}),
    )
    judge = forms.TypedChoiceField(
        label=gettext_lazy("正确答案"),
        coerce=int,
        choices=[(0, gettext_lazy("正确")), (1, gettext_lazy("错误"))],
        widget=forms.RadioSelect(attrs={"class": "choice-inline"}),
    )
    fills = forms.CharField(
        label=gettext_lazy("各空的答案"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "每个空一行（按题干中空的顺序）；同一个空有多个可接受的答案时用“|”或“/”分隔，"
            "例如 50|五十"
        ),
    )
    difficulty = forms.TypedChoiceField(
        label=gettext_lazy("难度"),
        coerce=int,
        choices=Question.Difficulty.choices,
        initial=Question.Difficulty.MEDIUM,
    )
    course = forms.ModelChoiceField(
        label=gettext_lazy("课程"), required=False, queryset=Course.objects.none()
    )
    chapter = _chapter_field()
    analysis = forms.CharField(
        label=gettext_lazy("解析"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("交卷或考试结束后按考试设置向学员公布"),
    )
    active = forms.BooleanField(
        label=gettext_lazy("启用（停用的题目不再组卷，已出的试卷不受影响）"), required=False
    )

    def __init__(
        self,
        *args: Any,
        kind: str,
        institution: Institution,
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind in CHOICE_KINDS:
            for n, letter in enumerate(sheets.LETTERS):
                self.fields[f"option_{letter}"] = forms.CharField(
                    label=_("选项%(letter)s") % {"letter": letter},
                    required=n < 2,
                    max_length=sheets.MAX_OPTION_CHARS,
                )
            # Options come right after the stem.
            order = ["stem", *(f"option_{letter}" for letter in sheets.LETTERS)]
            self.order_fields(order)
            self.fields["correct"].help_text = (
                _("勾选一个正确选项") if kind == Kind.SINGLE else _("勾选两个及以上正确选项")
            )
        keep = {"single": "correct", "multiple": "correct", "judge": "judge"}.get(kind, "fills")
        for name in {"correct", "judge", "fills"} - {keep}:
            del self.fields[name]
        if not editing:
            del self.fields["active"]
        self.fields["course"].queryset = _courses(institution)  # type: ignore[attr-defined]
        self.fields["chapter"].queryset = _chapters(institution)  # type: ignore[attr-defined]

    @property
    def option_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith("option_")]

    @property
    def other_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith("option_")]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.kind in CHOICE_KINDS:
            cells = [(data.get(f"option_{letter}") or "").strip() for letter in sheets.LETTERS]
            try:
                data["options"] = sheets.options_parse(cells)
            except ValueError as exc:
                self.add_error(None, str(exc))
                return data
            if "correct" in data:
                try:
                    data["answer"] = sheets.choice_answer_parse(
                        self.kind, "".join(data["correct"]), len(data["options"])
                    )
                except ValueError as exc:
                    self.add_error("correct", str(exc))
        elif self.kind == Kind.JUDGE:
            data["options"] = []
            if "judge" in data:
                data["answer"] = [data["judge"]]
        elif "fills" in data:
            data["options"] = []
            data["answer"] = sheets.fill_answer_parse(data["fills"])
        return data

    def question_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields = {
            key: data[key]
            for key in ("stem", "options", "answer", "difficulty", "course", "chapter", "analysis")
        }
        if "active" in self.fields:
            fields["active"] = data["active"]
        return fields

    @classmethod
    def initial_for(cls, question: Question) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "stem": question.stem,
            "difficulty": question.difficulty,
            "course": question.course_id,
            "chapter": question.chapter_id,
            "analysis": question.analysis,
            "active": question.active,
        }
        if question.kind in CHOICE_KINDS:
            for letter, option in zip(sheets.LETTERS, question.options, strict=False):
                initial[f"option_{letter}"] = option
            initial["correct"] = [sheets.LETTERS[i] for i in question.answer]
        elif question.kind == Kind.JUDGE:
            initial["judge"] = question.answer[0]
        else:
            initial["fills"] = sheets.fill_answer_format(question.answer, blank_separator="\n")
        return initial


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def questions(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    filters = QuestionFilterForm(request.GET, institution=own_institution(user))
    page, query_string = paginate(request, filters.apply(_bank(user)))
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(
        request,
        "console/exams/questions.html",
        {
            "filters": filters,
            "page_obj": page,
            "query_string": query_string,
            "export_query": export_query.urlencode(),
        },
    )


def _question_form_page(
    request: HttpRequest, form: BankQuestionForm, question: Question | None
) -> HttpResponse:
    return render(
        request,
        "console/exams/question_form.html",
        {"form": form, "question": question, "kind_label": Kind(form.kind).label},
    )


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def bank_question_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    kind = request.GET.get("kind", "")
    if kind not in Kind.values:
        return render(request, "console/exams/question_kind.html", {"kinds": Kind.choices})
    form = BankQuestionForm(_post(request), kind=kind, institution=institution)
    if request.method == "POST" and form.is_valid():
        try:
            services.question_create(
                institution=institution, by=user, kind=kind, **form.question_fields()
            )
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已添加%(kind)s") % {"kind": Kind(kind).label})
            if "again" in request.POST:
                return redirect(f"{request.path}?kind={kind}")
            return redirect("console:questions")
    return _question_form_page(request, form, None)


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    question = get_object_or_404(_bank(user), pk=pk)
    form = BankQuestionForm(
        _post(request),
        kind=question.kind,
        institution=question.institution,
        editing=True,
        initial=BankQuestionForm.initial_for(question),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.question_update(question=question, by=user, **form.question_fields())
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("试题已保存；已开始的考试仍使用原来的题目"))
            return redirect("console:questions")
    return _question_form_page(request, form, question)


@require_POST
@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def question_retire(request: HttpRequest, pk: int) -> HttpResponse:
    """Retired, never deleted: papers and attempts keep referring to it."""
    user: User = request.user  # type: ignore[assignment]
    question = get_object_or_404(_bank(user), pk=pk)
    if question.active:
        services.question_update(question=question, by=user, active=False)
        messages.success(request, _("已停用该题；它不会再被组进新试卷，可在编辑页重新启用"))
    # Back to the list as it was filtered (the form carries the list's query string).
    query = QueryDict(request.POST.get("query", "")).urlencode()
    return redirect(f"{reverse('console:questions')}?{query}" if query else "console:questions")


# --- Excel ---------------------------------------------------------------------------------------


class QuestionSheetForm(Form):
    sheet = forms.FileField(
        label=gettext_lazy("Excel 文件（.xlsx）"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sheet"].help_text = _(
            "按模板填写，每行一道题，最多 %(rows)s 行；有任何一行出错时不导入"
        ) % {"rows": sheets.MAX_ROWS}

    def clean_sheet(self) -> Any:
        sheet = self.cleaned_data["sheet"]
        if sheet.size > sheets.MAX_BYTES:
            raise forms.ValidationError(
                _("文件不能超过 %(mb)s MB") % {"mb": sheets.MAX_BYTES // 1024 // 1024}
            )
        return sheet


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def questions_import(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    form = QuestionSheetForm(_post(request), request.FILES or None)
    row_errors: list[sheets.RowError] = []
    if request.method == "POST" and form.is_valid():
        try:
            rows, row_errors = sheets.questions_from_sheet(
                institution, form.cleaned_data["sheet"].read()
            )
        except ValueError as exc:
            form.add_error("sheet", str(exc))
        else:
            if not row_errors:  # nothing is imported until every row is right
                count = sheets.questions_import(
                    institution=institution, rows=rows, by=user, request=request
                )
                messages.success(
                    request,
                    ngettext("已导入 %(count)s 道试题", "已导入 %(count)s 道试题", count)
                    % {"count": count},
                )
                return redirect("console:questions")
    return render(
        request,
        "console/exams/questions_import.html",
        {"form": form, "row_errors": row_errors, "max_rows": sheets.MAX_ROWS},
    )


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def questions_template(request: HttpRequest) -> HttpResponse:
    return attachment(sheets.questions_template(), "question-bank-template.xlsx")


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def questions_export(request: HttpRequest) -> HttpResponse:
    """The bank as the list shows it (same filters), in the import template's format."""
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    filters = QuestionFilterForm(request.GET, institution=institution)
    data = sheets.questions_export(
        institution=institution,
        questions=filters.apply(_bank(user)),
        by=user,
        request=request,
        filtered=filters.filtered,
    )
    return attachment(data, "question-bank.xlsx")


# --- papers --------------------------------------------------------------------------------------


def _papers(user: User) -> QuerySet[Paper]:
    return scoped(Paper.objects.all(), user)


def _paper_summary(paper: Paper) -> tuple[int, Decimal]:
    """How many questions a trainee gets and the paper's total score."""
    if paper.mode == Paper.Mode.RANDOM:
        count = sum(int(r["count"]) for r in paper.rules)
        total = sum((int(r["count"]) * Decimal(r["score"]) for r in paper.rules), Decimal(0))
        return count, total
    items = list(paper.items.all())
    return len(items), sum((i.score for i in items), Decimal(0))


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def papers(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    qs = _papers(user).annotate(item_count=Count("items"), item_total=Sum("items__score"))
    page, query_string = paginate(request, qs.order_by("-created_at", "-id"))
    for paper in page:
        if paper.mode == Paper.Mode.RANDOM:
            paper.item_count, paper.item_total = _paper_summary(paper)
    return render(
        request, "console/exams/papers.html", {"page_obj": page, "query_string": query_string}
    )


class PaperForm(Form):
    title = forms.CharField(label=gettext_lazy("试卷名称"), max_length=100)
    shuffle_questions = forms.BooleanField(
        label=gettext_lazy("题目乱序"), required=False, initial=True
    )
    shuffle_options = forms.BooleanField(
        label=gettext_lazy("选项乱序（单选、多选题）"), required=False, initial=True
    )


class FixedPaperForm(PaperForm):
    default_score = _score_field(
        label=gettext_lazy("默认每题分值"),
        initial=Decimal(5),
        help_text=gettext_lazy("勾选的题目未单独填写分值时使用"),
    )


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def paper_new_fixed(request: HttpRequest) -> HttpResponse:
    """Tick questions of a (filtered) bank list, each with its own score or the default one."""
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    bank = _bank(user).filter(active=True)
    filters = QuestionFilterForm(request.GET, institution=institution, picking=True)
    form = FixedPaperForm(_post(request))
    picked: list[int] = []
    scores: dict[int, str] = {}
    if request.method == "POST":
        picked = list(
            dict.fromkeys(int(v) for v in request.POST.getlist("questions") if v.isdigit())
        )
        scores = {pk: request.POST.get(f"score_{pk}", "").strip() for pk in picked}
        if form.is_valid():
            chosen = bank.in_bulk(picked)
            items: list[tuple[Question, Decimal]] = []
            for pk in picked:
                question = chosen.get(pk)
                if question is None:
                    form.add_error(None, _("所选题目不存在或已停用，请重新勾选"))
                    break
                score = _score(scores[pk], form.cleaned_data["default_score"])
                if score is None:
                    form.add_error(
                        None,
                        _("“%(stem)s”的分值不正确：应为 %(help)s")
                        % {"stem": question.stem[:20], "help": SCORE_HELP},
                    )
                    break
                items.append((question, score))
            if not picked:
                form.add_error(None, _("请至少勾选一道题"))
            if not form.errors:
                try:
                    paper = services.paper_create(
                        institution=institution,
                        title=form.cleaned_data["title"],
                        by=user,
                        items=items,
                        shuffle_questions=form.cleaned_data["shuffle_questions"],
                        shuffle_options=form.cleaned_data["shuffle_options"],
                    )
                except ValueError as exc:
                    form.add_error(None, str(exc))
                else:
                    messages.success(request, _("已创建试卷：%(title)s") % {"title": paper.title})
                    return redirect("console:paper_detail", pk=paper.pk)
    # The ticked questions stay on the page (first) whatever the filter shows now.
    kept = list(bank.filter(pk__in=picked))
    kept.sort(key=lambda q: picked.index(q.pk))
    shown = list(filters.apply(bank.exclude(pk__in=picked))[:PICK_LIMIT])
    rows = [(q, True, scores.get(q.pk, "")) for q in kept] + [(q, False, "") for q in shown]
    return render(
        request,
        "console/exams/paper_fixed_form.html",
        {
            "form": form,
            "filters": filters,
            "rows": rows,
            "limit": PICK_LIMIT,
            "more": len(shown) == PICK_LIMIT,
            "query_string": request.GET.urlencode(),
        },
    )


def _score(text: str, default: Decimal) -> Decimal | None:
    if not text:
        return default
    try:
        score = Decimal(text)
    except InvalidOperation:
        return None
    if (
        not score.is_finite()
        or not Decimal("0.1") <= score <= 100
        or score != score.quantize(Decimal("0.1"))
    ):
        return None
    return score


class RuleForm(Form):
    """One row of a random paper's rules; an empty row is ignored."""

    kind = forms.ChoiceField(
        label=gettext_lazy("题型"), required=False, choices=[("", "—"), *Kind.choices]
    )
    count = forms.IntegerField(
        label=gettext_lazy("数量"), required=False, min_value=1, max_value=200
    )
    score = _score_field(label=gettext_lazy("每题分值"), required=False)
    course = forms.ModelChoiceField(
        label=gettext_lazy("课程"),
        required=False,
        queryset=Course.objects.none(),
        empty_label=gettext_lazy("不限"),
    )
    chapter = _chapter_field()
    difficulty = forms.TypedChoiceField(
        label=gettext_lazy("难度"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("不限")), *Question.Difficulty.choices],
    )

    def __init__(self, *args: Any, institution: Institution, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = _courses(institution)  # type: ignore[attr-defined]
        self.fields["chapter"].queryset = _chapters(institution)  # type: ignore[attr-defined]
        self.fields["chapter"].empty_label = _("不限")  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.is_empty(data):
            for name in ("kind", "count", "score"):
                if data.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, _("请填写"))
            chapter, course = data.get("chapter"), data.get("course")
            if chapter is not None and course is not None and chapter.course_id != course.pk:
                self.add_error("chapter", _("该章节不属于所选课程"))
        return data

    def is_empty(self, data: dict[str, Any] | None = None) -> bool:
        data = self.cleaned_data if data is None else data
        return all(data.get(k) in (None, "") for k in self.fields) and not self.errors

    def rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        rule: dict[str, Any] = {
            "kind": data["kind"],
            "count": data["count"],
            "score": str(data["score"]),
        }
        chapter = data.get("chapter")
        course = data.get("course") or (chapter.course if chapter else None)
        if course is not None:
            rule["course"] = course.pk
        if chapter is not None:
            rule["chapter"] = chapter.pk
        if data.get("difficulty") is not None:
            rule["difficulty"] = data["difficulty"]
        return rule


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def paper_new_random(request: HttpRequest) -> HttpResponse:
    """Rules (kind, how many, score each, optionally course / chapter / difficulty); the service
    checks the bank holds enough questions for them."""
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    data = _post(request)
    form = PaperForm(data)
    rules = [RuleForm(data, prefix=f"r{n}", institution=institution) for n in range(RULE_ROWS)]
    if request.method == "POST":
        valid = form.is_valid()
        valid = all([rule.is_valid() for rule in rules]) and valid
        filled = [rule for rule in rules if rule.is_valid() and not rule.is_empty()]
        if valid and not filled:
            form.add_error(None, _("请至少填写一条抽题规则"))
        elif valid:
            try:
                paper = services.paper_create(
                    institution=institution,
                    title=form.cleaned_data["title"],
                    by=user,
                    rules=[rule.rule() for rule in filled],
                    shuffle_questions=form.cleaned_data["shuffle_questions"],
                    shuffle_options=form.cleaned_data["shuffle_options"],
                )
            except ValueError as exc:
                # The service numbers the rules it was given: the filled rows, in order.
                form.add_error(None, _("%(error)s（规则按已填写的行依次编号）") % {"error": exc})
            else:
                messages.success(request, _("已创建试卷：%(title)s") % {"title": paper.title})
                return redirect("console:paper_detail", pk=paper.pk)
    available = dict(
        _bank(user)
        .filter(active=True)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
    return render(
        request,
        "console/exams/paper_random_form.html",
        {
            "form": form,
            "rules": rules,
            "available": [(label, available.get(value, 0)) for value, label in Kind.choices],
        },
    )


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def paper_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    paper = get_object_or_404(_papers(user), pk=pk)
    count, total = _paper_summary(paper)
    context: dict[str, Any] = {
        "paper": paper,
        "count": count,
        "total": total,
        "exams": paper.exams.order_by("-opens_at"),
    }
    if paper.mode == Paper.Mode.FIXED:
        context["items"] = paper.items.select_related("question__course", "question__chapter")
    else:
        courses = Course.objects.filter(institution=paper.institution).in_bulk(
            [r["course"] for r in paper.rules if r.get("course")]
        )
        chapters = (
            Chapter.objects.filter(course__institution=paper.institution)
            .select_related("course")
            .in_bulk([r["chapter"] for r in paper.rules if r.get("chapter")])
        )
        rows = []
        for rule in paper.rules:
            chapter = chapters.get(rule.get("chapter") or 0)
            pool = Question.objects.filter(
                institution=paper.institution, active=True, kind=rule["kind"]
            )
            for key in ("course", "chapter", "difficulty"):
                if rule.get(key) is not None:
                    pool = pool.filter(**{key if key == "difficulty" else f"{key}_id": rule[key]})
            rows.append(
                {
                    "kind": Kind(rule["kind"]).label,
                    "count": rule["count"],
                    "score": Decimal(rule["score"]),
                    "subtotal": rule["count"] * Decimal(rule["score"]),
                    "course": courses.get(rule.get("course") or 0)
                    or (chapter.course if chapter else None),
                    "chapter": chapter,
                    "difficulty": Question.Difficulty(rule["difficulty"]).label
                    if rule.get("difficulty")
                    else "",
                    "available": pool.count(),
                }
            )
        context["rules"] = rows
    return render(request, "console/exams/paper_detail.html", context)


# --- exams ---------------------------------------------------------------------------------------


def _exams(user: User) -> QuerySet[Exam]:
    # The frozen question pool is large and no console page shows it.
    return (
        scoped(Exam.objects.all(), user)
        .select_related("paper", "lesson__chapter__course", "course", "training_class")
        .defer("pool")
    )


def _with_state(exam: Exam, now: datetime) -> Exam:
    exam.state = "upcoming" if now < exam.opens_at else "open" if exam.is_open(now) else "closed"  # type: ignore[attr-defined]
    return exam


class DateTimeLocalField(forms.DateTimeField):
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class ExamForm(Form):
    TARGETS = {
        Exam.Scope.LESSON: ("lesson", gettext_lazy("请选择课时")),
        Exam.Scope.COURSE: ("course", gettext_lazy("请选择课程")),
        Exam.Scope.CLASS: ("training_class", gettext_lazy("请选择培训班")),
    }

    title = forms.CharField(label=gettext_lazy("考试名称"), max_length=100)
    paper = forms.ModelChoiceField(label=gettext_lazy("试卷"), queryset=Paper.objects.none())
    scope = forms.ChoiceField(
        label=gettext_lazy("考试类型"),
        choices=Exam.Scope.choices,
        help_text=gettext_lazy(
            "课时考试、课程考试或培训班的结业考试；在下面选择对应的课时、课程或培训班"
        ),
    )
    lesson = LessonChoiceField(
        label=gettext_lazy("课时"),
        required=False,
        queryset=Lesson.objects.none(),
        empty_label="—",
        help_text=gettext_lazy("课时考试时选择"),
    )
    course = forms.ModelChoiceField(
        label=gettext_lazy("课程"),
        required=False,
        queryset=Course.objects.none(),
        empty_label="—",
        help_text=gettext_lazy("课程考试时选择"),
    )
    training_class = forms.ModelChoiceField(
        label=gettext_lazy("培训班"),
        required=False,
        queryset=TrainingClass.objects.none(),
        empty_label="—",
        help_text=gettext_lazy("结业考试时选择；只有班内学员可以参加"),
    )
    opens_at = DateTimeLocalField(label=gettext_lazy("开始时间"))
    closes_at = DateTimeLocalField(label=gettext_lazy("截止时间"))
    duration_minutes = forms.IntegerField(
        label=gettext_lazy("考试时长（分钟）"), min_value=1, max_value=600, initial=60
    )
    max_attempts = forms.IntegerField(
        label=gettext_lazy("可考次数"), min_value=1, max_value=20, initial=1
    )
    pass_mark = forms.DecimalField(
        label=gettext_lazy("及格分（百分制）"),
        max_digits=4,
        decimal_places=1,
    )
    show_answers = forms.ChoiceField(
        label=gettext_lazy("答案公布"),
        choices=Exam.ShowAnswers.choices,
        initial=Exam.ShowAnswers.AFTER_CLOSE,
    )
    requires_completion = forms.BooleanField(
        label=gettext_lazy("须先完成对应的学习内容（有效学时）才能参加"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, institution: Institution, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pass_mark"].initial = Decimal(settings.EXAM_PASS_MARK)
        self.fields["pass_mark"].help_text = ngettext(
            "不能低于平台设定的 %(mark)s 分",
            "不能低于平台设定的 %(mark)s 分",
            settings.EXAM_PASS_MARK,
        ) % {"mark": settings.EXAM_PASS_MARK}
        self.fields["paper"].queryset = Paper.objects.filter(institution=institution)  # type: ignore[attr-defined]
        lesson: Any = self.fields["lesson"]
        lesson.queryset = (
            Lesson.objects.filter(chapter__course__institution=institution)
            .select_related("chapter__course")
            .order_by("chapter__course__title", "chapter__position", "position", "id")
        )
        lesson.label_from_instance = lambda x: (
            f"{x.chapter.course.title} / {x.chapter.title} / {x.title}"
        )
        self.fields["course"].queryset = _courses(institution)  # type: ignore[attr-defined]
        self.fields["training_class"].queryset = TrainingClass.objects.filter(  # type: ignore[attr-defined]
            institution=institution
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        target = self.TARGETS.get(data.get("scope", ""))
        if target is not None:
            name, message = target
            if not data.get(name) and name not in self.errors:
                self.add_error(name, message)
            for other, _message in self.TARGETS.values():
                if other != name:
                    data[other] = None  # only the scope's own target is kept
        return data


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def exams(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    page, query_string = paginate(request, _exams(user).order_by("-opens_at", "-id"))
    now = timezone.now()
    for exam in page:
        _with_state(exam, now)
    return render(
        request, "console/exams/exams.html", {"page_obj": page, "query_string": query_string}
    )


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def exam_new(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    institution = own_institution(user)
    initial = {}
    if request.GET.get("paper", "").isdigit():
        initial["paper"] = int(request.GET["paper"])
    form = ExamForm(_post(request), institution=institution, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            exam = services.exam_create(institution=institution, by=user, **form.cleaned_data)
        except ValueError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("已创建考试：%(title)s") % {"title": exam.title})
            return redirect("console:exam_detail", pk=exam.pk)
    return render(request, "console/exams/exam_form.html", {"form": form})


@require_perm(Perm.CONSOLE, Perm.CATALOGUE)
def exam_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    exam = _with_state(get_object_or_404(_exams(user), pk=pk), timezone.now())
    count, total = _paper_summary(exam.paper)
    attempts = Attempt.objects.filter(exam=exam).aggregate(
        sittings=Count("id"),
        trainees=Count("trainee", distinct=True),
        submitted=Count("id", filter=Q(status=Attempt.Status.SUBMITTED)),
    )
    return render(
        request,
        "console/exams/exam_detail.html",
        {"exam": exam, "question_count": count, "total": total, "attempts": attempts},
    )
