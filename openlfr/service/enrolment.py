"""Enrolment: a subject and their reference images, each checked, embedded and sealed.

Each image is its own transaction: a bad file is reported with its reason and the others are
still enrolled; a failure part-way through one image leaves nothing of it behind. The subject is
written in the transaction of their first image kept, so a subject whose every image is refused
is never created (its refusals are still logged).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.domain import (
    CaseOutcome,
    ImageFacts,
    WatchlistCategory,
    assess_image,
    parse_category,
    parse_outcome,
)
from openlfr.domain.reasons import ReasonWanted, check_reason_fits
from openlfr.domain.text import clean_text
from openlfr.errors import ImageRejected, OpenLFRError, RuleViolation
from openlfr.matching.reference_strength import weak_reference_note
from openlfr.service.context import AppContext
from openlfr.service.gallery_scoring import enrolment_vector, reference_agreement, weak_floor
from openlfr.service.reasons_wanted import record_reason
from openlfr.store import AuditAction, append_audit
from openlfr.store.integrity import bind, keyed_image_digest
from openlfr.store.models import ReferenceImage, Subject
from openlfr.vision.images import find_single_face, read_image, read_image_bytes


@dataclass(frozen=True)
class ImageSpec:
    """One reference image and the custody-record facts that decide whether it may be used.

    ``data``, when given, is the image itself (an upload, held in memory so that no face is
    ever written to disk in the clear); ``path`` then only names it in refusals."""

    path: Path
    source_ref: str
    lawful_basis: str
    case_outcome: str = CaseOutcome.PENDING.value
    captured_on: date | None = None
    age_at_capture: int | None = None
    under18_reason: str | None = None
    exceptional_reason: str | None = None
    exceptional_requested_by: str | None = None
    exceptional_approved_by: str | None = None
    exceptional_approver_role: str | None = None
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Refusal:
    image: str
    reason: str
    rule: str | None = None

    def __str__(self) -> str:
        return f"{self.image} refused: {self.reason}"


@dataclass
class EnrolResult:
    subject_id: int | None = None
    enrolled: list[tuple[str, int]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _facts(spec: ImageSpec) -> ImageFacts:
    return ImageFacts(
        source_ref=spec.source_ref,
        lawful_basis=spec.lawful_basis,
        case_outcome=parse_outcome(spec.case_outcome),
        captured_on=spec.captured_on,
        age_at_capture=spec.age_at_capture,
        under18_reason=spec.under18_reason,
        exceptional_reason=spec.exceptional_reason,
        exceptional_requested_by=spec.exceptional_requested_by,
        exceptional_approved_by=spec.exceptional_approved_by,
        exceptional_approver_role=spec.exceptional_approver_role,
    )


@dataclass(frozen=True)
class _Person:
    reference: str
    display_name: str
    category: WatchlistCategory
    reason: ReasonWanted | None = None  # why they are sought (issue 13), fits the category


def _existing_subject(ctx: AppContext, reference: str) -> int | None:
    with ctx.store.session() as s:
        return s.scalar(select(Subject.id).where(Subject.reference == reference))


def _ensure_subject(ctx: AppContext, s: Session, person: _Person) -> int:
    """The subject's id, created (or their category changed) in ``s``: the transaction of the
    image that makes them worth keeping, so that one cannot be written without the other."""
    reference, display_name, cat = person.reference, person.display_name, person.category
    subject = s.scalar(select(Subject).where(Subject.reference == reference))
    if subject is None:
        subject = Subject(reference=reference, display_name=display_name, category=cat.value)
        s.add(subject)
        s.flush()
        action, why = AuditAction.COLLECTION, f"enrolment of {reference} as {cat.label}"
    elif subject.category != cat.value:
        action, why = (
            AuditAction.ALTERATION,
            f"category changed from {subject.category} to {cat.value}",
        )
        subject.category = cat.value
    else:
        return _with_reason(ctx, s, subject.id, person)
    bind(s, subject)  # whose category this is, as decided here (issue 9)
    append_audit(
        s,
        actor=ctx.actor,
        action=action,
        object_type="subject",
        object_id=subject.id,
        justification=why,
    )
    return _with_reason(ctx, s, subject.id, person)


def _with_reason(ctx: AppContext, s: Session, subject_id: int, person: _Person) -> int:
    if person.reason is not None:
        record_reason(s, ctx.actor, subject_id, person.reason)
    return subject_id


def _refuse(
    ctx: AppContext, result: EnrolResult, refusal: Refusal, reference: str, spec: ImageSpec
) -> None:
    result.refused.append(refusal)
    # The object is "<subject reference>:<custody source>", the source exactly as given (or
    # nothing): readers show the part after the colon as the image's source, and a file name
    # (a temporary upload path, or a name that identifies someone) is no custody reference.
    source = spec.source_ref.strip()
    with ctx.store.session() as s:  # a refusal is recorded even though nothing was kept
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.COLLECTION,
            event="collection_refused",
            object_type="reference_image",
            object_id=f"{reference}:{source}"[:128],
            justification=refusal.reason,
            detail={"rule": refusal.rule} if refusal.rule else None,
        )


def enrol_subject(
    ctx: AppContext,
    *,
    reference: str,
    display_name: str,
    category: str,
    images: list[ImageSpec],
    several_faces: str = "refuse",
    reason_wanted: str | None = None,
) -> EnrolResult:
    """Enrols what can be enrolled; returns what was refused and why (with the rule).

    ``subject_id`` is None when the subject did not exist and every image was refused."""
    # Column lengths and control characters are refused before anything is written, with the
    # field named: a 100-character reference is an error here, not a truncated or failed row.
    reference = clean_text(reference, field="reference", max_length=64, required=True)
    display_name = clean_text(display_name, field="display name", max_length=200)
    cat = parse_category(category)  # R1: before any write, and the reason must fit it
    reason = check_reason_fits(reason_wanted, cat) if reason_wanted else None
    person = _Person(reference, display_name, cat, reason)
    result = EnrolResult(subject_id=_existing_subject(ctx, reference))
    for spec in images:
        name = str(spec.path)
        try:
            _check_texts(spec)
            decision = assess_image(
                _facts(spec), today=date.today(), policy=ctx.settings.governance
            )
        except (RuleViolation, ValueError) as exc:
            refusal = Refusal(name, str(exc), getattr(exc, "rule", None))
            _refuse(ctx, result, refusal, reference, spec)
            continue
        if not decision.eligible:
            _refuse(ctx, result, Refusal(name, decision.reason, decision.rule), reference, spec)
            continue
        result.warnings.extend(f"{name}: {w}" for w in decision.warnings)
        try:
            result.subject_id, image_id, note = _store_image(ctx, person, spec, several_faces)
        except ImageRejected as exc:
            _refuse(ctx, result, Refusal(name, exc.reason), reference, spec)
            continue
        result.enrolled.append((name, image_id))
        if note:
            result.warnings.append(f"{name}: {note}")
    return result


def _check_texts(spec: ImageSpec) -> None:
    """The image's typed facts fit their columns and hold no control character (TextRefused)."""
    clean_text(spec.source_ref, field="source reference", max_length=128)
    clean_text(spec.lawful_basis, field="lawful basis", max_length=2000, multiline=True)
    for label, value in (("under-18 reason", spec.under18_reason),
                         ("exceptional reason", spec.exceptional_reason)):  # fmt: skip
        if value:
            clean_text(value, field=label, max_length=10_000, multiline=True)


