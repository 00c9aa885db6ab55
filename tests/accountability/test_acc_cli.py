"""`openlfr notices [--json]` (no login) and `openlfr deployment authorise --withhold-notice`
on a real store: what the public reads, and the refusals, each naming its rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from acc_support import OpenCtx, draft, enrol
from store_support import store_env
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.sessions import issue_session
from openlfr.service.watchlists import compile_watchlist
from openlfr.store.models_accounts import SessionKind


def _as(ctx, username: str, role: str, rank: str | None = None) -> str:  # type: ignore[no-untyped-def]
    acct = create_account(ctx.store, username=username, password="correct horse battery",
                          role=role, rank=rank, display_name=username.title(),
                          created_by="test")  # fmt: skip
    return issue_session(ctx.store, int(acct), SessionKind.BEARER, 1.0, "test")[0]


def test_notices_and_withholding_from_the_command_line(
    open_ctx: OpenCtx, store_settings: StoreSettings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ctx = open_ctx(24)
    enrol(ctx, "PNC-C1", "AJ_Cook")
    wl = compile_watchlist(ctx, "Op CLI")
    soon, later = draft(ctx, wl.id), draft(ctx, wl.id, hours_from_now=30)
    token = _as(ctx, "supt", "authorising_officer", "superintendent")
    for k, v in {**store_env(store_settings), "OPENLFR_CONFIG_DIR": str(tmp_path / "cfg"),
                 "OPENLFR_ACCOUNTABILITY__NOTICE_HOURS": "24"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    run = CliRunner().invoke
    monkeypatch.setenv("OPENLFR_TOKEN", token)
    short = run(app, ["deployment", "authorise", str(soon), "--reasons", "wanted"])
    assert short.exit_code == 2 and "R19" in short.output and "withhold" in short.output
    bad = run(app, ["deployment", "authorise", str(soon), "--reasons", "wanted",
                    "--withhold-notice", "convenience", "--withhold-note", "x"])  # fmt: skip
    assert bad.exit_code == 2 and "R19" in bad.output
    ok = run(app, ["deployment", "authorise", str(soon), "--reasons", "wanted",
                   "--withhold-notice", "risk_of_serious_harm",
                   "--withhold-note", "imminent risk to a named person"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert run(app, ["deployment", "authorise", str(later), "--reasons", "wanted"]).exit_code == 0
    monkeypatch.delenv("OPENLFR_TOKEN")  # the public needs no login
    listed = run(app, ["notices", "--json"])
    assert listed.exit_code == 0, listed.output
    (notice,) = json.loads(listed.stdout)["notices"]  # the withheld one is not listed
    assert notice["deployment_id"] == later and notice["notice_hours"] == 24
    text = run(app, ["notices"])
    assert "Market Square" in text.output and "may start from" in text.output
    withheld = run(app, ["notices", "--deployment", str(soon)])
    assert withheld.exit_code == 2 and "R19" in withheld.output and "withheld" in withheld.output
    draft_only = draft(ctx, wl.id, hours_from_now=40)
    refused = run(app, ["notices", "--deployment", str(draft_only)])
    assert refused.exit_code == 2 and "not authorised" in refused.output
