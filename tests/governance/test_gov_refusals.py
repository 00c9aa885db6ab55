"""Every refusal cites its rule, exits 2 from the CLI and is audited (issue 3, item 5).

No s62 verb means "refused", so a refusal is logged under the verb of the processing that was
attempted, with an event that says it was refused (see openlfr/service/refusals.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from gov_support import RAISED, World, audit_rows, cli, draft, login_env

from openlfr.errors import RuleViolation
from openlfr.service.alerts import adjudicate, alert_images, record_outcome
from openlfr.service.case_outcomes import record_case_outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import authorise_deployment, create_deployment
from openlfr.service.retention import purge
from openlfr.service.runs import run_deployment
from openlfr.service.watchlist_members import watchlist_members
from openlfr.service.watchlists import compile_watchlist, load_gallery
from openlfr.store import verify_audit

Attempt = Callable[[AppContext, World, int], object]


CASES: list[tuple[str, Attempt, str, str, str, str]] = [
    # (what, attempt, rule, action, event, object id: "draft" = the draft's id)
    (
        "authorised by an inspector",
        lambda c, w, d: authorise_deployment(
            c, d, officer="B Jones", rank="inspector", reasons="sightings"
        ),
        "R5",
        "consultation",
        "authorisation_refused",
        "draft",
    ),
    (
        "run before authorisation",
        lambda c, w, d: run_deployment(c, d),
        "R5",
        "consultation",
        "run_refused",
        "draft",
    ),
    (
        "deployment without a camera",
        lambda c, w, d: create_deployment(c, draft(w.watchlist_id, name="Op", cameras=[])),
        "R5",
        "consultation",
        "draft_refused",
        "draft:Op",
    ),
    (
        "deployment on a purged watchlist",
        lambda c, w, d: (
            # Now, while the draft made by the test is still pending: a draft never searches
            # the watchlist, so only the world's deployment (ended long ago) holds it (R9).
            purge(c, now=utcnow()),
            create_deployment(c, draft(w.watchlist_id, name="Op")),
        ),
        "R9",
        "consultation",
        "draft_refused",
        "draft:Op",
    ),
    (
        "watchlist naming someone not enrolled",
        lambda c, w, d: compile_watchlist(c, "Op X", ["PNC-NOBODY"]),
        "R6",
        "combination",
        "combination_refused",
        "Op X",
    ),
    (
        "search of a watchlist that does not exist",
        lambda c, w, d: load_gallery(c, 999, justification="test"),
        "R6",
        "consultation",
        "consultation_refused",
        "999",
    ),
    (
        "adjudication without a reason",
        lambda c, w, d: adjudicate(c, w.alerts[("pending", None)], "false_alert", " "),
        "R13",
        "alteration",
        "alteration_refused",
        "pending",
    ),
    (
        "outcome of an unconfirmed alert",
        lambda c, w, d: record_outcome(c, w.alerts[("pending", None)], "arrested"),
        "R13",
        "alteration",
        "alteration_refused",
        "pending",
    ),
    (
        "case outcome that is not one",
        lambda c, w, d: record_case_outcome(c, "CUST-G1", "found guilty-ish"),
        "R11",
        "alteration",
        "alteration_refused",
        "CUST-G1",
    ),
    (
        "members of a watchlist that does not exist",
        lambda c, w, d: watchlist_members(c, 999, justification="test"),
        "R16",
        "consultation",
        "consultation_refused",
        "999",
    ),
]


@pytest.mark.parametrize(
    ("attempt", "rule", "action", "event", "object_id"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_refusal_cites_its_rule_and_is_audited_once(
    ctx: AppContext,
    world: World,
    attempt: Attempt,
    rule: str,
    action: str,
    event: str,
    object_id: str,
) -> None:
    draft_id = create_deployment(ctx, draft(world.watchlist_id))
    with pytest.raises(RuleViolation) as refused:
        attempt(ctx, world, draft_id)
    assert refused.value.rule == rule
    [entry] = audit_rows(ctx, event=event)  # once, even when raised in a nested use-case
    assert entry.action == action and entry.actor == "pc.tester"
    expected = {"draft": str(draft_id), "pending": str(world.alerts[("pending", None)])}
    assert entry.object_id == expected.get(object_id, object_id)
    assert entry.justification.startswith(f"refused ({rule}): ")
    assert entry.detail == f'{{"rule":"{rule}"}}'
    with ctx.store.session() as s:
        assert verify_audit(s).ok


def test_purged_alert_images_are_refused_citing_the_rule(ctx: AppContext, world: World) -> None:
    purge(ctx, now=RAISED + timedelta(days=31))
    with pytest.raises(RuleViolation) as purged:
        alert_images(ctx, world.alerts[("false_alert", None)], justification="complaint")
    assert purged.value.rule == "R10"
    # A kept alert whose reference image was erased under R11 refuses cleanly, not with a
    # decryption error.
    record_case_outcome(ctx, "CUST-G1", "acquitted")
    purge(ctx, now=RAISED + timedelta(days=31))
    with pytest.raises(RuleViolation) as erased:
        alert_images(ctx, world.alerts[("confirmed", "arrested")], justification="court")
    assert erased.value.rule == "R11"
    assert len(audit_rows(ctx, event="consultation_refused")) == 2


def test_cli_refusal_exits_2_names_the_rule_and_is_audited(
    ctx: AppContext, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    draft_id = create_deployment(ctx, draft(world.watchlist_id))
    # The rank is the account's: a chief inspector's account cannot authorise (R5).
    env = login_env(ctx, "ch.insp", "authorising_officer", rank="chief inspector")
    result = cli(
        ctx, monkeypatch,
        ["deployment", "authorise", str(draft_id), "--reasons", "sightings reported"], env,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "refused (R5)" in result.stderr and "below the minimum" in result.stderr
    [entry] = audit_rows(ctx, event="authorisation_refused")
    assert entry.actor == "ch.insp" and entry.object_id == str(draft_id)
