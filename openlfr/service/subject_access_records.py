"""The sections of a subject access disclosure (R20), each read from the records themselves:
reference and custody images with their eligibility (and copies of the images), every watchlist
the person was on with the reason recorded on the entry (purged ones from the R16 manifest),
alerts with their decision, outcome, camera image and every sighting of the alert, and the audit
entries about any of it. Called by ``service.subject_access`` inside its one transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openlfr.domain import parse_outcome
from openlfr.domain.reasons import ReasonWanted
from openlfr.service.context import AppContext
from openlfr.store import models as m
from openlfr.store.models_accountability import SubjectReason
from openlfr.store.models_custody import CustodyImage
from openlfr.store.models_governance import WatchlistManifestEntry
from openlfr.store.models_sightings import AlertSighting

Files = dict[str, bytes]


def iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _label(reason: str | None) -> str | None:
    return ReasonWanted(reason).label if reason else None


def _eligible(img: m.ReferenceImage) -> tuple[bool, str]:
    if img.erased_at is not None:
        return False, "erased"
    if img.withdrawn_at is not None:
        return False, "withdrawn (case outcome or review)"
    if parse_outcome(img.case_outcome).not_convicted and not img.exceptional_approved_by:
        return False, f"case outcome {img.case_outcome}: not usable (R3)"
    return True, "eligible"


def reference_images(
    ctx: AppContext, s: Session, subject_id: int
) -> tuple[list[dict[str, Any]], Files]:
    rows = s.scalars(
        select(m.ReferenceImage)
        .where(m.ReferenceImage.subject_id == subject_id)
        .order_by(m.ReferenceImage.id)
    ).all()
    out, files = [], {}
    for img in rows:
        ok, why = _eligible(img)
        name = None
        if img.erased_at is None and img.image_blob:
            name = f"reference_image_{img.id}.jpg"
            files[name] = ctx.store.unseal(img, "image_blob")
        out.append(
            {
                "image_id": img.id,
                "source_ref": img.source_ref,
                "lawful_basis": img.lawful_basis,
                "captured_on": iso(img.captured_on),
                "case_outcome": img.case_outcome,
                "age_at_capture": img.age_at_capture,
                "under18_reason": img.under18_reason,
                "exceptional_reason": img.exceptional_reason,
                "eligible": ok,
                "eligibility": why,
                "enrolled_at": iso(img.created_at),
                "withdrawn_at": iso(img.withdrawn_at),
                "erased_at": iso(img.erased_at),
                "image_sha256": img.image_sha256,
                "file": name,
            }
        )
    return out, files


def custody_images(
    ctx: AppContext, s: Session, person_ref: str
) -> tuple[list[dict[str, Any]], Files]:
    """Custody images held under the person's reference (issue 11), with the eligibility
    decided at import (R2-R4) or since (R11), and a copy of each image still held."""
    rows = s.scalars(
        select(CustodyImage).where(CustodyImage.person_ref == person_ref).order_by(CustodyImage.id)
    ).all()
    out, files = [], {}
    for img in rows:
        name = None
        if img.erased_at is None and img.image_blob:
            name = f"custody_image_{img.id}.jpg"
            files[name] = ctx.store.unseal(img, "image_blob")
        out.append(
            {
                "id": img.id,
                "custody_id": img.custody_id,
                "case_outcome": img.case_outcome,
                "captured_on": iso(img.captured_on),
                "age_at_capture": img.age_at_capture,
                "eligible": img.eligible,
                "eligibility_rule": img.eligibility_rule,
                "eligibility": img.eligibility_reason,
                "imported_at": iso(img.created_at),
                "withdrawn_at": iso(img.withdrawn_at),
                "flagged_for_deletion_at": iso(img.flagged_for_deletion_at),
                "erased_at": iso(img.erased_at),
                "file": name,
            }
        )
    return out, files


def watchlists(s: Session, subject: m.Subject) -> list[dict[str, Any]]:
    """Every watchlist with an entry for the person: live entries, and the purge manifest
    (R16) of those purged, each with the category and reason wanted on the entry."""
    live = s.execute(
        select(
            m.WatchlistEntry.watchlist_id, m.WatchlistEntry.category, m.WatchlistEntry.reason
        ).where(m.WatchlistEntry.subject_id == subject.id)
    ).all()
    kept = s.execute(
        select(
            WatchlistManifestEntry.watchlist_id,
            WatchlistManifestEntry.category,
            WatchlistManifestEntry.reason,
        ).where(WatchlistManifestEntry.subject_ref == subject.reference)
    ).all()
    on_entry = {w: (c, r) for w, c, r in [*kept, *live]}
    out = []
    for wl_id in sorted(on_entry):
        wl = s.get(m.Watchlist, wl_id)
        deps = s.execute(
            select(
                m.Deployment.id, m.Deployment.location, m.Deployment.start_at, m.Deployment.status
            )
            .where(m.Deployment.watchlist_id == wl_id)
            .order_by(m.Deployment.id)
        ).all()
        category, reason = on_entry[wl_id]
        out.append(
            {
                "watchlist_id": wl_id,
                "name": wl.name if wl else None,
                "category": category,
                "reason_wanted": _label(reason),
                "created_at": iso(wl.created_at) if wl else None,
                "purged_at": iso(wl.purged_at) if wl else None,
                "from_purge_manifest": wl is not None and wl.purged_at is not None,
                "deployments": [
                    {"deployment_id": d, "location": loc, "start": iso(st), "status": stt}
                    for d, loc, st, stt in deps
                ],
            }
        )
    return out


def _sightings(ctx: AppContext, s: Session, alert: m.Alert, files: Files) -> list[dict[str, Any]]:
    """Each time the alert's person was seen while it waited (issue 12): when, where, how
    close, and the crop while the alert's data is kept (R10). The first sighting's crop is the
    alert's camera image."""
    rows = s.execute(
        select(AlertSighting, m.Camera.name)
        .join(m.Camera, m.Camera.id == AlertSighting.camera_id)
        .where(AlertSighting.alert_id == alert.id)
        .order_by(AlertSighting.id)
    ).all()
    out = []
    for sighting, camera in rows:
        name = None
        if sighting.crop_blob and alert.purged_at is None:
            name = f"alert_{alert.id}_sighting_{sighting.id}.jpg"
            files[name] = ctx.store.unseal(sighting, "crop_blob")
        out.append(
            {
                "sighting_id": sighting.id,
                "seen_at": iso(sighting.seen_at),
                "camera": camera,
                "score": round(sighting.score, 4),
                "frame_index": sighting.frame_index,
                "file": name,
            }
        )
    return out


