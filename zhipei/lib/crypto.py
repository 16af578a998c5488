"""Field-level encryption, blind indexes and digests, with SM4/SM3 beside AES/SHA-256.

All primitives come from ``cryptography`` (OpenSSL); nothing here implements a cipher itself.
"""

import base64
import binascii
import io
import os
import re
from collections.abc import Iterator
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zhipei.lib.i18n import gettext as _

__all__ = [
    "ALGORITHMS",
    "HASHES",
    "BlindIndex",
    "DecryptionError",
    "FieldCipher",
    "InvalidKeyring",
    "chain_hash",
    "derive_key",
    "digest",
    "generate_key",
    "keyed_digest",
    "parse_keyring",
]

ALGORITHMS: Final = ("sm4-gcm", "aes-gcm")
HASHES: Final = ("sm3", "sha256")

KEY_BYTES: Final = 32
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}", re.ASCII)
_FORMAT_TAG = "zp1"
_NONCE_BYTES = 12
_TAG_BYTES = 16
# Token algorithm label -> (configured name, data key length, HKDF purpose, HKDF hash).
# SM4 keys are derived with HKDF-SM3 so that an SM4 deployment uses only SM primitives.
_TOKEN_ALGS: Final = {
    "sm4": ("sm4-gcm", 16, "zhipei field sm4", "sm3"),
    "aes": ("aes-gcm", 32, "zhipei field aes", "sha256"),
}
_LABEL_FOR = {name: label for label, (name, _, _, _) in _TOKEN_ALGS.items()}


class DecryptionError(Exception):
    """A token could not be decrypted: malformed, unknown key, wrong context or tampered."""


def _tampered() -> DecryptionError:
    return DecryptionError(_("密文校验失败：数据被篡改，或用途（context）不符"))


class InvalidKeyring(ValueError):
    """The key specification (e.g. ZHIPEI_FIELD_KEYS) is malformed."""


def _list(names: tuple[str, ...]) -> str:
    # Translators: separator between the items of an inline list (", " in English).
    return _("、").join(names)


def _hash_algorithm(name: str) -> hashes.HashAlgorithm:
    if name == "sm3":
        return hashes.SM3()
    if name == "sha256":
        return hashes.SHA256()
    raise ValueError(
        _("不支持的摘要算法“%(name)s”（可选：%(choices)s）")
        % {"name": name, "choices": _list(HASHES)}
    )


def _b64decode_any(text: str) -> bytes:
    """Decode standard or URL-safe base64, with or without padding."""
    text = text.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    return base64.b64decode(text, validate=True)


def parse_keyring(spec: str) -> dict[str, bytes]:
    """Parse "k2:BASE64,k1:BASE64" into {key id: 32-byte key}; the first entry is current."""
    keyring: dict[str, bytes] = {}
    for position, raw_entry in enumerate(spec.split(","), start=1):
        entry = raw_entry.strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        key_id = key_id.strip()
        if not sep:
            # Do not echo the entry: without an id it is probably the bare secret key.
            raise InvalidKeyring(
                _("第%(position)s个密钥条目缺少“:”，格式应为 密钥编号:base64密钥")
                % {"position": position}
            )
        if not _KEY_ID.fullmatch(key_id):
            raise InvalidKeyring(
                _("密钥编号“%(key_id)s”无效：只能用1至16个字母、数字、下划线或连字符")
                % {"key_id": key_id[:20]}
            )
        if key_id in keyring:
            raise InvalidKeyring(_("密钥编号“%(key_id)s”重复出现") % {"key_id": key_id})
        try:
            key = _b64decode_any(encoded)
        except (binascii.Error, ValueError):
            raise InvalidKeyring(
                _("密钥“%(key_id)s”不是有效的base64文本") % {"key_id": key_id}
            ) from None
        if len(key) != KEY_BYTES:
            raise InvalidKeyring(
                _("密钥“%(key_id)s”解码后为%(size)s字节，应为%(expected)s字节随机数据")
                % {"key_id": key_id, "size": len(key), "expected": KEY_BYTES}
            )
        keyring[key_id] = key
    if not keyring:
        raise InvalidKeyring(_("密钥环为空：至少需要一个“密钥编号:base64密钥”条目"))
    return keyring


