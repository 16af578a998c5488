"""Tests for field encryption, blind indexes and digests (SM4/SM3 and AES/SHA-256)."""

import base64
import hashlib
import hmac

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from zhipei.lib.crypto import (
    ALGORITHMS,
    HASHES,
    BlindIndex,
    DecryptionError,
    FieldCipher,
    InvalidKeyring,
    chain_hash,
    derive_key,
    digest,
    generate_key,
    keyed_digest,
    parse_keyring,
)

KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))
CONTEXT = "accounts.TraineeProfile.id_number"


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


# --------------------------------------------------------------------- published vectors


def test_sm4_block_cipher_known_answer_gb_t_32907():
    # GB/T 32907-2016 Appendix A.1: key = plaintext = 0123456789abcdeffedcba9876543210.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    # ECB on one block is exactly the raw block cipher, which is what the vector specifies.
    encryptor = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()  # noqa: S305
    ciphertext = encryptor.update(key) + encryptor.finalize()
    assert ciphertext.hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_gcm_known_answer_rfc_8998():
    # RFC 8998, Appendix A.1 (SM4-GCM test vector).
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex(
        "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
        "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
    )
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    assert ciphertext.hex().upper() == (
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    assert encryptor.tag.hex().upper() == "83DE3541E4C2B58177E065A9BF7B62EC"


def test_sm3_known_answers_gb_t_32905():
    # GB/T 32905-2016 Appendix A: "abc" and "abcd" repeated 16 times.
    assert digest(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert digest(b"abcd" * 16) == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


def test_sha256_digest_matches_hashlib():
    assert digest(b"abc", hash="sha256") == hashlib.sha256(b"abc").hexdigest()


def test_keyed_digest_rfc_4231_case_2():
    # RFC 4231 test case 2 for HMAC-SHA-256.
    assert keyed_digest(b"Jefe", b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_keyed_digest_sm3_is_a_64_hex_hmac():
    value = keyed_digest(b"key", b"123456", hash="sm3")
    assert len(value) == 64
    assert value != keyed_digest(b"key", b"123456")
    assert value == keyed_digest(b"key", b"123456", hash="sm3")


def test_derive_key_hkdf_sha256_rfc_5869_case_3():
    # RFC 5869 test case 3 (no salt, empty info), which derive_key's defaults correspond to.
    ikm = bytes.fromhex("0b" * 22)
    okm = derive_key(ikm, purpose="", length=42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_derive_key_separates_purposes_and_hashes():
    a = derive_key(KEY1, purpose="a", length=32)
    assert len(a) == 32
    assert a != derive_key(KEY1, purpose="b", length=32)
    assert a != derive_key(KEY1, purpose="a", length=32, hash="sm3")
    with pytest.raises(ValueError):
        derive_key(KEY1, purpose="a", length=32, hash="md5")


def test_chain_hash_is_digest_of_previous_newline_payload():
    assert chain_hash("abc", b"def") == digest(b"abc\ndef")
    assert chain_hash("abc", b"def", hash="sha256") == hashlib.sha256(b"abc\ndef").hexdigest()
    first = chain_hash("", b"record 1")
    second = chain_hash(first, b"record 2")
    assert second != chain_hash(first, b"record 2 (edited)")


def test_hashes_and_algorithms_constants():
    assert ALGORITHMS == ("sm4-gcm", "aes-gcm")
    assert HASHES == ("sm3", "sha256")


# --------------------------------------------------------------------------- keyrings


def test_parse_keyring_keeps_order_and_accepts_both_base64_alphabets():
    spec = f"k2:{b64(KEY2)}, k1:{base64.urlsafe_b64encode(KEY1).decode().rstrip('=')}"
    keyring = parse_keyring(spec)
    assert list(keyring) == ["k2", "k1"]
    assert keyring == {"k2": KEY2, "k1": KEY1}


def test_generate_key_makes_distinct_32_byte_keys():
    first, second = generate_key(), generate_key()
    assert first != second
    assert parse_keyring(f"a:{first},b:{second}")["a"] == base64.b64decode(first)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("", "密钥环为空"),
        (" , ", "密钥环为空"),
        (f"bad id:{b64(KEY1)}", "密钥编号"),
        (f"{'k' * 17}:{b64(KEY1)}", "密钥编号"),
        (f"k1:{b64(KEY1)},k1:{b64(KEY2)}", "重复"),
        (f"k1:{b64(KEY1[:16])}", "应为32字节"),
        ("k1:not*base64", "base64"),
        (b64(KEY1), "缺少“:”"),
    ],
)
def test_parse_keyring_rejects_bad_specs(spec, fragment):
    with pytest.raises(InvalidKeyring) as info:
        parse_keyring(spec)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_parse_keyring_error_does_not_echo_a_bare_key():
    with pytest.raises(InvalidKeyring) as info:
        parse_keyring(b64(KEY1))
    assert b64(KEY1)[:8] not in str(info.value)


# ---------------------------------------------------------------------- field cipher


@pytest.mark.parametrize(("algorithm", "label"), [("sm4-gcm", "sm4"), ("aes-gcm", "aes")])
def test_round_trip_and_token_format(algorithm, label):
    cipher = FieldCipher({"k1": KEY1}, algorithm=algorithm)
    token = cipher.encrypt("11010519491231002X", context=CONTEXT)
    version, token_label, key_id, body = token.split("$")
    assert (version, token_label, key_id) == ("zp1", label, "k1")
    assert "=" not in body
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert len(raw) == 12 + len("11010519491231002X") + 16
    assert cipher.decrypt(token, context=CONTEXT) == "11010519491231002X"


def test_sm4_tokens_are_real_sm4_gcm_under_the_derived_key():
    # Decrypt a token with the raw primitive to prove the documented construction.
    cipher = FieldCipher({"k1": KEY1})
    token = cipher.encrypt("13812345678", context=CONTEXT)
    body = token.split("$")[3]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    nonce, ciphertext, tag = raw[:12], raw[12:-16], raw[-16:]
    data_key = derive_key(KEY1, purpose="zhipei field sm4", length=16, hash="sm3")
    decryptor = Cipher(algorithms.SM4(data_key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(CONTEXT.encode())
    assert decryptor.update(ciphertext) + decryptor.finalize() == b"13812345678"


def test_aes_tokens_are_real_aes_256_gcm_under_the_derived_key():
    cipher = FieldCipher({"k1": KEY1}, algorithm="aes-gcm")
    token = cipher.encrypt("13812345678", context=CONTEXT)
    body = token.split("$")[3]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    data_key = derive_key(KEY1, purpose="zhipei field aes", length=32, hash="sha256")
    assert AESGCM(data_key).decrypt(raw[:12], raw[12:], CONTEXT.encode()) == b"13812345678"


def test_encryption_is_randomised():
    cipher = FieldCipher({"k1": KEY1})
    assert cipher.encrypt("same", context=CONTEXT) != cipher.encrypt("same", context=CONTEXT)


def test_bytes_round_trip_with_bytes_tokens():
    cipher = FieldCipher({"k1": KEY1}, algorithm="aes-gcm")
    image = bytes(range(256)) * 4
    token = cipher.encrypt_bytes(image, context="trainee.FacePhoto.image")
    assert isinstance(token, bytes)
    assert token.startswith(b"zp1$aes$k1$")
    assert cipher.decrypt_bytes(token, context="trainee.FacePhoto.image") == image


def test_str_and_bytes_tokens_share_one_format():
    cipher = FieldCipher({"k1": KEY1})
    token = cipher.encrypt("文字", context=CONTEXT)
    assert cipher.decrypt_bytes(token.encode(), context=CONTEXT) == "文字".encode()


def test_wrong_context_fails():
    cipher = FieldCipher({"k1": KEY1})
    token = cipher.encrypt("13812345678", context="accounts.User.phone")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context="accounts.User.id_number")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_tampered_byte_is_detected(algorithm):
    cipher = FieldCipher({"k1": KEY1}, algorithm=algorithm)
    token = cipher.encrypt("secret", context=CONTEXT)
    prefix, body = token.rsplit("$", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for index in range(len(raw)):
        raw[index] ^= 0x01
        forged = prefix + "$" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
        raw[index] ^= 0x01
        with pytest.raises(DecryptionError):
            cipher.decrypt(forged, context=CONTEXT)


def test_switching_algorithm_label_fails():
    cipher = FieldCipher({"k1": KEY1}, algorithm="sm4-gcm")
    token = cipher.encrypt("secret", context=CONTEXT)
    with pytest.raises(DecryptionError):
        cipher.decrypt(token.replace("$sm4$", "$aes$"), context=CONTEXT)


def test_unknown_key_id_fails():
    old = FieldCipher({"k0": KEY2})
    token = old.encrypt("secret", context=CONTEXT)
    with pytest.raises(DecryptionError, match="k0"):
        FieldCipher({"k1": KEY1}).decrypt(token, context=CONTEXT)


def test_same_key_id_with_a_different_key_fails():
    token = FieldCipher({"k1": KEY2}).encrypt("secret", context=CONTEXT)
    with pytest.raises(DecryptionError):
        FieldCipher({"k1": KEY1}).decrypt(token, context=CONTEXT)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "plain text",
        "zp1$sm4$k1",
        "zp2$sm4$k1$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "zp1$des$k1$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "zp1$sm4$k1$AAAA",
        "zp1$sm4$k1$not base64!",
        "zp1$sm4$k1$AAAA$extra",
    ],
)
def test_malformed_tokens_fail(token):
    cipher = FieldCipher({"k1": KEY1})
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context=CONTEXT)


def test_non_ascii_bytes_token_fails():
    with pytest.raises(DecryptionError):
        FieldCipher({"k1": KEY1}).decrypt_bytes("密文".encode(), context=CONTEXT)


def test_binary_plaintext_through_str_api_fails_cleanly():
    cipher = FieldCipher({"k1": KEY1})
    token = cipher.encrypt_bytes(b"\xff\xfe", context=CONTEXT)
    with pytest.raises(DecryptionError):
        cipher.decrypt(token.decode(), context=CONTEXT)


def test_constructor_rejects_bad_configuration():
    with pytest.raises(ValueError):
        FieldCipher({"k1": KEY1}, algorithm="des")
    with pytest.raises(ValueError):
        FieldCipher({})
    with pytest.raises(ValueError):
        FieldCipher({"k1": KEY1[:16]})


def test_rotation_to_a_new_key():
    old_cipher = FieldCipher({"k1": KEY1})
    old_token = old_cipher.encrypt("11010519491231002X", context=CONTEXT)
    assert not old_cipher.needs_rotation(old_token)

    rotated = FieldCipher({"k2": KEY2, "k1": KEY1})
    assert rotated.current_key_id == "k2"
    assert rotated.decrypt(old_token, context=CONTEXT) == "11010519491231002X"
    assert rotated.needs_rotation(old_token)
    assert rotated.needs_rotation(old_token.encode())

    new_token = rotated.encrypt(rotated.decrypt(old_token, context=CONTEXT), context=CONTEXT)
    assert new_token.split("$")[2] == "k2"
    assert not rotated.needs_rotation(new_token)
    assert rotated.decrypt(new_token, context=CONTEXT) == "11010519491231002X"


def test_rotation_between_algorithms():
    aes = FieldCipher({"k1": KEY1}, algorithm="aes-gcm")
    sm4 = FieldCipher({"k1": KEY1}, algorithm="sm4-gcm")
    aes_token = aes.encrypt("13812345678", context=CONTEXT)
    assert sm4.needs_rotation(aes_token)
    assert sm4.decrypt(aes_token, context=CONTEXT) == "13812345678"
    assert not aes.needs_rotation(aes_token)
    assert sm4.algorithm == "sm4-gcm"


def test_needs_rotation_rejects_malformed_tokens():
    with pytest.raises(DecryptionError):
        FieldCipher({"k1": KEY1}).needs_rotation("nonsense")


_ROUND_TRIP_CIPHERS = {
    name: FieldCipher({"k2": KEY2, "k1": KEY1}, algorithm=name) for name in ALGORITHMS
}


@settings(max_examples=60, deadline=None)
@given(text=st.text(), context=st.text(max_size=40), algorithm=st.sampled_from(ALGORITHMS))
def test_round_trip_property(text, context, algorithm):
    cipher = _ROUND_TRIP_CIPHERS[algorithm]
    assert cipher.decrypt(cipher.encrypt(text, context=context), context=context) == text


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=2048))
def test_bytes_round_trip_property(data):
    cipher = _ROUND_TRIP_CIPHERS["sm4-gcm"]
    assert cipher.decrypt_bytes(cipher.encrypt_bytes(data, context="x"), context="x") == data


