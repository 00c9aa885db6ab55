"""Signed audit checkpoints and anchors: the secret the hash chain alone lacks.

A checkpoint is an Ed25519 signature over (checkpoint id, audit id, row hash, time, reason),
written every ``checkpoint_every`` rows by ``append_audit`` and at each deployment's end. Anyone
with the public keys can check it; only the holder of the signing key can make one. So:

- re-chaining the log after an edit (recomputing every later hash with ``compute_row_hash``)
  breaks every later checkpoint: the signed hash no longer matches the row;
- deleting the tail and rewinding ``audit_head`` leaves a checkpoint pointing past the head;
- deleting the tail *and* the checkpoints after the cut is only caught by an anchor kept
  outside the database (``openlfr audit anchor --out FILE``, or the signed head printed in each
  published deployment record): ``verify_audit(..., anchor=...)``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openlfr.errors import OpenLFRError
from openlfr.store.integrity import SESSION_KEY
from openlfr.store.integrity_keys import IntegrityKeys
from openlfr.store.models import AuditEntry, AuditHead, utcnow
from openlfr.store.models_integrity import AuditCheckpoint


@dataclass(frozen=True)
class Anchor:
    """A signed audit head held outside the database."""

    checkpoint_id: int
    audit_id: int
    row_hash: str
    signed_at: str
    reason: str
    key_id: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "checkpoint_id": self.checkpoint_id,
            "audit_id": self.audit_id,
            "row_hash": self.row_hash,
            "signed_at": self.signed_at,
            "reason": self.reason,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    def line(self) -> str:
        """One line for a published record."""
        return (
            f"audit head {self.audit_id} {self.row_hash} signed {self.signed_at} "
            f"(key {self.key_id}, checkpoint {self.checkpoint_id}): {self.signature}"
        )


def _message(cp_id: int, audit_id: int, row_hash: str, signed_at: str, reason: str) -> bytes:
    text = json.dumps(
        [cp_id, audit_id, row_hash, signed_at, reason], separators=(",", ":"), ensure_ascii=False
    )
    return b"openlfr:audit-checkpoint:v1\x00" + text.encode("utf-8")


def _keys(s: Session) -> IntegrityKeys | None:
    keys = s.info.get(SESSION_KEY)
    return keys if isinstance(keys, IntegrityKeys) else None


def write_checkpoint(s: Session, reason: str) -> AuditCheckpoint | None:
    """Sign the current head in ``s`` (same transaction). None when this session holds no
    signing key (a bare session, e.g. in a migration): nothing is signed, nothing forged."""
    keys = _keys(s)
    if keys is None or keys.signer is None:
        return None
    s.flush()
    # The head's row lock (as append_audit takes it) serialises checkpoint ids too.
    s.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(last_id=AuditHead.last_id)
        .execution_options(synchronize_session=False)
    )
    last_id, last_hash = s.execute(
        select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == 1)
    ).one()
    last = s.execute(
        select(AuditCheckpoint.id, AuditCheckpoint.audit_id).order_by(AuditCheckpoint.id.desc())
    ).first()
    if last is not None and last[1] == int(last_id):
        return None  # this head is signed already (a stop event, then the run's end)
    cp_id = (int(last[0]) if last else 0) + 1
    signed_at = utcnow().isoformat()
    reason = reason[:200]
    sig = keys.signer.sign(_message(cp_id, int(last_id), str(last_hash), signed_at, reason))
    cp = AuditCheckpoint(
        id=cp_id,
        audit_id=int(last_id),
        row_hash=str(last_hash),
        signed_at=datetime.fromisoformat(signed_at),
        reason=reason,
        key_id=str(keys.signing_key_id),
        signature=base64.urlsafe_b64encode(sig).decode("ascii"),
    )
    s.add(cp)
    s.flush()
    return cp


def maybe_checkpoint(s: Session, first_id: int, last_id: int) -> None:
    """After appending rows ``first_id..last_id``: sign if they crossed a multiple of N."""
    keys = _keys(s)
    if keys is None or keys.signer is None:
        return
    every = int(s.info.get(SESSION_KEY + ".every", 100))
    if last_id // every > (first_id - 1) // every:
        write_checkpoint(s, f"every {every} rows")


def _anchor(cp: AuditCheckpoint) -> Anchor:
    return Anchor(
        cp.id,
        cp.audit_id,
        cp.row_hash,
        cp.signed_at.astimezone(UTC).isoformat(),
        cp.reason,
        cp.key_id,
        cp.signature,
    )


def latest_anchor(s: Session) -> Anchor | None:
    cp = s.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1))
    return None if cp is None else _anchor(cp)


def signature_valid(keys: IntegrityKeys, a: Anchor) -> str | None:
    """None if ``a`` is signed by a trusted key; else why not."""
    public = keys.trusted.get(a.key_id)
    if public is None:
        return f"checkpoint {a.checkpoint_id} is signed by an unknown key {a.key_id}"
    try:
        sig = base64.urlsafe_b64decode(a.signature.encode("ascii"))
        public.verify(sig, _message(a.checkpoint_id, a.audit_id, a.row_hash, a.signed_at,
                                    a.reason))  # fmt: skip
    except (InvalidSignature, binascii.Error, ValueError):
        return f"checkpoint {a.checkpoint_id} has a forged or altered signature"
    return None


@dataclass
class CheckpointReport:
    checked: int = 0
    problems: list[str] | None = None


def verify_checkpoints(s: Session, keys: IntegrityKeys) -> CheckpointReport:
    """Each checkpoint: signed by a trusted key, ids gap-free, and its (audit id, hash) still
    the log's. The chain walk (verify_audit) checks the rows themselves."""
    report = CheckpointReport(problems=[])
    assert report.problems is not None
    head_id = int(s.scalar(select(AuditHead.last_id).where(AuditHead.id == 1)) or 0)
    expected = 1
    for cp in s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id)):
        report.checked += 1
        if cp.id != expected:
            report.problems.append(f"checkpoint {expected} is missing (next is {cp.id})")
            expected = cp.id
        expected += 1
        a = _anchor(cp)
        bad = signature_valid(keys, a)
        if bad:
            report.problems.append(bad)
            continue
        if cp.audit_id > head_id:
            report.problems.append(
                f"checkpoint {cp.id} signed audit row {cp.audit_id} but the log now ends at "
                f"{head_id}: rows were deleted and audit_head rewound"
            )
            continue
        stored = s.scalar(select(AuditEntry.row_hash).where(AuditEntry.id == cp.audit_id))
        if cp.audit_id and stored is None:
            report.problems.append(f"audit row {cp.audit_id} signed by checkpoint {cp.id} is gone")
        elif cp.audit_id and stored != cp.row_hash:
            report.problems.append(
                f"audit row {cp.audit_id} differs from its signed checkpoint {cp.id}: the log "
                "was rewritten and re-chained"
            )
    return report


