"""Reading the audit log (auditors): entries filtered by period, actor, action, event and object.

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

from openlfr.service.context import AppContext, utcnow
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m

__all__ = ["AuditFilter", "read_audit"]


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
