"""Issue 9, insider edits 1 and 2: rows that decide who is alerted on, or how, edited in SQL.

Each test builds a real store (SQLite file / PostgreSQL schema) through the service with the
real models, then edits it as a database administrator would, without the key files, and
checks that `openlfr audit verify` exits 1 naming the row, and that the row is refused where
it is used: the run does not start, the gallery does not load, no alert names anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from insider_support import CLIP, cli, enrol, open_ctx, sql, verify
from insider_support import authorised as authorise
from sqlalchemy import func, select

from openlfr.config import StoreSettings
from openlfr.errors import RuleViolation
from openlfr.service.case_outcomes import record_case_outcome
from openlfr.service.context import AppContext
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.runs import run_deployment
from openlfr.service.watchlists import compile_watchlist, load_gallery
from openlfr.store import models as m
from openlfr.store.integrity import IntegrityViolation
from openlfr.vision.protocols import Detector, Embedder


def _clip_frame(number: int = 60) -> bytes:
    """A frame of the clip the deployment plays: the person on it is then alerted on."""
    cap = cv2.VideoCapture(str(CLIP))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, number)
        ok, frame = cap.read()
    finally:
        cap.release()
    assert ok, f"cannot read frame {number} of {CLIP}"
    ok, jpeg = cv2.imencode(".jpg", frame)
    assert ok
    return jpeg.tobytes()


@pytest.fixture
def ctx(
    store_settings: StoreSettings, models: tuple[Detector, Embedder], shared_data: Path
) -> Iterator[AppContext]:
    context = open_ctx(store_settings, models)
    yield context
    context.close()


@pytest.fixture
def scene(ctx: AppContext) -> dict[str, int]:
    """The person on the clip (KH), an innocent person (GUL), a watchlist of both, and an
    authorised deployment on the clip."""
    spec = ImageSpec(
        path=Path("clip-frame-60.jpg"),
        source_ref="CUST-KH",
        lawful_basis="PACE s64A",
        case_outcome="charged",
        age_at_capture=40,
        data=_clip_frame(),
    )
    result = enrol_subject(ctx, reference="PNC-KH", display_name="KH", category="suspect",
                           images=[spec])  # fmt: skip
    assert not result.refused, result.refused
    [(_, kh_image)] = result.enrolled
    gul_image = enrol(ctx, "PNC-GUL", "Abdullah_Gul")
    wl = compile_watchlist(ctx, "Operation Insider")
    dep_id = authorise(ctx, wl.id, [("cam1", CLIP)])
    with ctx.store.session() as s:
        ids = {r: s.scalar(select(m.Subject.id).where(m.Subject.reference == r))
               for r in ("PNC-KH", "PNC-GUL")}  # fmt: skip
    assert ids["PNC-KH"] and ids["PNC-GUL"]
    return {"kh_image": kh_image, "gul_image": gul_image, "kh": int(ids["PNC-KH"]),
            "gul": int(ids["PNC-GUL"]), "watchlist": wl.id, "deployment": dep_id}  # fmt: skip


def _alerts(ctx: AppContext) -> list[tuple[int, int]]:
    with ctx.store.session() as s:
        return [(a.subject_id, a.reference_image_id) for a in s.scalars(select(m.Alert))]


def _refusals(ctx: AppContext, event: str) -> int:
    with ctx.store.session() as s:
        q = select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.event == event)
        return int(s.scalar(q) or 0)


def test_an_intact_store_verifies_and_says_what_it_checked(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = verify(ctx.settings.store, monkeypatch)
    assert result.exit_code == 0, result.output
    with ctx.store.session() as s:
        rows = s.scalar(select(func.count()).select_from(m.AuditEntry))
        # 2 subjects + 2 images + 1 watchlist + 1 authorisation, each with its binding.
        bound = s.scalar(select(func.count()).select_from(m.models_integrity.IntegrityBinding))
    assert f"{rows} rows" in result.output and f"{bound} bindings checked" in result.output
    assert bound == 6


@pytest.mark.slow
def test_an_honest_run_alerts_on_the_person_on_the_clip(
    ctx: AppContext, scene: dict[str, int]
) -> None:
    """The baseline the edits below are measured against: the run raises alerts, and they
    name the person whose image it is. (If this fails the insider tests prove nothing.)"""
    run_deployment(ctx, scene["deployment"])
    alerts = _alerts(ctx)
    assert alerts, "the clip's person was not alerted on: the scene is wrong"
    assert set(alerts) == {(scene["kh"], scene["kh_image"])}


def test_an_image_moved_to_an_innocent_person_is_refused_and_reported(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ctx.settings.store
    sql(settings, "UPDATE reference_images SET subject_id = :gul WHERE id = :img",
        gul=scene["gul"], img=scene["kh_image"])  # fmt: skip
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1, result.output
    assert f"reference_image {scene['kh_image']} does not match" in result.output
    # The run refuses before anything is searched: no alert names the innocent person.
    with pytest.raises(RuleViolation, match=f"reference_image {scene['kh_image']}"):
        run_deployment(ctx, scene["deployment"])
    assert _alerts(ctx) == []
    assert _refusals(ctx, "run_refused") == 1
    with pytest.raises(IntegrityViolation):  # and any other search of the watchlist
        load_gallery(ctx, scene["watchlist"], justification="test")


def test_a_watchlist_entry_pointed_at_another_person_is_refused(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ctx.settings.store
    sql(settings, "UPDATE watchlist_entries SET subject_id = :gul WHERE reference_image_id = :img",
        gul=scene["gul"], img=scene["kh_image"])  # fmt: skip
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1 and f"watchlist {scene['watchlist']}" in result.output
    with pytest.raises(IntegrityViolation, match="watchlist"):
        run_deployment(ctx, scene["deployment"])
    assert _alerts(ctx) == []


@pytest.mark.parametrize(
    "edit",
    [
        "threshold = 0.05",
        "authoriser_rank = 'chief_constable', authorised_by = 'Someone Else'",
        "threshold = 0.05, authoriser_rank = 'chief_constable', authorised_by = 'Someone Else'",
        None,  # the window stretched
    ],
    ids=["threshold", "rank-and-officer", "all-three", "window"],
)
def test_a_forged_authorisation_is_refused_by_the_run_and_reported(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch, edit: str | None
) -> None:
    settings = ctx.settings.store
    if edit is None:  # a day longer, written as each backend stores it (naive UTC on SQLite)
        with ctx.store.session() as s:
            dep = s.get(m.Deployment, scene["deployment"])
            assert dep is not None
            later = dep.end_at + timedelta(days=1)
        value = later.replace(tzinfo=None) if settings.database_url is None else later
        sql(settings, "UPDATE deployments SET end_at = :later WHERE id = :id",
            later=value, id=scene["deployment"])  # fmt: skip
    else:
        sql(settings, f"UPDATE deployments SET {edit} WHERE id = :id", id=scene["deployment"])
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1, result.output
    assert f"deployment {scene['deployment']} does not match" in result.output
    with pytest.raises(RuleViolation, match=f"deployment {scene['deployment']}") as refused:
        run_deployment(ctx, scene["deployment"])
    assert refused.value.rule == "R5"
    assert _alerts(ctx) == []
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, scene["deployment"])
        assert dep is not None and dep.status == "authorised"  # never went live


def test_a_camera_redirected_after_authorisation_is_refused(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sql(ctx.settings.store, "UPDATE cameras SET source = 'rtsp://elsewhere/x' WHERE "
        "deployment_id = :id", id=scene["deployment"])  # fmt: skip
    assert verify(ctx.settings.store, monkeypatch).exit_code == 1
    with pytest.raises(IntegrityViolation, match="deployment"):
        run_deployment(ctx, scene["deployment"])


def test_a_subjects_category_or_name_forged_is_refused(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    sql(ctx.settings.store, "UPDATE subjects SET display_name = 'Innocent Person' WHERE id = :id",
        id=scene["kh"])  # fmt: skip
    result = verify(ctx.settings.store, monkeypatch)
    assert result.exit_code == 1 and f"subject {scene['kh']} does not match" in result.output
    with pytest.raises(IntegrityViolation, match=f"subject {scene['kh']}"):
        load_gallery(ctx, scene["watchlist"], justification="test")


def test_an_ineligible_image_made_eligible_again_in_sql_is_refused(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through the service: the case ends in acquittal, the image is withdrawn and re-bound...
    record_case_outcome(ctx, "CUST-PNC-GUL", "acquitted", reason="court result received")
    assert verify(ctx.settings.store, monkeypatch).exit_code == 0
    # ...then the insider puts the outcome and the withdrawal back.
    sql(ctx.settings.store, "UPDATE reference_images SET case_outcome = 'charged', "
        "withdrawn_at = NULL WHERE id = :id", id=scene["gul_image"])  # fmt: skip
    result = verify(ctx.settings.store, monkeypatch)
    assert result.exit_code == 1 and f"reference_image {scene['gul_image']}" in result.output


def test_a_weak_images_measure_raised_in_sql_is_reported(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mirror agreement decides only advice (the weak-reference warning), but an insider
    who edits it to hide that warning is seen all the same."""
    sql(ctx.settings.store, "UPDATE reference_images SET mirror_agreement = 0.999 WHERE id = :id",
        id=scene["gul_image"])  # fmt: skip
    result = verify(ctx.settings.store, monkeypatch)
    assert result.exit_code == 1 and f"reference_image {scene['gul_image']}" in result.output


