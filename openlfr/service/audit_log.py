"""Reading the audit log (auditors): entries filtered by period, actor, action, event and object;
verifying it against insiders (chain, signed checkpoints, bindings), anchoring it, backfilling
bindings after an upgrade, rotating the signing key.

Every reading is itself logged, with the filters used and the number of rows, in the same
transaction (DPA 2018 s62: who looked at what), whether it comes from /api/audit, the audit
page or `openlfr audit export`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from openlfr.errors import OpenLFRError
from openlfr.service.context import AppContext, utcnow
from openlfr.store import AuditAction, append_audit, open_store
from openlfr.store import models as m
from openlfr.store.integrity import backfill
from openlfr.store.integrity_keys import rotate_signing_key
from openlfr.store.integrity_verify import BACKFILL_EVENT, IntegrityReport, verify_all
from openlfr.store.signing import Anchor, latest_anchor, read_anchor, write_anchor

__all__ = [
    "AuditFilter",
    "backfill_bindings",
    "export_anchor",
    "read_anchor",
    "read_audit",
    "rotate_audit_key",
    "verify_store",
    "write_anchor",
]


@dataclass(frozen=True)
class AuditFilter:
    """[start, end) and optional exact actor / action / event, object type and id."""

    start: datetime
    end: datetime
    actor: str = ""
    action: str = ""
    event: str = ""
    object_type: str = ""
    object_id: str = ""

    @classmethod
    def of(
        cls, start: datetime | date | None, end: datetime | date | None, **exact: str | None
    ) -> AuditFilter:
        """Dates as whole days (the end day included); no end: now; no start: 7 days before."""

        def moment(d: datetime | date, day_end: bool) -> datetime:
            if not isinstance(d, datetime):
                d = datetime.combine(d, time.min) + (timedelta(days=1) if day_end else timedelta())
            return d if d.tzinfo else d.replace(tzinfo=UTC)

        stop = moment(end, True) if end else utcnow() + timedelta(seconds=1)
        begin = moment(start, False) if start else stop - timedelta(days=7)
        if begin >= stop:
            raise ValueError("the start of the period must be before its end")
        clean = {k: (v or "").strip() for k, v in exact.items()}
        if clean.get("action") and clean["action"] not in {a.value for a in AuditAction}:
            known = ", ".join(a.value for a in AuditAction)
            raise ValueError(f"action must be one of {known}")
        return cls(begin, stop, **clean)


def read_audit(
    ctx: AppContext, f: AuditFilter, *, limit: int | None, purpose: str
) -> list[dict[str, Any]]:
    """Matching entries, oldest first (the newest ``limit``, or all); the reading is logged as
    ``ctx.actor``'s, with ``purpose`` as its justification."""
    e = m.AuditEntry
    q = select(e).where(e.at >= f.start, e.at < f.end)
    for column, value in (
        (e.actor, f.actor),
        (e.action, f.action),
        (e.event, f.event),
        (e.object_type, f.object_type),
        (e.object_id, f.object_id),
    ):
        if value:
            q = q.where(column == value)
    with ctx.store.session() as s:
        rows = list(s.scalars(q.order_by(e.id.desc()).limit(limit)))
        out = []
        for row in reversed(rows):
            item = row.as_dict()
            item["detail"] = json.loads(row.detail) if row.detail is not None else None
            out.append(item)
        filters = {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(f).items() if v
        }
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            event="audit_read",
            object_type="audit_log",
            object_id=f"{f.start.isoformat()}..{f.end.isoformat()}",
            justification=purpose,
            detail={"rows": len(out), "filters": filters},
        )
    return out


def verify_store(ctx: AppContext, anchor: Anchor | None = None) -> IntegrityReport:
    """The insider check (`openlfr audit verify`): chain, signed checkpoints, bindings, and the
    anchor when given. Reads only: nothing personal is shown, so it is not itself logged."""
    with ctx.store.session() as s:
        return verify_all(s, anchor=anchor)


def export_anchor(ctx: AppContext, destination: str) -> Anchor:
    """Sign the log's head now (the export itself is the row signed) and return it."""
    with ctx.store.session() as s:
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.DISCLOSURE,
            event="audit_checkpoint",
            object_type="audit_log",
            object_id="head",
            justification=f"audit head exported as an anchor to {destination}",
            recipient=destination[:200],
        )
        head = latest_anchor(s)
    if head is None:
        raise OpenLFRError("no signing key: nothing can be anchored")
    return head


def backfill_bindings(ctx: AppContext, reason: str) -> int:
    """Bind the rows an upgrade found, once; whoever runs it vouches for them (audited)."""
    if not reason.strip():
        raise ValueError("a backfill needs a reason")
    with ctx.store.session() as s:
        count = backfill(s)
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.ALTERATION,
            event=BACKFILL_EVENT,
            object_type="integrity_bindings",
            object_id="all",
            justification=reason,
            detail={"rows": count},
        )
    return count


def rotate_audit_key(ctx: AppContext, reason: str) -> tuple[str, str]:
    """Retire the signing key (kept for verifying) and sign with a new one; audited, the entry
    signed at once with the new key, so the change itself is vouched for."""
    if not reason.strip():
        raise ValueError("a key rotation needs a reason")
    old, new = rotate_signing_key(ctx.settings.store)
    ctx.store.dispose()
    ctx.store = open_store(ctx.settings.store)  # reload the keys: from now on, the new one
    with ctx.store.session() as s:
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.ALTERATION,
            event="audit_checkpoint",
            object_type="audit_signing_key",
            object_id=new,
            justification=f"signing key {old} retired: {reason}",
            detail={"retired": old, "new": new},
        )
    return old, new
