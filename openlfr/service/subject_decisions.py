"""Each stored image's eligibility as a decision with its rule, for the supervisor composing a
watchlist (the listing is an audited consultation)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from openlfr.domain import parse_outcome
from openlfr.service.context import AppContext
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m


def image_decision(img: m.ReferenceImage, subject: m.Subject) -> dict[str, Any]:
    """Whether a stored image can go on a watchlist now, mirroring compile_watchlist's test."""
    outcome = parse_outcome(img.case_outcome)
    eligible, rule, reason = True, None, f"eligible: case outcome {outcome.label}"
    if subject.flagged_for_review:
        eligible, rule, reason = False, "R11", f"subject flagged for review: {subject.flag_reason}"
    elif img.withdrawn_at is not None:
        eligible, rule, reason = False, "R11", f"withdrawn on {img.withdrawn_at:%Y-%m-%d}"
    elif outcome.not_convicted and not img.exceptional_approved_by:
        eligible, rule = False, "R3"
        reason = f"case outcome {outcome.label} without an approved exceptional reason"
    elif outcome.not_convicted:
        reason = f"exceptional reason approved by {img.exceptional_approved_by}"
    return {
        "image_id": img.id,
        "source_ref": img.source_ref,
        "captured_on": img.captured_on.isoformat() if img.captured_on else None,
        "case_outcome": outcome.value,
        "eligible": eligible,
        "rule": rule,
        "reason": reason,
    }


def subjects_with_decisions(ctx: AppContext) -> list[dict[str, Any]]:
    """Every subject, each image's decision, and the images refused at enrolment (from the
    audit log, since a refused image is never stored)."""
    with ctx.store.session() as s:
        subjects = list(s.scalars(select(m.Subject).order_by(m.Subject.reference)))
        images = list(s.scalars(select(m.ReferenceImage).order_by(m.ReferenceImage.id)))
        refusals = list(
            s.scalars(
                select(m.AuditEntry).where(
                    m.AuditEntry.event == "collection_refused",
                    m.AuditEntry.object_type == "reference_image",
                )
            )
        )
        out = []
        for subj in subjects:
            decisions = [image_decision(i, subj) for i in images if i.subject_id == subj.id]
            for r in refusals:
                ref, _, name = r.object_id.partition(":")
                if ref == subj.reference:
                    detail = json.loads(r.detail) if r.detail else {}
                    decisions.append(
                        {
                            "image_id": None,
                            "source_ref": name,
                            "captured_on": None,
                            "case_outcome": None,
                            "eligible": False,
                            "rule": detail.get("rule"),
                            "reason": f"refused at enrolment: {r.justification}",
                        }
                    )
            out.append(
                {
                    "reference": subj.reference,
                    "category": subj.category,
                    "images": decisions,
                    "eligible_images": sum(d["eligible"] for d in decisions),
                }
            )
        if subjects:
            append_audit(
                s,
                actor=ctx.actor,
                action=AuditAction.CONSULTATION,
                object_type="subject",
                object_id=f"all ({len(subjects)})",
                justification="composing a watchlist: eligibility of each reference image",
            )
        return out
