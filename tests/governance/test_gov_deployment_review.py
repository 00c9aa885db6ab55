"""Issue 8: a draft that could never be authorised is refused when drafted, its sources are probed,
every drafting, amendment, authorisation, refusal, return and withdrawal is audited, and only an
authorised deployment holds its watchlist (R9)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from gov_support import CLIP, DEAD_URL, SUPT, World, audit_rows, draft
from sqlalchemy import func, select

from openlfr.domain import FieldViolation
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import (
    AuthorisationRefused,
    DraftRefused,
    amend_deployment,
    authorise_deployment,
    create_deployment,
    refuse_deployment,
    return_deployment,
    withdraw_deployment,
)
from openlfr.service.retention import purge
from openlfr.store import models as m
from openlfr.store import verify_audit


def _deployment(ctx: AppContext, dep_id: int) -> m.Deployment:
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None
        return dep


def _count_deployments(ctx: AppContext) -> int:
    with ctx.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(m.Deployment)) or 0)


def _empty_watchlist(ctx: AppContext) -> int:
    with ctx.store.session() as s:
        wl = m.Watchlist(name="empty", created_by="pc.tester", frozen=True, member_hash="ab" * 32)
        s.add(wl)
        s.flush()
        return wl.id


NOW_H = timedelta(hours=1)

# (what, changes to the draft, rule, field, fragment of the message)
REFUSED_DRAFTS: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("threshold below the floor", {"threshold": 0.3}, "R7", "threshold", "below the calibrated"),
    ("threshold above 1", {"threshold": 5.0}, "R7", "threshold", "not a cosine similarity"),
    (
        "a 744 h window",
        {"start": utcnow() + NOW_H, "end": utcnow() + NOW_H + 744 * NOW_H},
        "R5",
        "end",
        "744 h, longer than the 12 h maximum",
    ),
    (
        "an expired window",
        {"start": utcnow() - 3 * NOW_H, "end": utcnow() - NOW_H},
        "R5",
        "end",
        "in the past",
    ),
    ("a whitespace purpose", {"purpose": "  \t "}, "R5", "purpose", "purpose is not stated"),
    ("no camera", {"cameras": []}, "R5", "cameras", "no camera"),
    (
        "a camera named by a bare word",
        {"cameras": [("cam1", "just-a-name")]},
        "R5",
        "cameras",
        "just-a-name: no such video file",
    ),
    (
        "a missing video file",
        {"cameras": [("cam1", "/nonexistent/file.mp4")]},
        "R5",
        "cameras",
        "/nonexistent/file.mp4: no such video file",
    ),
    (
        "a file that is not a video",
        {"cameras": [("cam1", __file__)]},
        "R5",
        "cameras",
        "cannot open as video",
    ),
    (
        "a missing device",
        {"cameras": [("cam1", "/dev/video97")]},
        "R5",
        "cameras",
        "/dev/video97 does not exist",
    ),
    ("a URL without a host", {"cameras": [("cam1", "rtsp:///x")]}, "R5", "cameras", "no host"),
    ("an unknown watchlist", {"watchlist_id": 999}, "R6", "", "does not exist"),
    ("an empty watchlist", {"watchlist_id": -1}, "R6", "watchlist_id", "watchlist is empty"),
]


@pytest.mark.parametrize(
    ("changes", "rule", "field", "fragment"),
    [case[1:] for case in REFUSED_DRAFTS],
    ids=[case[0] for case in REFUSED_DRAFTS],
)
def test_a_draft_that_could_never_be_authorised_is_refused_when_drafted(
    ctx: AppContext,
    world: World,
    changes: dict[str, Any],
    rule: str,
    field: str,
    fragment: str,
) -> None:
    if changes.get("watchlist_id") == -1:
        changes = {**changes, "watchlist_id": _empty_watchlist(ctx)}
    before = _count_deployments(ctx)
    with pytest.raises(RuleViolation) as refused:
        create_deployment(ctx, draft(world.watchlist_id, **changes))
    found = refused.value.violations if isinstance(refused.value, DraftRefused) else [refused.value]
    assert [v.rule for v in found] == [rule], found
    assert fragment in str(found[0])
    if field:
        assert isinstance(found[0], FieldViolation) and found[0].field == field
    assert _count_deployments(ctx) == before  # nothing drafted
    [entry] = audit_rows(ctx, event="draft_refused") or audit_rows(
        ctx, event="consultation_refused"
    )
    assert entry.actor == "pc.tester" and entry.justification.startswith(f"refused ({rule})")


def test_a_url_is_checked_for_form_at_drafting_and_opened_at_authorisation(
    ctx: AppContext, world: World
) -> None:
    dep_id = create_deployment(ctx, draft(world.watchlist_id, cameras=[("north", DEAD_URL)]))
    with pytest.raises(AuthorisationRefused) as refused:
        authorise_deployment(ctx, dep_id, **SUPT, reasons="sightings")
    [violation] = refused.value.violations
    assert "camera 'north' cannot be used" in str(violation)
    assert "cannot be opened within" in str(violation)
    assert "secret" not in str(violation)  # credentials never reach a message or the log
    [entry] = audit_rows(ctx, event="authorisation_refused")
    assert "secret" not in entry.justification
    assert _deployment(ctx, dep_id).status == "draft"


def test_reasons_are_required_to_authorise(ctx: AppContext, world: World) -> None:
    dep_id = create_deployment(ctx, draft(world.watchlist_id))
    with pytest.raises(AuthorisationRefused) as refused:
        authorise_deployment(ctx, dep_id, **SUPT, reasons="   ")
    assert [getattr(v, "field", None) for v in refused.value.violations] == ["reasons"]


def _events(ctx: AppContext, dep_id: int) -> list[tuple[str | None, str, str]]:
    return [
        (e.event, e.action, e.actor)
        for e in audit_rows(ctx, object_type="deployment", object_id=str(dep_id))
    ]


def test_draft_return_amend_authorise_withdraw_each_audited(ctx: AppContext, world: World) -> None:
    dep_id = create_deployment(ctx, draft(world.watchlist_id))
    return_deployment(ctx, dep_id, officer="A Smith", reason="name the second camera")
    returned = _deployment(ctx, dep_id)
    assert returned.status == "returned" and returned.reviewed_by == "A Smith"
    assert returned.review_note == "name the second camera" and returned.reviewed_at is not None
    with pytest.raises(RuleViolation, match="returned: only one that is draft"):
        authorise_deployment(ctx, dep_id, **SUPT, reasons="sightings")  # not before amending

    cameras = [("cam1", str(CLIP)), ("cam2", str(CLIP))]
    amend_deployment(ctx, dep_id, draft(world.watchlist_id, cameras=cameras, threshold=0.55))
    amended = _deployment(ctx, dep_id)
    assert amended.status == "draft" and amended.threshold == 0.55
    with ctx.store.session() as s:
        names = s.scalars(select(m.Camera.name).where(m.Camera.deployment_id == dep_id))
        assert sorted(names) == ["cam1", "cam2"]

    authorise_deployment(
        ctx, dep_id, **SUPT, reasons="three sightings this week", conditions="stop at 4 pm"
    )
    done = _deployment(ctx, dep_id)
    assert done.status == "authorised" and done.authorised_by == "A Smith"
    assert done.authorisation_reasons == "three sightings this week"
    assert done.authorisation_conditions == "stop at 4 pm"
    with pytest.raises(RuleViolation, match="only one that is draft or returned"):
        amend_deployment(ctx, dep_id, draft(world.watchlist_id))  # authorised: no edits

    withdraw_deployment(ctx, dep_id, reason="the suspect was arrested elsewhere")
    assert _deployment(ctx, dep_id).status == "withdrawn"
    assert _events(ctx, dep_id) == [
        (event, "consultation", "pc.tester")
        for event in (
            "deployment_drafted",
            "deployment_returned",
            "authorisation_refused",
            "deployment_amended",
            "deployment_authorised",
            "notice_published",  # R19: authorising puts up the public notice
            "amendment_refused",
            "deployment_withdrawn",
        )
    ]
    [authorised] = audit_rows(ctx, event="deployment_authorised")
    assert "A Smith: three sightings this week; conditions: stop at 4 pm" in (
        authorised.justification
    )
    [withdrawn] = audit_rows(ctx, event="deployment_withdrawn")
    assert withdrawn.justification.endswith("the suspect was arrested elsewhere")
    with ctx.store.session() as s:
        assert verify_audit(s).ok


def test_a_refusal_is_final_and_needs_a_reason(ctx: AppContext, world: World) -> None:
    dep_id = create_deployment(ctx, draft(world.watchlist_id))
    with pytest.raises(FieldViolation) as blank:
        refuse_deployment(ctx, dep_id, officer="A Smith", reason=" ")
    assert blank.value.field == "reason"
    refuse_deployment(ctx, dep_id, officer="A Smith", reason="not proportionate")
    dep = _deployment(ctx, dep_id)
    assert dep.status == "refused" and dep.review_note == "not proportionate"
    for attempt in (
        lambda: authorise_deployment(ctx, dep_id, **SUPT, reasons="x"),
        lambda: amend_deployment(ctx, dep_id, draft(world.watchlist_id)),
        lambda: withdraw_deployment(ctx, dep_id, reason="x"),
        lambda: return_deployment(ctx, dep_id, officer="A Smith", reason="x"),
    ):
        with pytest.raises(RuleViolation, match="is refused"):
            attempt()
    [entry] = audit_rows(ctx, event="deployment_refused")
    assert entry.justification == "refused by A Smith: not proportionate"


@pytest.mark.parametrize("fate", ["draft", "refused", "returned", "withdrawn"])
def test_only_an_authorised_deployment_holds_its_watchlist(
    ctx: AppContext, world: World, fate: str
) -> None:
    """R9: the world's deployment ended long ago; a later deployment on the same snapshot
    that was never authorised (or was withdrawn) must not keep it from being purged."""
    dep_id = create_deployment(ctx, draft(world.watchlist_id, end=utcnow() + 12 * NOW_H))
    if fate == "refused":
        refuse_deployment(ctx, dep_id, officer="A Smith", reason="not needed")
    elif fate == "returned":
        return_deployment(ctx, dep_id, officer="A Smith", reason="say more")
    elif fate == "withdrawn":  # even one that was authorised first
        authorise_deployment(ctx, dep_id, **SUPT, reasons="sightings")
        withdraw_deployment(ctx, dep_id, reason="not needed")
    done = purge(ctx, now=utcnow())
    assert ("watchlist", world.watchlist_id) in [(st.kind, st.ref) for st in done.steps]


def test_an_authorised_deployment_still_holds_its_watchlist(ctx: AppContext, world: World) -> None:
    dep_id = create_deployment(ctx, draft(world.watchlist_id))
    authorise_deployment(ctx, dep_id, **SUPT, reasons="sightings")
    done = purge(ctx, now=utcnow())
    assert "watchlist" not in [st.kind for st in done.steps]


def test_a_draft_whose_watchlist_was_purged_meanwhile_cannot_be_authorised(
    ctx: AppContext, world: World
) -> None:
    dep_id = create_deployment(ctx, draft(world.watchlist_id))
    purge(ctx, now=utcnow())  # the draft does not hold it (R9)
    with pytest.raises(RuleViolation) as refused:
        authorise_deployment(ctx, dep_id, **SUPT, reasons="sightings")
    assert refused.value.rule == "R9" and "compile a new one" in str(refused.value)
    [entry] = audit_rows(ctx, event="authorisation_refused")
    assert entry.object_id == str(dep_id)
