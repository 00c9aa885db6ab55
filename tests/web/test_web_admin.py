"""The administrators' page in a real browser (Debian's chromium via Playwright) against a real
uvicorn server, on SQLite and on PostgreSQL (`web_store`): one administrator adds an
authorising officer, who cannot log in until a second administrator approves on the same
page; the asking administrator is offered no approve button; an administrator changes their
own password only with the old one. Each step is checked in the audit log."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pytest
from sqlalchemy import select

from openlfr.api import create_app
from openlfr.config import Settings, StoreSettings
from openlfr.service.accounts import create_first_admin
from openlfr.store import Store
from openlfr.store import models as m

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.slow  # a real browser against a real server


@pytest.fixture(scope="module")
def site(
    web_store: StoreSettings, serving: Callable[[Any], AbstractContextManager[str]]
) -> Iterator[dict[str, Any]]:
    """The first two administrators, as `openlfr user create-admin` makes them."""
    settings = Settings().model_copy(update={"store": web_store})
    app = create_app(settings)
    store: Store = app.state.svc.store
    for name in ("adm.one", "adm.two"):
        create_first_admin(store, username=name, password=PASSWORD, created_by="test")
    with serving(app) as url:
        yield {"url": url, "store": store}
    store.dispose()


@pytest.fixture
def browser_as(chromium: Any) -> Iterator[Callable[[str, str], Any]]:
    """browser_as(url, username): a page in its own context (own cookies), logged in."""
    contexts: list[Any] = []
    failed: list[str] = []

    def open_as(url: str, username: str) -> Any:
        context = chromium.new_context(viewport={"width": 1366, "height": 768})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        # 401 (a refused log-in) and 422 (a refused form shown again) are provoked on purpose.
        page.on("response", lambda r: failed.append(r.url)
                if r.status >= 400 and r.status not in (401, 422) else None)  # fmt: skip
        page.goto(f"{url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not [u for u in failed if not u.endswith("/favicon.ico")], failed


def _events(store: Store, event: str) -> list[m.AuditEntry]:
    with store.session() as s:
        return list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == event)))


def test_a_second_admin_approves_an_authorising_officer(
    site: dict[str, Any], browser_as: Callable[[str, str], Any]
) -> None:
    url, store = site["url"], site["store"]
    one = browser_as(url, "adm.one")
    assert one.url.endswith("/admin/users")
    form = one.locator("#add-user")
    form.locator("input[name=username]").fill("insp.new")
    form.locator("input[name=display_name]").fill("Inspector New")
    form.locator("select[name=role]").select_option("authorising_officer")
    form.locator("input[name=rank]").fill("superintendent")
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("input[name=reason]").fill("posted to the LFR unit, order 24/117")
    form.locator("button[type=submit]").click()
    one.wait_for_url(re.compile(r".*/admin/users$"))
    row = one.locator("#user-insp\\.new")
    assert "awaiting approval" in row.inner_text()
    grant = one.locator("#grant-insp\\.new")
    assert "superintendent" in grant.inner_text()
    assert "awaiting another administrator" in grant.inner_text()
    assert grant.locator("button").count() == 0  # the asker is offered no approve button

    officer = browser_as(url, "insp.new")
    assert "Wrong username or password" in officer.content()  # not until approved

    two = browser_as(url, "adm.two")
    grant = two.locator("#grant-insp\\.new")
    grant.locator("form[action$='/approve'] input[name=reason]").fill("order 24/117 seen")
    grant.locator("form[action$='/approve'] button").click()
    two.wait_for_url(re.compile(r".*/admin/users$"))
    assert two.locator("#no-grants").is_visible()
    assert "active" in two.locator("#user-insp\\.new").inner_text()

    officer = browser_as(url, "insp.new")
    assert officer.url.endswith("/deployments")
    (created,) = [e for e in _events(store, "account_created") if "insp.new" in e.justification]
    assert created.actor == "adm.one" and "order 24/117" in created.justification
    (approved,) = _events(store, "account_grant_approved")
    assert approved.actor == "adm.two" and "order 24/117 seen" in approved.justification


def test_an_admin_changes_their_own_password_only_with_the_old_one(
    site: dict[str, Any], browser_as: Callable[[str, str], Any]
) -> None:
    url, store = site["url"], site["store"]
    two = browser_as(url, "adm.two")
    own = two.locator("#user-adm\\.two form[action$='/password']")
    assert own.locator("input[name=old_password]").count() == 1
    own.locator("input[name=old_password]").fill("not my password at all")
    own.locator("input[name=password]").fill("a brand new passphrase")
    own.locator("input[name=reason]").fill("rotation")
    own.locator("button").click()
    two.wait_for_load_state()
    assert "old password" in two.content()
    assert not _events(store, "password_reset")
    # No reset of another administrator's password is offered (it would let one act as both).
    assert two.locator("#user-adm\\.one form[action$='/password']").count() == 0
    assert two.locator("#user-insp\\.new form[action$='/password']").count() == 1
