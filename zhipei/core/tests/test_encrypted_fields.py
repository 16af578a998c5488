import base64
import os

import pytest
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from zhipei.accounts.models import TraineeProfile, User, id_number_index
from zhipei.core.crypto import reset_crypto_caches

pytestmark = pytest.mark.django_db


def raw(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_encrypted_columns_cannot_be_queried_directly(personas):
    with pytest.raises(FieldError):
        list(TraineeProfile.objects.filter(id_number="11010519491231002X"))


def test_aes_gcm_is_selectable(personas, settings):
    settings.FIELD_CIPHER = "aes-gcm"
    reset_crypto_caches()
    try:
        user = personas.trainee
        user.save(update_fields=["phone"])
        assert raw("accounts_user", "phone", user.pk).startswith("zp1$aes$")
        assert User.objects.get(pk=user.pk).phone == user.phone
    finally:
        reset_crypto_caches()


def test_key_rotation_reencrypts_everything(personas, settings):
    profile = personas.trainee.trainee_profile
    old_token = raw("accounts_traineeprofile", "id_number", profile.pk)
    old_key_id = old_token.split("$")[2]
    new_key = base64.b64encode(os.urandom(32)).decode()
    settings.FIELD_KEYS = f"k9:{new_key}," + settings.FIELD_KEYS
    reset_crypto_caches()
    try:
        # Before rotation old tokens still decrypt with the old key kept in the ring.
        assert TraineeProfile.objects.get(pk=profile.pk).id_number == profile.id_number
        call_command("rotate_field_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
        token = raw("accounts_traineeprofile", "id_number", profile.pk)
        assert token.split("$")[2] == "k9" and old_key_id != "k9"
        assert raw("accounts_user", "phone", personas.trainee.pk).split("$")[2] == "k9"
        # Drop the old key: everything still reads.
        settings.FIELD_KEYS = f"k9:{new_key}"
        reset_crypto_caches()
        assert TraineeProfile.objects.get(pk=profile.pk).id_number == profile.id_number
        assert TraineeProfile.objects.filter(
            id_number_index=id_number_index(profile.id_number)
        ).exists()
    finally:
        reset_crypto_caches()
