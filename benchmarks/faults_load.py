"""Load figures (benchmarks/faults.py): the alert feed's push latency with many WebSocket
clients, and the server's memory under concurrent 40-megapixel uploads."""

from __future__ import annotations

import contextlib
import json
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
from faults_setup import LFW, REPO, World, new_deployment, rss_mb, start_serve

from openlfr.service.accounts import create_account
from openlfr.service.sessions import issue_session
from openlfr.store import models as m
from openlfr.store import open_store
from openlfr.store.models_accounts import SessionKind

#: Writes alerts the way the alert sink does (sealed crop + collection audit, one transaction),
#: paced at argv[6] per second (0: as fast as it can) for argv[7] seconds (inf: until killed).
WRITER = r"""
import sys, time
from pathlib import Path
from openlfr.config import StoreSettings
from openlfr.store import AuditAction, append_audit, open_store
from openlfr.store import models as m
store = open_store(StoreSettings(data_dir=Path(sys.argv[1])), run_migrations=False)
dep, cam, subj, img = (int(x) for x in sys.argv[2:6])
rate, seconds = float(sys.argv[6]), float(sys.argv[7])
start, i = time.monotonic(), 0
while time.monotonic() - start < seconds:
    i += 1
    with store.session() as s:
        a = m.Alert(deployment_id=dep, camera_id=cam, track_id=i, subject_id=subj,
                    reference_image_id=img, score=0.7, margin=0.2, first_frame=i, last_frame=i)
        store.seal(s, a, probe_crop_blob=b"\xff\xd8crop" * 50)
        append_audit(s, actor="system:faults", action=AuditAction.COLLECTION,
                     object_type="alert", object_id=a.id, justification="alert raised")
    print(a.id, time.time(), flush=True)  # committed: the push latency counts from here
    if rate:
        time.sleep(max(0.0, start + i / rate - time.monotonic()))
"""


def _sessions(world: World, n: int, accounts: int) -> list[str]:
    """``n`` operator page sessions over ``accounts`` operator accounts."""
    from argon2 import PasswordHasher

    from openlfr.service import accounts as acc

    acc._HASHER = PasswordHasher(time_cost=1, memory_cost=1024)  # set-up speed only
    store = open_store(world.settings)
    ids = [
        int(
            create_account(
                store,
                username=f"op{i}.{secrets.token_hex(2)}",
                password="correct horse battery staple",
                role="operator",
                display_name=f"Op {i}",
                rank=None,
                created_by="faults",
            )
        )
        for i in range(accounts)
    ]
    tokens = [
        issue_session(store, ids[i % accounts], SessionKind.COOKIE, 2.0, "faults")[0]
        for i in range(n)
    ]
    store.dispose()
    return tokens


CLIENTS = Path(__file__).with_name("faults_feed_clients.py")


def _feed(
    base: str,
    cookies: list[str],
    procs: int,
    seconds: float,
    writer: list[str],
    env: dict[str, str],
    pid: int,
) -> dict[str, Any]:
    """The clients in ``procs`` processes of their own; the writer in another."""
    url = base.replace("http://", "ws://") + "/ws/alerts"
    workers = []
    for k in range(procs):
        w = subprocess.Popen(
            [sys.executable, str(CLIENTS), url, base],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO),
        )  # fmt: skip
        assert w.stdin is not None and w.stdout is not None
        w.stdin.write(json.dumps(cookies[k::procs]) + "\n")
        w.stdin.flush()
        workers.append(w)
    for w in workers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready"
    rss: list[float] = [rss_mb(pid)]
    proc = subprocess.Popen(writer, env=env, cwd=str(REPO), stdout=subprocess.PIPE, text=True)
    end = time.monotonic() + seconds + 3
    while time.monotonic() < end:
        time.sleep(0.5)
        rss.append(rss_mb(pid))
    commits = {
        int(i): float(t) for i, t in (ln.split() for ln in proc.communicate()[0].splitlines())
    }
    time.sleep(2)  # the last poll's pushes
    out: dict[str, Any] = {"connected": 0, "errors": [], "closes": {}, "receipts": []}
    for w in workers:
        got = json.loads(w.communicate("stop\n", timeout=120)[0].splitlines()[-1])
        out["connected"] += got["connected"]
        out["errors"] += got["errors"]
        out["receipts"] += got["receipts"]
        for code, n in got["closes"].items():
            out["closes"][code] = out["closes"].get(code, 0) + n
    out.update(commits=commits, rss=rss)
    return out


