"""Compiling a watchlist (a frozen snapshot of eligible images) and loading it for search."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.domain import CaseOutcome, member_hash, size_by_category
from openlfr.domain.reasons import check_reason_fits
from openlfr.errors import RuleViolation
from openlfr.matching.gallery import build_gallery
from openlfr.matching.protocols import GalleryIndex
from openlfr.matching.reference_strength import is_weak, weak_only
from openlfr.service.context import AppContext
from openlfr.service.gallery_scoring import weak_floor, wrap_gallery
from openlfr.service.reasons_wanted import reasons_of
from openlfr.service.refusals import audits_refusals
from openlfr.service.watchlist_members import manifest_members
from openlfr.store import AuditAction, append_audit
from openlfr.store.integrity import (
    IntegrityViolation,
    bind,
    require_bound,
    verify_gallery_entry,
)
from openlfr.store.models import ReferenceImage, Subject, Watchlist, WatchlistEntry

_NOT_CONVICTED = {
    CaseOutcome.NO_FURTHER_ACTION.value,
    CaseOutcome.ACQUITTED.value,
    CaseOutcome.DISCONTINUED.value,
}


@dataclass(frozen=True)
class WatchlistSummary:
    id: int
    name: str
    size: int
    size_by_category: dict[str, int]
    member_hash: str
    images: int
    #: Set once the snapshot was purged (R9); sizes then come from its manifest (R16).
    purged_at: datetime | None = None
    #: Subjects whose every frozen image is a weak reference (matching/reference_strength.py):
    #: the members most often missed; enrol another image of each and compile again.
    weak_only: tuple[str, ...] = ()


@dataclass(frozen=True)
class GalleryEntry:
    """What a gallery label stands for: enough to build an alert, no biometrics."""

    subject_id: int
    subject_ref: str
    reference_image_id: int
    category: str


def _usable(img: ReferenceImage) -> bool:
    """Still usable now: not withdrawn, and not an image whose case ended without conviction
    unless an exceptional reason was approved (it was checked at enrolment, but an outcome can
    change afterwards, R11)."""
    return _usable_facts(img.withdrawn_at, img.case_outcome, img.exceptional_approved_by)


def _usable_facts(withdrawn_at: datetime | None, outcome: str, approved_by: str | None) -> bool:
    if withdrawn_at is not None:
        return False
    return outcome not in _NOT_CONVICTED or bool(approved_by)


@audits_refusals(
    AuditAction.COMBINATION, "watchlist", event="combination_refused", object_id="name"
)
def compile_watchlist(
    ctx: AppContext,
    name: str,
    subject_refs: list[str] | None = None,
    *,
    images_per_subject: int = 3,
    justification: str = "watchlist compiled for a deployment",
) -> WatchlistSummary:
    """Freezes the newest usable images (up to `images_per_subject`) of the given subjects
    (all enrolled subjects when None) into a new watchlist with its member hash (R6)."""
    with ctx.store.session() as s:
        query = select(Subject).where(Subject.flagged_for_review.is_(False))
        if subject_refs is not None:
            query = query.where(Subject.reference.in_(subject_refs))
        subjects = list(s.scalars(query.order_by(Subject.reference)))
        if subject_refs is not None:
            missing = sorted(set(subject_refs) - {x.reference for x in subjects})
            if missing:
                raise RuleViolation("R6", f"not enrolled or flagged for review: {missing}")
        members: list[tuple[Subject, ReferenceImage]] = []
        for subj in subjects:
            imgs = [
                i
                for i in s.scalars(
                    select(ReferenceImage).where(ReferenceImage.subject_id == subj.id)
                )
                if _usable(i)
            ]
            # Newest first (R-image: the most recent suitable image is preferred).
            imgs.sort(key=lambda i: (i.captured_on is not None, i.captured_on, i.id), reverse=True)
            members.extend((subj, i) for i in imgs[:images_per_subject])
        if not members:
            raise RuleViolation("R6", "a watchlist needs at least one eligible reference image")
        reasons = _entry_reasons(s, [subj for subj, _ in members])
        entries = [(subj.reference, img.image_sha256, subj.category) for subj, img in members]
        digest = member_hash(entries)
        wl = Watchlist(name=name, created_by=ctx.actor, frozen=True, member_hash=digest)
        s.add(wl)
        s.flush()
        for subj, img in members:
            s.add(
                WatchlistEntry(
                    watchlist_id=wl.id,
                    subject_id=subj.id,
                    reference_image_id=img.id,
                    category=subj.category,
                    reason=reasons.get(subj.id),
                )
            )
        bind(s, wl)  # the snapshot as frozen: an entry added or swapped in SQL is refused
        sizes = size_by_category(entries)
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.COMBINATION,
            object_type="watchlist",
            object_id=wl.id,
            justification=justification,
            detail={"subjects": sum(sizes.values()), "images": len(members), "hash": digest},
        )
        weak = _weak_only(ctx, [(subj.reference, img.mirror_agreement, img.embedding_model)
                                for subj, img in members])  # fmt: skip
        return WatchlistSummary(
            wl.id, name, sum(sizes.values()), sizes, digest, len(members), weak_only=weak
        )


def _weak_only(ctx: AppContext, images: list[tuple[str, float | None, str]]) -> tuple[str, ...]:
    """Of (subject, mirror agreement, model) per frozen image: who has weak images only."""
    return weak_only(
        (ref, is_weak(agreement, weak_floor(ctx.settings, model)))
        for ref, agreement, model in images
    )


def _entry_reasons(s: Session, subjects: list[Subject]) -> dict[int, str]:
    """{subject id: reason wanted} to record on each entry (issue 13), each checked against the
    category the entry is listed under (R1): a subject whose category changed since their
    reason was recorded is refused here, not published under a reason that contradicts it."""
    reasons = reasons_of(s, {subj.id for subj in subjects})
    for subj in subjects:
        if subj.id in reasons:
            try:
                check_reason_fits(reasons[subj.id], subj.category)
            except RuleViolation as exc:
                raise RuleViolation("R1", f"{subj.reference}: {exc}") from None
    return reasons


@audits_refusals(
    AuditAction.CONSULTATION, "watchlist", event="consultation_refused", object_id="watchlist_id"
)
def watchlist_summary(ctx: AppContext, watchlist_id: int) -> WatchlistSummary:
    with ctx.store.session() as s:
        wl = s.get(Watchlist, watchlist_id)
        if wl is None:
            raise RuleViolation("R6", f"watchlist {watchlist_id} does not exist")
        if wl.purged_at is not None:  # the entries are gone; the manifest kept who was on it
            kept = manifest_members(s, wl.id)
            entries = [(x.subject_ref, x.image_sha256, x.category) for x in kept]
            sizes = size_by_category(entries) if entries else {}
            return WatchlistSummary(
                wl.id,
                wl.name,
                sum(sizes.values()),
                sizes,
                wl.member_hash or "",
                len(entries),
                wl.purged_at,
            )
        rows = s.execute(
            select(
                Subject.reference,
                ReferenceImage.image_sha256,
                WatchlistEntry.category,
                ReferenceImage.mirror_agreement,
                ReferenceImage.embedding_model,
            )
            .join(Subject, Subject.id == WatchlistEntry.subject_id)
            .join(ReferenceImage, ReferenceImage.id == WatchlistEntry.reference_image_id)
            .where(WatchlistEntry.watchlist_id == watchlist_id)
        ).all()
        entries = [(r[0], r[1], r[2]) for r in rows]
        sizes = size_by_category(entries) if entries else {}
        weak = _weak_only(ctx, [(r[0], r[3], r[4]) for r in rows])
        return WatchlistSummary(
            wl.id, wl.name, sum(sizes.values()), sizes, wl.member_hash or "", len(entries),
            weak_only=weak,
        )  # fmt: skip


@audits_refusals(
    AuditAction.CONSULTATION, "watchlist", event="consultation_refused", object_id="watchlist_id"
)
def load_gallery(
    ctx: AppContext, watchlist_id: int, *, justification: str
) -> tuple[GalleryIndex, list[GalleryEntry]]:
    """The watchlist's vectors as a search index; label i is entries[i]."""
    vectors: list[np.ndarray] = []
    entries: list[GalleryEntry] = []
    models: dict[str, int] = defaultdict(int)
    with ctx.store.session() as s:
        wl = s.get(Watchlist, watchlist_id)
        if wl is None:
            raise RuleViolation("R6", f"watchlist {watchlist_id} does not exist")
        if wl.purged_at is not None:
            raise RuleViolation(
                "R9", f"watchlist {watchlist_id} was purged after its deployment ended"
            )
        require_bound(s, "watchlist", watchlist_id)  # the snapshot as compiled (issue 9)
        rows = s.execute(
            select(WatchlistEntry, ReferenceImage, Subject)
            .join(ReferenceImage, ReferenceImage.id == WatchlistEntry.reference_image_id)
            .join(Subject, Subject.id == WatchlistEntry.subject_id)
            .where(WatchlistEntry.watchlist_id == watchlist_id)
            .order_by(WatchlistEntry.id)
        ).all()
        for entry, img, subj in rows:
            if not _usable(img):
                continue  # withdrawn since compilation (R11): never searched again
            models[img.embedding_model] += 1
            if img.embedding_model != ctx.embedder.name:
                continue
            # An alert names the person this image was enrolled for, not whoever an UPDATE of
            # subject_id or category made it (issue 9): a forged row stops the load.
            verify_gallery_entry(s, img.id, subj.id)
            if img.subject_id != entry.subject_id:
                raise IntegrityViolation(
                    "watchlist", watchlist_id, f"lists image {img.id} under another person"
                )
            vectors.append(np.frombuffer(ctx.store.unseal(img, "embedding_blob"), np.float32))
            entries.append(GalleryEntry(subj.id, subj.reference, img.id, entry.category))
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            object_type="watchlist",
            object_id=watchlist_id,
            justification=justification,
            detail={"vectors": len(entries)},
        )
    if models and not entries:
        raise RuleViolation(
            "R6",
            f"watchlist {watchlist_id} was embedded with {dict(models)}, not with the "
            f"configured embedder '{ctx.embedder.name}'",
        )
    dim = ctx.embedder.dim
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)
    labels = np.arange(len(entries), dtype=np.int64)
    gallery = build_gallery(matrix, labels, ctx.settings.matching.faiss_above)
    # Scores on the scale the threshold was calibrated on (settings.scoring, issue 12).
    return wrap_gallery(ctx, gallery, entries), entries


