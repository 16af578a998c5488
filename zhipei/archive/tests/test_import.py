"""Trainees from Excel: a sheet full of mistakes imports nothing and lists every bad row with its
reason; a clean sheet imports; “只导入无误的行” imports just those, after an explicit
confirmation; a person already on the platform is linked, not duplicated."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from conftest import client_for
from zhipei.accounts.models import (
    ConsentRecord,
    Membership,
    TraineeProfile,
    User,
    id_number_index,
    phone_index,
)
from zhipei.archive import imports
from zhipei.archive.services import ImportConflict, trainees_import
from zhipei.audit.models import AuditEntry
from zhipei.console.trainee_records_views import _SESSION_KEY
from zhipei.core.exports import XLSX_TYPE
from zhipei.core.tests.factories import id_number_for, make_trainee

pytestmark = pytest.mark.django_db

URL = "/console/trainees/import/"


def person(n: int) -> tuple[str, str]:
    """A valid ID number and phone nobody else in the tests uses (their own birth date)."""
    return id_number_for(n, birth="19850315"), f"1370000{n:04d}"


def sheet(rows, header=("姓名", "身份证号", "手机号")) -> bytes:
    book = Workbook()
    ws = book.active
    ws.title = "学员"
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(client, data: bytes, name: str = "学员.xlsx"):
    return client.post(URL, {"sheet": SimpleUploadedFile(name, data)})


def counts() -> tuple[int, int, int]:
    return User.objects.count(), TraineeProfile.objects.count(), Membership.objects.count()


@pytest.fixture
def mistakes(personas):
    """Row 2 is right; every other row has exactly the mistake its comment names."""
    good_id, good_phone = person(1)
    id2, _ = person(2)
    _, phone3 = person(3)
    id4, _ = person(4)
    id5, phone5 = person(5)
    id6, phone6 = person(6)
    bad_check = good_id[:17] + ("0" if good_id[17] != "0" else "1")
    existing = personas.trainee  # 张三 of institution A
    rows = [
        ("王小明", good_id, good_phone),  # 2: right
        ("李四", bad_check, "13700009003"),  # 3: checksum
        ("赵六", "331102" + "19901332" + "0015", "13700009004"),  # 4: birth date (month 13)
        ("", id4, "13700009005"),  # 5: no name
        ("钱七", person(7)[0], "12345"),  # 6: bad phone
        ("孙八", good_id, "13700009007"),  # 7: ID of row 2 again
        ("周九", id2, good_phone),  # 8: phone of row 2 again
        ("吴十", id5, personas.trainee_b.phone),  # 9: phone of another person on the platform
        ("王五", existing.trainee_profile.id_number, phone5),  # 10: existing ID, other name
        ("郑小", "331102" + "20200101" + "0014", phone6),  # 11: a child
        ("张3", id6, "13700009011"),  # 12: a digit in the name
        ("冯一", int(person(8)[0][:17] + "0"), phone3),  # 13: ID typed into a number cell
    ]
    # Row 4's and 11's check digits are right, so only the date (and the age) is wrong.
    from zhipei.lib.idnumber import compute_check_digit

    rows[2] = (rows[2][0], rows[2][1][:17] + compute_check_digit(rows[2][1][:17]), rows[2][2])
    rows[9] = (rows[9][0], rows[9][1][:17] + compute_check_digit(rows[9][1][:17]), rows[9][2])
    return sheet(rows)


EXPECTED_ERRORS = {
    3: "身份证号：身份证号校验位不正确",
    4: "身份证号：身份证号中的出生日期无效",
    5: "姓名：不能为空",
    6: "手机号：手机号码格式不正确",
    7: "身份证号：与第 2 行重复",
    8: "手机号：与第 2 行重复",
    9: "手机号：已被平台上的其他账号使用",
    10: "姓名：与该身份证号在平台登记的实名不一致",
    11: "未满14周岁",
    12: "姓名：应为 2–20 个汉字",
    13: "身份证号：单元格是数字格式",
}


def test_a_sheet_full_of_mistakes_imports_nothing_and_lists_every_bad_row(personas, mistakes):
    before = counts()
    response = upload(client_for(personas.admin), mistakes)
    assert response.status_code == 200
    assert counts() == before
    check = response.context["check"]
    assert {e.row: e.message for e in check.errors}.keys() == EXPECTED_ERRORS.keys()
    for error in check.errors:
        assert EXPECTED_ERRORS[error.row] in error.message, (error.row, error.message)
    page = response.content.decode()
    assert "表格中有 11 行有误，未导入任何学员" in page
    for row, reason in EXPECTED_ERRORS.items():
        assert f"第 {row} 行：" in page and reason in page
    # The one good row may be imported on its own, but only by explicit choice.
    assert "只导入无误的行" in page and 'name="confirm"' in page
    assert not AuditEntry.objects.filter(action="trainee.import").exists()


def test_a_file_that_is_not_xlsx_or_lacks_a_column(personas):
    client = client_for(personas.admin)
    before = counts()
    response = upload(client, "姓名,身份证号,手机号\n".encode(), name="学员.csv")
    assert "无法读取该文件：请上传 .xlsx 格式的 Excel 文件" in response.content.decode()
    response = upload(client, b"PK\x03\x04 not really a zip")
    assert "无法读取该文件" in response.content.decode()
    good_id, phone = person(20)
    response = upload(client, sheet([("王小明", good_id)], header=("姓名", "身份证号")))
    assert "第 1 行应为表头，缺少“手机号”列" in response.content.decode()
    response = upload(client, sheet([]))
    assert "表格中没有学员" in response.content.decode()
    assert counts() == before


def test_a_clean_sheet_imports(personas):
    client = client_for(personas.admin)
    people = [person(30), person(31), person(32)]
    data = sheet(
        [
            ("王小明", people[0][0], people[0][1]),
            ("买买提·艾力", people[1][0].lower(), "+86 " + people[1][1]),  # x and +86 are fine
            ("欧阳 娜娜", people[2][0], int(people[2][1])),  # a phone typed as a number is fine
        ]
    )
    before = counts()
    response = upload(client, data)
    assert response.status_code == 302 and response.url == reverse("console:trainees")
    assert counts() == (before[0] + 3, before[1] + 3, before[2] + 3)
    for (number, phone), name in zip(people, ("王小明", "买买提·艾力", "欧阳娜娜"), strict=True):
        profile = TraineeProfile.objects.select_related("user").get(
            id_number_index=id_number_index(number)
        )
        assert profile.id_number == number and profile.user.phone == phone
        assert profile.user.name == name and profile.user.role == "trainee"
        assert not profile.user.has_usable_password()
        (membership,) = profile.memberships.all()
        assert membership.institution == personas.inst_a and membership.source == "import"
        assert not ConsentRecord.objects.filter(user=profile.user).exists()  # at first login
    entry = AuditEntry.objects.get(action="trainee.import")
    assert entry.detail == {
        "created": 3,
        "linked": 0,
        "already_members": 0,
        "skipped_bad_rows": 0,
        "only_good_rows": False,
    }
    dumped = json.dumps(entry.detail, ensure_ascii=False)
    assert all(number not in dumped and phone not in dumped for number, phone in people)
    # The new trainees appear in the list; an import of the same sheet again changes nothing.
    again = upload(client, data)
    assert again.status_code == 302
    assert counts() == (before[0] + 3, before[1] + 3, before[2] + 3)


def test_only_good_rows_after_an_explicit_confirmation(personas, mistakes):
    client = client_for(personas.admin)
    before = counts()
    response = upload(client, mistakes)
    confirm = response.context["confirm"]
    expected, digest = confirm.initial["expected"], confirm.initial["digest"]
    assert expected == 1
    # The file waits in the session encrypted: no ID number or phone in clear.
    stored = json.dumps(client.session[_SESSION_KEY])
    assert person(1)[0] not in stored and person(1)[1] not in stored
    # Without ticking the box: nothing, and the reason.
    response = client.post(URL, {"confirm": "1", "expected": expected, "digest": digest})
    assert response.status_code == 200 and counts() == before
    assert "请勾选“只导入无误的行”以确认" in response.content.decode()
    # Ticked: the good row only.
    response = client.post(
        URL, {"confirm": "1", "only_good": "on", "expected": expected, "digest": digest}
    )
    assert response.status_code == 302
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)
    profile = TraineeProfile.objects.get(id_number_index=id_number_index(person(1)[0]))
    assert profile.user.name == "王小明"
    assert AuditEntry.objects.get(action="trainee.import").detail == {
        "created": 1,
        "linked": 0,
        "already_members": 0,
        "skipped_bad_rows": 11,
        "only_good_rows": True,
    }
    assert _SESSION_KEY not in client.session
    # Confirming again with nothing kept: back to the upload page.
    again = client.post(
        URL, {"confirm": "1", "only_good": "on", "expected": expected, "digest": digest}
    )
    assert again.status_code == 302 and again.url == URL
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_a_confirmation_whose_rows_changed_meanwhile_is_asked_again(personas):
    client = client_for(personas.admin)
    a, b = person(40), person(41)
    data = sheet([("王小明", a[0], a[1]), ("李小红", b[0], b[1]), ("", "", "13700000000")])
    response = upload(client, data)
    confirm = response.context["confirm"]
    assert confirm.initial["expected"] == 2
    # Someone registers with row 3's phone before the admin confirms.
    other = make_trainee(personas.inst_b, name="路人甲", n=777)
    other.set_phone(b[1])
    other.save()
    before = counts()
    response = client.post(
        URL,
        {"confirm": "1", "only_good": "on", "expected": 2, "digest": confirm.initial["digest"]},
    )
    assert response.status_code == 200 and counts() == before
    assert "校验结果已变化" in response.content.decode()
    assert response.context["confirm"].initial["expected"] == 1


def test_a_platform_trainee_is_linked_not_duplicated(personas):
    client = client_for(personas.admin)
    existing = personas.trainee_b  # 李四 of institution B only
    profile = existing.trainee_profile
    new_id, new_phone = person(50)
    data = sheet(
        [
            ("李四", profile.id_number, existing.phone),  # same person, same phone
            ("张三", personas.trainee.trainee_profile.id_number, personas.trainee.phone),  # ours
            ("王小明", new_id, new_phone),
        ]
    )
    before = counts()
    response = upload(client, data)
    assert response.status_code == 302
    assert counts() == (before[0] + 1, before[1] + 1, before[2] + 2)
    assert profile.memberships.filter(institution=personas.inst_a, source="import").exists()
    assert personas.trainee.trainee_profile.memberships.count() == 1  # already ours: unchanged
    assert AuditEntry.objects.get(action="trainee.import").detail["linked"] == 1
    existing.refresh_from_db()
    assert existing.name == "李四" and existing.phone == personas.trainee_b.phone


def test_a_platform_trainee_with_a_new_phone_in_the_sheet_keeps_their_own(personas):
    existing = personas.trainee_b
    data = sheet([("李四", existing.trainee_profile.id_number, person(60)[1])])
    check = imports.trainees_check(personas.inst_a, data)
    assert not check.errors and check.linked == 1
    trainees_import(institution=personas.inst_a, rows=check.good, by=personas.admin)
    existing.refresh_from_db()
    assert existing.phone == personas.trainee_b.phone
    assert not User.objects.filter(phone_index=phone_index(person(60)[1])).exists()


def test_an_import_that_races_a_registration_imports_nothing(personas):
    a, b = person(70), person(71)
    check = imports.trainees_check(
        personas.inst_a, sheet([("王小明", a[0], a[1]), ("李小红", b[0], b[1])])
    )
    racer = make_trainee(personas.inst_b, name="李小红", n=778)
    racer.trainee_profile.set_id_number(b[0])
    racer.trainee_profile.save()
    before = counts()
    with pytest.raises(ImportConflict):
        trainees_import(institution=personas.inst_a, rows=check.good, by=personas.admin)
    assert counts() == before


def test_the_template_downloads_and_reads_back(personas):
    response = client_for(personas.admin).get(reverse("console:trainees_template"))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    book = load_workbook(io.BytesIO(response.content))
    ws = book["学员"]
    assert [c.value for c in ws[1]] == ["姓名", "身份证号", "手机号"]
    assert ws["B2"].number_format == "@" and ws["C2"].number_format == "@"
    assert "填写说明" in book.sheetnames
    # Filled in as it is, the template is read with its own header.
    ws.append(["王小明", person(80)[0], person(80)[1]])
    out = io.BytesIO()
    book.save(out)
    check = imports.trainees_check(personas.inst_a, out.getvalue())
    assert not check.errors and check.new == 1


def test_only_admins_import(personas, mistakes):
    before = counts()
    assert upload(client_for(personas.instructor), mistakes).status_code == 403
    assert client_for(personas.instructor).get(URL).status_code == 403
    assert counts() == before
    page = client_for(personas.admin).get(reverse("console:trainees")).content.decode()
    assert URL in page
    assert (
        URL not in client_for(personas.instructor).get(reverse("console:trainees")).content.decode()
    )


def test_names(personas):
    assert imports.normalize_name(" 买买提•艾力 ") == "买买提·艾力"
    assert imports.name_problem("买买提·艾力") is None
    assert imports.name_problem("王") is not None  # too short
    assert imports.name_problem("王" * 21) is not None  # too long
    assert imports.name_problem("Tom") is not None
    assert imports.name_problem("·王五") is not None
    assert imports.name_problem("王··五") is not None
