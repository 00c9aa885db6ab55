"""Biometric blobs are encrypted at rest, bound to their cell, and the key stays out of the DB."""

from __future__ import annotations

import base64
import stat
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from openlfr.config import StoreSettings
from openlfr.errors import OpenLFRError
from openlfr.store import BlobCipher, BlobDecryptError, BlobKeyError, Store, crypto, open_store
from openlfr.store import models as m
from openlfr.store.crypto import blob_context, generate_key, load_or_create_key_file

MARKER = b"PLAINTEXT-FACE-MARKER-" * 8
EMBEDDING = b"EMBEDDING-VECTOR-MARK" * 24


def _enrol(store: Store, s: Session, ref: str = "PNC-1") -> m.ReferenceImage:
    subject = m.Subject(reference=ref, display_name="A Person", category="wanted_by_courts")
    s.add(subject)
    s.flush()
    img = m.ReferenceImage(
        subject_id=subject.id,
        source_ref="CUST-1",
        lawful_basis="PACE s64A",
        captured_on=date(2024, 1, 2),
        case_outcome="charged",
        image_sha256="00" * 32,
        embedding_model="sface",
    )
    return store.seal(s, img, image_blob=MARKER, embedding_blob=EMBEDDING)


def test_cipher_round_trip_and_context_binding() -> None:
    cipher = BlobCipher(base64.urlsafe_b64decode(generate_key()))
    blob = cipher.encrypt(b"hello", context="a")
    assert b"hello" not in blob
    assert cipher.decrypt(blob, context="a") == b"hello"
    assert cipher.encrypt(b"hello", context="a") != blob  # fresh nonce each time
    with pytest.raises(BlobDecryptError, match="moved from another row"):
        cipher.decrypt(blob, context="b")
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(BlobDecryptError):
        cipher.decrypt(tampered, context="a")
    with pytest.raises(BlobDecryptError, match="not an openlfr sealed blob"):
        cipher.decrypt(b"\xff\xd8 raw jpeg", context="a")


# A blob sealed once with a fixed key and nonce: MAGIC "OLB1" | key id (first 4 bytes of
# SHA-256("openlfr-blob-key-id\\0" + key)) | 12-byte nonce | AES-256-GCM ciphertext and 16-byte
# tag, with the cell "openlfr:reference_images.embedding_blob:7" as associated data. Blobs in
# every existing store have this layout: changing it makes them unreadable.
GOLDEN_KEY = bytes(range(32))
GOLDEN_NONCE = bytes(range(0xA0, 0xAC))
GOLDEN_PLAIN = b"golden embedding"
GOLDEN_BLOB = bytes.fromhex(
    "4f4c4231" "d572d6a0" "a0a1a2a3a4a5a6a7a8a9aaab"
    "8177104920a522da0f07e2b76313aeb9c333ff5c7cb175411276f2ad35ae7afe"
)  # fmt: skip


def test_sealed_blob_format_is_the_golden_one(monkeypatch: pytest.MonkeyPatch) -> None:
    cell = blob_context("reference_images", "embedding_blob", 7)
    assert cell == "openlfr:reference_images.embedding_blob:7"
    cipher = BlobCipher(GOLDEN_KEY)
    assert cipher.key_id == "d572d6a0"
    assert cipher.decrypt(GOLDEN_BLOB, context=cell) == GOLDEN_PLAIN
    # The AAD is bound: the same bytes claimed for another row or column do not open.
    for other in (blob_context("reference_images", "embedding_blob", 8),
                  blob_context("reference_images", "image_blob", 7)):  # fmt: skip
        with pytest.raises(BlobDecryptError):
            cipher.decrypt(GOLDEN_BLOB, context=other)
    # Sealing with the same nonce reproduces it byte for byte: header, nonce and all.
    monkeypatch.setattr(crypto.secrets, "token_bytes", lambda n: GOLDEN_NONCE[:n])
    sealed = cipher.encrypt(GOLDEN_PLAIN, context=cell)
    assert sealed == GOLDEN_BLOB
    assert len(sealed) == 4 + 4 + 12 + len(GOLDEN_PLAIN) + 16
    assert sealed[8:20] == GOLDEN_NONCE


