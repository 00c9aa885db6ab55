"""SIGKILL of the real processes (benchmarks/faults.py): `openlfr deployment run` at random
moments, `openlfr serve` while clients post decisions and enrolments, and PostgreSQL restarted
under a running deployment.

Committed = what a second reader (this process, its own connections) saw in the store before
the kill, or what the server answered 2xx for: a kill may lose work in flight, never work that
was acknowledged. After every kill the store is reopened and `openlfr audit verify` run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
from faults_setup import LFW, REPO, World, cli_verify, committed, new_deployment, start_serve
from sqlalchemy import func, select

from openlfr.store import models as m
from openlfr.store import open_store


def _runner(world: World, dep: int, *, realtime: bool = False) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "openlfr", "deployment", "run", str(dep)]
    env = world.env("operator", OPENLFR_VIDEO__REALTIME=str(realtime).lower())
    return subprocess.Popen(
        cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _watch(
    world: World, dep: int, until: float, proc: subprocess.Popen[str], after_first: float = -1.0
) -> set[Any]:
    """Rows of ``dep`` a second reader saw committed, polled until ``until`` or the exit; with
    ``after_first`` >= 0, until that many seconds after the first row is seen instead."""
    store = open_store(world.settings, run_migrations=False)
    seen: set[Any] = set()
    try:
        while time.monotonic() < until and proc.poll() is None:
            had = bool(seen)
            seen |= committed(store, dep)
            if after_first >= 0 and seen and not had:
                until = time.monotonic() + after_first
            time.sleep(0.05)
        seen |= committed(store, dep)  # last look: still before the signal
    finally:
        store.dispose()
    return seen


def runner_kills(world: World, n: int, seed: int = 9) -> dict[str, object]:
    """``n`` real runs, each SIGKILLed at a random moment of its life (start-up included)."""
    rng = random.Random(seed)
    lost = committed_n = verify_fail = finished = 0
    # One unkilled run first: how long a run lives, so the kills spread over all of it.
    dep = new_deployment(world, "Op Faults 0")
    started = time.monotonic()
    proc = _runner(world, dep)
    proc.communicate(timeout=600)
    life = time.monotonic() - started
    for i in range(n):
        dep = new_deployment(world, f"Op Faults {i + 1}")
        proc = _runner(world, dep)
        # Most kills land while alerts are being written (0-3 s after the first is seen, so a
        # loaded machine's slower runs are still hit mid-way); one in five during start-up.
        if i % 5 == 4:
            seen = _watch(world, dep, time.monotonic() + rng.uniform(0.5, 0.5 * life), proc)
        else:
            until = time.monotonic() + 2 * life
            seen = _watch(world, dep, until, proc, after_first=rng.uniform(0.0, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            finished += 1  # ended before its moment: its rows still count
        proc.communicate(timeout=60)
        store = open_store(world.settings)  # the reopen (SQLite: WAL replayed)
        after = committed(store, dep)
        store.dispose()
        committed_n += len(seen)
        lost += len(seen - after)
        ok, _line = cli_verify(world)
        verify_fail += not ok
    return {
        "kills": n - finished,
        "runs ended first": finished,
        "run life s": round(life, 1),
        "alerts+sightings committed": committed_n,
        "lost": lost,
        "audit verify failures": verify_fail,
    }


def _face_png(path: Path) -> bytes:
    img = cv2.imread(str(path))
    assert img is not None, path
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


class _Clients:
    """An operator adjudicating pending alerts and a supervisor enrolling, against ``base``;
    each keeps what the server acknowledged (2xx)."""

    def __init__(self, world: World, base: str, faces: list[Path], tag: str) -> None:
        self.world, self.base, self.faces, self.tag = world, base, faces, tag
        self.decided: list[int] = []
        self.enrolled: list[str] = []
        self.errors = 0
        self.stop = threading.Event()

    def _client(self, role: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base,
            timeout=30,
            headers={"Authorization": f"Bearer {self.world.tokens[role]}"},
        )

    def decide(self) -> None:
        with self._client("operator") as c:
            while not self.stop.is_set():
                try:
                    pending = c.get("/api/alerts", params={"status": "pending"}).json()
                    if not pending:
                        return
                    for a in pending[:5]:
                        body = {"decision": "not_actioned", "reason": "fault figures"}
                        r = c.post(f"/api/alerts/{a['id']}/adjudicate", json=body)
                        if r.status_code == 200:
                            self.decided.append(int(a["id"]))
                        time.sleep(0.2)  # an operator's pace, so the alerts last several rounds
                except httpx.HTTPError:
                    self.errors += 1  # the server died under us: expected here
                    return

    def enrol(self) -> None:
        with self._client("supervisor") as c:
            for j, face in enumerate(self.faces):
                if self.stop.is_set():
                    return
                ref = f"F-{self.tag}-{j}"
                data = {
                    "reference": ref,
                    "category": "suspect",
                    "source_ref": f"C-{ref}",
                    "case_outcome": "charged",
                    "age_at_capture": "30",
                }
                try:
                    r = c.post(
                        "/api/subjects",
                        data=data,
                        files={"images": ("face.png", _face_png(face), "image/png")},
                    )
                except httpx.HTTPError:
                    self.errors += 1
                    return
                if r.status_code == 200 and r.json()["images"][0]["status"] == "enrolled":
                    self.enrolled.append(ref)


def serve_kills(world: World, n: int, seed: int = 9) -> dict[str, object]:
    """``n`` times: `openlfr serve` up, clients posting, SIGKILL at a random moment."""
    rng = random.Random(seed)
    faces = sorted(LFW.glob("*/*_0001.jpg"))[:400]
    lost_decisions = lost_enrolments = acked_d = acked_e = verify_fail = leftovers = 0
    for i in range(n):
        tmpdir = world.tmp / f"serve-tmp-{i}"
        proc, base = start_serve(world, tmpdir)
        clients = _Clients(world, base, faces[i * 20 : (i + 1) * 20], str(i))
        threads = [threading.Thread(target=clients.decide), threading.Thread(target=clients.enrol)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.5, 6.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        clients.stop.set()
        for t in threads:
            t.join(60)
        store = open_store(world.settings)
        with store.session() as s:
            statuses = dict(s.execute(select(m.Alert.id, m.Alert.status)).all())
            refs = set(s.scalars(select(m.Subject.reference)))
            lost_enrolments += sum(
                1
                for ref in clients.enrolled
                if ref not in refs
                or not s.scalar(
                    select(func.count(m.ReferenceImage.id))
                    .join(m.Subject, m.Subject.id == m.ReferenceImage.subject_id)
                    .where(m.Subject.reference == ref)
                )
            )
        store.dispose()
        lost_decisions += sum(1 for a in clients.decided if statuses.get(a) != "not_actioned")
        acked_d += len(clients.decided)
        acked_e += len(clients.enrolled)
        leftovers += sum(1 for p in tmpdir.rglob("*") if p.is_file())
        ok, _line = cli_verify(world)
        verify_fail += not ok
    return {
        "kills": n,
        "decisions acked": acked_d,
        "lost": lost_decisions,
        "enrolments acked": acked_e,
        "lost ": lost_enrolments,
        "files left in TMPDIR": leftovers,
        "audit verify failures": verify_fail,
    }


def pg_restart(world: World, pg_restart_cmd: list[str], rounds: int) -> dict[str, object]:
    """A run paced in real time on PostgreSQL; the server restarted (fast shutdown) mid-run."""
    lost = seen_n = verify_fail = 0
    ends: list[str] = []
    for i in range(rounds):
        dep = new_deployment(world, f"Op PG {i}")
        proc = _runner(world, dep, realtime=True)
        store = open_store(world.settings, run_migrations=False)
        deadline = time.monotonic() + 120
        seen: set[Any] = set()
        while not seen and time.monotonic() < deadline and proc.poll() is None:
            seen = committed(store, dep)
            time.sleep(0.1)
        store.dispose()
        time.sleep(0.5 + i)  # a different moment of the run each round
        subprocess.run(pg_restart_cmd, check=True, capture_output=True, timeout=120)
        try:
            out = proc.communicate(timeout=300)[0] or ""
        except subprocess.TimeoutExpired:
            proc.kill()
            out = proc.communicate()[0] or ""
        why = next((ln.strip() for ln in reversed(out.splitlines()) if "rror" in ln), "")
        if logs := os.environ.get("OPENLFR_FAULTS_LOGS"):  # each run's output, to read after
            Path(logs, f"pg-run-{i}.log").write_text(out)
        store = open_store(world.settings)
        after = committed(store, dep)
        with store.session() as s:
            d = s.get(m.Deployment, dep)
            ends.append(f"exit {proc.returncode}, deployment {d.status if d else '?'} ({why[:70]})")
        store.dispose()
        seen_n += len(seen)
        lost += len(seen - after)
        ok, _line = cli_verify(world)
        verify_fail += not ok
    return {
        "restarts": rounds,
        "alerts committed before": seen_n,
        "lost": lost,
        "runner after restart": "; ".join(ends),
        "audit verify failures": verify_fail,
    }
