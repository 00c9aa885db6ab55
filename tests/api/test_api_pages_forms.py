"""The pages' forms without a browser (real app, real SQLite/PostgreSQL): a refused form comes
back with what was typed and the error beside its field, never a bare error page; a draft is
edited (prefilled) and withdrawn; the authorising officer's review goes through a confirmation
page; a run that ended on an error says so; the enrol page offers its six images; the composer
and the audit log filter; the log-in lock says how long."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from suite import SHARED_DATA

from openlfr.store import models as m
from tests.api.conftest import cookie_login

CLIP = str(SHARED_DATA / "video" / "WDA_KatieHill_000.mp4")
pytestmark = pytest.mark.usefixtures("shared_data")


def _form(seeded: Any, csrf: str, **changes: str) -> dict[str, str]:
    values = {
        "csrf_token": csrf, "name": "Op Form", "watchlist_id": str(seeded.watchlist_id),
        "purpose": "locate a suspect", "location": "Market Sq", "location_reason": "sightings",
        "cameras": f"north={CLIP}", "hours": "2", "threshold": "", "equality_note": "reviewed",
    }  # fmt: skip
    return {**values, **changes}


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{name}">([^<]*)</span>', html)
    assert found, f"no error beside {name}"
    return found.group(1)


def _value(html: str, name: str) -> str:
    found = re.search(rf'<input name="{name}"[^>]*value="([^"]*)"', html)
    assert found, f"no input {name}"
    return found.group(1)


def test_draft_form_errors_keep_what_was_typed(client: TestClient, seeded: Any) -> None:
    csrf = cookie_login(client, "supervisor")
    r = client.post("/deployments", data=_form(seeded, csrf, threshold="abc", location="Quay"))
    assert r.status_code == 422 and "Error 400" not in r.text
    assert "not a number" in _field_error(r.text, "threshold")
    assert _value(r.text, "threshold") == "abc" and _value(r.text, "location") == "Quay"
    assert "locate a suspect</textarea>" in r.text  # the purpose is kept too
    # A rule refusal (threshold under the floor, R7) is shown beside its field as well.
    r = client.post("/deployments", data=_form(seeded, csrf, threshold="0.3"))
    assert r.status_code == 422 and "R7" in _field_error(r.text, "threshold")
    r = client.post("/deployments", data=_form(seeded, csrf, purpose="   ", hours="744"))
    assert r.status_code == 422
    assert _field_error(r.text, "purpose") and "R5" in _field_error(r.text, "hours")


def test_edit_and_withdraw_a_draft(client: TestClient, seeded: Any) -> None:
    csrf = cookie_login(client, "supervisor")
    r = client.post("/deployments", data=_form(seeded, csrf), follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    edit = client.get(f"{url}/edit")
    assert edit.status_code == 200 and _value(edit.text, "location") == "Market Sq"
    assert f"north={CLIP}</textarea>" in edit.text and _value(edit.text, "hours") == "2"
    bad = client.post(f"{url}/edit", data=_form(seeded, csrf, threshold="5"))
    assert bad.status_code == 422 and "R7" in _field_error(bad.text, "threshold")
    assert _value(bad.text, "threshold") == "5"
    ok = client.post(f"{url}/edit", data=_form(seeded, csrf, location="Quay"))
    assert ok.status_code == 200 and "Quay" in ok.text  # followed to the deployment page
    no_reason = client.post(f"{url}/withdraw", data={"csrf_token": csrf, "reason": ""})
    assert no_reason.status_code == 422 and _field_error(no_reason.text, "reason")
    done = client.post(f"{url}/withdraw", data={"csrf_token": csrf, "reason": "operation off"})
    assert done.status_code == 200
    assert 'id="review-note"' in done.text and "operation off" in done.text
    assert "supervisor" in done.text and client.get(f"{url}/edit").status_code == 422


def test_review_confirm_then_authorise(client: TestClient, seeded: Any) -> None:
    csrf = cookie_login(client, "supervisor")
    url = client.post("/deployments", data=_form(seeded, csrf), follow_redirects=False).headers[
        "location"
    ]
    csrf = cookie_login(client, "authorising_officer")
    review = client.get(f"{url}/review")
    assert review.status_code == 200
    assert "SUBJ-SECRET-0042" in review.text and "usable" in review.text
    assert 'id="floor"' in review.text and 'id="floor-evidence"' in review.text
    # Reasons are required: the review page again, the error beside the reasons.
    r = client.post(f"{url}/review/confirm", data={"csrf_token": csrf, "action": "authorise",
                                                   "conditions": "daylight only"})  # fmt: skip
    assert r.status_code == 422 and _field_error(r.text, "reasons")
    assert "daylight only</textarea>" in r.text
    form = {"csrf_token": csrf, "action": "authorise", "reasons": "serious offence, seen twice",
            "conditions": "daylight only"}  # fmt: skip
    confirm = client.post(f"{url}/review/confirm", data=form)
    assert confirm.status_code == 200 and 'id="confirm-button"' in confirm.text
    assert "serious offence, seen twice" in confirm.text
    # Nothing is recorded before the confirmation; posting without it goes back to the review.
    unconfirmed = client.post(f"{url}/authorise", data={"csrf_token": csrf, "reasons": "x"},
                              follow_redirects=False)  # fmt: skip
    assert unconfirmed.headers["location"].endswith("/review")
    done = client.post(f"{url}/authorise", data={**form, "confirm": "yes"})
    assert done.status_code == 200 and '<span class="status authorised">' in done.text
    assert "daylight only" in done.text and "Authorising_Officer Person" in done.text


def test_deployment_that_did_not_run_says_why(client: TestClient, seeded: Any) -> None:
    with client.app.state.svc.store.session() as s:  # type: ignore[attr-defined]
        dep = s.get(m.Deployment, seeded.deployment_id)
        assert dep is not None
        dep.status, dep.run_failed = "ended", True
        dep.end_reason = "camera failed: cam1: cannot open /nonexistent/file.mp4"
    cookie_login(client, "supervisor")
    page = client.get(f"/deployments/{seeded.deployment_id}")
    assert "Did not run: camera failed: cam1" in page.text
    assert "did not run" in client.get("/deployments").text


def test_account_and_watchlist_forms_keep_what_was_typed(client: TestClient, seeded: Any) -> None:
    csrf = cookie_login(client, "admin")
    r = client.post("/admin/users", data={"csrf_token": csrf, "username": "ao.new",
                    "password": "long enough password", "role": "authorising_officer",
                    "display_name": "New AO", "rank": ""})  # fmt: skip
    assert r.status_code == 422 and "rank" in _field_error(r.text, "rank")
    assert _value(r.text, "username") == "ao.new" and _value(r.text, "display_name") == "New AO"
    assert "long enough password" not in r.text  # a password is never echoed
    csrf = cookie_login(client, "supervisor")
    r = client.post("/watchlists", data={"csrf_token": csrf, "name": "Op Empty"})
    assert r.status_code == 422 and _field_error(r.text, "subject")
    assert _value(r.text, "name") == "Op Empty"
    # The composer's filter (GET, no script needed).
    assert "SUBJ-SECRET-0042" in client.get("/watchlists", params={"q": "secret"}).text
    assert "SUBJ-SECRET-0042" not in client.get("/watchlists", params={"q": "nobody"}).text
    assert "SUBJ-SECRET-0042" not in client.get("/watchlists", params={"category": "mappa"}).text


def test_enrol_page_offers_six_images(client: TestClient) -> None:
    cookie_login(client, "supervisor")
    page = client.get("/enrol").text
    assert "up to 6 images" in page
    assert len(re.findall(r'<input name="image_\d" type="file"', page)) == 6


def test_audit_page_filters_and_exports(client: TestClient, seeded: Any) -> None:
    cookie_login(client, "auditor")
    page = client.get("/audit", params={"actor": "nobody-at-all"})
    assert page.status_code == 200 and "matching these filters" in page.text
    assert 'href="/audit/export.csv?actor=nobody-at-all"' in page.text
    bad = client.get("/audit", params={"start": "yesterday"})
    assert bad.status_code == 422 and "not a date" in bad.text and 'value="yesterday"' in bad.text
    export = client.get("/audit/export.json", params={"action": "consultation"})
    assert export.status_code == 200 and export.json()
    assert {r["action"] for r in export.json()} == {"consultation"}


def test_exceptional_form_keeps_what_was_typed(client: TestClient) -> None:
    csrf = cookie_login(client, "supervisor")
    form = {"csrf_token": csrf, "subject_reference": "PNC-9", "category": "suspect",
            "source_ref": "CUST-9", "lawful_basis": "PACE s64A",
            "case_outcome": "acquitted", "reason": "risk of serious harm to a child"}  # fmt: skip
    r = client.post("/exceptional", data=form)  # no image chosen
    assert r.status_code == 422 and "Error 400" not in r.text
    assert "no image" in _field_error(r.text, "image") or "image" in r.text
    assert _value(r.text, "subject_reference") == "PNC-9"
    assert "risk of serious harm to a child</textarea>" in r.text
    r = client.post("/exceptional", data={**form, "reason": " "}, files={"image": ("a.jpg", b"x")})
    assert r.status_code == 422 and "R3" in _field_error(r.text, "reason")


def test_queue_order_is_a_setting(settings: Any) -> None:
    from openlfr.api import create_app
    from openlfr.config import WebSettings

    for order in ("newest_first", "oldest_first"):
        app = create_app(settings.model_copy(update={"web": WebSettings(alert_order=order)}))
        with TestClient(app) as client:
            if order == "newest_first":
                from openlfr.service.accounts import create_account

                create_account(client.app.state.svc.store, username="operator",  # type: ignore[attr-defined]
                               password="correct horse battery", role="operator",
                               created_by="test")  # fmt: skip
            cookie_login(client, "operator")
            assert f'data-order="{order}"' in client.get("/operator").text
        app.state.svc.store.dispose()
