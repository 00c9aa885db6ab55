"""Fault figures (issue 9 item 6), printed as a table: what survives a kill -9, a full disk and
a database locked past the busy timeout, on a real SQLite store.

    .venv/bin/python benchmarks/faults.py            # 50 kills
    .venv/bin/python benchmarks/faults.py --quick    # 10 kills

kill -9: a child process writes alerts the way the alert sink does (the sealed alert row and
its audit entry in one transaction) and prints each id once committed; it is SIGKILLed at a
random moment, N times on one store. Lost = ids the child reported committed that are not in
the store; after every kill the store must reopen and the audit chain verify.
Disk full: the file is capped with SQLite's max_page_count; the write must fail as StoreFull
with nothing of it kept. Locked: another connection holds the write lock past the busy timeout
(shortened to 1 s here); the write must fail with a clear error, nothing kept, and succeed once
the lock is gone.
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
from sqlalchemy import func, select

from openlfr.config import StoreSettings
from openlfr.errors import OpenLFRError, StoreFull
from openlfr.store import AuditAction, Store, append_audit, open_store, verify_audit
from openlfr.store import models as m
from openlfr.store.models import utcnow

WRITER = r"""
import sys
from pathlib import Path
from openlfr.config import StoreSettings
from openlfr.store import AuditAction, append_audit, open_store
from openlfr.store import models as m
store = open_store(StoreSettings(data_dir=Path(sys.argv[1])), run_migrations=False)
dep, cam, subj, img = (int(x) for x in sys.argv[2:6])
i = 0
while True:
    i += 1
    with store.session() as s:
        a = m.Alert(deployment_id=dep, camera_id=cam, track_id=i, subject_id=subj,
                    reference_image_id=img, score=0.7, margin=0.2, first_frame=i, last_frame=i)
        store.seal(s, a, probe_crop_blob=b"\xff\xd8crop" * 50)
        append_audit(s, actor="system:faults", action=AuditAction.COLLECTION,
                     object_type="alert", object_id=a.id, justification="alert raised")
    print(a.id, flush=True)
"""


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
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(data), *map(str, ids)],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None
        first = proc.stdout.readline()  # started and wrote one
        time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        rest = proc.communicate()[0]
        reported = {int(x) for x in (first + rest).split() if x.isdigit()}
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--quick", action="store_true", help="10 kills instead of 50")
    args = ap.parse_args()
    n = 10 if args.quick else args.kills
    with tempfile.TemporaryDirectory(prefix="openlfr-faults-") as tmp:
        data = Path(tmp) / "data"
        store = open_store(StoreSettings(data_dir=data))
        ids = seed(store)
        store.dispose()
        rows = [("kill -9 of an alert writer", kills(data, ids, n)),
                ("disk full during an alert write", disk_full(data, ids)),
                ("database locked past busy timeout", locked(data, ids))]  # fmt: skip
    print(f"{'fault':<36} result")
    print("-" * 100)
    for name, result in rows:
        print(f"{name:<36} " + ", ".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
