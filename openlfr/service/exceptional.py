"""Exceptional reasons (R3): a custody image of a person not convicted, held sealed until a
supervisor other than the requester approves (it is then enrolled) or rejects it; either way
the held image is wiped."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from openlfr.domain import CaseOutcome, parse_category, parse_outcome
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.store import AuditAction, append_audit
from openlfr.store.models_accounts import ExceptionalRequest, RequestStatus, Role


def request_exception(ctx: AppContext, fields: dict[str, Any], image: bytes) -> int:
    """Holds an image of a person not convicted until another supervisor decides (R3)."""
    outcome = parse_outcome(str(fields["case_outcome"]))
    if not outcome.not_convicted:
        raise RuleViolation(
            "R3", f"case outcome {outcome.label} needs no exceptional reason: enrol it"
        )
    category = parse_category(str(fields["category"])).value
    reason = str(fields.get("reason") or "").strip()
    if not reason:
        raise RuleViolation("R3", "an exceptional reason must be written down")
    if not image:
        raise ValueError("no image was uploaded")
    with ctx.store.session() as s:
        req = ExceptionalRequest(
            subject_reference=str(fields["subject_reference"]).strip(),
            display_name=str(fields.get("display_name") or fields["subject_reference"]).strip(),
            category=category,
            source_ref=str(fields["source_ref"]).strip(),
            lawful_basis=str(fields["lawful_basis"]).strip(),
            case_outcome=outcome.value,
            captured_on=date.fromisoformat(fields["captured_on"])
            if fields.get("captured_on")
            else None,
            age_at_capture=int(fields["age_at_capture"]) if fields.get("age_at_capture") else None,
            under18_reason=str(fields.get("under18_reason") or "").strip() or None,
            reason=reason,
            requested_by=ctx.actor,
        )
        ctx.store.seal(s, req, image_blob=image)
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.COLLECTION,
            event="exceptional_requested",
            object_type="exceptional_request",
            object_id=req.id,
            justification=f"exceptional reason for {req.subject_reference}: {reason}",
        )
        return req.id


def list_requests(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.store.session() as s:
        rows = s.scalars(
            select(ExceptionalRequest).order_by(ExceptionalRequest.id.desc()).limit(200)
        )
        return [
            {
                "id": r.id,
                "subject_reference": r.subject_reference,
                "category": r.category,
                "source_ref": r.source_ref,
                "case_outcome": r.case_outcome,
                "reason": r.reason,
                "requested_by": r.requested_by,
                "requested_at": r.requested_at.isoformat(),
                "status": r.status,
                "decided_by": r.decided_by,
                "decision_note": r.decision_note,
            }
            for r in rows
        ]


def decide_request(ctx: AppContext, request_id: int, *, approve: bool, note: str = "") -> str:
    """Approve (enrols the image under the approved reason) or reject; either way the held
    image is wiped from the request. The approver must not be the requester (R3)."""
    with ctx.store.session() as s:
        req = s.get(ExceptionalRequest, request_id)
        if req is None:
            raise RuleViolation("R3", f"request {request_id} does not exist")
        if req.status != RequestStatus.PENDING.value:
            raise RuleViolation("R3", f"request {request_id} was already {req.status}")
        if req.requested_by.strip().casefold() == ctx.actor.strip().casefold():
            raise RuleViolation(
                "R3",
                "an exceptional reason must be approved by a supervisor other than the requester",
            )
        image = ctx.store.unseal(req, "image_blob")
        facts = {c: getattr(req, c) for c in ("subject_reference", "display_name", "category",
                 "source_ref", "lawful_basis", "case_outcome", "captured_on", "age_at_capture",
                 "under18_reason", "reason", "requested_by")}  # fmt: skip
    image_id = None
    if approve:
        # The approved face goes to enrolment in memory: never a file in the clear (issue 9).
        name = Path(f"{facts['source_ref'] or 'image'}.jpg".replace("/", "_"))
        result = enrol_subject(
            ctx,
            reference=facts["subject_reference"],
            display_name=facts["display_name"],
            category=facts["category"],
            images=[
                ImageSpec(
                    path=name,
                    data=image,
                    source_ref=facts["source_ref"],
                    lawful_basis=facts["lawful_basis"],
                    case_outcome=facts["case_outcome"] or CaseOutcome.PENDING.value,
                    captured_on=facts["captured_on"],
                    age_at_capture=facts["age_at_capture"],
                    under18_reason=facts["under18_reason"],
                    exceptional_reason=facts["reason"],
                    exceptional_requested_by=facts["requested_by"],
                    exceptional_approved_by=ctx.actor,
                    exceptional_approver_role=Role.SUPERVISOR.value,
                )
            ],
        )
        if result.refused:
            refusal = result.refused[0]
            raise RuleViolation(refusal.rule or "R3", refusal.reason)
        image_id = result.enrolled[0][1]
    status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
    with ctx.store.session() as s:
        req = s.get(ExceptionalRequest, request_id)
        assert req is not None
        req.status, req.decided_by, req.decided_at = status.value, ctx.actor, utcnow()
        req.decision_note, req.reference_image_id, req.image_blob = note or None, image_id, b""
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.ERASURE,
            event=f"exceptional_{status.value}",
            object_type="exceptional_request",
            object_id=request_id,
            justification=f"exceptional reason {status.value}; held image wiped"
            + (f" ({note})" if note else ""),
        )
    return status.value
