"""The dossier's summary page(s) as a PDF (A4 portrait, Chinese): identity (masked), the
institution, classes and 学时, exams, certificates, face checks and uncredited time.

Same font handling as the certificates (zhipei.certificates.pdf): Noto Sans CJK from an installed
package, embedded as a subset.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

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
        self.cell(0, 5, f"{self.footer_text}　第 {self.page_no()}/{{nb}} 页", align=Align.C)


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
    empty: str = "无",
) -> None:
    if not rows:
        _note(pdf, empty)
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
    pdf.set_title(f"学员培训档案 {summary['name']} {summary['id_number_masked']}")
    pdf.set_author(summary["institution"])
    pdf.set_creator("职培 · 职业技能线上培训平台")
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(generated_at)
    pdf.footer_text = f"{summary['institution']} · 学员培训档案（一人一档）"
    pdf.add_page()

    pdf.set_font(FONT, size=18)
    pdf.set_text_color(*ACCENT)
    pdf.cell(
        WIDTH, 11, "学员培训档案（一人一档）", align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    pdf.cell(
        WIDTH,
        6,
        f"生成时间：{generated_at:%Y-%m-%d %H:%M:%S}　生成人：{generated_by}",
        align=Align.C,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*INK)

    _heading(pdf, "一、基本信息")
    _pairs(
        pdf,
        [
            ("姓名", summary["name"]),
            ("身份证号", summary["id_number_masked"]),
            ("手机号", summary["phone_masked"] or "—"),
            ("平台注册时间", summary["registered"]),
            ("培训机构", summary["institution"]),
            ("加入本机构", summary["membership"]),
        ],
    )

    _heading(pdf, "二、培训班与学时")
    _table(
        pdf,
        ["培训班", "培训时间", "要求学时", "有效学时", "是否达标"],
        [
            [c["name"], c["dates"], c["required"], c["done"], "是" if c["met"] else "否"]
            for c in summary["classes"]
        ],
        (52, 50, 24, 24, 28),
        empty="未加入本机构的培训班",
    )
    pdf.ln(2)
    _table(
        pdf,
        ["课程", "课程理论学时", "有效在线学时"],
        [[c["title"], c["theory_hours"], c["xueshi"]] for c in summary["courses"]]
        + ([["合计", "", summary["total_xueshi"]]] if summary["courses"] else []),
        (100, 39, 39),
        empty="暂无有效学习时长",
    )
    _note(
        pdf,
        f"学习会话 {summary['sessions']} 次，其中因人脸核验连续失败判为无效 "
        f"{summary['invalid_sessions']} 次。有效学时只计经人脸核验确认的连续学习时长；"
        "培训班学时只计该班课程在开班至结业日期内的学习。",
    )

    _heading(pdf, "三、考试")
    _table(
        pdf,
        ["考试", "第几次", "交卷时间", "成绩", "结果"],
        [
            [e["title"], e["number"], e["submitted"], e["score"], e["result"]]
            for e in summary["exams"]
        ],
        (70, 18, 40, 22, 28),
        empty="暂无考试记录",
    )

    _heading(pdf, "四、证书")
    _table(
        pdf,
        ["证书编号", "类型", "培训班", "签发日期", "状态"],
        [
            [c["serial"], c["kind"], c["class"], c["issued"], c["state"]]
            for c in summary["certificates"]
        ],
        (44, 26, 60, 28, 20),
        empty="暂无证书",
    )

    _heading(pdf, "五、人脸核验")
    _table(
        pdf,
        ["用途", "通过", "未通过"],
        [[f["purpose"], f["passed"], f["failed"]] for f in summary["faces"]]
        + (
            [["合计", summary["faces_passed"], summary["faces_failed"]]] if summary["faces"] else []
        ),
        (98, 40, 40),
        empty="暂无人脸核验记录",
    )
    _note(pdf, "每次核验的证据图像（已加盖机构、学员与时间水印）见压缩包内 faces/ 目录。")

    _heading(pdf, "六、未计入学时的时长（按原因）")
    _table(
        pdf,
        ["原因", "代码", "次数", "时长"],
        [[u["reason"], u["code"], u["count"], u["time"]] for u in summary["uncredited"]]
        + ([["合计", "", "", summary["uncredited_total"]]] if summary["uncredited"] else []),
        (78, 36, 24, 40),
        empty="无",
    )
    if summary["quiz"]:
        _note(
            pdf,
            "随堂问题："
            + "，".join(f"{label} {count} 次" for label, count in summary["quiz"].items()),
        )

    _heading(pdf, "七、档案文件")
    _note(
        pdf,
        "本压缩包包含：" + "、".join(files) + "。各文件的 SHA-256 摘要记于 manifest.json，"
        "manifest.json 自身的摘要记入平台审计日志（操作 trainee.dossier_export），可据此核对文件未被改动。"
        "本档案含个人信息，请按《个人信息保护法》妥善保管，仅用于培训监管与补贴核查。",
    )
    return bytes(pdf.output())
