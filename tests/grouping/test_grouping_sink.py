"""Grouping in the store: the same person seen again on the same deployment joins the pending
alert as a sealed sighting; decided alerts, other people, other deployments, an expired window
and window 0 all raise new alerts. Two cameras racing make one alert. Purge takes the
sightings' crops with the alert's; the record counts alerts and sightings apart."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from grouping_support import PEOPLE, Sinks, deployment, enrol, lfw, open_ctx
from sqlalchemy import select, update

from openlfr.config import StoreSettings
from openlfr.service.alerts import adjudicate
from openlfr.service.context import AppContext, utcnow
from openlfr.service.record_sightings import section
from openlfr.service.retention import purge
from openlfr.store import models as m
from openlfr.store import verify_audit
from openlfr.store.models_sightings import AlertSighting
from openlfr.vision.protocols import Detector, Embedder

G1, G2 = PEOPLE[0][0], PEOPLE[1][0]


@pytest.fixture
def ctx(store_settings: StoreSettings, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    context = open_ctx(store_settings, models)
    enrol(context, [(ref, lfw(name)) for ref, name in PEOPLE])
    try:
        yield context
    finally:
        context.close()


def _events(ctx: AppContext, event: str) -> list[m.AuditEntry]:
    with ctx.store.session() as s:
        rows = list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == event)))
        s.expunge_all()
        return rows


def test_same_person_on_two_cameras_is_one_alert_with_sealed_sightings(ctx: AppContext) -> None:
    run = Sinks.of(ctx, deployment(ctx, "Op Group"))
    run.raise_(0, 1, G1, 0.71)
    run.raise_(1, 7, G1, 0.80, shade=60)  # the other camera, another track
    run.raise_(0, 2, G1, 0.65, shade=200)  # back on the first camera

    [alert] = run.alerts()
    first, second, third = run.sightings(alert.id)
    assert [x.camera_id for x in (first, second, third)] == [
        run.sinks[0]._cam,
        run.sinks[1]._cam,
        run.sinks[0]._cam,
    ]
    assert [x.score for x in (first, second, third)] == pytest.approx([0.71, 0.80, 0.65])
    assert alert.score == pytest.approx(0.71)  # the alert row is what raised it
    # The first sighting's crop is the probe crop, not stored twice; the others are sealed.
    assert first.crop_blob is None and alert.probe_crop_blob
    for later in (second, third):
        assert later.crop_blob and not later.crop_blob.startswith(b"\xff\xd8")  # not a bare JPEG
        assert ctx.store.unseal(later, "crop_blob").startswith(b"\xff\xd8")
    assert run.sinks[0].alert_ids == {1: alert.id}
    assert run.sinks[1].sighting_of == {7: alert.id} and run.sinks[0].sighting_of == {2: alert.id}
    # Each sighting is a collection, audited, naming the alert it joined.
    added = _events(ctx, "alert_sighting_added")
    assert sorted(int(e.object_id) for e in added) == [second.id, third.id]
    assert all(e.action == "collection" for e in added)
    assert len(_events(ctx, "alert_raised")) == 1
    with ctx.store.session() as s:
        assert verify_audit(s).ok


def test_other_person_other_deployment_decided_or_expired_raise_new_alerts(
    ctx: AppContext,
) -> None:
    run = Sinks.of(ctx, deployment(ctx, "Op One"))
    other = Sinks.of(ctx, deployment(ctx, "Op Two"))
    run.raise_(0, 1, G1)
    run.raise_(0, 2, G2)  # another person: an alert of their own
    other.raise_(0, 1, G1)  # same person, another deployment: its own alert
    assert [a.subject_id for a in run.alerts()] == [e.subject_id for e in run.entries[:2]]
    assert len(other.alerts()) == 1

    first = run.alerts()[0]
    adjudicate(ctx, first.id, "false_alert", "not the person")
    run.raise_(1, 3, G1)  # decided alerts are closed
    assert len(run.alerts()) == 3

    newest = run.alerts()[-1]
    with ctx.store.session() as s:  # its only sighting 11 minutes ago: past the 10 min window
        s.execute(
            update(AlertSighting)
            .where(AlertSighting.alert_id == newest.id)
            .values(seen_at=utcnow() - timedelta(minutes=11))
        )
    run.raise_(1, 4, G1)
    assert len(run.alerts()) == 4
    run.raise_(0, 5, G1)  # and within the window of the newest: joins it
    assert len(run.alerts()) == 4 and len(run.sightings(run.alerts()[-1].id)) == 2


def test_window_zero_keeps_every_alert_separate(
    store_settings: StoreSettings, models: tuple[Detector, Embedder]
) -> None:
    ctx = open_ctx(store_settings, models, window_s=0)
    try:
        enrol(ctx, [(ref, lfw(name)) for ref, name in PEOPLE])
        run = Sinks.of(ctx, deployment(ctx, "Op Apart"))
        for track in (1, 2, 3):
            run.raise_(track % 2, track, G1)
        alerts = run.alerts()
        assert len(alerts) == 3
        assert [len(run.sightings(a.id)) for a in alerts] == [1, 1, 1]
    finally:
        ctx.close()


def test_two_cameras_racing_make_one_alert(ctx: AppContext) -> None:
    run = Sinks.of(ctx, deployment(ctx, "Op Race"))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def camera(cam: int) -> None:
        try:
            start.wait()
            for track in range(3):
                run.raise_(cam, 100 * cam + track, G1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=camera, args=(c,)) for c in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    [alert] = run.alerts()
    assert len(run.sightings(alert.id)) == 6


def test_purge_takes_sighting_crops_and_the_record_counts_both(ctx: AppContext) -> None:
    dep_id = deployment(ctx, "Op Purge")
    run = Sinks.of(ctx, dep_id)
    run.raise_(0, 1, G1)
    run.raise_(1, 2, G1)
    run.raise_(0, 3, G1)
    run.raise_(0, 4, G2)
    grouped, single = run.alerts()
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None
        assert section(s, dep) == {"sightings": {"alerts": 2, "sightings": 4, "grouped_alerts": 1}}
    assert sum(x.crop_blob is not None for x in run.sightings(grouped.id)) == 2

    later = utcnow() + timedelta(days=ctx.settings.governance.alert_retention_days + 1)
    report = purge(ctx, now=later)
    purged = {int(s.ref) for s in report.steps if s.kind == "alert" and s.done}
    assert purged >= {grouped.id, single.id}
    assert all(x.crop_blob is None for x in run.sightings(grouped.id))
    assert len(run.sightings(grouped.id)) == 3  # the rows stay, for the counts
    [erasure] = [e for e in _events(ctx, "alert_data_purged") if int(e.object_id) == grouped.id]
    assert json.loads(erasure.detail or "{}")["sighting_crops"] == 2
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None
        assert section(s, dep)["sightings"] == {"alerts": 2, "sightings": 4, "grouped_alerts": 1}
    with ctx.store.session() as s:
        assert verify_audit(s).ok


def test_the_published_record_shows_alerts_and_sightings(ctx: AppContext) -> None:
    from openlfr.reports.model import public_record
    from openlfr.reports.render import record_html, record_json
    from openlfr.service.records import deployment_record

    dep_id = deployment(ctx, "Op Record")
    run = Sinks.of(ctx, dep_id)
    for cam, track in ((0, 1), (1, 2), (0, 3)):
        run.raise_(cam, track, G1)
    record = public_record(deployment_record(ctx, dep_id))
    assert record.alerts == 1
    assert record.sections["sightings"] == {"alerts": 1, "sightings": 3, "grouped_alerts": 1}
    html = record_html(record)
    assert "Alerts and sightings" in html and "<td>3</td>" in html
    assert json.loads(record_json(record))["sections"]["sightings"]["sightings"] == 3
    assert G1 not in html  # publishable numbers only
