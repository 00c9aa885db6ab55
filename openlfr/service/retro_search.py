"""Retrospective search of the custody estate (R17): investigative leads, never identifications.

One search is one audited consultation naming the case, the reason and the investigator, and
listing which custody images it returned, so the estate review (R18) can prove from the log
alone that no search ever returned an image that was ineligible at the time.

Only eligible images can come back, and the filter sits inside the search, twice over: the
custody index searches eligible rows only (a withdrawal or deletion leaves it at once), and
every candidate it proposes is re-checked against the database in the same call before it is
counted, so an index that lagged a withdrawal by a moment still cannot return the image.

The probe (an unknown person's face) is never written anywhere: not to the store, not to the
log, not to a temporary file. Only its SHA-256 goes in the audit entry, so a later enquiry can
tell which picture was searched without the log holding the face.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass

import numpy as np

from openlfr.domain import cite
from openlfr.domain.text import clean_text
from openlfr.errors import ImageRejected, RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.custody_estate import eligible_image, estate_search
from openlfr.service.refusals import audits_refusals
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.vision.images import find_single_face, read_image_bytes
from openlfr.vision.types import FaceDetections

#: Said with every result, on every channel (R17; DESIGN.md's non-negotiable 4).
LEADS_NOTICE = (
    "These candidates are investigative leads only, for a trained person to compare with the "
    "probe image. A candidate is never an identification, and no action may rest on the "
    "system's ranking or score alone."
)
EVENT = "retro_search"


@dataclass(frozen=True)
class Candidate:
    rank: int
    person_ref: str
    custody_id: str
    score: float


@dataclass(frozen=True)
class SearchResult:
    candidates: tuple[Candidate, ...]
    searched: int  # eligible images the probe was compared with
    excluded_ineligible: int  # images held but left out of the search (R17)
    seconds: float
    audit_id: int  # the consultation entry: views of a candidate cite it
    case_ref: str

    def as_json(self) -> dict[str, object]:
        """Exactly the issue's interface: candidates, searched, excluded_ineligible, seconds."""
        return {
            "candidates": [
                {
                    "rank": c.rank,
                    "person_ref": c.person_ref,
                    "custody_id": c.custody_id,
                    "score": round(c.score, 4),
                }
                for c in self.candidates
            ],
            "searched": self.searched,
            "excluded_ineligible": self.excluded_ineligible,
            "seconds": round(self.seconds, 4),
        }


def probe_faces(image: np.ndarray, ctx: AppContext, name: str) -> tuple[np.ndarray, FaceDetections]:
    """Every face of the probe, left to right (``--face 1`` is the leftmost); none is an error.

    ``find_single_face`` (with its padded retry for tight crops) decides whether there is any
    face at all; then all faces of that image are listed so a crowd photo can be narrowed."""
    single = find_single_face(image, ctx.detector, name, several="central")
    dets = ctx.detector.detect(single.image)
    if len(dets) == 0:  # the padded copy found it where the plain one did not: keep that one
        return single.image, single.detections
    order = np.argsort(dets.boxes[:, 0])
    return single.image, dets.take(order)


def _choose(dets: FaceDetections, face: int | None, name: str) -> FaceDetections:
    n = len(dets)
    if face is None:
        if n > 1:
            raise ImageRejected(
                name,
                f"{n} faces found; choose one with --face N (1 = leftmost, {n} = rightmost)",
            )
        return dets
    if not 1 <= face <= n:
        raise ImageRejected(name, f"--face {face}: the probe has {n} face{'s' * (n != 1)}")
    return dets.take(np.array([face - 1]))


def _check_request(case_ref: str, reason: str, top: int, max_top: int) -> tuple[str, str]:
    case = clean_text(case_ref, field="case reference", max_length=128, required=True)
    why = clean_text(reason, field="reason", max_length=2000, multiline=True, required=True)
    if not case.strip():
        raise RuleViolation("R17", "a search needs the case reference it is made for")
    if not why.strip():
        raise RuleViolation("R17", "a search needs its reason")
    if not 1 <= top <= max_top:
        raise RuleViolation("R17", f"--top must be between 1 and {max_top}, not {top}")
    return case.strip(), why.strip()


