"""The keys that make an insider's edit visible: the MAC key and the audit signing key.

- MAC key: derived (HKDF-SHA256) from the blob key, so it lives wherever that key lives (a 0600
  file beside the data folder, or OPENLFR_STORE__KEY) and reaches every worker that can open
  blobs, with no second secret to ship. Someone with the database alone cannot compute it.
- Signing key: Ed25519, in its own 0600 file (``audit-signing.key`` beside the blob key by
  default). Checkpoints store the key id; verification needs only the public keys: the current
  one (from the private key) and every retired one, kept one per line in
  ``audit-signing.pub`` beside it, so rotation leaves older checkpoints verifiable. Public keys
  are read from the key folder, never from the database: a key an insider inserted into a table
  would otherwise vouch for their own signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, inspect, text

from openlfr.config import StoreSettings
from openlfr.store.crypto import BlobCipher, BlobKeyError

_MAC_INFO = b"openlfr:integrity-mac:v1"
_SEED_BYTES = 32
SIGNING_KEY_NAME = "audit-signing.key"
RETIRED_KEYS_NAME = "audit-signing.pub"


def derive_mac_key(blob_key: bytes) -> bytes:
    """The MAC key: one-way from the blob key, and never equal to it (domain separated)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_MAC_INFO).derive(blob_key)


def fingerprint(key_material: bytes, label: str) -> str:
    """A short public id for a key (stored with each MAC/checkpoint; useless to an attacker)."""
    return hashlib.sha256(f"openlfr-{label}-id\x00".encode() + key_material).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii")


