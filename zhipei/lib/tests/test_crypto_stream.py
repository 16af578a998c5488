"""Files encrypted in chunks (exports at rest): round trips, and every kind of tampering fails."""

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhipei.lib.crypto import (
    STREAM_CHUNK,
    DecryptionError,
    FieldCipher,
    is_encrypted_stream,
)

KEYRING = {"k2": bytes(range(32)), "k1": bytes(range(32, 64))}


def sealed(cipher: FieldCipher, data: bytes, context: str = "records.ExportJob:1") -> bytes:
    out = io.BytesIO()
    cipher.encrypt_stream(io.BytesIO(data), out, context=context)
    return out.getvalue()


def opened(cipher: FieldCipher, data: bytes, context: str = "records.ExportJob:1") -> bytes:
    return b"".join(cipher.decrypt_stream(io.BytesIO(data), context=context))


def frames(data: bytes) -> tuple[bytes, list[bytes]]:
    """The header and the length-prefixed chunks of a sealed file."""
    header_size = 4 + 1 + data[4] + 8
    header, rest, chunks = data[:header_size], data[header_size:], []
    while rest:
        size = int.from_bytes(rest[:4], "big")
        chunks.append(rest[: 4 + size])
        rest = rest[4 + size :]
    return header, chunks


@pytest.mark.parametrize("algorithm", ["sm4-gcm", "aes-gcm"])
@pytest.mark.parametrize("size", [0, 1, STREAM_CHUNK - 1, STREAM_CHUNK, 2 * STREAM_CHUNK + 5])
def test_round_trip_at_chunk_boundaries(algorithm, size):
    cipher = FieldCipher(KEYRING, algorithm=algorithm)
    data = os.urandom(size)
    token = sealed(cipher, data)
    assert is_encrypted_stream(token)
    if size >= 64:
        assert data[:64] not in token
    assert opened(cipher, token) == data
    # Readable after the key ring turns over, as long as the old key is kept.
    rotated = FieldCipher({"k3": os.urandom(32), **KEYRING}, algorithm=algorithm)
    assert opened(rotated, token) == data


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=3 * STREAM_CHUNK))
def test_round_trip_of_any_content(data):
    cipher = FieldCipher(KEYRING)
    assert opened(cipher, sealed(cipher, data)) == data


def test_tampering_truncation_reordering_and_another_context_all_fail():
    cipher = FieldCipher(KEYRING)
    data = os.urandom(3 * STREAM_CHUNK + 10)
    token = sealed(cipher, data)
    header, chunks = frames(token)
    assert len(chunks) == 4

    flipped = bytearray(token)
    flipped[len(header) + 100] ^= 1
    cases = {
        "a flipped bit": bytes(flipped),
        "the last chunk cut off": header + b"".join(chunks[:-1]),
        "chunks swapped": header + chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "a chunk dropped": header + chunks[0] + b"".join(chunks[2:]),
        "bytes after the end": token + b"x",
        "cut inside a chunk": token[:-7],
        "another file's header": sealed(cipher, data)[: len(header)] + b"".join(chunks),
        # A length field that asks for far more than a chunk: refused before reading it.
        "an oversized chunk": header + (2**31).to_bytes(4, "big") + b"".join(chunks)[4:],
    }
    for name, bad in cases.items():
        try:
            opened(cipher, bad)
        except DecryptionError:
            continue
        pytest.fail(f"{name}: decrypted")
    with pytest.raises(DecryptionError):
        opened(cipher, token, context="records.ExportJob:2")  # copied onto another job
    with pytest.raises(DecryptionError):
        opened(FieldCipher({"k9": os.urandom(32)}), token)  # the key is gone
    with pytest.raises(DecryptionError):
        opened(cipher, b"PK\x03\x04 a plain zip file")
