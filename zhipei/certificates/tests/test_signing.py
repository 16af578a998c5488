"""Ed25519 over canonical JSON; key ids; retired keys keep verifying what they signed."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from zhipei.certificates import signing

CONTENT = {"serial": "ZP2026-AAAA-BBBB-CCCC", "holder_name": "张三", "online_xueshi": "40.0"}


@pytest.fixture
def fresh_keys(settings):
    def use(private: Ed25519PrivateKey, retired: list[Ed25519PrivateKey] = ()) -> None:
        raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        settings.CERT_SIGNING_KEY = base64.b64encode(raw).decode()
        settings.CERT_RETIRED_PUBLIC_KEYS = [
            base64.b64encode(signing.public_key_raw(k.public_key())).decode() for k in retired
        ]
        signing.reset_signing_caches()

    yield use
    signing.reset_signing_caches()


def test_canonical_json_is_sorted_compact_utf8():
    assert (
        signing.canonical_json({"b": 1, "a": ["学时", None]})
        == '{"a":["学时",null],"b":1}'.encode()
    )


def test_sign_and_verify(fresh_keys):
    fresh_keys(Ed25519PrivateKey.generate())
    signature, key_id = signing.sign(CONTENT)
    assert len(key_id) == 16 and key_id == signing.current_key().key_id
    assert signing.verify(dict(CONTENT), signature, key_id)
    assert not signing.verify({**CONTENT, "online_xueshi": "80.0"}, signature, key_id)
    assert not signing.verify(CONTENT, signature, "0000000000000000")
    assert not signing.verify(CONTENT, "not base64 !!", key_id)
    assert not signing.verify(CONTENT, signature[:-4] + "AAAA", key_id)


def test_offline_verification_with_the_published_public_key(fresh_keys):
    """What docs/CERTIFICATES.md tells a third party to do, with nothing but `cryptography`."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    fresh_keys(Ed25519PrivateKey.generate())
    signature, _ = signing.sign(CONTENT)
    public = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(signing.current_key().public_base64)
    )
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    public.verify(raw, signing.canonical_json(CONTENT))  # raises InvalidSignature if not
    with pytest.raises(InvalidSignature):
        public.verify(raw, signing.canonical_json({**CONTENT, "online_xueshi": "99.9"}))


def test_rotation_keeps_old_certificates_verifiable(fresh_keys):
    old = Ed25519PrivateKey.generate()
    fresh_keys(old)
    signature, old_id = signing.sign(CONTENT)

    fresh_keys(Ed25519PrivateKey.generate(), retired=[old])
    assert signing.current_key().key_id != old_id
    assert signing.verify(CONTENT, signature, old_id)
    assert not signing.verify_keys()[old_id].current

    fresh_keys(Ed25519PrivateKey.generate())  # the old key dropped entirely
    assert not signing.verify(CONTENT, signature, old_id)
