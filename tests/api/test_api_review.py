"""A draft's review through the API, on SQLite and PostgreSQL: the authorising officer's brief;
return for changes, amendment, refusal, withdrawal and authorisation, each under the account's
own name, each with its reason, each audited; the roles that may do each; the audit log read
back through its filters and exported as CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from suite import SHARED_DATA

from openlfr.store import models as m

CLIP = str(SHARED_DATA / "video" / "WDA_KatieHill_000.mp4")
SUBJECT_REF = "SUBJ-SECRET-0042"
pytestmark = pytest.mark.usefixtures("shared_data")


def _draft(seeded: Any, **changes: Any) -> dict[str, Any]:
    body = {
        "name": "Op Review", "purpose": "locate a suspect", "location": "Market Sq",
        "location_reason": "sightings", "watchlist_id": seeded.watchlist_id,
        "cameras": [f"north={CLIP}"], "hours": 2, "equality_note": "reviewed",
    }  # fmt: skip
    return {**body, **changes}


def _status(client: TestClient, dep_id: int) -> m.Deployment:
    with client.app.state.svc.store.session() as s:  # type: ignore[attr-defined]
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None
        s.expunge(dep)
        return dep


def _events(client: TestClient, dep_id: int) -> list[tuple[str, str]]:
    with client.app.state.svc.store.session() as s:  # type: ignore[attr-defined]
        rows = s.execute(
            select(m.AuditEntry.event, m.AuditEntry.actor)
            .where(m.AuditEntry.object_type == "deployment")
            .where(m.AuditEntry.object_id == str(dep_id))
            .order_by(m.AuditEntry.id)
        ).all()
    return [(str(e), str(a)) for e, a in rows]


def test_return_amend_refuse_withdraw_authorise(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Any
) -> None:
    sup, ao = tokens["supervisor"], tokens["authorising_officer"]
    dep_id = client.post("/api/deployments", json=_draft(seeded), headers=sup).json()["id"]

    brief = client.get(f"/api/deployments/{dep_id}/brief", headers=ao)
    assert brief.status_code == 200, brief.text
    b = brief.json()
    assert [x["reference"] for x in b["members"]] == [SUBJECT_REF]
    assert b["members"][0]["reason_wanted"] is None and b["members"][0]["category"] == "suspect"
    # One image per member here: weak only exactly when that image is weak.
    assert b["weak_only"] == ([SUBJECT_REF] if b["members"][0]["weak_reference"] else [])
    assert b["cameras"][0]["camera"] == "north" and b["cameras"][0]["ok"] is True
    assert 0 < b["threshold_floor"] <= b["threshold"] and b["floor_evidence"]
    assert b["equality_note"] == "reviewed"

    # Return for changes: a reason is required; the account's name is recorded, not a typed one.
    assert client.post(f"/api/deployments/{dep_id}/return", json={"reason": " "}, headers=ao
                       ).status_code == 422  # fmt: skip
    r = client.post(f"/api/deployments/{dep_id}/return", json={"reason": "name the camera"},
                    headers=ao)  # fmt: skip
    assert r.status_code == 200, r.text
    dep = _status(client, dep_id)
    assert dep.status == "returned" and dep.review_note == "name the camera"
    assert dep.reviewed_by == "Authorising_Officer Person"
    # A returned draft cannot be authorised before the supervisor amends it.
    auth = {"reasons": "necessary and proportionate"}
    assert client.post(f"/api/deployments/{dep_id}/authorise", json=auth, headers=ao
                       ).status_code == 422  # fmt: skip

    # Amend (PUT): checked again like a new draft; an operator may not; a bad threshold refused.
    amended = _draft(seeded, location="Station Road", cameras=[f"station-east={CLIP}"])
    assert client.put(f"/api/deployments/{dep_id}", json=amended, headers=tokens["operator"]
                      ).status_code == 403  # fmt: skip
    low = client.put(f"/api/deployments/{dep_id}", json={**amended, "threshold": 0.1}, headers=sup)
    assert low.status_code == 422 and any(v["rule"] == "R7" for v in low.json()["violations"])
    r = client.put(f"/api/deployments/{dep_id}", json=amended, headers=sup)
    assert r.status_code == 200, r.text
    dep = _status(client, dep_id)
    assert dep.status == "draft" and dep.location == "Station Road"

    # Authorise with reasons and conditions, under the account's name and rank.
    auth["conditions"] = "stop at 2,000 people"
    assert client.post(f"/api/deployments/{dep_id}/authorise", json=auth, headers=sup
                       ).status_code == 403  # fmt: skip
    r = client.post(f"/api/deployments/{dep_id}/authorise", json=auth, headers=ao)
    assert r.status_code == 200, r.text
    dep = _status(client, dep_id)
    assert dep.status == "authorised" and dep.authorisation_conditions == "stop at 2,000 people"
    assert dep.authorisation_reasons == "necessary and proportionate"
    # Not yet live: the supervisor may still withdraw it, with a reason.
    r = client.post(f"/api/deployments/{dep_id}/withdraw", json={"reason": "operation off"},
                    headers=sup)  # fmt: skip
    assert r.status_code == 200 and _status(client, dep_id).status == "withdrawn"
    events = [e for e, _ in _events(client, dep_id)]
    for event in ("deployment_drafted", "deployment_returned", "deployment_amended",
                  "deployment_authorised", "deployment_withdrawn"):  # fmt: skip
        assert event in events, events

    # A refusal is final: no amendment afterwards.
    other = client.post("/api/deployments", json=_draft(seeded), headers=sup).json()["id"]
    r = client.post(f"/api/deployments/{other}/refuse", json={"reason": "not necessary"},
                    headers=ao)  # fmt: skip
    assert r.status_code == 200 and _status(client, other).status == "refused"
    assert client.post(f"/api/deployments/{other}", json=_draft(seeded), headers=sup
                       ).status_code == 422  # fmt: skip
    assert ("deployment_refused", "authorising_officer") in _events(client, other)


def test_audit_filters_and_csv_export(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Any
) -> None:
    sup, aud = tokens["supervisor"], tokens["auditor"]
    dep_id = client.post("/api/deployments", json=_draft(seeded), headers=sup).json()["id"]
    client.post(f"/api/deployments/{dep_id}/withdraw", json={"reason": "off"}, headers=sup)

    rows = client.get("/api/audit", params={"actor": "supervisor"}, headers=aud).json()
    assert rows and {r["actor"] for r in rows} == {"supervisor"}
    only = client.get(
        "/api/audit",
        params={"event": "deployment_withdrawn", "object_type": "deployment",
                "object_id": str(dep_id)},
        headers=aud,
    ).json()  # fmt: skip
    assert [r["event"] for r in only] == ["deployment_withdrawn"]
    consult = client.get("/api/audit", params={"action": "consultation"}, headers=aud).json()
    assert consult and {r["action"] for r in consult} == {"consultation"}
    assert client.get("/api/audit", params={"action": "peeking"}, headers=aud).status_code == 400

    export = client.get(
        "/api/audit", params={"format": "csv", "event": "deployment_withdrawn"}, headers=aud
    )
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert len(table) == 1 and table[0]["event"] == "deployment_withdrawn"
    assert table[0]["object_id"] == str(dep_id) and len(table[0]["row_hash"]) == 64
    # Each reading is logged, with the filters it used.
    reads = client.get("/api/audit", params={"event": "audit_read"}, headers=aud).json()
    assert any((r["detail"] or {}).get("filters", {}).get("event") == "deployment_withdrawn"
               for r in reads)  # fmt: skip
