"""Subject access (R20; DPA 2018 s45): everything openlfr holds about one person, from the
records themselves, as one disclosure.

The disclosure gathers the subject record and reason wanted, every reference (and custody)
image with its eligibility, every watchlist they were on (purged ones from the R16 manifest),
every alert about them with its decision and outcome, every audit-log entry that consulted or
changed their data, and the deletions done. Producing it is itself a disclosure with a
recipient: it is recorded (``subject_access_requests``) and audited in one transaction. A person
not held gets a "nothing held" disclosure, recorded and audited the same way, so that answering
a request never depends on whether the answer is empty.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openlfr.domain import parse_outcome
from openlfr.domain.reasons import ReasonWanted
from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.models_accountability import SubjectAccessRequest, SubjectReason
from openlfr.store.models_governance import WatchlistManifestEntry

__all__ = ["NEVER_STORED", "Disclosure", "subject_access"]

#: R8, said in every disclosure: why no other sighting of the person can be disclosed.
NEVER_STORED = (
    "A face seen by a camera that did not match anyone on the watchlist is never stored: no "
    "image, crop, measurement (embedding) or log line of it is written anywhere (rule R8; "
    "Bridges v CC South Wales [2020] EWCA Civ 1058, para 93). So this disclosure cannot list, "
    "and openlfr does not hold, any passing of a camera that raised no alert."
)


@dataclass
class Disclosure:
    """The disclosure as data (``as_dict`` is the JSON); ``images`` are the image bytes
    disclosed with it, by file name (written beside the JSON when an output folder is given)."""

    request_ref: str
    person_ref: str
    recipient: str
    produced_by: str
    produced_at: str
    held: bool
    body: dict[str, Any]
    images: dict[str, bytes] = field(default_factory=dict, repr=False)
    disclosure_id: int | None = None
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema": "openlfr.subject_access/1",
            "disclosure_id": self.disclosure_id,
            "request_ref": self.request_ref,
            "person_ref": self.person_ref,
            "recipient": self.recipient,
            "produced_by": self.produced_by,
            "produced_at": self.produced_at,
            "held": self.held,
            "statement": NEVER_STORED,
            **self.body,
        }


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _eligible(img: m.ReferenceImage) -> tuple[bool, str]:
    if img.erased_at is not None:
        return False, "erased"
    if img.withdrawn_at is not None:
        return False, "withdrawn (case outcome or review)"
    if parse_outcome(img.case_outcome).not_convicted and not img.exceptional_approved_by:
        return False, f"case outcome {img.case_outcome}: not usable (R3)"
    return True, "eligible"


def _images(
    ctx: AppContext, s: Session, subject_id: int
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
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
                "captured_on": _iso(img.captured_on),
                "case_outcome": img.case_outcome,
                "age_at_capture": img.age_at_capture,
                "under18_reason": img.under18_reason,
                "exceptional_reason": img.exceptional_reason,
                "eligible": ok,
                "eligibility": why,
                "enrolled_at": _iso(img.created_at),
                "withdrawn_at": _iso(img.withdrawn_at),
                "erased_at": _iso(img.erased_at),
                "image_sha256": img.image_sha256,
                "file": name,
            }
        )
    return out, files


def _custody(s: Session, person_ref: str) -> list[dict[str, Any]] | None:
    """Custody images (issue 11), when this store has that table; None when it has not."""
    table = m.Base.metadata.tables.get("custody_images")
    if table is None:
        return None
    wanted = [
        c
        for c in (
            "id",
            "custody_id",
            "case_outcome",
            "captured_on",
            "age_at_capture",
            "eligible",
            "withdrawn_at",
            "erased_at",
            "created_at",
        )
        if c in table.c
    ]
    rows = s.execute(
        select(*(table.c[c] for c in wanted)).where(table.c["person_ref"] == person_ref)
    ).all()
    return [{c: _iso(v) for c, v in zip(wanted, row)} for row in rows]


def _watchlists(s: Session, subject: m.Subject) -> list[dict[str, Any]]:
    live = s.execute(
        select(m.WatchlistEntry.watchlist_id, m.WatchlistEntry.category).where(
            m.WatchlistEntry.subject_id == subject.id
        )
    ).all()
    kept = s.execute(
        select(WatchlistManifestEntry.watchlist_id, WatchlistManifestEntry.category).where(
            WatchlistManifestEntry.subject_ref == subject.reference
        )
    ).all()
    ids = sorted({w for w, _ in live} | {w for w, _ in kept})
    cats = {w: c for w, c in [*kept, *live]}
    out = []
    for wl_id in ids:
        wl = s.get(m.Watchlist, wl_id)
        deps = s.execute(
            select(
                m.Deployment.id, m.Deployment.location, m.Deployment.start_at, m.Deployment.status
            )
            .where(m.Deployment.watchlist_id == wl_id)
            .order_by(m.Deployment.id)
        ).all()
        out.append(
            {
                "watchlist_id": wl_id,
                "name": wl.name if wl else None,
                "category": cats[wl_id],
                "created_at": _iso(wl.created_at) if wl else None,
                "purged_at": _iso(wl.purged_at) if wl else None,
                "from_purge_manifest": wl is not None and wl.purged_at is not None,
                "deployments": [
                    {"deployment_id": d, "location": loc, "start": _iso(st), "status": stt}
                    for d, loc, st, stt in deps
                ],
            }
        )
    return out


def _alerts(s: Session, subject_id: int) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(m.Alert).where(m.Alert.subject_id == subject_id).order_by(m.Alert.id)
    ).all()
    return [
        {
            "alert_id": a.id,
            "deployment_id": a.deployment_id,
            "raised_at": _iso(a.raised_at),
            "score": round(a.score, 4),
            "decision": a.status,
            "decided_by": a.adjudicated_by,
            "decided_at": _iso(a.adjudicated_at),
            "decision_reason": a.adjudication_reason,
            "outcome": a.outcome,
            "outcome_at": _iso(a.outcome_at),
            "camera_image_held": bool(a.probe_crop_blob) and a.purged_at is None,
            "camera_image_deleted_at": _iso(a.purged_at),
        }
        for a in rows
    ]


def _ids(values: list[dict[str, Any]], key: str) -> list[str]:
    return [str(v[key]) for v in values if v.get(key) is not None]


def _audit(s: Session, person_ref: str, ids: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every entry about the person (a refusal names "<reference>:<source>"), their subject
    record, images, custody images, alerts, and the watchlists they were on (compiling,
    searching and purging a watchlist consults or erases each member's data)."""
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
            "at": _iso(r.at),
            "actor": r.actor,
            "action": r.action,
            "event": r.event,
            "object": f"{r.object_type} {r.object_id}",
            "justification": r.justification,
            "recipient": r.recipient,
        }
        for r in rows
    ]


