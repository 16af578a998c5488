"""Model fields that keep personal data encrypted at rest, field by field."""

from typing import Any

from django.core.exceptions import FieldError
from django.db import models

from zhipei.core.crypto import field_cipher


class EncryptedTextField(models.TextField):
    """Text stored as an SM4-GCM (or AES-GCM) token; the model label and field name are the AAD.

    The ciphertext is randomised, so it cannot be searched: pair it with a blind index column
    for equality lookups. Only ``isnull`` is allowed as a lookup.
    """

    description = "Encrypted text"

    def contribute_to_class(
        self, cls: type[models.Model], name: str, *args: Any, **kwargs: Any
    ) -> None:
        super().contribute_to_class(cls, name, *args, **kwargs)
        self.aad = f"{cls._meta.label}.{name}"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return field_cipher().decrypt(value, context=self.aad)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if not value:
            return value
        return field_cipher().encrypt(value, context=self.aad)

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(f"{self.aad} is encrypted; look it up through its blind index")
        return super().get_lookup(lookup_name)


class EncryptedBinaryField(EncryptedTextField):
    """Bytes (a face descriptor) stored as an encrypted ASCII token, with the same AAD rule."""

    description = "Encrypted bytes"
    # Tell django-stubs what the attribute holds (it would assume str from TextField).
    _pyi_private_set_type: bytes | str | None  # type: ignore[assignment]
    _pyi_private_get_type: bytes | None  # type: ignore[assignment]

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> bytes | None:  # type: ignore[override]
        if not value:
            return None
        return field_cipher().decrypt_bytes(value.encode("ascii"), context=self.aad)

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if not value:
            return ""
        return field_cipher().encrypt_bytes(bytes(value), context=self.aad).decode("ascii")
