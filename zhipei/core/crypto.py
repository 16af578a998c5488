"""The process-wide field cipher and blind index, built once from settings."""

from functools import cache

from django.conf import settings

from zhipei.lib.crypto import BlindIndex, FieldCipher, derive_key, parse_keyring


@cache
def field_cipher() -> FieldCipher:
    return FieldCipher(parse_keyring(settings.FIELD_KEYS), algorithm=settings.FIELD_CIPHER)


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
    blind_index.cache_clear()
    audit_chain_key.cache_clear()