def _unb64(text: str, where: str, length: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise BlobKeyError(f"{where} is not urlsafe base64") from None
    if len(raw) != length:
        raise BlobKeyError(f"{where} decodes to {len(raw)} bytes; it must be {length}")
    return raw


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if os.name == "posix" and mode & 0o077:
        raise BlobKeyError(
            f"key file {path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
        )


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` (0600 in a 0700 folder) with ``text``; O_EXCL, so of two processes
    starting at once exactly one writes and the other reads the winner's key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def public_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64(raw)


def public_key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return fingerprint(raw, "audit-signing")


@dataclass(frozen=True)
class IntegrityKeys:
    """The MAC key and the signing key, plus the public keys trusted to have signed before."""

    mac_key: bytes = field(repr=False)
    signer: Ed25519PrivateKey | None = field(repr=False)
    #: key id -> public key: the current key's and every retired one's.
    trusted: dict[str, Ed25519PublicKey] = field(default_factory=dict, repr=False)
    signing_key_file: Path | None = None

    @property
    def mac_key_id(self) -> str:
        return fingerprint(self.mac_key, "integrity-mac")

    @property
    def signing_key_id(self) -> str | None:
        return public_key_id(self.signer.public_key()) if self.signer else None

    def mac(self, payload: bytes) -> str:
        return hmac.new(self.mac_key, payload, hashlib.sha256).hexdigest()

    def keyed_digest(self, data: bytes) -> str:
        """A keyed hash of an image (in place of a plain SHA-256 that would let anyone holding a
        candidate photo confirm that person is enrolled)."""
        return hmac.new(self.mac_key, b"openlfr:image\x00" + data, hashlib.sha256).hexdigest()


def signing_key_path(settings: StoreSettings) -> Path:
    return settings.signing_key_file or settings.resolved_key_file().parent / SIGNING_KEY_NAME


def retired_keys_path(settings: StoreSettings) -> Path:
    return signing_key_path(settings).parent / RETIRED_KEYS_NAME


def _load_retired(path: Path) -> dict[str, Ed25519PublicKey]:
    out: dict[str, Ed25519PublicKey] = {}
    if not path.exists():
        return out
    for n, line in enumerate(path.read_text(encoding="ascii").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        raw = _unb64(text.split()[-1], f"{path} line {n}", 32)
        pub = Ed25519PublicKey.from_public_bytes(raw)
        out[public_key_id(pub)] = pub
    return out


def load_signing_key(settings: StoreSettings, *, create: bool) -> Ed25519PrivateKey | None:
    """The signing key from settings or its file; a new one is written only when ``create``
    (a new database): an existing database's key is never silently replaced."""
    if settings.signing_key:
        seed = _unb64(settings.signing_key, "signing key (OPENLFR_STORE__SIGNING_KEY)", 32)
        return Ed25519PrivateKey.from_private_bytes(seed)
    path = signing_key_path(settings)
    if not path.exists():
        if not create:
            return None
        _write_new(path, _b64(secrets.token_bytes(_SEED_BYTES)))
    _check_private(path)
    seed = _unb64(path.read_text(encoding="ascii"), f"signing key file {path}", 32)
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_integrity_keys(
    settings: StoreSettings, blob_key: bytes, *, create_signing: bool
) -> IntegrityKeys:
    signer = load_signing_key(settings, create=create_signing)
    trusted = _load_retired(retired_keys_path(settings))
    if signer is not None:
        trusted[public_key_id(signer.public_key())] = signer.public_key()
    return IntegrityKeys(
        mac_key=derive_mac_key(blob_key),
        signer=signer,
        trusted=trusted,
        signing_key_file=None if settings.signing_key else signing_key_path(settings),
    )


def rotate_signing_key(settings: StoreSettings) -> tuple[str, str]:
    """Retire the current signing key (its public half appended to the retired list, so its
    checkpoints stay verifiable) and write a new one. Returns (old id, new id)."""
    if settings.signing_key:
        raise BlobKeyError("the signing key comes from settings: rotate it where it is kept")
    path = signing_key_path(settings)
    old = load_signing_key(settings, create=False)
    if old is None:
        raise BlobKeyError(f"no signing key at {path} to rotate")
    retired = retired_keys_path(settings)
    with open(retired, "a", encoding="ascii") as fh:
        fh.write(f"{public_key_id(old.public_key())} {public_text(old.public_key())}\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    _write_new(tmp, _b64(secrets.token_bytes(_SEED_BYTES)))
    os.replace(tmp, path)  # atomic: a crash leaves the old key or the new, never neither
    new = load_signing_key(settings, create=False)
    assert new is not None
    return public_key_id(old.public_key()), public_key_id(new.public_key())


def _database_in_use(engine: Engine) -> tuple[bool, bool]:
    """(the database already holds openlfr's tables, it already holds signed checkpoints)."""
    insp = inspect(engine)
    if not insp.has_table("audit_log"):
        return False, False
    if not insp.has_table("audit_checkpoints"):
        return True, False
    with engine.connect() as conn:
        signed = conn.execute(text("SELECT 1 FROM audit_checkpoints LIMIT 1")).first()
    return True, signed is not None


def _missing_key_message(settings: StoreSettings, what: str, path: Path, location: str) -> str:
    legacy = settings.data_dir / "keys" / path.name
    hint = (
        f" An older openlfr kept it inside the data folder, at {legacy}: move it out "
        f"(mkdir -p -m 700 {path.parent} && mv {legacy} {path})."
        if legacy.exists() and legacy != path
        else " Restore it from where the keys are kept (or set it in the environment)."
    )
    return (
        f"the database {location} already exists but its {what} {path} is missing; openlfr "
        "will not make a new key for an existing database (its images could no longer be "
        f"opened nor its records verified).{hint}"
    )


def open_keys(
    settings: StoreSettings, engine: Engine, location: str
) -> tuple[BlobCipher, IntegrityKeys]:
    """The blob cipher and the integrity keys for ``engine``'s database. Keys are created only
    for a database that does not exist yet; a missing key for an existing one is an error."""
    in_use, signed = _database_in_use(engine)
    if not settings.key:
        path = settings.resolved_key_file()
        if in_use and not path.exists():
            raise BlobKeyError(_missing_key_message(settings, "blob key file", path, location))
    cipher = BlobCipher.from_settings(settings)
    blob_key = cipher.key_bytes()
    keys = load_integrity_keys(settings, blob_key, create_signing=not signed)
    if keys.signer is None:
        path = signing_key_path(settings)
        raise BlobKeyError(_missing_key_message(settings, "audit signing key", path, location))
    return cipher, keys