@audits_refusals(
    AuditAction.CONSULTATION, "custody_estate", event="retro_search_refused", object_id="case_ref"
)
def retrospective_search(
    ctx: AppContext,
    probe: bytes,
    *,
    case_ref: str,
    reason: str,
    top: int = 20,
    face: int | None = None,
    name: str = "probe",
) -> SearchResult:
    """Searches the eligible custody estate for ``probe``; audited as a consultation (R17).

    Bad input (not an image, no face, several faces without ``face``) raises ImageRejected or
    RuleViolation before anything is searched or logged as a search."""
    start = time.perf_counter()
    case, why = _check_request(case_ref, reason, top, ctx.settings.retro.max_top)
    image = read_image_bytes(probe, name)
    padded, dets = probe_faces(image, ctx, name)
    chosen = ctx.detector.refine(padded, _choose(dets, face, name))  # as custody rows were
    vector = ctx.embedder.embed(padded, chosen.landmarks).vectors[0]
    found = estate_search(ctx, vector, top)
    candidates = tuple(
        Candidate(rank, hit.person_ref, hit.custody_id, hit.score)
        for rank, hit in enumerate(found.hits, start=1)
    )
    seconds = time.perf_counter() - start
    with ctx.store.session() as s:
        entry = append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            event=EVENT,
            object_type="custody_estate",
            object_id=case[:128],
            justification=f"R17 ({cite('R17')}): retrospective search for case {case}: {why}",
            detail={
                "rule": "R17",
                "case_ref": case,
                "top": top,
                "face": face,
                "probe_sha256": hashlib.sha256(probe).hexdigest(),
                "searched": found.searched,
                "excluded_ineligible": found.excluded_ineligible,
                # Which images were returned: the review proves each was eligible then (R18).
                "returned": [c.custody_id for c in candidates],
                "returned_rows": [hit.row_id for hit in found.hits],
                "scores": [round(hit.score, 4) for hit in found.hits],
            },
        )
        audit_id = entry.id
    return SearchResult(
        candidates, found.searched, found.excluded_ineligible, seconds, audit_id, case
    )


@dataclass(frozen=True)
class CandidateView:
    image: bytes  # the custody image as held (JPEG or PNG bytes)
    media_type: str
    candidate: Candidate


def _media_type(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    return "image/jpeg" if data[:2] == b"\xff\xd8" else "application/octet-stream"


def view_candidate(ctx: AppContext, search_id: int, rank: int) -> CandidateView:
    """One candidate's custody image, for the investigator who ran the search; audited (R17).

    Refused unless ``search_id`` is a search by this same actor that returned ``rank``; and
    refused if the image has become ineligible since (withdrawn or deleted): a lead that the
    law has taken away is not shown, even from an earlier result page."""
    with ctx.store.session() as s:
        entry = s.get(m.AuditEntry, search_id)
        if entry is None or entry.event != EVENT or entry.actor != ctx.actor:
            raise RuleViolation("R17", f"search {search_id} is not one of your searches")
        detail = json.loads(entry.detail or "{}")
        rows: list[int] = detail.get("returned_rows", [])
        ids: list[str] = detail.get("returned", [])
        if not 1 <= rank <= len(rows):
            raise RuleViolation("R17", f"search {search_id} returned no candidate {rank}")
        held = eligible_image(ctx, s, rows[rank - 1])
        if held is None:
            raise RuleViolation(
                "R17",
                f"candidate {rank} of search {search_id} ({ids[rank - 1]}) is no longer eligible "
                "(withdrawn or deleted since the search) and cannot be shown",
            )
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            event="custody_image_viewed",
            object_type="custody_image",
            object_id=rows[rank - 1],
            justification=f"R17 ({cite('R17')}): candidate {rank} of search {search_id} for case "
            f"{detail.get('case_ref', '?')} viewed for comparison by a trained person",
            detail={"rule": "R17", "search_id": search_id, "rank": rank},
        )
    candidate = Candidate(rank, held.person_ref, held.custody_id, float(detail["scores"][rank - 1]))
    return CandidateView(held.image, _media_type(held.image), candidate)
