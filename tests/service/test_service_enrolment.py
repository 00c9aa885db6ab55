"""enrol_subject with bad files mixed with good ones, and the domain refusals (R1, R3, R4).

Every refusal must name its file in one line, leave no reference_images row behind and be
logged as 'collection_refused'; the good files of the same call must still be enrolled.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select
from suite import SHARED_DATA

from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.store import verify_audit
from openlfr.store.models import AuditEntry, ReferenceImage, Subject

LFW = SHARED_DATA / "lfw" / "images"
GOOD = [LFW / "AJ_Cook" / "AJ_Cook_0001.jpg", SHARED_DATA / "deepface" / "images" / "img1.jpg"]
pytestmark = pytest.mark.usefixtures("shared_data")


def _spec(path: Path, **kw: object) -> ImageSpec:
    facts: dict[str, object] = {"age_at_capture": 30, "source_ref": f"CUST-{path.name}"}
    facts.update(kw)
    return ImageSpec(path=path, lawful_basis="PACE Code D", **facts)  # type: ignore[arg-type]


def _count(ctx: AppContext, model: type) -> int:
    with ctx.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _refused_log(ctx: AppContext) -> list[AuditEntry]:
    with ctx.store.session() as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.event == "collection_refused")
            .order_by(AuditEntry.id)
        )
        return list(rows)


def test_bad_files_are_refused_one_by_one_and_good_ones_enrolled(
    ctx: AppContext, bad_files: dict[str, tuple[Path, str]]
) -> None:
    bad = list(bad_files.values())
    # Good files first, in the middle and last: a refusal must not stop the rest.
    paths = [GOOD[0], *[p for p, _ in bad[:4]], GOOD[1], *[p for p, _ in bad[4:]]]
    images_before = _count(ctx, ReferenceImage)

    result = enrol_subject(
        ctx,
        reference="PNC-0001",
        display_name="Test Subject",
        category="suspect",
        images=[_spec(p) for p in paths],
    )

    assert [name for name, _ in result.enrolled] == [str(p) for p in GOOD]
    refused = {r.image: r for r in result.refused}
    assert set(refused) == {str(p) for p, _ in bad}
    for path, fragment in bad:
        r = refused[str(path)]
        assert fragment in r.reason, (path.name, r.reason)
        line = str(r)
        assert "\n" not in line and line.startswith(str(path)), line

    # Nothing half-written: exactly the good images were stored, under their own source refs.
    assert _count(ctx, ReferenceImage) == images_before + len(GOOD)
    with ctx.store.session() as s:
        rows = list(s.scalars(select(ReferenceImage)))
        stored_sources = {row.source_ref for row in rows}
        assert stored_sources == {f"CUST-{p.name}" for p in GOOD}
        for path, _ in bad:
            assert f"CUST-{path.name}" not in stored_sources
        # Each stored row holds a decodable image of its own file's size (sealed, encrypted).
        for row in rows:
            blob = ctx.store.unseal(row, "image_blob")
            decoded = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
            src = next(p for p in GOOD if f"CUST-{p.name}" == row.source_ref)
            assert decoded.shape[:2] == cv2.imread(str(src)).shape[:2]
            assert len(ctx.store.unseal(row, "embedding_blob")) == 4 * ctx.embedder.dim

    # Each refusal is in the audit log under the custody source it was given, with its reason;
    # the chain still holds.
    log = _refused_log(ctx)
    assert len(log) == len(bad)
    by_object = {row.object_id: row for row in log}
    for path, fragment in bad:
        row = by_object[f"PNC-0001:CUST-{path.name}"]
        assert row.action == "collection" and fragment in row.justification
        assert row.actor == "pc.tester"
    with ctx.store.session() as s:
        assert verify_audit(s).ok


def test_only_bad_files_store_no_image(
    ctx: AppContext, bad_files: dict[str, tuple[Path, str]]
) -> None:
    result = enrol_subject(
        ctx,
        reference="PNC-0002",
        display_name="Nobody",
        category="mappa",
        images=[_spec(p) for p, _ in bad_files.values()],
    )
    assert result.enrolled == []
    assert len(result.refused) == len(bad_files)
    assert _count(ctx, ReferenceImage) == 0
    assert len(_refused_log(ctx)) == len(bad_files)
    # Nothing half-written: no subject without an image, and no "collection" of one logged.
    assert result.subject_id is None
    assert _count(ctx, Subject) == 0
    with ctx.store.session() as s:
        logged = s.scalars(select(AuditEntry.object_type).where(AuditEntry.event.is_(None)))
        assert "subject" not in set(logged)


def test_refusal_logs_the_custody_source_not_the_file_name(ctx: AppContext, tmp_path: Path) -> None:
    """A refused image's log entry names the custody source it was given (readers show it as the
    image's source reference), or nothing; never the file name, which may be a temporary
    upload path or a name that identifies someone."""
    named = tmp_path / "Jane_Doe_mugshot.jpg"
    named.write_bytes(GOOD[0].read_bytes())
    result = enrol_subject(
        ctx,
        reference="PNC-0010",
        display_name="X",
        category="suspect",
        images=[
            _spec(named, source_ref="custody:CR-77/1", case_outcome="acquitted"),  # R3
            _spec(named, source_ref="   "),  # R2: no custody source given
        ],
    )
    assert [r.rule for r in result.refused] == ["R3", "R2"]
    assert [r.image for r in result.refused] == [str(named)] * 2  # the caller still sees it
    log = _refused_log(ctx)
    assert [row.object_id for row in log] == ["PNC-0010:custody:CR-77/1", "PNC-0010:"]
    for row in log:
        assert "Jane_Doe" not in row.object_id and "Jane_Doe" not in (row.detail or "")
        assert "Jane_Doe" not in row.justification


def test_existing_subject_left_as_it_was_when_every_image_is_refused(ctx: AppContext) -> None:
    first = enrol_subject(
        ctx, reference="PNC-0011", display_name="X", category="suspect", images=[_spec(GOOD[0])]
    )
    assert first.subject_id is not None and len(first.enrolled) == 1
    audit_before = _count(ctx, AuditEntry)
    again = enrol_subject(
        ctx,
        reference="PNC-0011",
        display_name="X",
        category="mappa",  # a category change that nothing kept would justify
        images=[_spec(GOOD[1], case_outcome="discontinued")],
    )
    assert again.enrolled == [] and [r.rule for r in again.refused] == ["R3"]
    assert again.subject_id == first.subject_id
    with ctx.store.session() as s:
        subject = s.get(Subject, first.subject_id)
        assert subject is not None and subject.category == "suspect"
    assert _count(ctx, AuditEntry) == audit_before + 1  # the refusal only
    assert _count(ctx, ReferenceImage) == 1


def test_subject_created_with_the_first_image_kept(ctx: AppContext) -> None:
    """A refused image first, then a good one: the subject is written with the good one, and
    the log reads refusal, subject, image."""
    result = enrol_subject(
        ctx,
        reference="PNC-0012",
        display_name="Y",
        category="suspect",
        images=[_spec(GOOD[1], case_outcome="acquitted"), _spec(GOOD[0])],
    )
    assert [r.rule for r in result.refused] == ["R3"] and len(result.enrolled) == 1
    with ctx.store.session() as s:
        subject = s.scalar(select(Subject).where(Subject.reference == "PNC-0012"))
        assert subject is not None and result.subject_id == subject.id
        rows = s.execute(
            select(AuditEntry.event, AuditEntry.object_type).order_by(AuditEntry.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            ("collection_refused", "reference_image"),
            (None, "subject"),
            (None, "reference_image"),
        ]
        assert verify_audit(s).ok


def test_catch_all_category_refused_citing_r1_before_anything_is_written(ctx: AppContext) -> None:
    audit_before = _count(ctx, AuditEntry)
    with pytest.raises(RuleViolation) as exc:
        enrol_subject(
            ctx,
            reference="PNC-0003",
            display_name="X",
            category="intelligence interest",
            images=[_spec(GOOD[0])],
        )
    assert exc.value.rule == "R1"
    assert "R1" in str(exc.value) and "intelligence interest" in str(exc.value)
    assert _count(ctx, Subject) == 0
    assert _count(ctx, ReferenceImage) == 0
    assert _count(ctx, AuditEntry) == audit_before


@pytest.mark.parametrize("outcome", ["no_further_action", "acquitted", "discontinued"])
def test_not_convicted_image_refused_citing_r3(ctx: AppContext, outcome: str) -> None:
    result = enrol_subject(
        ctx,
        reference="PNC-0004",
        display_name="X",
        category="suspect",
        images=[_spec(GOOD[0], case_outcome=outcome)],
    )
    assert result.enrolled == []
    (refusal,) = result.refused
    assert refusal.rule == "R3" and "R3" in refusal.reason
    assert _count(ctx, ReferenceImage) == 0
    (logged,) = _refused_log(ctx)
    assert "R3" in (logged.detail or "")


def test_not_convicted_image_with_approved_exceptional_reason_is_enrolled(ctx: AppContext) -> None:
    result = enrol_subject(
        ctx,
        reference="PNC-0005",
        display_name="X",
        category="missing_vulnerable",
        images=[
            _spec(
                GOOD[0],
                case_outcome="no_further_action",
                exceptional_reason="missing person at risk of serious harm",
                exceptional_requested_by="DC Smith",
                exceptional_approved_by="Sgt Jones",
                exceptional_approver_role="supervisor",
            )
        ],
    )
    assert result.refused == []
    ((_, image_id),) = result.enrolled
    with ctx.store.session() as s:
        row = s.get(ReferenceImage, image_id)
        assert row is not None
        assert row.case_outcome == "no_further_action"
        assert row.exceptional_approved_by == "Sgt Jones"


def test_exceptional_reason_approved_by_the_requester_is_refused(ctx: AppContext) -> None:
    result = enrol_subject(
        ctx,
        reference="PNC-0006",
        display_name="X",
        category="suspect",
        images=[
            _spec(
                GOOD[0],
                case_outcome="acquitted",
                exceptional_reason="reason",
                exceptional_requested_by="Sgt Jones",
                exceptional_approved_by="sgt jones",
                exceptional_approver_role="supervisor",
            )
        ],
    )
    assert [r.rule for r in result.refused] == ["R3"]
    assert _count(ctx, ReferenceImage) == 0


def test_under_18_needs_a_recorded_reason_r4(ctx: AppContext) -> None:
    refused = enrol_subject(
        ctx,
        reference="PNC-0007",
        display_name="X",
        category="missing_vulnerable",
        images=[_spec(GOOD[0], age_at_capture=16)],
    )
    assert [r.rule for r in refused.refused] == ["R4"]
    assert "R4" in refused.refused[0].reason
    assert _count(ctx, ReferenceImage) == 0

    accepted = enrol_subject(
        ctx,
        reference="PNC-0007",
        display_name="X",
        category="missing_vulnerable",
        images=[_spec(GOOD[0], age_at_capture=16, under18_reason="missing child at risk")],
    )
    assert accepted.refused == [] and len(accepted.enrolled) == 1
    assert _count(ctx, ReferenceImage) == 1


def test_16_bit_greyscale_png_is_read_faithfully(ctx: AppContext, tmp_path: Path) -> None:
    from PIL import Image

    grey8 = np.asarray(Image.open(GOOD[0]).convert("L"))
    path = tmp_path / "deep.png"
    Image.fromarray(grey8.astype(np.uint16) * 257).save(path)  # same picture, 16 bits
    result = enrol_subject(
        ctx, reference="PNC-0008", display_name="X", category="suspect", images=[_spec(path)]
    )
    assert result.refused == [], result.refused[0].reason


def test_enrolling_the_same_picture_again_adds_nothing(ctx: AppContext) -> None:
    img = LFW / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg"
    spec = ImageSpec(img, source_ref="custody:1", lawful_basis="PACE", age_at_capture=40)
    first = enrol_subject(ctx, reference="S-1", display_name="S", category="suspect", images=[spec])
    again = enrol_subject(ctx, reference="S-1", display_name="S", category="suspect", images=[spec])
    assert len(first.enrolled) == len(again.enrolled) == 1 and again.refused == []
    assert again.enrolled[0][1] == first.enrolled[0][1] and again.subject_id == first.subject_id
    with ctx.store.session() as s:
        assert s.scalar(select(func.count()).select_from(ReferenceImage)) == 1
