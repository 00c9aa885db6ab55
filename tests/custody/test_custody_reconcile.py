"""Bulk reconciliation with `openlfr case-outcome --csv` on a real custody estate (real LFW
faces): withdrawals leave the live index at once, each is audited, the printed output is a
bounded summary, and `openlfr custody review --json` counts them and proves from the audit
log that no search returned an ineligible image (R11, R17, R18)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select
from store_support import store_env
from test_custody_import import _csv
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import Settings, StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.context import AppContext
from openlfr.service.custody_import import import_custody
from openlfr.service.custody_index_sync import open_custody_index
from openlfr.service.sessions import issue_session
from openlfr.store.models import AuditEntry
from openlfr.store.models_accounts import SessionKind


def test_bulk_outcomes_withdraw_at_once_and_review_counts_them(
    store_settings: StoreSettings, tmp_path: Path, shared_data: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    images = shared_data / "lfw" / "images"
    ctx = AppContext.open(Settings(store=store_settings), "test.supervisor")
    try:
        assert import_custody(ctx, _csv(tmp_path, images, 6), images).imported == 6
        acct = create_account(ctx.store, username="sup", password="correct horse battery",
                              role="supervisor", rank=None, display_name="Sup",
                              created_by="test")  # fmt: skip
        token = issue_session(ctx.store, int(acct), SessionKind.BEARER, 1.0, "test")[0]
        index = open_custody_index(ctx)
        assert len(index) == 5
    finally:
        ctx.close()
    rows = ["source_ref,case_outcome", "C1,no_further_action", "C2,acquitted"]
    rows += [f"UNKNOWN{i},convicted" for i in range(40)]
    (tmp_path / "out.csv").write_text("\n".join(rows) + "\n")
    for k, v in {**store_env(store_settings), "OPENLFR_CONFIG_DIR": str(tmp_path / "cfg"),
                 "OPENLFR_TOKEN": token}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    run = CliRunner().invoke
    res = run(app, ["case-outcome", "--csv", str(tmp_path / "out.csv"), "--reason", "export"])
    assert res.exit_code == 0, res.output
    assert len(res.output.splitlines()) < 30 and "2 withdrawn from search" in res.output
    ctx = AppContext.open(Settings(store=store_settings), "test")
    try:
        index = open_custody_index(ctx)
        assert len(index) == 3  # out of the live index at once, before any compaction
        ids, _ = index.search(np.ones(index.dim, np.float32), 20)
        assert len(ids) == 3
        with ctx.store.session() as s:
            n = s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.event == "custody_image_withdrawn")
            )
        assert n == 2
    finally:
        ctx.close()
    review = run(app, ["custody", "review", "--json", "--out", str(tmp_path / "r.html")])
    assert review.exit_code == 0, review.output
    body = json.loads(review.stdout)
    flat = json.dumps(body)
    assert "P1" not in flat and "C1" not in flat  # no personal data in the published JSON
    assert (body["ineligible_held"], body["withdrawn_in_period"]) == (3, 2)
    assert body["withdrawal_lag"]["withdrawals"] == 2 and body["withdrawal_lag"]["p95_s"] >= 0
    assert body["searches"]["returning_ineligible"] == 0 and body["searches"]["chain_ok"]
    assert (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")
