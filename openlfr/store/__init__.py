"""The system of record: SQLAlchemy models, Alembic migrations, encrypted blobs, audit log.

Public API::

    store = open_store(settings.store)          # engine + migrations + blob key
    with store.session() as s:                   # commits on success, rolls back on error
        img = store.seal(s, models.ReferenceImage(...), image_blob=jpeg, embedding_blob=vec)
        append_audit(s, actor=..., action=AuditAction.COLLECTION, object_type="reference_image",
                     object_id=img.id, justification=...)
    store.unseal(img, "image_blob")              # -> bytes; BlobKeyError on the wrong key
    with store.session() as s:
        verify_audit(s)                          # -> AuditVerification(ok, first_bad_id, ...)

Only ``openlfr.service`` should write through the store (DESIGN.md §2).
"""

from openlfr.store import models
from openlfr.store.audit import (
    AuditError,
    AuditVerification,
    append_audit,
    audit_head,
    export_audit,
    verify_audit,
)
from openlfr.store.crypto import BlobCipher, BlobDecryptError, BlobKeyError, blob_context
from openlfr.store.db import Store, make_engine, migrate, open_store
from openlfr.store.models import AlertStatus, AuditAction, DeploymentStatus

__all__ = [
    "AlertStatus",
    "AuditAction",
    "AuditError",
    "AuditVerification",
    "BlobCipher",
    "BlobDecryptError",
    "BlobKeyError",
    "DeploymentStatus",
    "Store",
    "append_audit",
    "audit_head",
    "blob_context",
    "export_audit",
    "make_engine",
    "migrate",
    "models",
    "open_store",
    "verify_audit",
]
