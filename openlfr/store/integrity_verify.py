"""The whole insider check behind `openlfr audit verify`: chain, signatures, bindings, anchor.

Each finding names what is wrong (the row, checkpoint or binding, and how), so an edit made
directly in the database is reported for what it is:

- a row edited, inserted or deleted: the hash chain (``verify_audit``);
- the tail deleted and ``audit_head`` rewound: a signed checkpoint past the head, or the anchor;
- a row rewritten and every later hash recomputed: a signed checkpoint no longer matches;
- a forged reference image, subject, watchlist or authorisation: its keyed binding;
- bindings re-blessed by a second backfill: more than one ``integrity_backfill`` in the log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.store.audit import verify_audit
from openlfr.store.integrity import backfill_pending, keys_of, verify_bindings
from openlfr.store.models import AuditEntry
from openlfr.store.signing import Anchor, check_anchor, verify_checkpoints

BACKFILL_EVENT = "integrity_backfill"


@dataclass
class IntegrityReport:
    rows: int = 0
    checkpoints: int = 0
    bindings: int = 0
    anchor_checked: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_all(s: Session, *, anchor: Anchor | None = None) -> IntegrityReport:
    keys = keys_of(s)
    report = IntegrityReport()
    chain = verify_audit(s)
    report.rows = chain.rows_checked
    if not chain.ok:
        report.problems.append(f"audit log: row {chain.first_bad_id}: {chain.reason}")
    cps = verify_checkpoints(s, keys)
    report.checkpoints = cps.checked
    report.problems.extend(f"audit checkpoints: {p}" for p in cps.problems or [])
    if anchor is not None:
        report.anchor_checked = True
        bad = check_anchor(s, keys, anchor)
        if bad:
            report.problems.append(f"anchor: {bad}")
    bindings = verify_bindings(s)
    report.bindings = bindings.checked
    if backfill_pending(s):
        report.problems.append(
            "bindings: rows from before the upgrade are not bound yet: run "
            "`openlfr audit backfill` (once)"
        )
    else:
        report.problems.extend(f"binding: {p}" for p in bindings.problems)
    backfills = s.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.event == BACKFILL_EVENT)
    )
    if (backfills or 0) > 1:
        report.problems.append(
            f"bindings: {backfills} backfills in the log; only one is ever needed, so a later "
            "one may have re-blessed rows edited in the database"
        )
    return report
