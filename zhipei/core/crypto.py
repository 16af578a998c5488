"""The process-wide field cipher and blind index, built once from settings."""

from functools import cache, lru_cache

from django.conf import settings

from zhipei.lib.crypto import BlindIndex, FieldCipher, derive_key, parse_keyring


@cache
def field_cipher() -> FieldCipher:
    return FieldCipher(parse_keyring(settings.FIELD_KEYS), algorithm=settings.FIELD_CIPHER)


@lru_cache(maxsize=4)
def purpose_cipher(purpose: str) -> FieldCipher:
    """A cipher like ``field_cipher`` under keys of its own, derived from the field keys for
    ``purpose`` (HKDF): for data sealed at a rate the keys of personal data should not see."""
    ring = {
        key_id: derive_key(master, purpose=purpose, length=32)
        for key_id, master in parse_keyring(settings.FIELD_KEYS).items()
    }
    return FieldCipher(ring, algorithm=settings.FIELD_CIPHER)


@cache
def blind_index() -> BlindIndex:
    key = parse_keyring("x:" + settings.BLIND_INDEX_KEY)["x"]
    return BlindIndex(key, hash=settings.ZHIPEI_HASH)


@cache
def audit_chain_key() -> bytes:
    """Keys the audit hash chain (HMAC), derived from the blind-index key, never stored in the DB."""
    master = parse_keyring("x:" + settings.BLIND_INDEX_KEY)["x"]
    return derive_key(master, purpose="zhipei audit chain", length=32, hash="sha256")


def reset_crypto_caches() -> None:
    """For tests and the key-rotation command after settings change."""
    field_cipher.cache_clear()
    purpose_cipher.cache_clear()
    blind_index.cache_clear()
    audit_chain_key.cache_clear()
