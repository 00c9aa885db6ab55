"""The alert feed's one poller (api/live.py): every open socket gets a new alert from a single
read of the store, audited once per operator shown it (not once per socket); a socket that
falls too far behind is closed with a clear code instead of losing alerts unseen."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openlfr.api import live
from openlfr.service.accounts import create_account
from openlfr.service.sessions import issue_session
from openlfr.store import models as m
from openlfr.store import verify_audit
from openlfr.store.models_accounts import SessionKind

SOCKETS = 6


def _cookies(client: TestClient, users: list[str]) -> list[str]:
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    out = []
    for name in users:
        account = create_account(store, username=name, password="correct horse battery",
                                 role="operator", display_name=name, rank=None,
                                 created_by="test")  # fmt: skip
        out.append(issue_session(store, int(account), SessionKind.COOKIE, 1.0, "test")[0])
    return out


def test_every_socket_gets_the_alert_from_one_read(
    client: TestClient, add_alert: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = client.app.state.svc.hub  # type: ignore[attr-defined]
    reads: list[list[int]] = []
    poll = hub.poll_alerts

    def counted(users: list[str]) -> list[dict[str, Any]]:
        got = poll(users)
        reads.append([a["id"] for a in got])
        return got

    monkeypatch.setattr(hub, "poll_alerts", counted)
    users = ["live.a", "live.b"]
    cookies = _cookies(client, users)
    with contextlib.ExitStack() as stack:  # closed last-opened first
        opened = [
            stack.enter_context(
                client.websocket_connect(
                    "/ws/alerts", headers={"cookie": f"openlfr_session={cookies[i % 2]}"}
                )
            )
            for i in range(SOCKETS)
        ]
        for ws in opened:
            assert ws.receive_json()["type"] == "health"
        deadline = time.monotonic() + 10
        while len(hub.subscribers) < SOCKETS:  # every socket joined before the alert
            assert time.monotonic() < deadline
            time.sleep(0.02)
        alert_id = add_alert()
        for ws in opened:
            got: list[int] = []
            while alert_id not in got:
                msg = ws.receive_json()
                assert time.monotonic() < deadline, "alert not pushed to every socket"
                if msg["type"] == "alerts":
                    got += [a["id"] for a in msg["alerts"]]
    assert sum(alert_id in ids for ids in reads) == 1  # one read served every socket
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    with store.session() as s:
        rows = s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == "alert_pushed")).all()
        chain_ok = verify_audit(s).ok  # the batch chains like single appends
    shown = [r.actor for r in rows if str(alert_id) in r.object_id.split(",")]
    assert sorted(shown) == users  # audited once per operator shown it, not per socket
    assert chain_ok


def test_a_socket_that_falls_behind_is_closed_not_silently_starved(client: TestClient) -> None:
    hub: live.AlertHub = client.app.state.svc.hub  # type: ignore[attr-defined]

    async def scenario() -> tuple[live.Subscriber, live.Subscriber]:
        slow, fast = hub.subscribe("slow", "d1"), hub.subscribe("fast", "d2")
        try:
            for i in range(live.SOCKET_QUEUE + 1):
                hub.publish({"type": "update", "alert": {"id": i}}, [slow, fast])
                while not fast.queue.empty():  # this one keeps up
                    fast.queue.get_nowait()
            return slow, fast
        finally:
            hub.unsubscribe(slow)
            hub.unsubscribe(fast)

    slow, fast = asyncio.run(scenario())
    assert slow.closing is not None and slow.closing[0] == live.SLOW_CLOSE
    assert slow.closed.is_set() and fast.closing is None