# ----------------------------------------------------------------------- blind index


def test_blind_index_is_hmac_over_context_nul_value_with_derived_key():
    index = BlindIndex(KEY1, hash="sha256")
    mac_key = derive_key(KEY1, purpose="zhipei blind index", length=32, hash="sha256")
    expected = hmac.new(mac_key, b"accounts.User.phone\x0013812345678", hashlib.sha256)
    assert index.compute("13812345678", context="accounts.User.phone") == expected.hexdigest()


def test_blind_index_sm3_properties():
    index = BlindIndex(KEY1)
    value = index.compute("11010519491231002X", context=CONTEXT)
    assert len(value) == 64
    assert value == value.lower()
    assert int(value, 16) >= 0
    assert value == BlindIndex(KEY1).compute("11010519491231002X", context=CONTEXT)
    assert value != BlindIndex(KEY2).compute("11010519491231002X", context=CONTEXT)
    assert value != index.compute("11010519491231002X", context="other.field")
    assert value != BlindIndex(KEY1, hash="sha256").compute("11010519491231002X", context=CONTEXT)


def test_blind_index_context_boundary_is_unambiguous():
    index = BlindIndex(KEY1)
    assert index.compute("bc", context="a") != index.compute("c", context="ab")
    with pytest.raises(ValueError):
        index.compute("x", context="a\x00b")


def test_blind_index_rejects_unknown_hash_and_short_keys():
    with pytest.raises(ValueError):
        BlindIndex(KEY1, hash="md5")
    with pytest.raises(ValueError):
        BlindIndex(b"short")