def withdrawn_images(ctx: AppContext, image_ids: list[int]) -> set[int]:
    """Which of ``image_ids`` may no longer be searched (R11): one cheap query, no blobs read,
    so a live run can ask at every purge tick."""
    if not image_ids:
        return set()
    with ctx.store.session() as s:
        rows = s.execute(
            select(
                ReferenceImage.id,
                ReferenceImage.withdrawn_at,
                ReferenceImage.case_outcome,
                ReferenceImage.exceptional_approved_by,
            ).where(ReferenceImage.id.in_(image_ids))
        ).all()
    usable = {row[0] for row in rows if _usable_facts(row[1], row[2], row[3])}
    return set(image_ids) - usable


def rebuild_gallery(
    ctx: AppContext, entries: list[GalleryEntry], *, exclude: set[int], justification: str
) -> GalleryIndex:
    """The gallery of ``entries`` without the images in ``exclude``, each vector keeping its
    label (its index in ``entries``), so a live pipeline can swap it in between two frames and
    every alert it raises still maps to the same entry."""
    keep = {
        e.reference_image_id: i
        for i, e in enumerate(entries)
        if e.reference_image_id not in exclude
    }
    vectors: list[np.ndarray] = []
    labels: list[int] = []
    with ctx.store.session() as s:
        images = s.scalars(select(ReferenceImage).where(ReferenceImage.id.in_(list(keep))))
        for img in sorted(images, key=lambda i: keep[i.id]):
            if not _usable(img):
                continue
            vectors.append(np.frombuffer(ctx.store.unseal(img, "embedding_blob"), np.float32))
            labels.append(keep[img.id])
        append_audit(
            s,
            actor="system",
            action=AuditAction.CONSULTATION,
            event="gallery_rebuilt",
            object_type="reference_image",
            object_id=",".join(str(i) for i in sorted(exclude))[:128] or "-",
            justification=justification,
            detail={"vectors": len(vectors), "dropped": sorted(exclude)},
        )
    dim = ctx.embedder.dim
    matrix = np.stack(vectors) if vectors else np.zeros((0, dim), np.float32)
    return build_gallery(matrix, np.asarray(labels, np.int64), ctx.settings.matching.faiss_above)
