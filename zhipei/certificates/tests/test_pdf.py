"""The PDF: Chinese text with an embedded subset font, the QR code to the verification page,
and the signed content attached for offline verification."""

from __future__ import annotations

import io
import json
import re

import pytest
import zxingcpp
from pypdf import PdfReader

from zhipei.certificates import signing
from zhipei.certificates.pdf import certificate_pdf, verification_url
from zhipei.certificates.services import certificate_issue
from zhipei.certificates.tests.helpers import give_exam, give_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def completion(personas, training_class, profile):
    give_hours(profile, training_class, 2.5)
    give_exam(profile, training_class, score="86", passed=True)
    return certificate_issue(
        training_class=training_class, trainee=profile, kind="completion", by=personas.admin
    )


@pytest.fixture
def pdf(completion):
    return PdfReader(io.BytesIO(certificate_pdf(completion)))


def test_pdf_holds_the_certificate_text(pdf, completion, profile):
    assert len(pdf.pages) == 1
    # pypdf puts NULs between this font's two-byte codes (poppler's pdftotext does not).
    text = re.sub(r"[\s\x00]+", "", pdf.pages[0].extract_text())
    for expected in (
        "结业证明",
        "张三",
        profile.id_number_masked,
        "莲都职业技能培训学校",
        "电工（五级）第一期",
        "电工基础",
        "有效在线学时2.5学时",
        "折合课堂学时2.5学时",
        "86.0分",
        completion.serial,
        "发证日期",
    ):
        assert expected in text, expected
    assert profile.id_number not in text  # only the masked number is printed
    assert pdf.metadata.title == f"结业证明 {completion.serial}"


def test_the_cjk_font_is_embedded_as_a_subset(pdf, completion):
    fonts = pdf.pages[0]["/Resources"]["/Font"]
    (font,) = [f.get_object() for f in fonts.values()]
    descendant = font["/DescendantFonts"][0].get_object()
    descriptor = descendant["/FontDescriptor"].get_object()
    assert "/FontFile3" in descriptor  # the CFF outlines of Noto Sans CJK, embedded
    assert re.match(r"^/[A-Z]{6}\+NotoSansCJK", str(font["/BaseFont"]))  # a subset
    assert len(certificate_pdf(completion)) < 120_000


def test_qr_code_opens_the_verification_page(pdf, completion, settings):
    (image,) = pdf.pages[0].images
    (barcode,) = zxingcpp.read_barcodes(image.image.convert("L"))
    assert barcode.text == verification_url(completion)
    assert barcode.text == (
        f"{settings.SITE_URL}/verify/{completion.serial}/?s={completion.signature[:16]}"
    )


def test_signed_content_is_attached_and_verifies_offline(pdf, completion):
    (data,) = pdf.attachments["certificate.json"]
    record = json.loads(data)
    assert record["content"] == completion.content
    assert record["algorithm"] == "Ed25519"
    assert signing.verify(record["content"], record["signature"], record["key_id"])
