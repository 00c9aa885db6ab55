"""Who was on a watchlist, before and after its purge (R16), as identifiers only.

Before the purge the answer comes from ``watchlist_entries``; the purge (``service/retention``)
copies the same identifiers to ``watchlist_manifest`` before deleting the entries, so afterwards
the answer comes from there. Either way the list is checked against the member hash frozen when
the watchlist was compiled (R6): a match shows it is the list that was searched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.domain import member_hash
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.refusals import audits_refusals
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.models_governance import WatchlistManifestEntry


@dataclass(frozen=True)
class Member:
    """One member image of a watchlist: identifiers only."""

    subject_ref: str
    category: str
    reference_image_id: int
    image_sha256: str
    source_ref: str
    #: Reason wanted recorded on the entry at compilation; None if compiled before that.
    reason: str | None = None


@dataclass(frozen=True)
class WatchlistMembers:
    watchlist_id: int
    name: str
    purged_at: datetime | None
    member_hash: str
    #: The members listed hash to the hash frozen at compilation: the list is the one searched.
    hash_matches: bool
    deployments: tuple[int, ...]
    members: tuple[Member, ...]


def live_members(s: Session, watchlist_id: int) -> list[Member]:
    rows = s.execute(
        select(
            m.Subject.reference,
            m.WatchlistEntry.category,
            m.ReferenceImage.id,
            m.ReferenceImage.image_sha256,
            m.ReferenceImage.source_ref,
            m.WatchlistEntry.reason,
        )
        .join(m.Subject, m.Subject.id == m.WatchlistEntry.subject_id)
        .join(m.ReferenceImage, m.ReferenceImage.id == m.WatchlistEntry.reference_image_id)
        .where(m.WatchlistEntry.watchlist_id == watchlist_id)
        .order_by(m.Subject.reference, m.ReferenceImage.id)
    ).all()
    return [Member(*row) for row in rows]


def manifest_members(s: Session, watchlist_id: int) -> list[Member]:
    """The members kept when the watchlist was purged (empty before its purge)."""
    rows = s.scalars(
        select(WatchlistManifestEntry)
        .where(WatchlistManifestEntry.watchlist_id == watchlist_id)
        .order_by(WatchlistManifestEntry.subject_ref, WatchlistManifestEntry.reference_image_id)
    )
    return [
        Member(
            r.subject_ref, r.category, r.reference_image_id, r.image_sha256, r.source_ref, r.reason
        )
        for r in rows
    ]


def hash_matches(frozen: str | None, members: Iterable[Member]) -> bool:
    listed = [(x.subject_ref, x.image_sha256, x.category) for x in members]
    try:
        return bool(frozen) and bool(listed) and member_hash(listed) == frozen
    except RuleViolation:
        return False


@audits_refusals(
    AuditAction.CONSULTATION, "watchlist", event="consultation_refused", object_id="watchlist_id"
)
def watchlist_members(
    ctx: AppContext, watchlist_id: int, *, justification: str
) -> WatchlistMembers:
    """Who was on a watchlist (identifiers only), before or after its purge; audited."""
    if not justification.strip():
        raise RuleViolation("R12", "a consultation of watchlist membership needs a justification")
    with ctx.store.session() as s:
        wl = s.get(m.Watchlist, watchlist_id)
        if wl is None:
            raise RuleViolation("R16", f"watchlist {watchlist_id} does not exist")
        members = manifest_members(s, wl.id) if wl.purged_at else live_members(s, wl.id)
        deployments = tuple(
            s.scalars(
                select(m.Deployment.id)
                .where(m.Deployment.watchlist_id == wl.id)
                .order_by(m.Deployment.id)
            )
        )
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            event="watchlist_members",
            object_type="watchlist",
            object_id=wl.id,
            justification=justification,
            detail={"members": len(members), "purged": wl.purged_at is not None},
        )
        return WatchlistMembers(
            wl.id,
            wl.name,
            wl.purged_at,
            wl.member_hash or "",
            hash_matches(wl.member_hash, members),
            deployments,
            tuple(members),
        )
