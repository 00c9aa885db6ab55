"""The data-protection log (DPA 2018 s62): append-only and hash-chained.

Each row's ``row_hash`` is SHA-256 over a canonical JSON of its own fields and the previous
row's hash; the first row chains from 64 zeros. Ids are allocated here, gap-free, under a lock.

What ``verify_audit`` detects:
- an edited row: its recomputed hash differs from the stored one;
- a deleted row (any but the last): a gap in the ids and a broken ``prev_hash`` link;
- an inserted row: ids no longer run on, or the next row's ``prev_hash`` no longer matches;
- a deleted or forged last row: only through ``audit_head`` (last id and hash, kept in step by
  every append), which an attacker able to rewrite the log can also rewrite.

The chain alone has no secret: someone with write access to the database can rewrite every row
after their edit *and* the head. ``store/signing`` closes that gap: ``append_audit`` signs a
checkpoint (Ed25519, key outside the database) every N rows and at each deployment's end, and
the latest signed head is printed in published records and exportable as an anchor; see
``store/integrity_verify.verify_all`` for the whole check.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openlfr.domain.text import clean_text
from openlfr.errors import OpenLFRError
from openlfr.store.models import GENESIS_HASH, AuditAction, AuditEntry, AuditHead, utcnow
from openlfr.store.signing import maybe_checkpoint, write_checkpoint

#: Events after which a checkpoint is signed at once (a deployment ending, however it ends).
CHECKPOINT_EVENTS = frozenset(
    {"deployment_ended", "deployment_stopped", "deployment_runner_lost", "audit_checkpoint"}
)

_HEAD_ID = 1
_VERIFY_BATCH = 1000


class AuditError(OpenLFRError):
    """An audit entry was refused (missing justification, unknown action, unloggable detail)."""


@dataclass(frozen=True)
class AuditVerification:
    rows_checked: int
    ok: bool
    first_bad_id: int | None = None
    reason: str | None = None


def canonical_detail(detail: dict[str, Any] | None) -> str | None:
    if detail is None:
        return None
    try:
        return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        # Bytes (an image, an embedding) land here: biometric data never goes in the log.
        raise AuditError(
            f"audit detail must be plain JSON, not biometric or binary: {exc}"
        ) from None


def compute_row_hash(
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    event: str | None,
    object_type: str,
    object_id: str,
    justification: str,
    recipient: str | None,
    detail: str | None,
    prev_hash: str,
) -> str:
    """The hash that seals one row. ``detail`` is the stored canonical JSON text."""
    payload = {
        "id": id,
        "at": at.isoformat(),
        "actor": actor,
        "action": action,
        "event": event,
        "object_type": object_type,
        "object_id": object_id,
        "justification": justification,
        "recipient": recipient,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    return compute_row_hash(
        id=entry.id,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        event=entry.event,
        object_type=entry.object_type,
        object_id=entry.object_id,
        justification=entry.justification,
        recipient=entry.recipient,
        detail=entry.detail,
        prev_hash=entry.prev_hash,
    )


def append_audit(
    session: Session,
    *,
    actor: str,
    action: AuditAction | str,
    object_type: str,
    object_id: str | int,
    justification: str,
    recipient: str | None = None,
    detail: dict[str, Any] | None = None,
    event: str | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction: it commits or rolls back with the act it
    records, so the log never claims something that did not happen, nor misses what did.

    ``event`` names a system act (e.g. ``deployment_started``) beside the s62 ``action``.
    """
    try:
        action = AuditAction(action)
    except ValueError:
        allowed = ", ".join(a.value for a in AuditAction)
        raise AuditError(f"audit action {action!r} is not one of: {allowed}") from None
    if not justification or not justification.strip():
        raise AuditError(
            f"audit entry for {action.value} of {object_type} {object_id} needs a justification"
        )
    if not actor or not actor.strip():
        raise AuditError("audit entry needs an actor")
    # Refused, not stripped (domain/text.py): a control character in the log forges lines.
    justification = clean_text(
        justification, field="justification", max_length=100_000, multiline=True
    )
    if action is AuditAction.DISCLOSURE and not recipient:
        raise AuditError("a disclosure must name its recipient")
    detail_text = canonical_detail(detail)

    # The no-op UPDATE takes the lock before the head is read: SQLite's writer lock (waiting up
    # to busy_timeout) or PostgreSQL's row lock, which in READ COMMITTED makes the SELECT below
    # see any append that committed while we waited. Two writers can never chain from one head.
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == _HEAD_ID)
        .values(last_id=AuditHead.last_id)
        .execution_options(synchronize_session=False)
    )
    last_id, last_hash = session.execute(
        select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == _HEAD_ID)
    ).one()

    entry = AuditEntry(
        id=last_id + 1,
        at=utcnow(),
        actor=actor,
        action=action.value,
        event=event,
        object_type=object_type,
        object_id=str(object_id),
        justification=justification,
        recipient=recipient,
        detail=detail_text,
        prev_hash=last_hash,
    )
    entry.row_hash = entry_hash(entry)
    session.add(entry)
    session.flush()
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == _HEAD_ID)
        .values(last_id=entry.id, last_hash=entry.row_hash)
        .execution_options(synchronize_session=False)
    )
    if event in CHECKPOINT_EVENTS:  # a deployment's end: its record can cite a signed head
        write_checkpoint(session, f"{event} {object_type} {object_id}")
    else:
        maybe_checkpoint(session, entry.id, entry.id)
    return entry