def _subject(s: Session, subject: m.Subject) -> dict[str, Any]:
    reason = s.scalar(select(SubjectReason.reason).where(SubjectReason.subject_id == subject.id))
    return {
        "reference": subject.reference,
        "display_name": subject.display_name,
        "category": subject.category,
        "enrolled_at": _iso(subject.created_at),
        "reason_wanted": ReasonWanted(reason).label if reason else None,
        "flagged_for_review": subject.flagged_for_review,
        "flag_reason": subject.flag_reason,
    }


def _held(
    ctx: AppContext, s: Session, person_ref: str, subject: m.Subject | None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    custody = _custody(s, person_ref)
    images, files = _images(ctx, s, subject.id) if subject else ([], {})
    alerts = _alerts(s, subject.id) if subject else []
    watchlists = _watchlists(s, subject) if subject else []
    audit = _audit(
        s,
        person_ref,
        {
            "subject": [str(subject.id)] if subject else [],
            "reference_image": _ids(images, "image_id"),
            "custody_image": _ids(custody or [], "id"),
            "alert": _ids(alerts, "alert_id"),
            "watchlist": _ids(watchlists, "watchlist_id"),
        },
    )
    erasure = AuditAction.ERASURE.value
    deletions = [x for x in audit if x["action"] == erasure]
    deletions += [
        {"what": f"reference image {i['image_id']}", "at": i["erased_at"]}
        for i in images
        if i["erased_at"]
    ]
    deletions += [
        {"what": f"camera image of alert {a['alert_id']}", "at": a["camera_image_deleted_at"]}
        for a in alerts
        if a["camera_image_deleted_at"]
    ]
    body = {
        "subject": _subject(s, subject) if subject else None,
        "reference_images": images,
        "custody_images": custody,
        "watchlists": watchlists,
        "alerts": alerts,
        "consultations": [x for x in audit if x["action"] != erasure],
        "deletions": deletions,
    }
    return body, files


def subject_access(
    ctx: AppContext, *, person_ref: str, request_ref: str, recipient: str = ""
) -> Disclosure:
    """The disclosure for ``person_ref`` under request ``request_ref``, recorded and audited
    (as a disclosure to ``recipient``; by default the data subject)."""
    person_ref, request_ref = person_ref.strip(), request_ref.strip()
    if not person_ref or not request_ref:
        raise RuleViolation(
            "R20", f"a person reference and a request reference are needed ({cite('R20')})"
        )
    recipient = recipient.strip() or f"the data subject ({person_ref}), request {request_ref}"
    with ctx.store.session() as s:
        subject = s.scalar(select(m.Subject).where(m.Subject.reference == person_ref))
        body, files = _held(ctx, s, person_ref, subject)
        held = subject is not None or bool(body["custody_images"])
        if not held:
            body["nothing_held"] = (
                f"openlfr holds no record of a person with reference {person_ref!r}: no subject "
                "record, image, watchlist entry or alert. This request and its answer are "
                "themselves recorded in the audit log."
            )
        out = Disclosure(
            request_ref, person_ref, recipient, ctx.actor, utcnow().isoformat(), held, body, files
        )
        text = json.dumps(out.as_dict(), sort_keys=True, default=str)
        out.sha256 = hashlib.sha256(text.encode()).hexdigest()
        row = SubjectAccessRequest(
            request_ref=request_ref,
            person_ref=person_ref,
            recipient=recipient,
            held=held,
            produced_by=ctx.actor,
            disclosure_sha256=out.sha256,
        )
        s.add(row)
        s.flush()
        out.disclosure_id = row.id
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.DISCLOSURE,
            event="subject_access",
            object_type="subject_access",
            object_id=person_ref,
            justification=f"subject access request {request_ref} (DPA 2018 s45): "
            + ("disclosure of the records held" if held else "nothing held"),
            recipient=recipient[:200],
            detail={"disclosure_id": row.id, "sha256": out.sha256, "images": len(files)},
        )
    return out