def _store_image(
    ctx: AppContext, person: _Person, spec: ImageSpec, several: str
) -> tuple[int, int, str | None]:
    """(subject id, image id, weak-reference warning or None): the face is found and embedded
    before anything is written."""
    name = str(spec.path)
    image = read_image(spec.path) if spec.data is None else read_image_bytes(spec.data, name)
    face = find_single_face(image, ctx.detector, name, several=several)
    vector = enrolment_vector(ctx, face.image, face.detections.landmarks)  # settings.scoring
    agreement = reference_agreement(ctx, face.image, face.detections.landmarks)
    note = weak_reference_note(agreement, weak_floor(ctx.settings, ctx.embedder.name))
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:  # pragma: no cover - a decoded image always re-encodes
        raise OpenLFRError(f"{name}: could not re-encode the image")
    data = jpeg.tobytes()
    with ctx.store.session() as s:
        # Keyed: a plain SHA-256 would let anyone with a candidate photo confirm enrolment.
        digest = keyed_image_digest(s, data)
        subject_id = _ensure_subject(ctx, s, person)
        same = s.scalar(
            select(ReferenceImage.id).where(
                ReferenceImage.subject_id == subject_id,
                ReferenceImage.image_sha256 == digest,
                ReferenceImage.withdrawn_at.is_(None),
            )
        )
        if same is not None:  # enrolling the same picture again collects nothing new
            return subject_id, int(same), note
        row = ReferenceImage(
            subject_id=subject_id,
            source_ref=spec.source_ref,
            lawful_basis=spec.lawful_basis,
            captured_on=spec.captured_on,
            case_outcome=parse_outcome(spec.case_outcome).value,
            age_at_capture=spec.age_at_capture,
            under18_reason=spec.under18_reason,
            exceptional_reason=spec.exceptional_reason,
            exceptional_approved_by=spec.exceptional_approved_by,
            image_sha256=digest,
            embedding_model=ctx.embedder.name,
            mirror_agreement=agreement,
        )
        ctx.store.seal(
            s, row, image_blob=data, embedding_blob=np.asarray(vector, np.float32).tobytes()
        )
        bind(s, row)  # whose image this is: an UPDATE of subject_id is refused at use
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.COLLECTION,
            object_type="reference_image",
            object_id=row.id,
            justification=f"reference image from {spec.source_ref} ({spec.lawful_basis})",
        )
        return subject_id, row.id, note


#: The folders earlier versions wrote uploads to (in the clear) while enrolling them.
STALE_UPLOAD_PREFIX = "openlfr-enrol-"


def remove_stale_uploads(tmp_root: Path | None = None) -> int:
    """Deletes upload folders a killed server left in the temp folder (faces in the clear, from
    before uploads were held in memory); returns how many. Called when the service starts.
    Only this user's folders are touched: another user's are not ours to delete."""
    import os
    import shutil
    import tempfile

    root = tmp_root or Path(tempfile.gettempdir())
    removed = 0
    for folder in root.glob(f"{STALE_UPLOAD_PREFIX}*"):
        try:
            if folder.is_symlink() or folder.lstat().st_uid != os.getuid():
                continue
            if folder.is_dir():
                shutil.rmtree(folder)
            else:
                folder.unlink()
            removed += 1
        except OSError:
            continue  # gone meanwhile, or not ours to remove: nothing to report
    return removed
