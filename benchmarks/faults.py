"""Fault and load figures (issue 9 item 6), printed as one table: the real processes killed,
the store filled and locked, PostgreSQL restarted, the alert feed loaded.

    nice -n 10 .venv/bin/python benchmarks/faults.py            # everything, ~20 min
    nice -n 10 .venv/bin/python benchmarks/faults.py --quick    # 5 runner kills, ~8 min
    nice -n 10 .venv/bin/python benchmarks/faults.py --only runner   # 50 kills, ~7 min
    nice -n 10 .venv/bin/python benchmarks/faults.py --only feed     # ~1.5 min

Runner kills: a real `openlfr deployment run` (two cameras playing the shared clips of two
enrolled people) SIGKILLed at a random moment of its life, N times, each on a fresh authorised
deployment; a second reader polls the store for the run's alerts and sightings until the signal.
Lost = rows it saw that are gone after the reopen; `openlfr audit verify` must pass after each.
Serve kills: `openlfr serve` SIGKILLed while an operator adjudicates alerts and a supervisor
enrols (POST /api/subjects); lost = answers of 200 whose change is not in the store; no upload
may be left in the server's TMPDIR. PostgreSQL: a private cluster (Debian's binaries, a free
loopback port; never the developer's) restarted (fast shutdown) under a real-time run.
Alert feed: C browsers on /ws/alerts (asyncio websockets clients in --client-procs processes
of their own, faults_feed_clients.py) while a child writes alerts at R/s the way the alert sink
does; latency = the alert's commit (the writer's clock) to each socket's receipt; lost = pushes
due to connected sockets that never came; closed = sockets the server dropped (4408: too slow).
40 MP: four concurrent enrolments of a 39.9-megapixel photo (JPEG and PNG), server RSS, with
the decoder as it is and as it was.
Writer kills: a child writing alerts like the sink, SIGKILLed N times. Disk full: the file is
capped with SQLite's max_page_count; the write must fail as StoreFull with nothing of it kept.
Locked: another connection holds the write lock past the busy timeout (shortened to 1 s).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from faults_kills import pg_restart, runner_kills, serve_kills
from faults_load import WRITER, alert_feed, big_uploads, seed_feed
from faults_pg import private_pg
from faults_setup import build_world
from sqlalchemy import func, select

from openlfr.config import StoreSettings
from openlfr.errors import OpenLFRError, StoreFull
from openlfr.store import AuditAction, Store, append_audit, open_store, verify_audit
from openlfr.store import models as m
from openlfr.store.models import utcnow


def seed(store: Store) -> tuple[int, int, int, int]:
    with store.session() as s:
        subj = m.Subject(reference="F-1", display_name="F", category="suspect")
        s.add(subj)
        s.flush()
        img = m.ReferenceImage(subject_id=subj.id, source_ref="C", lawful_basis="PACE",
                               case_outcome="charged", image_sha256="0" * 64,
                               embedding_model="sface")  # fmt: skip
        store.seal(s, img, image_blob=b"img", embedding_blob=np.zeros(4, np.float32).tobytes())
        wl = m.Watchlist(name="W", created_by="t", frozen=True, member_hash="a" * 64)
        s.add(wl)
        s.flush()
        now = utcnow()
        dep = m.Deployment(name="D", purpose="p", location="l", location_reason="r",
                           start_at=now, end_at=now.replace(year=now.year + 1), watchlist_id=wl.id,
                           threshold=0.5, status="live", created_by="t")  # fmt: skip
        s.add(dep)
        s.flush()
        cam = m.Camera(deployment_id=dep.id, name="c", source="/dev/null")
        s.add(cam)
        s.flush()
        return dep.id, cam.id, subj.id, img.id


def alert_ids(store: Store) -> set[int]:
    with store.session() as s:
        return set(s.scalars(select(m.Alert.id)))


def kills(data: Path, ids: tuple[int, int, int, int], n: int) -> dict[str, object]:
    lost, verify_failures, committed_total, reopen_failures = 0, 0, 0, 0
    rng = random.Random(9)
    for _ in range(n):
        unpaced = [str(data), *map(str, ids), "0", "inf"]  # as fast as it can, until killed
        proc = subprocess.Popen([sys.executable, "-c", WRITER, *unpaced],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None
        first = proc.stdout.readline()  # started and wrote one
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        rest = proc.communicate()[0]
        reported = {int(x) for x in (first + rest).split() if x.isdigit()}  # ids, not times
        committed_total += len(reported)
        try:
            store = open_store(StoreSettings(data_dir=data))
        except OpenLFRError:
            reopen_failures += 1
            continue
        lost += len(reported - alert_ids(store))
        with store.session() as s:
            if not verify_audit(s).ok:
                verify_failures += 1
        store.dispose()
    return {
        "kills": n,
        "alerts committed": committed_total,
        "alerts lost": lost,
        "audit verify failures": verify_failures,
        "reopen failures": reopen_failures,
    }


def _write_one(store: Store, ids: tuple[int, int, int, int]) -> None:
    with store.session() as s:
        a = m.Alert(deployment_id=ids[0], camera_id=ids[1], track_id=0, subject_id=ids[2],
                    reference_image_id=ids[3], score=0.7, margin=0.2, first_frame=0,
                    last_frame=0)  # fmt: skip
        store.seal(s, a, probe_crop_blob=os.urandom(200_000))
        append_audit(
            s,
            actor="system:faults",
            action=AuditAction.COLLECTION,
            object_type="alert",
            object_id=a.id,
            justification="alert raised",
        )


def _counts(store: Store) -> tuple[int, int]:
    with store.session() as s:
        return (int(s.scalar(select(func.count()).select_from(m.Alert)) or 0),
                int(s.scalar(select(func.count()).select_from(m.AuditEntry)) or 0))  # fmt: skip


def disk_full(data: Path, ids: tuple[int, int, int, int]) -> dict[str, object]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "resilience"))
    from resil_support import cap_pages

    store = open_store(StoreSettings(data_dir=data))
    before = _counts(store)
    lift = cap_pages(store.engine, spare_pages=2)
    error = ""
    try:
        _write_one(store, ids)
    except StoreFull as exc:
        error = str(exc)
    lift()
    after = _counts(store)
    with store.session() as s:
        ok = verify_audit(s).ok
    _write_one(store, ids)  # and the store works again once there is room
    store.dispose()
    return {
        "error": error[:60] or "NONE (write went through)",
        "rows kept": after != before,
        "audit verify": ok,
    }


def locked(data: Path, ids: tuple[int, int, int, int]) -> dict[str, object]:
    import sqlite3

    from openlfr.store import db

    db.SQLITE_BUSY_TIMEOUT_MS = 1000  # the setting under test, shortened for the figure
    store = open_store(StoreSettings(data_dir=data))
    before = _counts(store)
    holder = sqlite3.connect(str(data / "openlfr.db"), timeout=5)
    holder.execute("BEGIN IMMEDIATE")
    started, error = time.monotonic(), ""
    try:
        _write_one(store, ids)
    except Exception as exc:
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:50]}"
    waited = time.monotonic() - started
    holder.rollback()
    holder.close()
    after = _counts(store)
    _write_one(store, ids)
    store.dispose()
    return {"error": error or "NONE", "waited s": round(waited, 2), "rows kept": after != before}


class Rows(list[tuple[str, dict[str, object]]]):
    """The table's rows; each is also printed (stderr) as it comes, for a long run's progress."""

    def append(self, row: tuple[str, dict[str, object]]) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {row[0]}: {row[1]}", file=sys.stderr, flush=True)
        super().append(row)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50, help="kills of a real runner")
    ap.add_argument("--serve-kills", type=int, default=50)
    ap.add_argument("--pg-restarts", type=int, default=3)
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--accounts", type=int, default=200, help="operator accounts behind them")
    ap.add_argument("--rate", type=float, default=50.0, help="alerts per second")
    ap.add_argument("--seconds", type=float, default=20.0, help="of alerts on the feed")
    ap.add_argument("--poll-s", default="0.5,0.1", help="alert poll intervals to try")
    ap.add_argument("--client-procs", type=int, default=4, help="processes the clients run in")
    ap.add_argument("--only", default="", help="comma list: writer,runner,serve,pg,feed,40mp,store")
    ap.add_argument("--quick", action="store_true", help="5 runner kills, 5 serve kills, 1 PG")
    args = ap.parse_args()
    if args.quick:
        args.kills, args.serve_kills, args.pg_restarts, args.seconds = 5, 5, 1, 10.0
    only = set(filter(None, args.only.split(",")))
    want = lambda k: not only or k in only  # noqa: E731
    rows = Rows()
    with tempfile.TemporaryDirectory(prefix="openlfr-faults-") as tmp:
        data = Path(tmp) / "store" / "data"
        if want("writer") or want("store"):
            plain = Path(tmp) / "plain" / "data"
            store = open_store(StoreSettings(data_dir=plain))
            ids = seed(store)
            store.dispose()
            if want("writer"):
                rows.append(("kill -9 of an alert writer", kills(plain, ids, args.kills)))
            if want("store"):
                rows.append(("disk full during an alert write", disk_full(plain, ids)))
                rows.append(("database locked past busy timeout", locked(plain, ids)))
        if not only or only - {"writer", "store", "pg"}:
            world = build_world(StoreSettings(data_dir=data), Path(tmp))
            if want("runner"):
                rows.append(("kill -9 of `deployment run`", runner_kills(world, args.kills)))
            if want("serve"):
                rows.append(("kill -9 of `serve` (posting)", serve_kills(world, args.serve_kills)))
            if want("feed"):
                ids = seed_feed(world)
                for poll in (float(x) for x in args.poll_s.split(",")):
                    fig = alert_feed(
                        world,
                        ids,
                        clients=args.clients,
                        accounts=args.accounts,
                        rate=args.rate,
                        seconds=args.seconds,
                        poll_s=poll,
                        procs=args.client_procs,
                    )
                    rows.append((f"/ws/alerts, poll {poll:g} s", fig))
            if want("40mp"):
                for full in (True, False):
                    rows.append(
                        ("4 concurrent 40 MP uploads", big_uploads(world, full_decode=full))
                    )
        if want("pg"):
            with private_pg() as (url, restart):
                pg_world = build_world(
                    StoreSettings(data_dir=Path(tmp) / "pgstore" / "data", database_url=url),
                    Path(tmp),
                )
                rows.append(
                    (
                        "PostgreSQL restarted mid-run",
                        pg_restart(pg_world, restart, args.pg_restarts),
                    )
                )
    print(f"{'fault / load':<36} result")
    print("-" * 110)
    for name, result in rows:
        print(f"{name:<36} " + ", ".join(f"{k.strip()}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