def write_anchor(path: Path, anchor: Anchor) -> None:
    path.write_text(json.dumps(anchor.as_dict(), indent=2) + "\n", encoding="utf-8")


def read_anchor(path: Path) -> Anchor:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Anchor(
            int(data["checkpoint_id"]),
            int(data["audit_id"]),
            str(data["row_hash"]),
            str(data["signed_at"]),
            str(data["reason"]),
            str(data["key_id"]),
            str(data["signature"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OpenLFRError(f"{path} is not an openlfr audit anchor: {exc}") from None


def check_anchor(s: Session, keys: IntegrityKeys, anchor: Anchor) -> str | None:
    """None if the log still holds the anchored head (and its checkpoint); else why not."""
    bad = signature_valid(keys, anchor)
    if bad:
        return f"the anchor: {bad}"
    head_id = int(s.scalar(select(AuditHead.last_id).where(AuditHead.id == 1)) or 0)
    if anchor.audit_id > head_id:
        return (
            f"the anchor signed audit row {anchor.audit_id} but the log now ends at {head_id}: "
            "rows were deleted (with their checkpoints) and audit_head rewound"
        )
    stored = s.scalar(select(AuditEntry.row_hash).where(AuditEntry.id == anchor.audit_id))
    if anchor.audit_id and stored != anchor.row_hash:
        return f"audit row {anchor.audit_id} differs from the anchor: the log was rewritten"
    cp = s.get(AuditCheckpoint, anchor.checkpoint_id)
    if cp is None:
        return f"checkpoint {anchor.checkpoint_id} of the anchor is gone from the database"
    return None
