"""The certificate as a PDF (A4 landscape, Chinese), drawn only from its frozen, signed content.

The CJK font is Noto Sans CJK from an installed package (zhipei.lib.fonts), embedded as a subset
(fpdf2 keeps only the glyphs used, so a certificate is a few tens of kB). The signed content and
its signature are attached to the PDF as ``certificate.json``, so whoever holds the file can
verify it offline with the platform's public key (docs/CERTIFICATES.md).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import qrcode
import qrcode.constants
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from fpdf.fonts import FontFace
from PIL import Image

from zhipei.certificates import signing
from zhipei.certificates.models import Certificate
from zhipei.lib.fonts import cjk_font_path

FONT = "cjk"
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (164, 30, 34)  # the red of a printed seal
PAGE_W, PAGE_H = 297.0, 210.0
LEFT = 24.0
BODY_W = 176.0
RIGHT_COL_X = 206.0
RIGHT_COL_W = 67.0


def verification_url(certificate: Certificate) -> str:
    """The absolute public page the QR code opens, with the signature fragment to compare."""
    path = reverse("verify:detail", args=[certificate.serial])
    return f"{settings.SITE_URL}{path}?s={certificate.signature_fragment}"


def qr_image(text: str) -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=2)
    qr.add_data(text)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").get_image()
    # One bit per pixel: the smallest PNG, and the PDF keeps it lossless.
    return image.convert("1")


def _cn_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return _("%(year)s年%(month)s月%(day)s日") % {
        "year": day.year,
        "month": day.month,
        "day": day.day,
    }


def _exam_text(exam: dict[str, Any] | None) -> str:
    if exam is None:
        return _("无")
    verdict = _("合格") if exam["passed"] else _("不合格")
    return _("%(title)s　%(score)s 分（%(verdict)s）") % {
        "title": exam["title"],
        "score": exam["score"],
        "verdict": verdict,
    }


def _body(c: dict[str, Any]) -> str:
    values = {
        "holder_name": c["holder_name"],
        "id_number": c["id_number_masked"],
        "start": _cn_date(c["class_start"]),
        "end": _cn_date(c["class_end"]),
        "institution": c["institution"],
        "class_name": c["class_name"],
        "online": c["online_xueshi"],
        "classroom": c["classroom_xueshi"],
        "required": c["required_xueshi"],
    }
    if c["kind"] == Certificate.Kind.COMPLETION:
        exam = c["exam"] or {}
        return _(
            "兹证明 %(holder_name)s（身份证号 %(id_number)s）于 %(start)s至%(end)s"
            "参加%(institution)s举办的“%(class_name)s”线上职业技能培训，"
            "完成规定的培训内容，经平台人脸核验与在线监管计时，有效在线学时 "
            "%(online)s 学时（按 1:1 折合课堂学时 %(classroom)s 学时，"
            "要求 %(required)s 学时），结业考试成绩 %(score)s 分，"
            "考核合格，准予结业。特发此证。"
        ) % {**values, "score": exam.get("score", "—")}
    exam_sentence = (
        _("结业考试成绩 %(score)s 分。") % {"score": c["exam"]["score"]}
        if c.get("exam") is not None
        else ""
    )
    return _(
        "兹证明 %(holder_name)s（身份证号 %(id_number)s）于 %(start)s至%(end)s"
        "参加%(institution)s举办的“%(class_name)s”线上职业技能培训，"
        "经平台人脸核验与在线监管计时，累计有效在线学时 %(online)s 学时，"
        "按 1:1 折合课堂学时 %(classroom)s 学时。%(exam_sentence)s特此证明。"
    ) % {**values, "exam_sentence": exam_sentence}


def _rows(c: dict[str, Any]) -> list[tuple[str, str]]:
    # Translators: separator between the items of an inline list (", " in English).
    courses = _("、").join(c["courses"]) or "—"
    return [
        (_("姓名"), c["holder_name"]),
        (_("身份证号"), c["id_number_masked"]),
        (_("培训机构"), c["institution"]),
        (_("培训班"), c["class_name"]),
        (
            _("培训时间"),
            _("%(start)s 至 %(end)s") % {"start": c["class_start"], "end": c["class_end"]},
        ),
        (_("培训课程"), courses),
        (_("有效在线学时"), _("%(xueshi)s 学时") % {"xueshi": c["online_xueshi"]}),
        (_("折合课堂学时"), _("%(xueshi)s 学时（1:1）") % {"xueshi": c["classroom_xueshi"]}),
        (_("要求学时"), _("%(xueshi)s 学时") % {"xueshi": c["required_xueshi"]}),
        (_("考试成绩"), _exam_text(c.get("exam"))),
    ]


def _attachment(certificate: Certificate) -> bytes:
    record = {
        "algorithm": signing.ALGORITHM,
        "key_id": certificate.key_id,
        "signature": certificate.signature,
        "signed_message": "canonical JSON of content: keys sorted, UTF-8, no spaces",
        "content": certificate.content,
    }
    return json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True).encode()


def certificate_pdf(certificate: Certificate) -> bytes:
    c = certificate.content
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(LEFT, 14, 14)
    pdf.add_font(FONT, fname=str(cjk_font_path()))
    pdf.set_title(f"{c['title']} {c['serial']}")
    pdf.set_author(c["institution"])
    pdf.set_creator(_("职培 · 职业技能线上培训平台"))
    pdf.set_lang("zh-CN")
    pdf.set_creation_date(certificate.issued_at)
    pdf.add_page()

    # Frame: a heavy outer rule in the seal's red, a hairline inside it.
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, PAGE_W - 22, PAGE_H - 22)

    # Title.
    pdf.set_text_color(*ACCENT)
    pdf.set_font(FONT, size=30)
    pdf.set_char_spacing(10)
    pdf.set_xy(0, 20)
    pdf.cell(PAGE_W, 14, c["title"], align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_char_spacing(0)
    pdf.set_text_color(*MUTED)
    pdf.set_font(FONT, size=10)
    pdf.set_x(0)
    pdf.cell(PAGE_W, 7, _("证书编号：%(serial)s") % {"serial": c["serial"]}, align=Align.C)

    # Body paragraph and the table of fields, left column.
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=12.5)
    pdf.set_xy(LEFT, 48)
    # Two ideographic spaces open a Chinese paragraph; other languages may indent otherwise.
    indent = pgettext("certificate paragraph indent", "　　")
    pdf.multi_cell(
        BODY_W, 8, indent + _body(c), align=Align.J, wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN
    )
    pdf.set_y(pdf.get_y() + 4)
    pdf.set_font(FONT, size=10.5)
    pdf.set_draw_color(190, 190, 190)
    pdf.set_line_width(0.2)
    with pdf.table(
        col_widths=(32, BODY_W - 32),
        width=BODY_W,
        align=Align.L,
        first_row_as_headings=False,
        text_align=(Align.L, Align.L),
        line_height=6.2,
        wrapmode=WrapMode.CHAR,
        padding=(0.8, 2),
    ) as table:
        for label, value in _rows(c):
            row = table.row()
            row.cell(label, style=FontFace(color=MUTED))
            row.cell(value, style=FontFace(color=INK))

    # QR code, serial under it, right column.
    size = 46.0
    qr_x = RIGHT_COL_X + (RIGHT_COL_W - size) / 2
    pdf.image(qr_image(verification_url(certificate)), x=qr_x, y=50, w=size, h=size)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=9)
    pdf.set_xy(RIGHT_COL_X, 50 + size + 1)
    pdf.cell(RIGHT_COL_W, 5, c["serial"], align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(*MUTED)
    pdf.set_font(FONT, size=8.5)
    pdf.cell(RIGHT_COL_W, 5, _("扫码核验证书真伪"), align=Align.C)

    # Issuer and date, right column under the QR code (long names wrap).
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=12)
    pdf.set_xy(RIGHT_COL_X, 140)
    pdf.multi_cell(
        RIGHT_COL_W,
        7,
        _("发证机构：%(institution)s") % {"institution": c["institution"]},
        align=Align.C,
        wrapmode=WrapMode.CHAR,
        new_x=XPos.LEFT,
    )
    issued_on = _("发证日期：%(date)s") % {"date": _cn_date(c["issued_on"])}
    pdf.cell(RIGHT_COL_W, 8, issued_on, align=Align.C)

    # How to verify, along the bottom edge.
    pdf.set_text_color(*MUTED)
    pdf.set_font(FONT, size=8)
    pdf.set_xy(LEFT, 184)
    verify_page = f"{settings.SITE_URL}{reverse('verify:lookup')}"
    pdf.multi_cell(
        PAGE_W - 2 * LEFT,
        4.5,
        _(
            "本证明由职培平台依据在线监管计时数据生成，内容经 %(algorithm)s 电子签名"
            "（密钥标识 %(key_id)s）。核验：扫描二维码，或访问 %(url)s "
            "输入证书编号。签名数据附于本文件（certificate.json），可用平台公钥离线验证。"
        )
        % {"algorithm": signing.ALGORITHM, "key_id": certificate.key_id, "url": verify_page},
        align=Align.C,
        wrapmode=WrapMode.CHAR,
    )

    pdf.embed_file(
        bytes=_attachment(certificate),
        basename="certificate.json",
        modification_date=certificate.issued_at,
        mime_type="application/json",
        desc=_("签名的证书内容"),
    )
    return bytes(pdf.output())
