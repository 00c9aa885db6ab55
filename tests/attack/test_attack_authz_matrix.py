"""The authorisation matrix: every operation in the app's OpenAPI schema x every role x no,
forged, expired and revoked credentials, against the expected allow/deny written below from the
separation of duties (DESIGN.md §3), not read from the code under test.

A route missing from POLICY fails the test: a new route must be classified before it ships.
Ids in paths name no row (MISSING_ID), so an allowed call is answered 404/422 and changes
nothing; the refusals (401 for a bad credential, 403 for a role) come before any lookup.
"""

from __future__ import annotations

import re

from openlfr.api.schema import openapi_schema
from tests.attack.conftest import BAD_CREDENTIALS, ROLES, World

OP, SUP, AO, AUD, ADM, INV = (
    "operator", "supervisor", "authorising_officer", "auditor", "admin", "investigator",
)  # fmt: skip
PUBLIC = "public"  # anyone, logged in or not
ANY_ACCOUNT = "any account"  # every role, but a credential is needed
MISSING_ID = "2147483647"

POLICY: dict[str, str | set[str]] = {
    "POST /api/token": PUBLIC,
    "POST /api/token/revoke": ANY_ACCOUNT,
    "GET /api/me": ANY_ACCOUNT,
    # The operator decides alerts; only they see the faces side by side.
    "GET /api/alerts": {OP},
    "GET /api/alerts/{alert_id}/{which}.jpg": {OP},
    "GET /api/alerts/{alert_id}/sightings": {OP},
    "GET /api/alerts/{alert_id}/sightings/{sighting_id}.jpg": {OP},
    "POST /api/alerts/{alert_id}/adjudicate": {OP},
    "POST /api/alerts/{alert_id}/outcome": {OP},
    "GET /api/live": {OP, SUP},
    "POST /api/deployments/{deployment_id}/start": {OP, SUP},
    "POST /api/deployments/{deployment_id}/stop": {OP, SUP},
    "GET /metrics": {AUD, ADM},
    # The supervisor drafts, the authorising officer decides (never the same account).
    "GET /api/deployments/{deployment_id}/brief": {SUP, AO},
    "POST /api/deployments/{deployment_id}/authorise": {AO},
    "POST /api/deployments/{deployment_id}/refuse": {AO},
    "POST /api/deployments/{deployment_id}/return": {AO},
    "POST /api/deployments/{deployment_id}/withdraw": {SUP},
    "PUT /api/deployments/{deployment_id}": {SUP},
    "POST /api/deployments/{deployment_id}": {SUP},
    "GET /api/deployments": {OP, SUP, AO, AUD},
    "POST /api/deployments": {SUP},
    "GET /api/deployments/{deployment_id}/record": {SUP, AO, AUD},
    "GET /api/watchlists": {SUP, AO},
    "POST /api/watchlists": {SUP},
    "GET /api/subjects": {SUP},
    "POST /api/subjects": {SUP},
    "GET /api/exceptional": {SUP},
    "POST /api/exceptional": {SUP},
    "POST /api/exceptional/{request_id}/{verdict}": {SUP},
    # The admin manages accounts and sees no face, alert or deployment detail.
    "GET /api/users": {ADM},
    "POST /api/users": {ADM},
    "GET /api/users/grants": {ADM},
    "POST /api/users/{username}/password": {ADM},
    "POST /api/users/{username}/grant": {ADM},
    "POST /api/users/{username}/{action}": {ADM},
    "GET /api/audit": {AUD},
    # Retrospective search of custody images: the investigator alone (issue 11).
    "POST /api/search": {INV},
    "GET /api/search/{search_id}/candidates/{rank}/image": {INV},
}
PUBLIC_PREFIX = "/public"  # the transparency pages and records: no log-in, by design


def _expected(key: str, identity: str) -> str:
    rule = PUBLIC if key.split(" ", 1)[1].startswith(PUBLIC_PREFIX) else POLICY[key]
    if rule == PUBLIC:
        return "allow"
    if identity in BAD_CREDENTIALS:
        return "401"
    if rule == ANY_ACCOUNT or identity in rule:
        return "allow"
    return "403"


def _url(path: str) -> str:
    values = {"which": "probe", "verdict": "approve", "action": "disable", "username": "nobody"}
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), MISSING_ID), path)


def _outcome(status: int) -> str:
    if status >= 500:
        return f"server error {status}"
    return str(status) if status in (401, 403) else "allow"


def test_every_route_admits_exactly_its_roles(world: World) -> None:
    schema = openapi_schema(world.client.app)  # type: ignore[arg-type]
    keys = [f"{m.upper()} {p}" for p, ops in schema["paths"].items() for m in ops]
    unclassified = [
        k for k in keys if k not in POLICY and not k.split(" ")[1].startswith("/public")
    ]
    assert not unclassified, f"routes with no expected roles in POLICY: {unclassified}"
    stale = sorted(set(POLICY) - set(keys))
    assert not stale, f"POLICY names routes the app no longer has: {stale}"
    # Revocation last: it ends the credential it is called with.
    keys.sort(key=lambda k: k == "POST /api/token/revoke")
    identities = [*ROLES, *BAD_CREDENTIALS]
    wrong, checked = [], 0
    for key in keys:
        method, path = key.split(" ", 1)
        for identity in identities:
            r = world.client.request(
                method, _url(path), headers=world.identity(identity),
                json={} if method != "GET" else None,
            )  # fmt: skip
            checked += 1
            got, want = _outcome(r.status_code), _expected(key, identity)
            if got != want:
                wrong.append(f"{key} as {identity}: expected {want}, got {got} ({r.text[:120]})")
    assert checked == len(keys) * len(identities)
    assert not wrong, f"{len(wrong)} of {checked} calls answered wrongly:\n" + "\n".join(wrong)


def test_a_role_missing_from_the_policy_would_be_caught(world: World) -> None:
    """The matrix can fail: a supervisor calling an admin-only route is a 403, and the
    expectation for it says so (were the route opened to supervisors, the main test fails)."""
    r = world.client.get("/api/users", headers=world.identity(SUP))
    assert r.status_code == 403 and _expected("GET /api/users", SUP) == "403"
    assert _expected("GET /api/users", "expired") == "401"
