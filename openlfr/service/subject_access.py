"""Subject access (R20; DPA 2018 s45): everything openlfr holds about one person, from the
records themselves, as one disclosure.

The disclosure gathers the subject record and reason wanted, every reference and custody image
with its eligibility (and a copy of each still held), every watchlist they were on with the
reason on its entry (purged ones from the R16 manifest), every alert about them with its
decision, outcome, camera image and sightings, every audit-log entry that consulted or changed
their data, and the deletions done (sections in ``subject_access_records``). Producing it is
itself a disclosure with a recipient: it is recorded (``subject_access_requests``) and audited
in one transaction. A person not held gets a "nothing held" disclosure, recorded and audited
the same way, so that answering a request never depends on whether the answer is empty.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation
from openlfr.service import subject_access_records as rec
from openlfr.service.context import AppContext, utcnow
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.models_accountability import SubjectAccessRequest

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


def _held(
    ctx: AppContext, s: Session, person_ref: str, subject: m.Subject | None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    custody, files = rec.custody_images(ctx, s, person_ref)
    images, ref_files = rec.reference_images(ctx, s, subject.id) if subject else ([], {})
    alerts, alert_files = rec.alerts(ctx, s, subject.id) if subject else ([], {})
    files.update(ref_files)
    files.update(alert_files)
    watchlists = rec.watchlists(s, subject) if subject else []
    sightings = [str(x["sighting_id"]) for a in alerts for x in a["sightings"]]
    audit = rec.audit_entries(
        s,
        person_ref,
        {
            "subject": [str(subject.id)] if subject else [],
            "reference_image": rec.ids_of(images, "image_id"),
            "custody_image": rec.ids_of(custody, "id"),
            "alert": rec.ids_of(alerts, "alert_id"),
            "alert_sighting": sightings,
            "watchlist": rec.ids_of(watchlists, "watchlist_id"),
        },
    )
    erasure = AuditAction.ERASURE.value
    deletions = [x for x in audit if x["action"] == erasure]
    deletions += [
        {"what": f"{kind} image {i[key]}", "at": i["erased_at"]}
        for kind, key, rows in (("reference", "image_id", images), ("custody", "id", custody))
        for i in rows
        if i["erased_at"]
    ]
    deletions += [
        {
            "what": f"camera image and sighting images of alert {a['alert_id']}",
            "at": a["camera_image_deleted_at"],
        }
        for a in alerts
        if a["camera_image_deleted_at"]
    ]
    body = {
        "subject": rec.subject_record(s, subject) if subject else None,
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