def alert_feed(
    world: World,
    ids: tuple[int, int, int, int],
    *,
    clients: int,
    accounts: int,
    rate: float,
    seconds: float,
    poll_s: float | None,
    procs: int = 4,
) -> dict[str, object]:
    """``clients`` browsers on /ws/alerts (in ``procs`` processes) while alerts are written
    at ``rate`` per second; latency from each alert's commit to each socket's receipt."""
    cookies = _sessions(world, clients, accounts)
    extra = {"OPENLFR_WEB__ALERT_POLL_S": str(poll_s)} if poll_s else {}
    proc, base = start_serve(world, world.tmp / "feed-tmp", extra=extra)
    try:
        writer = [
            sys.executable,
            "-c",
            WRITER,
            str(world.settings.data_dir),
            *map(str, ids),
            str(rate),
            str(seconds),
        ]
        got = _feed(base, cookies, procs, seconds, writer, world.env(), proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    commits: dict[int, float] = got["commits"]
    lat: list[float] = []
    for receipts in got["receipts"]:
        seen = {i: t for i, t in receipts if i in commits}
        lat += [t - commits[i] for i, t in seen.items()]
    lat.sort()
    expected = len(commits) * got["connected"]

    def pct(q: float) -> float:
        return round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else float("nan")

    return {
        "clients": f"{got['connected']}/{clients} on {accounts} accounts, {procs} procs",
        "alerts": f"{len(commits)} at {rate:g}/s",
        "poll s": poll_s or 0.5,
        "pushes": f"{len(lat)}/{expected}",
        "lost": expected - len(lat),
        "p50 ms": pct(0.5),
        "p95 ms": pct(0.95),
        "max ms": pct(1.0),
        "errors": len(got["errors"]),
        "closed": got["closes"] or 0,
        "server RSS MB": f"{got['rss'][0]:.0f} -> peak {max(got['rss']):.0f}",
    }


def _photo_40mp(png: bool) -> bytes:
    """A real face photo enlarged to 7300x5470 (39.9 MP): JPEG, or PNG (decoded in full)."""
    img = cv2.imread(str(LFW / "Eric_Daze" / "Eric_Daze_0001.jpg"))
    assert img is not None, "the LFW photo is missing"
    big = cv2.resize(img, (7300, 5470), interpolation=cv2.INTER_LINEAR)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 1] if png else [cv2.IMWRITE_JPEG_QUALITY, 90]
    ok, buf = cv2.imencode(".png" if png else ".jpg", big, params)
    assert ok
    return buf.tobytes()


def big_uploads(world: World, *, full_decode: bool, n: int = 4) -> dict[str, object]:
    """``n`` concurrent enrolments of one 40 MP image each: the server's RSS before, at its
    peak and after. ``full_decode``: the pre-fix decoder (every pixel decoded, no reduction)."""
    pre = "import openlfr.vision.images as i; i.MAX_DECODED_SIDE = 10**6" if full_decode else ""
    proc, base = start_serve(world, world.tmp / f"big-tmp-{full_decode}", pre=pre)
    headers = {"Authorization": f"Bearer {world.tokens['supervisor']}"}
    results: list[str] = []
    try:
        small = {
            "reference": "WARM-UP",
            "category": "suspect",
            "source_ref": "C-W",
            "case_outcome": "charged",
            "age_at_capture": "30",
        }
        face = (LFW / "Eric_Daze" / "Eric_Daze_0001.jpg").read_bytes()
        httpx.post(
            f"{base}/api/subjects",
            data=small,
            headers=headers,
            timeout=300,
            files={"images": ("w.jpg", face, "image/jpeg")},
        )  # models loaded
        before = rss_mb(proc.pid)
        kinds = {False: _photo_40mp(png=False), True: _photo_40mp(png=True)}
        photos = [kinds[k % 2 == 1] for k in range(n)]

        def post(k: int) -> None:
            data = {
                "reference": f"BIG-{full_decode}-{k}",
                "category": "suspect",
                "source_ref": f"C-B{k}",
                "case_outcome": "charged",
                "age_at_capture": "30",
            }
            kind = ("big.png", "image/png") if k % 2 else ("big.jpg", "image/jpeg")
            r = httpx.post(
                f"{base}/api/subjects",
                data=data,
                headers=headers,
                timeout=600,
                files={"images": (kind[0], photos[k], kind[1])},
            )
            got: dict[str, Any] = (
                r.json()["images"][0] if r.status_code == 200 else {"status": r.status_code}
            )
            results.append(
                f"{got['status']}"
                + (
                    f" ({got['reason'][:40]})"
                    if got.get("rule") or got["status"] == "refused"
                    else ""
                )
            )

        peak_before = rss_mb(proc.pid, "VmHWM")
        threads = [threading.Thread(target=post, args=(k,)) for k in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak, after = rss_mb(proc.pid, "VmHWM"), rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(30)
        if proc.poll() is None:
            proc.kill()
    sizes = "/".join(f"{len(p) / 2**20:.0f}" for p in photos)
    return {
        "decoder": "full (before)" if full_decode else "reduced (now)",
        "uploads": f"{n} x 40 MP ({sizes} MiB; JPEG/PNG)",
        "results": ",".join(results),
        "RSS MB before": round(before),
        "peak": round(max(peak, peak_before)),
        "after": round(after),
    }


def seed_feed(world: World) -> tuple[int, int, int, int]:
    """A live deployment with one camera and an enrolled subject's image, for the writer."""
    dep_id = new_deployment(world, "Op Feed")
    store = open_store(world.settings)
    try:
        with store.session() as s:
            dep = s.get(m.Deployment, dep_id)
            assert dep is not None
            cam = s.query(m.Camera).filter(m.Camera.deployment_id == dep.id).first()
            img = s.query(m.ReferenceImage).order_by(m.ReferenceImage.id).first()
            assert cam is not None and img is not None
            return dep.id, cam.id, img.subject_id, img.id
    finally:
        store.dispose()