def test_the_image_digest_is_keyed(ctx: AppContext, scene: dict[str, int]) -> None:
    """A plain SHA-256 of the image would let anyone with a candidate photo confirm that the
    person is enrolled; the stored digest cannot be recomputed without the key."""
    import hashlib

    with ctx.store.session() as s:
        img = s.get(m.ReferenceImage, scene["gul_image"])
        assert img is not None
        data = ctx.store.unseal(img, "image_blob")
        assert img.image_sha256 != hashlib.sha256(data).hexdigest()
        assert ctx.store.keys is not None
        assert img.image_sha256 == ctx.store.keys.keyed_digest(data)


def test_backfill_after_an_upgrade_is_once_and_audited(
    ctx: AppContext, scene: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ctx.settings.store
    # As migration 0007 leaves a database that held rows: bindings pending.
    sql(settings, "DELETE FROM integrity_bindings", "UPDATE integrity_state SET "
        "backfill_pending = :t", t=True)  # fmt: skip
    pending = verify(settings, monkeypatch)
    assert pending.exit_code == 1 and "audit backfill" in pending.output
    with pytest.raises(IntegrityViolation, match="no integrity binding"):
        run_deployment(ctx, scene["deployment"])
    from openlfr.service.accounts import create_account
    from openlfr.service.sessions import issue_session
    from openlfr.store.models_accounts import SessionKind

    account = create_account(ctx.store, username="admin1", password="correct horse battery",
                             role="admin", display_name="Admin", rank=None,
                             created_by="test")  # fmt: skip
    token, _ = issue_session(ctx.store, int(account), SessionKind.BEARER, 1.0, "test")
    monkeypatch.setenv("OPENLFR_TOKEN", token)
    done = cli(settings, monkeypatch, "audit", "backfill", "--reason", "upgrade to 0007")
    assert done.exit_code == 0, done.output
    assert verify(settings, monkeypatch).exit_code == 0
    again = cli(settings, monkeypatch, "audit", "backfill", "--reason", "again")
    assert again.exit_code == 2 and "no backfill is pending" in again.output
    # An insider who re-opens the backfill to have edits blessed leaves a second one in the log.
    sql(settings, "UPDATE integrity_state SET backfill_pending = :t", t=True)
    assert cli(settings, monkeypatch, "audit", "backfill", "--reason", "x").exit_code == 0
    twice = verify(settings, monkeypatch)
    assert twice.exit_code == 1 and "2 backfills" in twice.output
