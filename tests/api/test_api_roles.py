"""The role matrix: every route x every role (and nobody) -> the expected status.

Each role sees only what its work needs: an auditor reads the audit log and records but never a
face; an operator reviews alerts and their images; a supervisor drafts, composes watchlists and
approves exceptional reasons; an authorising officer authorises; an admin manages accounts.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from suite import SHARED_DATA

ROLES = ["operator", "supervisor", "authorising_officer", "auditor", "admin"]
#: Drafting probes sources (issue 8): a camera must be a video that decodes.
CLIP = str(SHARED_DATA / "video" / "WDA_KatieHill_000.mp4")
SUBJECT_REF = "SUBJ-SECRET-0042"  # the seeded subject (conftest.seeded)

OP, SUP, AUTH, AUD, ADM = ROLES
ALL = set(ROLES)
pytestmark = pytest.mark.usefixtures("shared_data")


def _routes(s: Any) -> list[tuple[str, str, Any, set[str], int]]:
    """(method, path, json body, roles allowed, status expected for an allowed role)."""
    a, d, w = s.alert_id, s.deployment_id, s.watchlist_id
    draft = {
        "name": "Op New", "purpose": "p", "location": "l", "location_reason": "r",
        "watchlist_id": w, "cameras": [f"cam={CLIP}"], "hours": 2,
    }  # fmt: skip
    decision = {"decision": "confirmed", "reason": "same person"}
    user = {"username": "newuser", "password": "x" * 14, "role": "operator", "reason": "joined"}
    ao = {"username": "newao", "password": "x" * 14, "role": "authorising_officer",
          "rank": "superintendent", "reason": "promoted"}  # fmt: skip
    return [
        ("GET", "/api/me", None, ALL, 200),
        ("GET", "/api/openapi.json", None, ALL, 200),
        ("GET", "/api/alerts", None, {OP}, 200),
        ("GET", f"/api/alerts/{a}/probe.jpg", None, {OP}, 200),
        ("GET", f"/api/alerts/{a}/reference.jpg", None, {OP}, 200),
        ("POST", "/api/alerts/999999/adjudicate", decision, {OP}, 422),
        ("POST", "/api/alerts/999999/outcome", {"outcome": "arrested"}, {OP}, 422),
        ("GET", "/api/live", None, {OP, SUP}, 200),
        ("POST", f"/api/deployments/{d}/start", None, {OP, SUP}, 422),
        # The seeded deployment is live: a stop is asked for (the runner polls it).
        ("POST", f"/api/deployments/{d}/stop", None, {OP, SUP}, 202),
        ("GET", "/metrics", None, {ADM, AUD}, 200),
        ("GET", "/api/deployments", None, {OP, SUP, AUTH, AUD}, 200),
        ("POST", "/api/deployments", draft, {SUP}, 201),
        ("POST", f"/api/deployments/{d}/authorise", {"reasons": "r"}, {AUTH}, 422),
        # The seeded deployment is live: each review act is refused (R5), after the role check.
        ("POST", f"/api/deployments/{d}/refuse", {"reason": "r"}, {AUTH}, 422),
        ("POST", f"/api/deployments/{d}/return", {"reason": "r"}, {AUTH}, 422),
        ("POST", f"/api/deployments/{d}/withdraw", {"reason": "r"}, {SUP}, 422),
        ("PUT", f"/api/deployments/{d}", draft, {SUP}, 422),
        ("POST", f"/api/deployments/{d}", draft, {SUP}, 422),
        ("GET", f"/api/deployments/{d}/brief?probe_urls=false", None, {SUP, AUTH}, 200),
        ("GET", f"/deployments/{d}/review", None, {AUTH}, 200),
        ("GET", f"/deployments/{d}/edit", None, {SUP}, 422),
        ("GET", f"/api/deployments/{d}/record", None, {SUP, AUTH, AUD}, 200),
        ("GET", "/api/watchlists", None, {SUP, AUTH}, 200),
        ("POST", "/api/watchlists", {"name": "WL2", "subject_refs": [SUBJECT_REF]}, {SUP}, 201),
        ("GET", "/api/subjects", None, {SUP}, 200),
        ("POST", "/api/subjects", None, {SUP}, 400),  # no image sent
        ("GET", "/api/exceptional", None, {SUP}, 200),
        ("POST", "/api/exceptional/999/approve", None, {SUP}, 422),
        ("GET", "/api/audit", None, {AUD}, 200),
        ("GET", "/api/audit?format=csv&actor=admin", None, {AUD}, 200),
        ("GET", "/audit/export.csv", None, {AUD}, 200),
        ("GET", "/audit/export.json", None, {AUD}, 200),
        ("GET", "/api/users", None, {ADM}, 200),
        ("POST", "/api/users", user, {ADM}, 201),
        ("POST", "/api/users/newuser/password", {"password": "y" * 14, "reason": "r"}, {ADM}, 200),
        ("POST", "/api/users/newuser/disable", {"reason": "left the unit"}, {ADM}, 200),
        ("GET", "/api/users/grants", None, {ADM}, 200),
        ("POST", "/api/users", ao, {ADM}, 201),
        # The asking admin cannot approve their own request; the refusal follows the role check.
        ("POST", "/api/users/newao/approve", {"reason": "r"}, {ADM}, 400),
        ("POST", "/api/users/newuser/grant", {"role": "auditor", "reason": "r"}, {ADM}, 200),
        ("GET", "/operator", None, {OP}, 200),
        ("GET", "/deployments", None, {OP, SUP, AUTH, AUD}, 200),
        ("GET", f"/deployments/{d}", None, {OP, SUP, AUTH, AUD}, 200),
        ("GET", "/watchlists", None, {SUP}, 200),
        ("GET", "/enrol", None, {SUP}, 200),
        ("GET", "/exceptional", None, {SUP}, 200),
        ("GET", "/audit", None, {AUD}, 200),
        ("GET", "/admin/users", None, {ADM}, 200),
    ]


PUBLIC = ["/public", "/public/report.json", "/public/report.csv", "/public/report.html", "/login"]


def test_role_matrix(client: TestClient, tokens: dict[str, dict[str, str]], seeded: Any) -> None:
    wrong = []
    for method, path, body, allowed, ok_status in _routes(seeded):
        for role in [*ROLES, None]:
            headers = tokens[role] if role else {}
            r = client.request(method, path, json=body, headers=headers, follow_redirects=False)
            if role is None:
                # Pages send the browser to the log-in page; the API answers 401.
                expected = 401 if path.startswith(("/api", "/metrics")) else 303
            else:
                expected = ok_status if role in allowed else 403
            if r.status_code != expected:
                wrong.append(
                    f"{method} {path} as {role}: {r.status_code} != {expected} {r.text[:120]}"
                )
    assert not wrong, "\n".join(wrong)


def test_public_pages_need_no_login(client: TestClient, seeded: Any) -> None:
    for path in PUBLIC:
        r = client.get(path)
        assert r.status_code == 200, path
        # The public record holds counts only: never a subject reference or a name.
        assert SUBJECT_REF not in r.text and "Secret Name" not in r.text, path