def generate_key() -> str:
    """Return a new random 32-byte key, base64-encoded, for use in a keyring spec."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def derive_key(master: bytes, *, purpose: str, length: int, hash: str = "sha256") -> bytes:
    """Derive a sub-key from ``master`` with HKDF; different purposes give unrelated keys."""
    kdf = HKDF(algorithm=_hash_algorithm(hash), length=length, salt=None, info=purpose.encode())
    return kdf.derive(master)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text, re.ASCII):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Readable(Protocol):
    def read(self, size: int, /) -> Any: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> Any: ...


class FieldCipher:
    """Authenticated encryption of single database fields with a rotating keyring.

    Tokens look like ``zp1$sm4$k2$<base64url(nonce | ciphertext | tag)>``. The ``context``
    (e.g. "accounts.TraineeProfile.id_number") is bound as associated data, so a value
    copied into another column does not decrypt there.
    """

    def __init__(self, keyring: dict[str, bytes], *, algorithm: str = "sm4-gcm") -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(
                _("不支持的加密算法“%(algorithm)s”（可选：%(choices)s）")
                % {"algorithm": algorithm, "choices": _list(ALGORITHMS)}
            )
        if not keyring:
            raise ValueError(_("密钥环为空，无法加密"))
        for key_id, key in keyring.items():
            if not _KEY_ID.fullmatch(key_id):
                raise ValueError(_("密钥编号“%(key_id)s”无效") % {"key_id": key_id})
            if len(key) != KEY_BYTES:
                raise ValueError(
                    _("密钥“%(key_id)s”应为%(expected)s字节")
                    % {"key_id": key_id, "expected": KEY_BYTES}
                )
        self._label = _LABEL_FOR[algorithm]
        self._algorithm = algorithm
        self._current_key_id = next(iter(keyring))
        # Both data keys are derived up front: old tokens may use either algorithm.
        self._data_keys = {
            (label, key_id): derive_key(key, purpose=purpose, length=length, hash=kdf_hash)
            for label, (_, length, purpose, kdf_hash) in _TOKEN_ALGS.items()
            for key_id, key in keyring.items()
        }

    @property
    def current_key_id(self) -> str:
        """The key id new tokens are written with (the keyring's first entry)."""
        return self._current_key_id

    @property
    def algorithm(self) -> str:
        """The configured algorithm for new tokens ("sm4-gcm" or "aes-gcm")."""
        return self._algorithm

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt text for storage in the field named by ``context``."""
        return self._seal(plaintext.encode("utf-8"), context)

    def decrypt(self, token: str, *, context: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with the same ``context``."""
        data = self._open(token, context)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError(_("解密结果不是文本，可能应使用 decrypt_bytes")) from None

    def encrypt_bytes(self, data: bytes, *, context: str) -> bytes:
        """Encrypt binary data (images, face templates); the token is ASCII bytes."""
        return self._seal(data, context).encode("ascii")

    def decrypt_bytes(self, token: bytes, *, context: str) -> bytes:
        """Decrypt a token made by :meth:`encrypt_bytes` with the same ``context``."""
        return self._open(_token_text(token), context)

    def needs_rotation(self, token: str | bytes) -> bool:
        """True when the token was written with an old key or another algorithm."""
        label, key_id, _ = self._split(_token_text(token))
        return key_id != self._current_key_id or label != self._label

    def _seal(self, data: bytes, context: str) -> str:
        key = self._data_keys[(self._label, self._current_key_id)]
        nonce = os.urandom(_NONCE_BYTES)
        sealed = _aead_seal(self._label, key, nonce, data, context.encode("utf-8"))
        body = _b64url(nonce + sealed)
        return f"{_FORMAT_TAG}${self._label}${self._current_key_id}${body}"

    def _open(self, token: str, context: str) -> bytes:
        label, key_id, blob = self._split(token)
        key = self._key(label, key_id)
        nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
        try:
            return _aead_open(label, key, nonce, sealed, context.encode("utf-8"))
        except InvalidTag:
            raise _tampered() from None

    def _key(self, label: str, key_id: str) -> bytes:
        key = self._data_keys.get((label, key_id))
        if key is None:
            raise DecryptionError(
                _("未知的密钥编号“%(key_id)s”：该密钥已不在密钥环中") % {"key_id": key_id}
            )
        return key

    # --- files: chunked authenticated encryption -------------------------------------------------
    #
    # Exports of a million rows do not fit one AEAD call in memory. A file is a header
    # (magic, algorithm, key id, an 8-byte random nonce prefix) and chunks of at most
    # STREAM_CHUNK plaintext bytes, each sealed with nonce = prefix | chunk number and with the
    # header, the context and a last-chunk flag as associated data: chunks cannot be reordered,
    # dropped, swapped between files, or cut off at the end without failing to decrypt.

    def encrypt_stream(self, source: Readable, target: Writable, *, context: str) -> None:
        """Encrypt ``source`` (read to its end) into ``target``."""
        with self.sealing_writer(target, context=context) as sink:
            while chunk := source.read(STREAM_CHUNK):
                sink.write(chunk)

    def sealing_writer(self, target: Writable, *, context: str) -> "SealingWriter":
        """A binary file object whose writes reach ``target`` encrypted (closing it seals the
        last chunk; ``target`` stays open): to encrypt as the plaintext is produced, without
        it ever reaching a disk."""
        key = self._data_keys[(self._label, self._current_key_id)]
        header = _stream_header(self._label, self._current_key_id, os.urandom(8))
        return SealingWriter(self._label, key, header, target, context)

    def decrypt_stream(self, source: Readable, *, context: str) -> Iterator[bytes]:
        """The plaintext of a file made by :meth:`encrypt_stream`, chunk by chunk. Raises
        DecryptionError (before yielding anything wrong) on any change to the file."""
        label, key_id, header = _read_stream_header(source)
        key = self._key(label, key_id)
        number = 0
        while True:
            size = source.read(4)
            if len(size) != 4:
                raise DecryptionError(_("加密文件不完整"))
            length = int.from_bytes(size, "big")
            if length > STREAM_CHUNK + _TAG_BYTES:
                raise DecryptionError(_("加密文件的分块长度不正确"))
            sealed = source.read(length)
            try:
                plain, last = _open_chunk(label, key, header, number, sealed, context)
            except InvalidTag:
                raise _tampered() from None
            if plain:
                yield plain
            if last:
                if source.read(1):
                    raise DecryptionError(_("加密文件在结尾之后还有数据"))
                return
            number += 1

    @staticmethod
    def _split(token: str) -> tuple[str, str, bytes]:
        parts = token.split("$")
        if len(parts) != 4 or parts[0] != _FORMAT_TAG:
            raise DecryptionError(_("密文格式不正确"))
        _tag, label, key_id, body = parts
        if label not in _TOKEN_ALGS:
            raise DecryptionError(_("密文使用了未知的算法“%(label)s”") % {"label": label[:10]})
        try:
            blob = _b64url_decode(body)
        except ValueError:
            raise DecryptionError(_("密文格式不正确：正文不是base64url")) from None
        if len(blob) < _NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError(_("密文格式不正确：长度不足"))
        return label, key_id, blob


STREAM_MAGIC: Final = b"ZPS1"
STREAM_CHUNK: Final = 64 * 1024


def is_encrypted_stream(head: bytes) -> bool:
    """Whether a file starting with ``head`` was written by ``FieldCipher.encrypt_stream``."""
    return head.startswith(STREAM_MAGIC)


def _stream_header(label: str, key_id: str, prefix: bytes) -> bytes:
    ident = f"{label}${key_id}".encode("ascii")
    return STREAM_MAGIC + len(ident).to_bytes(1, "big") + ident + prefix


def _read_stream_header(source: Readable) -> tuple[str, str, bytes]:
    magic = source.read(len(STREAM_MAGIC) + 1)
    if len(magic) != len(STREAM_MAGIC) + 1 or not is_encrypted_stream(magic):
        raise DecryptionError(_("不是加密文件"))
    ident = source.read(magic[-1])
    prefix = source.read(8)
    try:
        label, key_id = ident.decode("ascii").split("$")
    except ValueError:
        raise DecryptionError(_("加密文件的文件头不正确")) from None
    if label not in _TOKEN_ALGS or len(prefix) != 8:
        raise DecryptionError(_("加密文件的文件头不正确"))
    return label, key_id, magic + ident + prefix


def _chunk_aad(header: bytes, context: str, last: bool) -> bytes:
    return header + (b"\x01" if last else b"\x00") + context.encode("utf-8")


def _chunk_nonce(header: bytes, number: int) -> bytes:
    if number >= 2**32:
        raise ValueError("a stream holds at most 2**32 chunks")
    return header[-8:] + number.to_bytes(4, "big")


def _aead_seal(label: str, key: bytes, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    """ciphertext | tag, by AES-256-GCM ("aes") or SM4-GCM ("sm4")."""
    if label == "aes":
        return AESGCM(key).encrypt(nonce, data, aad)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    return encryptor.update(data) + encryptor.finalize() + encryptor.tag


def _aead_open(label: str, key: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    """The plaintext of ``_aead_seal``'s output; raises InvalidTag on any change."""
    if label == "aes":
        return AESGCM(key).decrypt(nonce, sealed, aad)
    if len(sealed) < _TAG_BYTES:
        raise InvalidTag
    ciphertext, tag = sealed[:-_TAG_BYTES], sealed[-_TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    return decryptor.update(ciphertext) + decryptor.finalize()


def _seal_chunk(
    label: str, key: bytes, header: bytes, number: int, chunk: bytes, context: str, last: bool
) -> bytes:
    aad = _chunk_aad(header, context, last)
    return _aead_seal(label, key, _chunk_nonce(header, number), chunk, aad)


def _open_chunk(
    label: str, key: bytes, header: bytes, number: int, sealed: bytes, context: str
) -> tuple[bytes, bool]:
    """The chunk's plaintext and whether it was sealed as the last one (tries both flags)."""
    nonce = _chunk_nonce(header, number)
    for last in (False, True):
        try:
            return _aead_open(label, key, nonce, sealed, _chunk_aad(header, context, last)), last
        except InvalidTag:
            continue
    raise InvalidTag


class SealingWriter(io.RawIOBase):
    """See ``FieldCipher.sealing_writer``: buffers up to a chunk, seals each full one."""

    def __init__(
        self, label: str, key: bytes, header: bytes, target: Writable, context: str
    ) -> None:
        super().__init__()
        self._label, self._key, self._header = label, key, header
        self._target, self._context = target, context
        self._buffer = bytearray()
        self._number = 0
        target.write(header)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        # Strictly more than a chunk: the last chunk, sealed as such, is written by close().
        while len(self._buffer) > STREAM_CHUNK:
            self._emit(bytes(self._buffer[:STREAM_CHUNK]), last=False)
            del self._buffer[:STREAM_CHUNK]
        return len(data)

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        sealed = _seal_chunk(
            self._label, self._key, self._header, self._number, chunk, self._context, last
        )
        self._target.write(len(sealed).to_bytes(4, "big") + sealed)
        self._number += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


def _token_text(token: str | bytes) -> str:
    if isinstance(token, str):
        return token
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError(_("密文格式不正确")) from None


class BlindIndex:
    """Keyed, deterministic fingerprints for looking up encrypted values by equality.

    Callers must normalise the value first (e.g. with ``parse_id_number`` or
    ``normalize_mobile``), since "138 1234 5678" and "13812345678" index differently.
    """

    def __init__(self, key: bytes, *, hash: str = "sm3") -> None:
        if len(key) < 16:
            raise ValueError(_("盲索引密钥过短，应至少16字节（建议32字节随机数据）"))
        self._algorithm = _hash_algorithm(hash)
        # The same hash family is used for derivation so an SM3 deployment stays all-SM3.
        self._key = derive_key(key, purpose="zhipei blind index", length=32, hash=hash)

    def compute(self, value: str, *, context: str) -> str:
        """Return the 64-hex-digit index of ``value`` within ``context``."""
        if "\x00" in context:
            raise ValueError(_("context 不能包含空字符"))
        mac = crypto_hmac.HMAC(self._key, self._algorithm)
        # The NUL separator keeps ("ab", "c") and ("a", "bc") from colliding.
        mac.update(context.encode("utf-8") + b"\x00" + value.encode("utf-8"))
        return mac.finalize().hex()


def digest(data: bytes, *, hash: str = "sm3") -> str:
    """Return the lowercase hex digest of ``data`` with SM3 or SHA-256."""
    hasher = hashes.Hash(_hash_algorithm(hash))
    hasher.update(data)
    return hasher.finalize().hex()


def chain_hash(
    previous: str, payload: bytes, *, hash: str = "sm3", key: bytes | None = None
) -> str:
    """Link an audit record to its predecessor: digest(previous + "\\n" + payload), or an HMAC
    of the same with ``key``, so that someone who can write to the database cannot recompute it."""
    data = previous.encode("utf-8") + b"\n" + payload
    return keyed_digest(key, data, hash=hash) if key is not None else digest(data, hash=hash)


def keyed_digest(key: bytes, data: bytes, *, hash: str = "sha256") -> str:
    """Return the lowercase hex HMAC of ``data`` (e.g. to store SMS codes hashed)."""
    mac = crypto_hmac.HMAC(key, _hash_algorithm(hash))
    mac.update(data)
    return mac.finalize().hex()
