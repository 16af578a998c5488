import pytest
from django.db import connection
from django.urls import reverse

from zhipei.accounts.models import ConsentRecord, Membership, SmsCode, TraineeProfile, User
from zhipei.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

VALID_ID = "11010519491231002X"


@pytest.fixture
def code(monkeypatch):
    """Make the next issued code predictable."""
    monkeypatch.setattr("zhipei.accounts.services.secrets.randbelow", lambda n: 123456)
    return "123456"


def register(client, personas, **overrides):
    client.post(
        reverse("accounts:sms_send"),
        {"phone": overrides.get("phone", "13800138000"), "purpose": "register"},
    )
    data = {
        "institution": personas.inst_a.pk,
        "name": "王小明",
        "id_number": VALID_ID.lower(),
        "phone": "13800138000",
        "code": "123456",
        "agree": "on",
    }
    data.update(overrides)
    return client.post(reverse("trainee:register"), data)


def test_register_creates_encrypted_real_name_trainee(client, personas, code):
    response = register(client, personas)
    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(name="王小明")
    profile = user.trainee_profile
    assert profile.id_number == VALID_ID
    assert profile.id_number_masked == "1101**********002X"
    assert user.phone_masked == "138****8000"
    assert Membership.objects.filter(trainee=profile, institution=personas.inst_a).exists()
    assert ConsentRecord.objects.filter(
        user=user, action="accept", document__kind="personal_info"
    ).exists()
    assert AuditEntry.objects.filter(action="trainee.register", actor_id=user.pk).exists()
    # At rest the columns hold ciphertext, not the number.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM accounts_traineeprofile WHERE id = %s", [profile.pk])
        raw = cursor.fetchone()[0]
        cursor.execute("SELECT phone FROM accounts_user WHERE id = %s", [user.pk])
        raw_phone = cursor.fetchone()[0]
    assert raw.startswith("zp1$sm4$") and VALID_ID not in raw
    assert "13800138000" not in raw_phone
    # Logged in and on the dashboard.
    assert client.get(reverse("trainee:home")).status_code == 200


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("id_number", "110105194912310021", "身份证号校验位不正确"),
        ("id_number", "11010519491331002X", "身份证号"),
        ("id_number", "1101051949", "身份证号"),
        ("phone", "1380013800", "手机号"),
        ("name", "王1", "真实姓名"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(client, personas, code, field, value, message):
    before = TraineeProfile.objects.count()
    response = register(client, personas, **{field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert TraineeProfile.objects.count() == before


def test_under_14_is_refused(client, personas, code):
    from django.utils import timezone

    from zhipei.lib.idnumber import compute_check_digit

    year = timezone.localdate().year - 10
    first17 = f"331102{year}0101001"
    response = register(client, personas, id_number=first17 + compute_check_digit(first17))
    assert "未满14周岁" in response.content.decode()


def test_wrong_code_is_refused(client, personas, code):
    response = register(client, personas, code="654321")
    assert "验证码错误或已过期" in response.content.decode()
    assert not User.objects.filter(name="王小明").exists()


def test_duplicate_id_number_is_refused_after_phone_proof(client, personas, code):
    taken = personas.trainee.trainee_profile.id_number
    response = register(client, personas, id_number=taken)
    assert "该身份证号或手机号已注册" in response.content.decode()


def test_consent_is_required(client, personas, code):
    response = register(client, personas, agree="")
    assert "请阅读并同意" in response.content.decode()
    assert SmsCode.objects.filter(consumed_at__isnull=False).count() == 0


def test_every_error_of_an_empty_form_names_its_field(client, personas):
    response = client.post(reverse("trainee:register"), {})
    errors = response.context["form"].errors
    assert set(errors) == {"institution", "name", "id_number", "phone", "code", "agree"}
    labels = {
        "institution": "培训机构",
        "name": "真实姓名",
        "id_number": "身份证号",
        "phone": "手机号",
        "code": "短信验证码",
        "agree": "我已阅读",
    }
    for field, messages in errors.items():
        assert all(m.startswith(labels[field]) for m in messages), messages