def test_blobs_round_trip(store: Store) -> None:
    with store.session() as s:
        img_id = _enrol(store, s).id
    with store.sessions() as s:
        img = s.get_one(m.ReferenceImage, img_id)
        assert img.image_blob != MARKER
        assert store.unseal(img, "image_blob") == MARKER
        assert store.unseal(img, "embedding_blob") == EMBEDDING


def test_blob_moved_to_another_row_or_column_fails(store: Store) -> None:
    with store.session() as s:
        a = _enrol(store, s, "A")
        b = _enrol(store, s, "B")
        a_id, b_id = a.id, b.id
    with store.session() as s:
        a_blob = s.scalar(
            select(m.ReferenceImage.embedding_blob).where(m.ReferenceImage.id == a_id)
        )
        s.execute(
            update(m.ReferenceImage)
            .where(m.ReferenceImage.id == b_id)
            .values(embedding_blob=a_blob, image_blob=a_blob)
        )
    with store.sessions() as s:
        b = s.get_one(m.ReferenceImage, b_id)
        with pytest.raises(BlobDecryptError, match=r"reference_images\.embedding_blob"):
            store.unseal(b, "embedding_blob")
        with pytest.raises(BlobDecryptError):
            store.unseal(b, "image_blob")


def test_plaintext_never_in_sqlite_file(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.session() as s:
        _enrol(sqlite_store, s)
    db = tmp_path / "data" / "openlfr.db"
    # Look in the WAL before the checkpoint and in the main file after it.
    files = [db, db.with_name(db.name + "-wal")]
    raw = b"".join(p.read_bytes() for p in files if p.exists())
    with sqlite_store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    raw += db.read_bytes()
    assert b"PNC-1" in raw  # the scan does see what is stored in clear
    assert MARKER[:22] not in raw
    assert EMBEDDING[:21] not in raw


def test_wrong_key_fails_clearly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_store(StoreSettings(data_dir=data, key=generate_key()))
    with store.session() as s:
        img_id = _enrol(store, s).id
    store.dispose()
    other = open_store(StoreSettings(data_dir=data, key=generate_key()))
    try:
        with other.sessions() as s:
            img = s.get_one(m.ReferenceImage, img_id)
            with pytest.raises(BlobKeyError, match="sealed with another key") as info:
                other.unseal(img, "image_blob")
            assert isinstance(info.value, OpenLFRError)
    finally:
        other.dispose()


@pytest.mark.parametrize("bad", ["not base64 !!", base64.urlsafe_b64encode(b"short").decode()])
def test_malformed_key_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BlobKeyError, match="blob key"):
        open_store(StoreSettings(data_dir=tmp_path, key=bad))


def test_key_file_created_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret" / "k" / "blob.key"
    first = load_or_create_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert load_or_create_key_file(key_file) == first
    key_file.chmod(0o644)
    with pytest.raises(BlobKeyError, match="chmod 600"):
        load_or_create_key_file(key_file)


def test_key_file_survives_reopen(tmp_path: Path) -> None:
    settings = StoreSettings(data_dir=tmp_path / "data")
    store = open_store(settings)
    with store.session() as s:
        img_id = _enrol(store, s).id
    store.dispose()
    again = open_store(settings)
    try:
        with again.sessions() as s:
            assert again.unseal(s.get_one(m.ReferenceImage, img_id), "image_blob") == MARKER
    finally:
        again.dispose()


def test_key_not_in_database(store: Store, store_settings: StoreSettings) -> None:
    with store.session() as s:
        _enrol(store, s)
    key_text = store_settings.key or store_settings.resolved_key_file().read_text().strip()
    raw_key = base64.urlsafe_b64decode(key_text)
    needles = [raw_key, key_text.encode(), base64.b64encode(raw_key), raw_key.hex().encode()]
    needles.append(store.cipher.key_id.encode())  # not even the fingerprint
    if store.engine.url.get_backend_name() == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = Path(str(store.engine.url.database)).read_bytes()
        for needle in needles:
            assert needle not in raw
    # Every value of every table, on either backend.
    dump = b""
    with store.engine.connect() as conn:
        for table in m.Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    dump += value if isinstance(value, bytes) else str(value).encode()
        dump += str(conn.execute(text("SELECT * FROM alembic_version")).all()).encode()
    assert b"PNC-1" in dump
    assert MARKER[:22] not in dump
    for needle in needles:
        assert needle not in dump
