"""The retrospective search's form (service/retro_search_form), read the same by the API and the
page: a malformed form is a clear 4xx naming the field, nothing is searched or audited, and the
page keeps what was typed. The upload's size is checked from its headers before anything else."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from suite import SHARED_DATA

from openlfr.service.accounts import create_account
from openlfr.service.retro_search import EVENT
from openlfr.service.retro_search_form import MAX_PROBE_BYTES, MAX_SEARCH_BODY_BYTES
from openlfr.store.models import AuditEntry
from tests.api.conftest import PASSWORD, store_of

PROBE = SHARED_DATA / "lfw" / "images" / "Abdullah_Gul" / "Abdullah_Gul_0001.jpg"
CASE = {"case_ref": "OP-51/2026", "reason": "burglary, doorbell still"}


@pytest.fixture
def backend() -> str:
    return "sqlite"  # what is under test is the form's handling, not the store


@pytest.fixture
def investigator(client: TestClient) -> dict[str, str]:
    create_account(store_of(client), username="inv", password=PASSWORD, role="investigator",
                   display_name="Investigator", created_by="test")  # fmt: skip
    r = client.post("/api/token", json={"username": "inv", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _searches(client: TestClient) -> int:
    with store_of(client).session() as s:
        return s.scalar(select(func.count()).where(AuditEntry.event == EVENT)) or 0


#: (extra fields, the probe's bytes or None for no file, the status, what the refusal says)
MALFORMED = [
    ({}, None, 422, "probe image file is required"),
    ({"top": "abc"}, PROBE.read_bytes(), 422, "top must be a whole number"),
    ({"face": "1e9"}, PROBE.read_bytes(), 422, "face must be a whole number"),
    ({}, b"\xff" * (MAX_PROBE_BYTES + 1), 413, f"at most {MAX_PROBE_BYTES // 2**20} MiB"),
]


@pytest.mark.parametrize("path", ["/api/search", "/search"])
def test_a_malformed_search_form_is_refused_naming_why_and_nothing_is_searched(
    client: TestClient, investigator: dict[str, str], path: str
) -> None:
    for fields, image, status, says in MALFORMED:
        # Some file part keeps the body multipart when no probe is sent.
        files = {"image": ("probe.jpg", image, "image/jpeg")} if image is not None else {
            "other": ("x.txt", b"x", "text/plain")}  # fmt: skip
        r = client.post(path, data={**CASE, **fields}, files=files, headers=investigator)
        assert r.status_code == status, (fields, r.text[:500])
        assert says in r.text, (fields, r.text[:500])
        if path == "/search":  # the page shows the form again, with what was typed
            assert f'value="{CASE["case_ref"]}"' in r.text and CASE["reason"] in r.text
    assert _searches(client) == 0


@pytest.mark.parametrize("path", ["/api/search", "/search"])
def test_a_search_body_over_its_limit_is_refused_from_the_headers(
    client: TestClient, investigator: dict[str, str], path: str
) -> None:
    # Not multipart, so the upload middleware lets it by: the route's own check refuses it.
    form = {"content-type": "application/x-www-form-urlencoded", **investigator}
    over = {**form, "content-length": str(MAX_SEARCH_BODY_BYTES + 1)}
    big = client.post(path, content=b"case_ref=x", headers=over)
    assert big.status_code == 413 and "nothing was enrolled or kept" in big.text
    unstated = client.post(path, content=iter([b"case_ref=x"]), headers=form)
    assert unstated.status_code == 411, unstated.text
    assert _searches(client) == 0
