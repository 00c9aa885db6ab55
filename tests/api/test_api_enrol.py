"""Enrolment from the supervisor's page and the API: the same rules and service as `openlfr
enrol`; each image's decision shown (eligible, or refused with its rule and reason); bad and
oversized files refused one by one while the others are still enrolled; CSRF and size limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from store_support import as_before_0018
from suite import SHARED_DATA

from openlfr.service.enrol_uploads import MAX_BODY_BYTES, MAX_IMAGE_BYTES
from openlfr.store import models as m
from openlfr.store.models_accounts import ExceptionalRequest

LFW = SHARED_DATA / "lfw" / "images"
GOOD = LFW / "AJ_Cook" / "AJ_Cook_0001.jpg"
OTHER = LFW / "Aaron_Patterson" / "Aaron_Patterson_0001.jpg"
pytestmark = pytest.mark.usefixtures("shared_data")


def _row(i: int, **facts: str) -> dict[str, str]:
    base = {"source_ref": f"CUST-{i}", "lawful_basis": "PACE s64A", "case_outcome": "charged",
            "captured_on": "2024-05-01", "age_at_capture": "30"}  # fmt: skip
    return {f"{k}_{i}": v for k, v in {**base, **facts}.items()}


def _count(client: TestClient, model: type, **where: object) -> int:
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    with store.session() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.scalar(q) or 0)


def _decisions(html: str) -> list[str]:
    """Each decision row's text, whitespace collapsed."""
    rows = re.findall(r'<tr class="decision [a-z]+">(.*?)</tr>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]


def test_page_enrols_eligible_and_shows_each_refusal_with_its_rule(
    client: TestClient, login: Callable[[str], str], bad_files: dict[str, tuple[Path, str]]
) -> None:
    csrf = login("supervisor")
    assert 'name="image_2"' in client.get("/enrol").text
    data = {"csrf_token": csrf, "reference": "PNC-77/1", "display_name": "A B",
            "category": "suspect", **_row(0), **_row(1, case_outcome="no_further_action"),
            **_row(2)}  # fmt: skip
    files = {
        "image_0": ("front.jpg", GOOD.read_bytes(), "image/jpeg"),
        "image_1": ("nfa.jpg", OTHER.read_bytes(), "image/jpeg"),
        "image_2": ("notes.jpg", bad_files["not_image"][0].read_bytes(), "image/jpeg"),
    }
    r = client.post("/enrol", data=data, files=files)
    assert r.status_code == 200, r.text
    first, second, third = _decisions(r.text)
    assert first.startswith("front.jpg eligible — enrolled")
    assert second.startswith("nfa.jpg refused R3") and "no further action" in second
    assert third.startswith("notes.jpg refused") and "not an image" in third
    assert _count(client, m.ReferenceImage) == 1
    # The refused row keeps its facts on the page, to be corrected; the enrolled row's are
    # cleared so that a second submit cannot enrol it twice.
    assert 'value="CUST-1"' in r.text and 'value="CUST-0"' not in r.text
    # Refusals are audited exactly as the CLI's are (rule in the detail).
    assert _count(client, m.AuditEntry, event="collection_refused") == 2

    # Truncated, several faces, over the per-image limit: each refused on its own.
    big = b"\xff\xd8" + b"\0" * (MAX_IMAGE_BYTES + 10)
    files = {
        "image_0": ("cut.jpg", bad_files["truncated"][0].read_bytes(), "image/jpeg"),
        "image_1": ("couple.jpg", bad_files["several_faces"][0].read_bytes(), "image/jpeg"),
        "image_2": ("huge.jpg", big, "image/jpeg"),
    }
    data = {"csrf_token": csrf, "reference": "PNC-77/1", "category": "suspect",
            **_row(0), **_row(1), **_row(2)}  # fmt: skip
    r = client.post("/enrol", data=data, files=files)
    cut, couple, huge = _decisions(r.text)
    assert "truncated" in cut and "2 faces found" in couple and "20 MiB limit" in huge
    assert _count(client, m.ReferenceImage) == 1


def test_page_holds_an_exceptional_reason_for_another_supervisor(
    client: TestClient, login: Callable[[str], str]
) -> None:
    csrf = login("supervisor")
    facts = _row(0, case_outcome="acquitted", exceptional_reason="risk of serious harm")
    data = {"csrf_token": csrf, "reference": "PNC-88/2", "category": "mappa", **facts}
    r = client.post("/enrol", data=data, files={"image_0": ("a.jpg", GOOD.read_bytes())})
    (held,) = _decisions(r.text)
    assert held.startswith("a.jpg held R3") and "other than you" in held
    assert _count(client, ExceptionalRequest, subject_reference="PNC-88/2") == 1
    assert _count(client, m.ReferenceImage) == 0


def test_page_csrf_and_body_limit(client: TestClient, login: Callable[[str], str]) -> None:
    csrf = login("supervisor")
    data = {"reference": "PNC-99/3", "category": "suspect", **_row(0)}
    files = {"image_0": ("a.jpg", GOOD.read_bytes(), "image/jpeg")}
    assert client.post("/enrol", data=data, files=files).status_code == 403
    # A body declared over the limit is refused before a byte of it is read.
    r = client.post(
        "/enrol",
        data={**data, "csrf_token": csrf},
        files=files,
        headers={"content-length": str(MAX_BODY_BYTES + 1)},
    )
    assert r.status_code == 413 and "nothing was enrolled" in r.text
    assert _count(client, m.Subject) == 0
    # A catch-all category is refused (R1) and the typed facts come back.
    r = client.post(
        "/enrol", data={**data, "csrf_token": csrf, "category": "intelligence"}, files=files
    )
    assert r.status_code == 422 and "R1" in r.text and 'value="PNC-99/3"' in r.text


def test_api_enrols_with_one_set_of_facts_like_the_cli(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    form = {"reference": "PNC-55/5", "category": "wanted_by_courts", "source_ref": "CUST-5",
            "case_outcome": "charged", "age_at_capture": "40"}  # fmt: skip
    files = [
        ("images", ("one.jpg", GOOD.read_bytes(), "image/jpeg")),
        ("images", ("two.jpg", b"not a picture", "image/jpeg")),
    ]
    r = client.post("/api/subjects", data=form, files=files, headers=tokens["supervisor"])
    assert r.status_code == 200, r.text
    one, two = r.json()["images"]
    assert one["status"] == "enrolled" and one["eligible"] and one["image_id"]
    assert two["status"] == "refused" and "not an image" in two["reason"]
    r = client.post("/api/subjects", data=form, files=files, headers=tokens["operator"])
    assert r.status_code == 403


@pytest.fixture(autouse=True)
def _models_loaded(client: TestClient) -> None:
    """Enrolment needs the detector and embedder; loading them is not what is timed here."""
    client.app.state.svc.context("test", models=True)  # type: ignore[attr-defined]


def test_watchlists_page_measures_images_enrolled_before_their_strength_was_kept(
    client: TestClient, login: Callable[[str], str]
) -> None:
    csrf = login("supervisor")
    data = {"csrf_token": csrf, "reference": "PNC-77/1", "category": "suspect", **_row(0)}
    r = client.post("/enrol", data=data, files={"image_0": ("a.jpg", GOOD.read_bytes())})
    assert r.status_code == 200 and "enrolled" in _decisions(r.text)[0]
    assert 'id="reassess-form"' not in client.get("/watchlists").text  # measured at enrolment
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    as_before_0018(store)
    page = client.get("/watchlists").text
    assert 'id="reassess-form"' in page and "1 reference image enrolled before" in page
    assert client.post("/watchlists/reassess", data={}).status_code == 403  # no CSRF token
    r = client.post("/watchlists/reassess", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/watchlists?measured=1"
    page = client.get(r.headers["location"]).text
    assert "1 reference image measured" in page and 'id="reassess-form"' not in page
    assert _count(client, m.AuditEntry, event="reference_strength_measured") == 1
    assert _count(client, m.ReferenceImage, mirror_agreement=None) == 0
    assert 'id="reassessed"' not in client.get("/watchlists?measured=<b>x</b>").text  # not echoed
