"""Encryption at rest for biometric blobs (reference images, embeddings, alert crops).

AES-256-GCM with a fresh 96-bit nonce per blob. The caller's *context* (table, column and row)
is bound in as associated data, so a blob copied into another row or column does not decrypt:
swapping two people's embeddings in the database is caught, not silently believed.

Blob layout: ``MAGIC (4) | key id (4) | nonce (12) | ciphertext+tag``. The key id is a short
one-way fingerprint of the key; it lets a wrong key be told apart from a tampered blob.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from openlfr.config import StoreSettings
from openlfr.errors import OpenLFRError

MAGIC = b"OLB1"
_KEY_ID_LEN = 4
_NONCE_LEN = 12
_HEADER_LEN = len(MAGIC) + _KEY_ID_LEN + _NONCE_LEN
KEY_BYTES = 32


class BlobKeyError(OpenLFRError):
    """The blob key is missing, malformed, loosely protected, or not the one that sealed a blob."""


class BlobDecryptError(OpenLFRError):
    """A blob is corrupt, was tampered with, or belongs to another row or column."""


def generate_key() -> str:
    """A fresh key in the form settings expect (urlsafe base64 of 32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _decode_key(text: str, where: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BlobKeyError(f"blob key from {where} is not urlsafe base64") from None
    if len(raw) != KEY_BYTES:
        raise BlobKeyError(
            f"blob key from {where} decodes to {len(raw)} bytes; it must be {KEY_BYTES}"
        )
    return raw


def _key_id(key: bytes) -> bytes:
    # Domain-separated so the fingerprint can never be mistaken for, or help derive, the key.
    return hashlib.sha256(b"openlfr-blob-key-id\x00" + key).digest()[:_KEY_ID_LEN]


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, creating it (0600, in a 0700 folder) with a random key if absent."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path.parent, 0o700)
        try:
            # O_EXCL: if two processes start at once, exactly one writes the key; the other
            # reads it below instead of overwriting it (which would orphan every sealed blob).
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(generate_key() + "\n")
                fh.flush()
                os.fsync(fh.fileno())
    mode = path.stat().st_mode & 0o777
    if os.name == "posix" and mode & 0o077:
        raise BlobKeyError(
            f"blob key file {path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
        )
    return _decode_key(path.read_text(encoding="ascii"), str(path))


class BlobCipher:
    """Seals and opens biometric blobs with one key. The key never leaves this object."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise BlobKeyError(f"blob key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self._key = key
        self._key_id = _key_id(key)

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> BlobCipher:
        """Key from ``settings.key`` if set, else from the key file (created on first use)."""
        if settings.key:
            return cls(_decode_key(settings.key, "settings (OPENLFR_STORE__KEY)"))
        return cls(load_or_create_key_file(settings.resolved_key_file()))

    def key_bytes(self) -> bytes:
        """The raw key, for deriving the integrity MAC key (store/integrity_keys) only."""
        return self._key

    @property
    def key_id(self) -> str:
        """Hex fingerprint of the key: safe to log, useless for decryption."""
        return self._key_id.hex()

    def encrypt(self, data: bytes, *, context: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_LEN)
        sealed = self._aead.encrypt(nonce, bytes(data), context.encode("utf-8"))
        return MAGIC + self._key_id + nonce + sealed

    def decrypt(self, blob: bytes, *, context: str) -> bytes:
        blob = bytes(blob)
        if len(blob) < _HEADER_LEN + 16 or not blob.startswith(MAGIC):
            raise BlobDecryptError(f"blob for {context} is not an openlfr sealed blob")
        key_id = blob[len(MAGIC) : len(MAGIC) + _KEY_ID_LEN]
        if key_id != self._key_id:
            raise BlobKeyError(
                f"blob for {context} was sealed with another key (key id {key_id.hex()}, "
                f"this key is {self.key_id}); check OPENLFR_STORE__KEY / the key file"
            )
        nonce = blob[len(MAGIC) + _KEY_ID_LEN : _HEADER_LEN]
        try:
            return self._aead.decrypt(nonce, blob[_HEADER_LEN:], context.encode("utf-8"))
        except InvalidTag:
            raise BlobDecryptError(
                f"blob for {context} failed authentication: altered, or moved from another "
                "row or column"
            ) from None


def blob_context(table: str, column: str, row_id: int) -> str:
    """The associated data that ties a blob to exactly one cell."""
    return f"openlfr:{table}.{column}:{row_id}"
