"""Measuring how strong the reference images enrolled before migration 0018 are.

Enrolment keeps each reference's mirror agreement (matching/reference_strength.py) since 0018;
older images show "not measured" in the authorisation brief and are never named as weak in a
watchlist summary, so the people most often missed stay hidden exactly where a store is oldest.
This reads each such image back, finds its face, measures it the way enrolment does and keeps
the figure (from the sealed copy, re-encoded at enrolment as JPEG quality 95, so within about
1e-3 of what enrolment would have measured from the file). Each image is its own transaction
with its audit entry (the image is consulted and its record altered), so a killed run loses
nothing and the next run goes on from where it stopped; an image that cannot be measured is
reported, audited and left unmeasured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from openlfr.errors import OpenLFRError
from openlfr.matching.reference_strength import is_weak
from openlfr.service.context import AppContext
from openlfr.service.custody_index_sync import embedder_name
from openlfr.service.gallery_scoring import reference_agreement, weak_floor
from openlfr.store import AuditAction, append_audit
from openlfr.store.integrity import bind, require_bound
from openlfr.store.models import ReferenceImage, Subject
from openlfr.vision.images import find_single_face, read_image_bytes

#: (images done, images in all): a progress bar's feed.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Reassessment:
    """What a reassessment run did."""

    measured: int = 0
    #: Subject references with a newly measured weak image (advice: enrol another image).
    weak: tuple[str, ...] = ()
    #: (image id, why) for each image that could not be measured; it stays "not measured".
    failed: list[tuple[int, str]] = field(default_factory=list)
    #: Images still pending after this run (a `limit` was reached, or some failed).
    remaining: int = 0


def pending_references(ctx: AppContext) -> list[int]:
    """Image ids still unmeasured that this embedder could measure: held (not erased or
    withdrawn) and embedded by the model in use (another model's floor would not apply). Does
    not load the model (a page shows this count)."""
    with ctx.store.session() as s:
        return list(
            s.scalars(
                select(ReferenceImage.id)
                .where(
                    ReferenceImage.mirror_agreement.is_(None),
                    ReferenceImage.erased_at.is_(None),
                    ReferenceImage.withdrawn_at.is_(None),
                    ReferenceImage.embedding_model == embedder_name(ctx),
                )
                .order_by(ReferenceImage.id)
            )
        )


def reassess_references(
    ctx: AppContext,
    *,
    justification: str,
    progress: Progress | None = None,
    limit: int | None = None,
) -> Reassessment:
    """Measures the pending reference images (`pending_references`; the first `limit` of them
    when given, as a web request must end in seconds); see the module."""
    if ctx.settings.vision.flip_tta:
        raise OpenLFRError(
            "reference strength is not measured with vision.flip_tta on (its vectors are "
            "mirror-averaged by construction); nothing was read"
        )
    floor = weak_floor(ctx.settings, ctx.embedder.name)
    pending = pending_references(ctx)
    todo = pending if limit is None else pending[: max(0, limit)]
    measured, weak, failed = 0, set(), []
    for done, image_id in enumerate(todo, start=1):
        one = _measure_one(ctx, image_id, floor, justification)
        if one.failed is not None:
            failed.append((image_id, one.failed))
        elif one.measured:
            measured += 1
            if one.weak_subject is not None:
                weak.add(one.weak_subject)
        if progress is not None:
            progress(done, len(todo))
    return Reassessment(measured, tuple(sorted(weak)), failed, len(pending) - measured)


@dataclass(frozen=True)
class _One:
    measured: bool = False
    weak_subject: str | None = None  # whose image measured weak
    failed: str | None = None  # why it could not be measured


def _measure_one(ctx: AppContext, image_id: int, floor: float | None, justification: str) -> _One:
    """One image, in its own transaction with its audit entry."""
    with ctx.store.session() as s:
        img = s.get(ReferenceImage, image_id)
        if img is None or img.mirror_agreement is not None:  # gone, or measured meanwhile
            return _One()
        why: str | None = None
        agreement: float | None = None
        try:
            require_bound(s, "reference_image", image_id)  # an edited row is not believed
            image = read_image_bytes(ctx.store.unseal(img, "image_blob"), f"image {image_id}")
            face = find_single_face(image, ctx.detector, f"image {image_id}", several="central")
            agreement = reference_agreement(ctx, face.image, face.detections.landmarks)
        except OpenLFRError as exc:
            why = str(exc)
        if agreement is None:
            why = why or "not measured"
            append_audit(
                s, actor=ctx.actor, action=AuditAction.CONSULTATION,
                object_type="reference_image", object_id=image_id, justification=justification,
                event="reference_strength_unmeasured", detail={"reason": why[:200]},
            )  # fmt: skip
            return _One(failed=why)
        img.mirror_agreement = agreement
        bind(s, img)  # the value is covered from now on: an edit of it is seen
        weak = bool(is_weak(agreement, floor))
        append_audit(
            s, actor=ctx.actor, action=AuditAction.ALTERATION, object_type="reference_image",
            object_id=image_id, justification=justification, event="reference_strength_measured",
            detail={"mirror_agreement": round(agreement, 4), "weak": weak},
        )  # fmt: skip
        if not weak:
            return _One(measured=True)
        ref = s.scalar(select(Subject.reference).where(Subject.id == img.subject_id))
        return _One(measured=True, weak_subject=str(ref))
