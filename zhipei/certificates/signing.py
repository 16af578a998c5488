"""Ed25519 signatures over a certificate's frozen content.

The signed message is the canonical JSON of the content: keys sorted, UTF-8, no spaces
(``canonical_json``). The signature is base64url without padding; the key id is the first 16 hex
digits of SHA-256 over the raw public key, so anyone holding the public key can tell which key
signed. Retired keys keep verifying the certificates they signed (settings
``CERT_RETIRED_PUBLIC_KEYS``); only the current key signs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings

ALGORITHM = "Ed25519"


def canonical_json(content: dict[str, Any]) -> bytes:
    """The exact bytes that are signed."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_raw(key)).hexdigest()[:16]


@dataclass(frozen=True)
class VerifyKey:
    key_id: str
    public_key: Ed25519PublicKey
    current: bool

    @property
    def public_base64(self) -> str:
        """The raw 32-byte public key in standard base64, as shown on the verification page."""
        return base64.b64encode(public_key_raw(self.public_key)).decode()


@cache
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(settings.CERT_SIGNING_KEY))


@cache
def verify_keys() -> dict[str, VerifyKey]:
    """Every key a certificate may have been signed with, by key id (the current one first)."""
    current = signing_key().public_key()
    keys = {key_id_of(current): VerifyKey(key_id_of(current), current, current=True)}
    for text in settings.CERT_RETIRED_PUBLIC_KEYS:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(text))
        keys.setdefault(key_id_of(public), VerifyKey(key_id_of(public), public, current=False))
    return keys


def current_key() -> VerifyKey:
    return next(k for k in verify_keys().values() if k.current)


def sign(content: dict[str, Any]) -> tuple[str, str]:
    """(signature, key id) for ``content`` with the current key."""
    signature = signing_key().sign(canonical_json(content))
    return _b64url(signature), current_key().key_id


def verify(content: dict[str, Any], signature: str, key_id: str) -> bool:
    """True when ``signature`` by the key ``key_id`` matches ``content`` exactly."""
    key = verify_keys().get(key_id)
    if key is None:
        return False
    try:
        key.public_key.verify(_b64url_decode(signature), canonical_json(content))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def reset_signing_caches() -> None:
    """For tests after settings change."""
    signing_key.cache_clear()
    verify_keys.cache_clear()