def alerts(ctx: AppContext, s: Session, subject_id: int) -> tuple[list[dict[str, Any]], Files]:
    rows = s.scalars(
        select(m.Alert).where(m.Alert.subject_id == subject_id).order_by(m.Alert.id)
    ).all()
    out, files = [], {}
    for a in rows:
        held = bool(a.probe_crop_blob) and a.purged_at is None
        name = f"alert_{a.id}_camera_image.jpg" if held else None
        if name:
            files[name] = ctx.store.unseal(a, "probe_crop_blob")
        out.append(
            {
                "alert_id": a.id,
                "deployment_id": a.deployment_id,
                "raised_at": iso(a.raised_at),
                "score": round(a.score, 4),
                "decision": a.status,
                "decided_by": a.adjudicated_by,
                "decided_at": iso(a.adjudicated_at),
                "decision_reason": a.adjudication_reason,
                "outcome": a.outcome,
                "outcome_at": iso(a.outcome_at),
                "camera_image_held": held,
                "camera_image_deleted_at": iso(a.purged_at),
                "camera_image_file": name,
                "sightings": _sightings(ctx, s, a, files),
            }
        )
    return out, files


def ids_of(values: list[dict[str, Any]], key: str) -> list[str]:
    return [str(v[key]) for v in values if v.get(key) is not None]


def audit_entries(s: Session, person_ref: str, ids: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every entry about the person (a refusal names "<reference>:<source>"), their subject
    record, images, custody images, alerts and sightings, and the watchlists they were on
    (compiling, searching and purging a watchlist consults or erases each member's data)."""
    e = m.AuditEntry
    ours = [
        e.object_id.like(f"{person_ref}:%"),
        (e.object_type == "subject_access") & (e.object_id == person_ref),
    ]
    ours += [
        (e.object_type == kind) & e.object_id.in_(values) for kind, values in ids.items() if values
    ]
    rows = s.scalars(select(e).where(or_(*ours)).order_by(e.id)).all()
    return [
        {
            "audit_id": r.id,
            "at": iso(r.at),
            "actor": r.actor,
            "action": r.action,
            "event": r.event,
            "object": f"{r.object_type} {r.object_id}",
            "justification": r.justification,
            "recipient": r.recipient,
        }
        for r in rows
    ]


def subject_record(s: Session, subject: m.Subject) -> dict[str, Any]:
    reason = s.scalar(select(SubjectReason.reason).where(SubjectReason.subject_id == subject.id))
    return {
        "reference": subject.reference,
        "display_name": subject.display_name,
        "category": subject.category,
        "enrolled_at": iso(subject.created_at),
        "reason_wanted": _label(reason),
        "flagged_for_review": subject.flagged_for_review,
        "flag_reason": subject.flag_reason,
    }