def audit_head(session: Session) -> tuple[int, str]:
    """(last id, last hash): publish or hand this out to anchor the log outside the database."""
    last_id, last_hash = session.execute(
        select(AuditHead.last_id, AuditHead.last_hash).where(AuditHead.id == _HEAD_ID)
    ).one()
    return int(last_id), str(last_hash)


def verify_audit(session: Session, *, anchor: tuple[int, str] | None = None) -> AuditVerification:
    """Walk the whole chain in id order; report the first row at which it breaks.

    ``anchor``: an (id, row_hash) pair recorded earlier outside the database.
    """
    expected_id = 1
    prev_hash = GENESIS_HASH
    checked = 0
    anchor_seen = False

    def bad(row_id: int, reason: str) -> AuditVerification:
        return AuditVerification(rows_checked=checked, ok=False, first_bad_id=row_id, reason=reason)

    rows = session.execute(
        select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=_VERIFY_BATCH)
    ).scalars()
    for row in rows:
        if row.id != expected_id:
            if row.id > expected_id:
                return bad(expected_id, f"row {expected_id} is missing (next row is {row.id})")
            return bad(row.id, f"row id {row.id} out of sequence (expected {expected_id})")
        if row.prev_hash != prev_hash:
            return bad(
                row.id,
                f"row {row.id} does not chain from row {row.id - 1}: a row "
                "before it was removed, inserted or rewritten",
            )
        if entry_hash(row) != row.row_hash:
            return bad(row.id, f"row {row.id} was altered: its contents no longer match its hash")
        if anchor is not None and row.id == anchor[0]:
            if row.row_hash != anchor[1]:
                return bad(row.id, f"row {row.id} differs from the anchored hash")
            anchor_seen = True
        checked += 1
        prev_hash = row.row_hash
        expected_id += 1

    last_id, last_hash = audit_head(session)
    tail_id = expected_id - 1
    if last_id > tail_id:
        return bad(expected_id, f"rows {expected_id}..{last_id} are missing from the end")
    if last_id < tail_id:
        return bad(last_id + 1, f"rows {last_id + 1}..{tail_id} were added outside openlfr")
    if last_hash != prev_hash:
        return bad(tail_id, f"row {tail_id} does not match the hash recorded in audit_head")
    if anchor is not None and not anchor_seen:
        return bad(anchor[0], f"anchored row {anchor[0]} is missing")
    return AuditVerification(rows_checked=checked, ok=True)


def export_audit(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Entries with ``start <= at < end``, oldest first, as plain dicts (``detail`` parsed).

    Each dict keeps ``prev_hash``/``row_hash``, so a recipient can check the slice's internal
    chain; the export itself is a disclosure the caller should log.
    """
    rows = session.execute(
        select(AuditEntry)
        .where(AuditEntry.at >= start, AuditEntry.at < end)
        .order_by(AuditEntry.id)
    ).scalars()
    out = []
    for row in rows:
        item = row.as_dict()
        item["detail"] = json.loads(row.detail) if row.detail is not None else None
        out.append(item)
    return out
