"""What an authorising officer needs in front of them to decide on a deployment (R5-R7).

One read of everything the decision rests on: who is on the frozen watchlist snapshot (reference,
category, when the image was taken), its size by category, each camera source's verdict (stream
URLs opened, with a short time-out, unless ``probe_urls`` is off), the threshold beside the
floor of the model in use and the calibration evidence behind that floor, and the supervisor's
equality note. Listing the members is a consultation of personal data, so reading the brief is
audited like any other (DPA 2018 s62).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.config import Settings
from openlfr.domain.reasons import ReasonWanted
from openlfr.errors import RuleViolation
from openlfr.matching.reference_strength import is_weak, weak_only
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import audit_deployment, camera_sources
from openlfr.service.equality import EqualityEvidence, equality_evidence
from openlfr.service.gallery_scoring import weak_floor
from openlfr.service.notices import NoticePreview, notice_preview
from openlfr.service.reasons_wanted import reasons_by_reference
from openlfr.service.refusals import audits_refusals
from openlfr.service.source_probe import SourceVerdict, probe_source
from openlfr.service.watchlist_members import manifest_members
from openlfr.store import AuditAction
from openlfr.store import models as m

__all__ = ["AuthorisationBrief", "BriefMember", "authorisation_brief", "floor_evidence"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BriefMember:
    reference: str
    category: str
    image_captured: date | None
    reason_wanted: str | None = None  # added by the public-accountability issue
    #: Mirror agreement below the model's floor: more often missed (issue 12); None when not
    #: measured (enrolled before it was kept, flip TTA, a model without a floor).
    weak_reference: bool | None = None


@dataclass(frozen=True)
class AuthorisationBrief:
    deployment_id: int
    name: str
    status: str
    purpose: str
    location: str
    location_reason: str
    start: datetime
    end: datetime
    threshold: float
    threshold_floor: float
    floor_evidence: str
    equality_note: str
    created_by: str
    review_note: str | None
    reviewed_by: str | None
    cameras: list[SourceVerdict]
    members: list[BriefMember]
    size_by_category: dict[str, int]
    notice: NoticePreview | None = None  # R19: when the notice goes up, when it may start
    equality: EqualityEvidence | None = None  # per-group rates at this threshold (R15)

    @property
    def weak_only(self) -> tuple[str, ...]:
        """Members whose every image on the list is weak: the people most often missed."""
        return weak_only((x.reference, x.weak_reference) for x in self.members)


def _members(s: Session, watchlist: m.Watchlist, settings: Settings) -> list[BriefMember]:
    if watchlist.purged_at is not None:  # only identifiers are left (R16): no image dates
        return [
            BriefMember(x.subject_ref, x.category, None) for x in manifest_members(s, watchlist.id)
        ]
    rows = s.execute(
        select(
            m.Subject.reference,
            m.WatchlistEntry.category,
            m.ReferenceImage.captured_on,
            m.WatchlistEntry.reason,
            m.ReferenceImage.mirror_agreement,
            m.ReferenceImage.embedding_model,
        )
        .join(m.Subject, m.Subject.id == m.WatchlistEntry.subject_id)
        .join(m.ReferenceImage, m.ReferenceImage.id == m.WatchlistEntry.reference_image_id)
        .where(m.WatchlistEntry.watchlist_id == watchlist.id)
        .order_by(m.Subject.reference, m.ReferenceImage.id)
    ).all()
    # The reason on the entry is what the officer authorises; the subject's current one only
    # stands in for entries compiled before entries carried a reason.
    current = reasons_by_reference(s, {row[0] for row in rows if row[3] is None})
    return [
        BriefMember(
            r,
            cat,
            captured,
            ReasonWanted(reason).label if reason else current.get(r),
            is_weak(agreement, weak_floor(settings, model)),
        )
        for r, cat, captured, reason, agreement, model in rows
    ]


def _evidence_files(settings: Settings) -> list[tuple[Path, dict[str, Any]]]:
    folder = settings.store.data_dir / "calibrations"
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:  # a damaged file is no evidence, and says so
            log.warning("calibration evidence %s unreadable: %s", path, exc)
            continue
        if isinstance(data, dict):
            found.append((path, data))
    return found


def floor_evidence(settings: Settings) -> str:
    """The calibration behind the floor of the model in use, in a sentence or two: the newest
    evidence file `openlfr calibrate` left under <data_dir>/calibrations, or a sentence saying
    that none is recorded and where the floor then comes from."""
    model = settings.vision.embedder
    floor = settings.governance.threshold_floor(model)
    ours = [
        (path, data)
        for path, data in _evidence_files(settings)
        if str((data.get("authorisation_floor") or {}).get("model", "")).casefold()
        == model.casefold()
    ]
    if floor is None:
        return f"No threshold floor is set for {model}: no deployment on it can be authorised (R7)."
    if not ours:
        return (
            f"No calibration of {model} is recorded in this store "
            f"({settings.store.data_dir / 'calibrations'}): the floor {floor} is the configured "
            "governance.threshold_floors value, whose documented basis is public benchmark "
            "figures, not a measurement by this force (run `openlfr calibrate`)."
        )
    path, data = max(ours, key=lambda item: str(item[1].get("date", "")))
    target = data.get("target") or {}
    facts = data.get("data") or {}
    calibrated = (data.get("authorisation_floor") or {}).get("calibrated_floor")
    text = (
        f"Calibrated {data.get('date', '?')} ({path.name}): threshold {data.get('threshold')} "
        f"for {target.get('false_alerts_per_hour')} false alerts per hour with a watchlist of "
        f"{target.get('watchlist_size')} and {target.get('faces_per_hour')} faces per hour; "
        f"expected false alerts per hour {data.get('expected_false_alerts_per_hour')} "
        f"(95% interval {data.get('false_alerts_per_hour_ci95')}), expected TPIR "
        f"{data.get('expected_tpir')}; on {facts.get('identities')} identities, "
        f"{facts.get('images')} images."
    )
    if calibrated is not None and floor is not None and abs(float(calibrated) - floor) > 1e-9:
        text += f" The floor in force ({floor}) differs from this calibrated value ({calibrated})."
    caveats = data.get("caveats") or []
    if caveats:
        text += " Caveats: " + "; ".join(str(c) for c in caveats)
    return text


@audits_refusals(
    AuditAction.CONSULTATION, "deployment", event="consultation_refused", object_id="deployment_id"
)
def authorisation_brief(
    ctx: AppContext, deployment_id: int, *, probe_urls: bool = True
) -> AuthorisationBrief:
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        if dep is None:
            raise RuleViolation("R5", f"deployment {deployment_id} does not exist")
        cameras = camera_sources(s, dep.id)
        watchlist = s.get(m.Watchlist, dep.watchlist_id)
        members = _members(s, watchlist, ctx.settings) if watchlist is not None else []
        audit_deployment(
            s,
            ctx,
            dep.id,
            "authorisation_brief",
            f"members of watchlist {dep.watchlist_id} shown for the review of "
            f"deployment {dep.id} ({dep.status})",
            {"watchlist_id": dep.watchlist_id, "members": len(members)},
        )
        fields: dict[str, Any] = dict(
            deployment_id=dep.id,
            name=dep.name,
            status=dep.status,
            purpose=dep.purpose,
            location=dep.location,
            location_reason=dep.location_reason,
            start=dep.start_at,
            end=dep.end_at,
            threshold=dep.threshold,
            equality_note=dep.equality_note or "",
            created_by=dep.created_by,
            review_note=dep.review_note,
            reviewed_by=dep.reviewed_by,
        )
    # Outside the transaction: opening a stream may take seconds.
    verdicts = [probe_source(n, src, open_urls=probe_urls) for n, src in cameras]
    floor = ctx.settings.governance.threshold_floor(ctx.settings.vision.embedder)
    return AuthorisationBrief(
        **fields,
        threshold_floor=float("nan") if floor is None else floor,
        floor_evidence=floor_evidence(ctx.settings),
        cameras=verdicts,
        members=members,
        # People, not images: a subject with three images is one person on the list.
        size_by_category=dict(
            Counter(cat for _, cat in {(x.reference, x.category) for x in members})
        ),
        notice=notice_preview(ctx, fields["start"], fields["end"]),
        equality=equality_evidence(ctx.settings, fields["threshold"], utcnow()),
    )
