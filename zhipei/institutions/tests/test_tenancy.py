import pytest
from django.urls import reverse

from conftest import client_for
from zhipei.accounts.models import Role, User
from zhipei.audit.models import AuditEntry
from zhipei.core.tests.factories import InstitutionFactory, UserFactory, make_trainee
from zhipei.institutions.models import Institution, Region
from zhipei.institutions.scoping import visible_institutions

pytestmark = pytest.mark.django_db


def test_regulators_see_their_region_and_office_kind(personas):
    both = InstitutionFactory(kind=Institution.Kind.BOTH, region=Region.objects.get(code="331181"))
    employment = UserFactory(
        username="reg_emp",
        role=Role.REGULATOR,
        region_id="331100",
        regulator_office=User.RegulatorOffice.EMPLOYMENT,
    )
    assert set(visible_institutions(personas.county_regulator)) == {personas.inst_a}
    assert set(visible_institutions(personas.city_regulator)) == {
        personas.inst_a,
        personas.inst_b,
        both,
    }
    assert set(visible_institutions(employment)) == {personas.inst_b, both}


def test_staff_see_only_their_institution(personas):
    assert list(visible_institutions(personas.admin)) == [personas.inst_a]
    assert list(visible_institutions(personas.other_admin)) == [personas.inst_b]
    for user in (personas.trainee, personas.security, personas.auditor):
        assert not visible_institutions(user).exists()


def test_other_institution_trainee_is_404_not_403(personas):
    url = reverse("console:trainee_detail", args=[personas.trainee_b.trainee_profile.pk])
    assert client_for(personas.admin).get(url).status_code == 404
    missing = reverse("console:trainee_detail", args=[999999])
    assert client_for(personas.admin).get(missing).status_code == 404


def test_county_regulator_cannot_open_institution_outside_its_area(personas):
    url = reverse("portal:institution_detail", args=[personas.inst_b.pk])
    assert client_for(personas.county_regulator).get(url).status_code == 404
    assert client_for(personas.city_regulator).get(url).status_code == 200


def test_trainee_list_is_masked_and_scoped(personas):
    make_trainee(personas.inst_a, name="王五")
    body = client_for(personas.admin).get(reverse("console:trainees")).content.decode()
    profile = personas.trainee.trainee_profile
    assert profile.id_number_masked in body and profile.id_number not in body
    assert personas.trainee.phone_masked in body and personas.trainee.phone not in body
    assert "王五" in body and "李四" not in body
    assert AuditEntry.objects.filter(action="trainee.list", actor_id=personas.admin.pk).exists()


def test_search_by_full_id_number_and_phone_uses_the_blind_index(personas):
    client = client_for(personas.admin)
    profile = personas.trainee.trainee_profile
    url = reverse("console:trainees")
    for query in (profile.id_number, personas.trainee.phone):
        response = client.post(url, {"q": query})
        assert response["Location"] == url  # the number never goes into a URL
        assert "张三" in client.get(url).content.decode()
    # Another institution's trainee is not found even by exact number.
    client.post(url, {"q": personas.trainee_b.trainee_profile.id_number})
    body = client.get(url).content.decode()
    assert "李四" not in body and "没有符合条件的学员" in body
    # Nonsense filters are harmless.
    client.post(url, {"q": "'; DROP TABLE --"})
    assert client.get(url, {"page": "abc"}).status_code == 200
    assert client.get(url).headers["Cache-Control"] == "private, no-store"


def test_full_view_is_a_separate_permission_and_audited(personas):
    profile = personas.trainee.trainee_profile
    url = reverse("console:trainee_reveal", args=[profile.pk])
    assert client_for(personas.instructor).post(url).status_code == 403
    body = client_for(personas.admin).post(url).content.decode()
    assert profile.id_number in body and personas.trainee.phone in body
    entry = AuditEntry.objects.get(action="trainee.pii_full_view")
    assert entry.actor_id == personas.admin.pk and entry.target_id == str(profile.pk)
    assert profile.id_number not in str(entry.detail)


def test_institution_admin_edits_contact_with_validation(personas):
    client = client_for(personas.admin)
    url = reverse("console:institution")
    bad = client.post(
        url,
        {"contact_name": "赵六", "contact_title": "", "contact_phone": "123", "address": "新地址"},
    )
    assert "手机号码格式不正确" in bad.content.decode()
    personas.inst_a.refresh_from_db()
    assert personas.inst_a.contact_name == "李老师"
    ok = client.post(
        url,
        {
            "contact_name": "赵六",
            "contact_title": "校长",
            "contact_phone": "13905789999",
            "address": "新地址",
        },
    )
    assert ok.status_code == 302
    personas.inst_a.refresh_from_db()
    assert personas.inst_a.contact_name == "赵六"
    assert AuditEntry.objects.filter(
        action="institution.update", target_id=str(personas.inst_a.pk)
    ).exists()
    assert client_for(personas.instructor).post(url, {"contact_name": "x"}).status_code == 403
