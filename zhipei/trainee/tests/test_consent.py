import pytest
from django.urls import reverse
from django.utils import timezone

from conftest import client_for
from zhipei.accounts.models import ConsentDocument, ConsentRecord
from zhipei.accounts.selectors import consent_given
from zhipei.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_biometric_consent_is_separate_and_can_be_withdrawn(personas):
    client = client_for(personas.trainee)
    assert not consent_given(personas.trainee, "biometric")
    assert "人脸信息" in client.get(reverse("trainee:home")).content.decode()
    client.post(reverse("trainee:consent_decide", args=["biometric", "accept"]))
    assert consent_given(personas.trainee, "biometric")
    client.post(reverse("trainee:consent_decide", args=["biometric", "withdraw"]))
    assert not consent_given(personas.trainee, "biometric")
    assert consent_given(personas.trainee, "personal_info")
    actions = list(
        AuditEntry.objects.filter(actor_id=personas.trainee.pk).values_list("action", flat=True)
    )
    assert "consent.accept" in actions and "consent.withdraw" in actions
    record = ConsentRecord.objects.filter(user=personas.trainee, document__kind="biometric").first()
    assert record.action == "withdraw" and record.document.version == "1.0"


def test_a_new_consent_version_must_be_accepted_before_going_further(personas):
    ConsentDocument.objects.create(
        kind="personal_info",
        version="2.0",
        title="个人信息处理同意书",
        body="新版本",
        effective_at=timezone.now(),
    )
    client = client_for(personas.trainee)
    assert client.get(reverse("trainee:profile"))["Location"] == reverse("trainee:consents")
    client.post(reverse("trainee:consent_decide", args=["personal_info", "accept"]))
    assert client.get(reverse("trainee:profile")).status_code == 200


def test_withdrawing_personal_info_consent_blocks_the_site(personas):
    client = client_for(personas.trainee)
    client.post(reverse("trainee:consent_decide", args=["personal_info", "withdraw"]))
    assert client.get(reverse("trainee:home"))["Location"] == reverse("trainee:consents")
    # The consents page itself stays reachable, so the trainee can decide again.
    assert client.get(reverse("trainee:consents")).status_code == 200


def test_unknown_consent_kind_is_404(personas):
    client = client_for(personas.trainee)
    assert (
        client.post(reverse("trainee:consent_decide", args=["marketing", "accept"])).status_code
        == 404
    )
    assert (
        client.post(reverse("trainee:consent_decide", args=["biometric", "sell"])).status_code
        == 404
    )
