"""The dossier's summary page(s) as a PDF (A4 portrait, Chinese): identity (masked), the
institution, classes and 学时, exams, certificates, face checks and uncredited time.

Same font handling as the certificates (zhipei.certificates.pdf): Noto Sans CJK from an installed
package, embedded as a subset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from zhipei.lib.fonts import cjk_font_path

FONT = "cjk"
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (164, 30, 34)
HEAD_FILL = (241, 243, 245)
MARGIN = 16.0
WIDTH = 210.0 - 2 * MARGIN


class _Pdf(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        # "{nb}" is fpdf's alias for the number of pages, filled in when the file is written.
        text = _("%(text)s　第 %(page)s/{nb} 页") % {
            "text": self.footer_text,
            "page": self.page_no(),
        }
        self.cell(0, 5, text, align=Align.C)


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 50:  # not a heading alone at the foot of a page
        pdf.add_page()
    else:
        pdf.ln(3)
    pdf.set_font(FONT, size=12.5)
    pdf.set_text_color(*ACCENT)
    pdf.cell(WIDTH, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=9.5)


def _note(pdf: FPDF, text: str) -> None:
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(WIDTH, 5, text, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=9.5)


def _table(
    pdf: FPDF,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    *,
    empty: str | None = None,
) -> None:
    if not rows:
        _note(pdf, _("无") if empty is None else empty)
        return
    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.2)
    with pdf.table(
        col_widths=tuple(widths),
        width=WIDTH,
        align=Align.L,
        line_height=5.6,
        wrapmode=WrapMode.CHAR,
        padding=(0.8, 1.5),
        headings_style=FontFace(fill_color=HEAD_FILL, color=INK),
        repeat_headings=1,
    ) as table:
        head = table.row()
        for text in header:
            head.cell(text)
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(str(value))


def _pairs(pdf: FPDF, pairs: Sequence[tuple[str, str]]) -> None:
    pdf.set_draw_color(200, 200, 200)
    pdf.set_line_width(0.2)
    with pdf.table(
        col_widths=(34, WIDTH - 34),
        width=WIDTH,
        align=Align.L,
        first_row_as_headings=False,
        line_height=5.8,
        wrapmode=WrapMode.CHAR,
        padding=(0.8, 1.5),
    ) as table:
        for label, value in pairs:
            row = table.row()
            row.cell(label, style=FontFace(color=MUTED))
            row.cell(value)


def dossier_pdf(
    summary: dict[str, Any], *, generated_at: datetime, generated_by: str, files: Sequence[str]
) -> bytes:
    """The summary as PDF bytes. ``files``: the other files of the archive, listed at the end."""
    pdf = _Pdf(orientation="P", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(MARGIN, 16, MARGIN)
    pdf.add_font(FONT, fname=str(cjk_font_path()))
    pdf.set_title(
        _("学员培训档案 %(name)s %(id_number)s")
        % {"name": summary["name"], "id_number": summary["id_number_masked"]}
    )
    pdf.set_author(summary["institution"])
    pdf.set_creator(_("职培 · 职业技能线上培训平台"))
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(generated_at)
    pdf.footer_text = _("%(institution)s · 学员培训档案（一人一档）") % {
        "institution": summary["institution"]
    }
    pdf.add_page()

    pdf.set_font(FONT, size=18)
    pdf.set_text_color(*ACCENT)
    pdf.cell(
        WIDTH, 11, _("学员培训档案（一人一档）"), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    pdf.cell(
        WIDTH,
        6,
        _("生成时间：%(time)s　生成人：%(by)s")
        % {"time": f"{generated_at:%Y-%m-%d %H:%M:%S}", "by": generated_by},
        align=Align.C,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*INK)

    _heading(pdf, _("一、基本信息"))
    _pairs(
        pdf,
        [
            (_("姓名"), summary["name"]),
            (_("身份证号"), summary["id_number_masked"]),
            (_("手机号"), summary["phone_masked"] or "—"),
            (_("平台注册时间"), summary["registered"]),
            (_("培训机构"), summary["institution"]),
            (_("加入本机构"), summary["membership"]),
        ],
    )

    _heading(pdf, _("二、培训班与学时"))
    yes, no, total = _("是"), _("否"), _("合计")
    _table(
        pdf,
        [_("培训班"), _("培训时间"), _("要求学时"), _("有效学时"), _("是否达标")],
        [
            [c["name"], c["dates"], c["required"], c["done"], yes if c["met"] else no]
            for c in summary["classes"]
        ],
        (52, 50, 24, 24, 28),
        empty=_("未加入本机构的培训班"),
    )
    pdf.ln(2)
    _table(
        pdf,
        [_("课程"), _("课程理论学时"), _("有效在线学时")],
        [[c["title"], c["theory_hours"], c["xueshi"]] for c in summary["courses"]]
        + ([[total, "", summary["total_xueshi"]]] if summary["courses"] else []),
        (100, 39, 39),
        empty=_("暂无有效学习时长"),
    )
    _note(
        pdf,
        _(
            "学习会话 %(sessions)s 次，其中因人脸核验连续失败判为无效 "
            "%(invalid)s 次。有效学时只计经人脸核验确认的连续学习时长；"
            "培训班学时只计该班课程在开班至结业日期内的学习。"
        )
        % {"sessions": summary["sessions"], "invalid": summary["invalid_sessions"]},
    )

    _heading(pdf, _("三、考试"))
    _table(
        pdf,
        [_("考试"), _("第几次"), _("交卷时间"), _("成绩"), _("结果")],
        [
            [e["title"], e["number"], e["submitted"], e["score"], e["result"]]
            for e in summary["exams"]
        ],
        (70, 18, 40, 22, 28),
        empty=_("暂无考试记录"),
    )

    _heading(pdf, _("四、证书"))
    _table(
        pdf,
        [_("证书编号"), _("类型"), _("培训班"), _("签发日期"), _("状态")],
        [
            [c["serial"], c["kind"], c["class"], c["issued"], c["state"]]
            for c in summary["certificates"]
        ],
        (44, 26, 60, 28, 20),
        empty=_("暂无证书"),
    )

    _heading(pdf, _("五、人脸核验"))
    _table(
        pdf,
        [_("用途"), _("通过"), _("未通过")],
        [[f["purpose"], f["passed"], f["failed"]] for f in summary["faces"]]
        + ([[total, summary["faces_passed"], summary["faces_failed"]]] if summary["faces"] else []),
        (98, 40, 40),
        empty=_("暂无人脸核验记录"),
    )
    _note(pdf, _("每次核验的证据图像（已加盖机构、学员与时间水印）见压缩包内 faces/ 目录。"))

    _heading(pdf, _("六、未计入学时的时长（按原因）"))
    _table(
        pdf,
        [_("原因"), _("代码"), _("次数"), _("时长")],
        [[u["reason"], u["code"], u["count"], u["time"]] for u in summary["uncredited"]]
        + ([[total, "", "", summary["uncredited_total"]]] if summary["uncredited"] else []),
        (78, 36, 24, 40),
        empty=_("无"),
    )
    if summary["quiz"]:
        _note(
            pdf,
            _("随堂问题：%(answers)s")
            % {
                "answers": _("，").join(
                    ngettext("%(label)s %(count)s 次", "%(label)s %(count)s 次", count)
                    % {"label": label, "count": count}
                    for label, count in summary["quiz"].items()
                )
            },
        )

    _heading(pdf, _("七、档案文件"))
    _note(
        pdf,
        _(
            "本压缩包包含：%(files)s。各文件的 SHA-256 摘要记于 manifest.json，"
            "manifest.json 自身的摘要记入平台审计日志（操作 trainee.dossier_export），"
            "可据此核对文件未被改动。"
            "本档案含个人信息，请按《个人信息保护法》妥善保管，仅用于培训监管与补贴核查。"
        )
        % {"files": _("、").join(files)},
    )
    return bytes(pdf.output())
