"""Weak references (issue 12 item 2): the rule table-driven, then the real enrolment path
warning on a real poor reference and not on a good one, keeping the measure on the reference row,
the authorisation brief and the watchlist saying which members are weak, and images enrolled
before the measure was kept measured afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update
from store_support import as_before_0018, open_context
from suite import SHARED_DATA

from openlfr.config import StoreSettings
from openlfr.config_scoring import ScoringSettings
from openlfr.config_vision import VisionSettings
from openlfr.errors import OpenLFRError
from openlfr.matching.reference_strength import (
    is_weak,
    mirror_agreement,
    weak_only,
    weak_reference_note,
)
from openlfr.service.authorisation_brief import AuthorisationBrief, authorisation_brief
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.reference_reassess import pending_references, reassess_references
from openlfr.service.watchlists import compile_watchlist, watchlist_summary
from openlfr.store import integrity
from openlfr.store import models as m
from openlfr.vision.protocols import Detector, Embedder

LFW = SHARED_DATA / "lfw" / "images"
CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
#: A hand over the forehead, squinting, mouth open (mirror agreement ~0.94 with SFace).
POOR = LFW / "Anna_Kournikova" / "Anna_Kournikova_0001.jpg"
GOOD = LFW / "Laura_Bush" / "Laura_Bush_0001.jpg"  # frontal, even light (~0.97)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([1.0, 0.0], [1.0, 0.0], 1.0),
        ([1.0, 0.0], [0.0, 1.0], 0.0),
        ([1.0, 2.0], [-1.0, -2.0], -1.0),
        ([3.0, 4.0], [0.6, 0.8], 1.0),  # lengths do not matter
        ([1.0, 1.0], [1.0, 0.0], 0.5**0.5),
    ],
)
def test_mirror_agreement_is_the_cosine(a: list[float], b: list[float], expected: float) -> None:
    assert mirror_agreement(np.array(a), np.array(b)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("a", "b"),
    [([0.0, 0.0], [1.0, 0.0]), ([1.0, 0.0], [1.0, 0.0, 0.0]), ([np.nan, 1.0], [1.0, 1.0])],
)
def test_mirror_agreement_refuses_what_has_no_cosine(a: list[float], b: list[float]) -> None:
    with pytest.raises(ValueError):
        mirror_agreement(np.array(a), np.array(b))


@pytest.mark.parametrize(
    ("agreement", "floor", "weak"),
    [(0.94, 0.959, True), (0.959, 0.959, False), (None, 0.959, None), (0.94, None, None),
     (None, None, None)],
)  # fmt: skip
def test_is_weak(agreement: float | None, floor: float | None, weak: bool | None) -> None:
    assert is_weak(agreement, floor) is weak


@pytest.mark.parametrize(
    ("agreement", "floor", "warned"),
    [(0.94, 0.959, True), (0.9589, 0.959, True), (0.959, 0.959, False), (0.99, 0.959, False),
     (0.10, None, False)],
)  # fmt: skip
def test_weak_reference_note(agreement: float, floor: float | None, warned: bool) -> None:
    note = weak_reference_note(agreement, floor)
    assert (note is not None) is warned
    if note:
        assert f"{agreement:.3f}" in note and "enrol another image" in note
        assert not any(w in note.lower() for w in ("identif", "arrest", "women", "female"))


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ([("a", True)], ("a",)),
        ([("a", True), ("a", True), ("b", False)], ("a",)),
        ([("a", True), ("a", False)], ()),  # one ok image: a second image is what helps
        ([("a", True), ("a", None)], ()),  # not measured: no advice on a guess
        ([("a", None)], ()),
        ([("b", True), ("a", True), ("c", False)], ("a", "b")),  # sorted
        ([], ()),
    ],
)
def test_weak_only(images: list[tuple[str, bool | None]], expected: tuple[str, ...]) -> None:
    assert weak_only(images) == expected


@pytest.fixture
def ctx(
    store_settings: StoreSettings, models: tuple[Detector, Embedder], request: pytest.FixtureRequest
) -> Iterator[AppContext]:
    param = dict(getattr(request, "param", {}))
    vision = VisionSettings(**param.pop("vision", {}))
    context = open_context(store_settings, models, scoring=ScoringSettings(**param), vision=vision)
    try:
        yield context
    finally:
        context.close()


def _enrol(ctx: AppContext, ref: str, image: Path) -> list[str]:
    spec = ImageSpec(path=image, source_ref="CUST-W", lawful_basis="PACE Code D", age_at_capture=40)
    result = enrol_subject(ctx, reference=ref, display_name=ref, category="suspect", images=[spec])
    assert not result.refused and len(result.enrolled) == 1  # advice only: enrolled either way
    return [w for w in result.warnings if "weak reference" in w]


@pytest.mark.usefixtures("shared_data")
def test_enrolment_warns_on_a_poor_reference_and_not_on_a_good_one(ctx: AppContext) -> None:
    weak = _enrol(ctx, "PNC-W-1", POOR)
    assert len(weak) == 1 and weak[0].startswith(str(POOR))
    assert _enrol(ctx, "PNC-W-2", GOOD) == []


@pytest.mark.usefixtures("shared_data")
@pytest.mark.parametrize("ctx", [{"weak_reference_below": {}}], indirect=True)
def test_an_embedder_without_a_measured_floor_gets_no_advice(ctx: AppContext) -> None:
    assert _enrol(ctx, "PNC-W-3", POOR) == []


def _agreements(ctx: AppContext) -> dict[str, float | None]:
    with ctx.store.session() as s:
        rows = s.execute(
            select(m.Subject.reference, m.ReferenceImage.mirror_agreement).join(
                m.ReferenceImage, m.ReferenceImage.subject_id == m.Subject.id
            )
        ).all()
    return {ref: agreement for ref, agreement in rows}


def _brief(ctx: AppContext, name: str) -> AuthorisationBrief:
    """The brief of a draft on a watchlist of everyone enrolled so far."""
    wl = compile_watchlist(ctx, name)
    now = utcnow()
    dep_id = create_deployment(
        ctx,
        DeploymentDraft(
            name=name, purpose="locate a wanted suspect", location="High St",
            location_reason="sightings reported there", start=now, end=now + timedelta(hours=2),
            watchlist_id=wl.id, cameras=[("cam1", str(CLIP))],
            equality_note="threshold at the calibrated floor; demographic review done",
        ),
    )  # fmt: skip
    return authorisation_brief(ctx, dep_id, probe_urls=False)


@pytest.mark.usefixtures("shared_data")
def test_the_measure_is_kept_and_the_brief_names_the_weak_member(ctx: AppContext) -> None:
    floor = ctx.settings.scoring.weak_reference_below["sface"]
    _enrol(ctx, "PNC-W-4", POOR)
    _enrol(ctx, "PNC-W-5", GOOD)
    kept = _agreements(ctx)
    poor, good = kept["PNC-W-4"], kept["PNC-W-5"]
    assert poor is not None and good is not None and 0.5 < poor < floor <= good <= 1.0
    brief = _brief(ctx, "Operation Strength")
    assert {b.reference: b.weak_reference for b in brief.members} == {
        "PNC-W-4": True,
        "PNC-W-5": False,
    }
    assert brief.weak_only == ("PNC-W-4",)


@pytest.mark.usefixtures("shared_data")
@pytest.mark.parametrize("ctx", [{"weak_reference_below": {}}], indirect=True)
def test_without_a_floor_the_measure_is_kept_and_the_brief_says_not_measured(
    ctx: AppContext,
) -> None:
    _enrol(ctx, "PNC-W-6", POOR)
    assert _agreements(ctx)["PNC-W-6"] is not None  # measured: a floor set later can judge it
    brief = _brief(ctx, "Operation No Floor")
    assert [b.weak_reference for b in brief.members] == [None]


@pytest.mark.usefixtures("shared_data")
def test_the_watchlist_names_who_rests_on_weak_images_only(ctx: AppContext) -> None:
    _enrol(ctx, "PNC-W-7", POOR)
    _enrol(ctx, "PNC-W-8", GOOD)
    wl = compile_watchlist(ctx, "Operation Weak Only")
    assert wl.weak_only == ("PNC-W-7",)
    assert watchlist_summary(ctx, wl.id).weak_only == ("PNC-W-7",)
    _enrol(ctx, "PNC-W-7", GOOD)  # another image of the same person: no longer weak only
    again = compile_watchlist(ctx, "Operation Weak Only 2")
    assert again.images == 3 and again.weak_only == ()


def _forget_measures(ctx: AppContext) -> None:
    as_before_0018(ctx.store)


def _events(ctx: AppContext, event: str) -> list[m.AuditEntry]:
    with ctx.store.session() as s:
        rows = list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == event)))
        s.expunge_all()
    return rows


@pytest.mark.usefixtures("shared_data")
def test_reassess_measures_older_images_as_enrolment_did_and_audits_each(ctx: AppContext) -> None:
    _enrol(ctx, "PNC-W-9", POOR)
    _enrol(ctx, "PNC-W-10", GOOD)
    kept = _agreements(ctx)
    _forget_measures(ctx)
    assert len(pending_references(ctx)) == 2
    seen: list[tuple[int, int]] = []
    result = reassess_references(
        ctx, justification="backfill after 0018", progress=lambda d, t: seen.append((d, t))
    )
    assert result.measured == 2 and result.weak == ("PNC-W-9",) and result.failed == []
    assert seen == [(1, 2), (2, 2)]
    again = _agreements(ctx)
    # Read from the sealed copy (re-encoded at JPEG quality 95), not the file enrolled: near,
    # not equal (about 1e-3 here).
    assert again == pytest.approx(kept, abs=3e-3)
    entries = _events(ctx, "reference_strength_measured")
    assert len(entries) == 2 and {e.action for e in entries} == {"alteration"}
    assert {e.actor for e in entries} == {"pc.tester"}
    assert {e.justification for e in entries} == {"backfill after 0018"}
    assert sorted(json.loads(e.detail or "{}")["weak"] for e in entries) == [False, True]
    assert pending_references(ctx) == []
    assert reassess_references(ctx, justification="again").measured == 0  # nothing left


@pytest.mark.usefixtures("shared_data")
def test_reassess_refuses_an_edited_row_and_leaves_it_unmeasured(ctx: AppContext) -> None:
    _enrol(ctx, "PNC-W-11", GOOD)
    _forget_measures(ctx)
    with ctx.store.session() as s:  # an insider's edit in SQL, past the service layer
        s.execute(update(m.ReferenceImage).values(source_ref="CUST-FORGED"))
    result = reassess_references(ctx, justification="backfill after 0018")
    assert result.measured == 0 and len(result.failed) == 1
    assert _agreements(ctx) == {"PNC-W-11": None}
    (entry,) = _events(ctx, "reference_strength_unmeasured")
    assert entry.action == "consultation" and json.loads(entry.detail or "{}")["reason"]


@pytest.mark.usefixtures("shared_data")
@pytest.mark.parametrize("ctx", [{"vision": {"flip_tta": True}}], indirect=True)
def test_reassess_refuses_under_flip_tta_and_reads_nothing(ctx: AppContext) -> None:
    _enrol(ctx, "PNC-W-12", GOOD)
    with pytest.raises(OpenLFRError, match="flip_tta"):
        reassess_references(ctx, justification="backfill")
    assert _events(ctx, "reference_strength_unmeasured") == []


@pytest.mark.usefixtures("shared_data")
def test_reassess_in_batches_says_how_many_are_left(ctx: AppContext) -> None:
    _enrol(ctx, "PNC-W-13", POOR)
    _enrol(ctx, "PNC-W-14", GOOD)
    _forget_measures(ctx)
    first = reassess_references(ctx, justification="a page's batch", limit=1)
    assert (first.measured, first.remaining) == (1, 1)
    rest = reassess_references(ctx, justification="a page's batch", limit=1)
    assert (rest.measured, rest.remaining) == (1, 0)
    assert first.weak == ("PNC-W-13",) and rest.weak == ()  # oldest first


@pytest.mark.usefixtures("shared_data")
def test_the_measure_reassess_keeps_is_covered_by_the_rows_binding(ctx: AppContext) -> None:
    _enrol(ctx, "PNC-W-15", POOR)
    _forget_measures(ctx)
    with ctx.store.session() as s:
        (image_id,) = s.scalars(select(m.ReferenceImage.id)).all()
        assert integrity.check_row(s, "reference_image", image_id) is None  # as bound then
    assert reassess_references(ctx, justification="backfill after 0018").weak == ("PNC-W-15",)
    with ctx.store.session() as s:
        assert integrity.check_row(s, "reference_image", image_id) is None
        # An insider raises the measure in SQL so that the weak warning goes away.
        s.execute(update(m.ReferenceImage).values(mirror_agreement=0.999))
    with ctx.store.session() as s:
        problem = integrity.check_row(s, "reference_image", image_id)
        assert problem == "does not match its integrity binding"
        assert integrity.check_many(s, "reference_image", [image_id]) == {image_id: problem}
