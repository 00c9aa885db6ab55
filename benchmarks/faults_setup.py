"""The real world the fault figures run in (benchmarks/faults.py): a store with two people
enrolled from the shared talking-head clips, accounts with tokens, deployments whose cameras play
those clips, and the real processes (`openlfr deployment run`, `openlfr serve`, `openlfr audit
verify`) started the way an operator starts them."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import av
import httpx
from sqlalchemy import select

from openlfr.config import Settings, StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.sessions import issue_session
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import Store, open_store, verify_audit
from openlfr.store import models as m
from openlfr.store.models_accounts import SessionKind
from openlfr.store.models_sightings import AlertSighting

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "data" / "video"
LFW = REPO.parent / "shared" / "data" / "lfw" / "images"
#: Clip -> the second its subject's custody photo is taken from (a frame the run also sees).
CLIPS = {"WDA_KatieHill_000.mp4": 7.5, "WDA_AlexandriaOcasioCortez_000.mp4": 4.0}
PASSWORD = "correct horse battery staple"
# Deployments here are authorised and run at once: no advance public notice (R19), as in the
# demo's and the tests' throw-away stores; set before any Settings() is read.
os.environ.setdefault("OPENLFR_ACCOUNTABILITY__NOTICE_HOURS", "0")


@dataclass
class World:
    """A store and what the real processes need to act on it."""

    settings: StoreSettings
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token
    watchlist_id: int = 0
    tmp: Path = Path()

    def env(self, role: str | None = None, **extra: str) -> dict[str, str]:
        env = {
            **os.environ,
            "OPENLFR_STORE__DATA_DIR": str(self.settings.data_dir),
            "OPENLFR_ACCOUNTABILITY__NOTICE_HOURS": "0",
            "COLUMNS": "200",
            **extra,
        }
        if self.settings.database_url:
            env["OPENLFR_STORE__DATABASE_URL"] = self.settings.database_url
        if role:
            env["OPENLFR_TOKEN"] = self.tokens[role]
        return env

    def context(self) -> AppContext:
        return AppContext.open(
            Settings().model_copy(update={"store": self.settings}), actor="pc.faults"
        )


def _frame(clip: Path, at: float, out: Path) -> Path:
    with av.open(str(clip)) as container:
        frame = next(f for f in container.decode(video=0) if f.time and f.time >= at)
        frame.to_image().save(out, quality=95)
    return out


def build_world(settings: StoreSettings, tmp: Path) -> World:
    """Enrols the clips' subjects, compiles a watchlist, makes an account (with a token) per
    role the checks act as."""
    world = World(settings, tmp=tmp)
    ctx = world.context()
    try:
        for i, (clip, at) in enumerate(CLIPS.items()):
            ref = _frame(VIDEO / clip, at, tmp / f"ref{i}.jpg")
            spec = ImageSpec(ref, f"CUST-{i}", "PACE s64A", "charged", date.today(), 30)
            got = enrol_subject(
                ctx,
                reference=f"SUBJ-{i}",
                display_name=f"Subject {i}",
                category="suspect",
                images=[spec],
            )
            assert got.enrolled, got.refused
        world.watchlist_id = compile_watchlist(ctx, "WL faults").id
        for role in ("operator", "supervisor"):
            name = f"{role}.{secrets.token_hex(3)}"
            account = create_account(
                ctx.store,
                username=name,
                password=PASSWORD,
                role=role,
                display_name=name,
                rank=None,
                created_by="faults",
            )
            token, _ = issue_session(ctx.store, int(account), SessionKind.BEARER, 24.0, "faults")
            world.tokens[role] = token
    finally:
        ctx.close()
    return world


def new_deployment(world: World, name: str, clips: list[str] | None = None) -> int:
    """An authorised deployment, live for the next hour, one camera per clip."""
    ctx = world.context()
    try:
        now = utcnow()
        cams = [(f"cam{i}", str(VIDEO / c)) for i, c in enumerate(clips or list(CLIPS))]
        draft = DeploymentDraft(
            name,
            "locate suspects",
            "High Street",
            "sightings reported",
            now - timedelta(minutes=1),
            now + timedelta(hours=1),
            world.watchlist_id,
            cams,
            None,
            "reviewed",
        )
        dep = create_deployment(ctx, draft)
        authorise_deployment(
            ctx, dep, officer="A Smith", rank="superintendent", reasons="fault figures"
        )
        return dep
    finally:
        ctx.close()


def committed(store: Store, dep: int | None = None) -> set[tuple[str, int]]:
    """Alert and sighting rows (kind, id) in the store: what a second reader sees as committed."""
    with store.session() as s:
        q_alerts = select(m.Alert.id)
        q_sight = select(AlertSighting.id)
        if dep is not None:
            q_alerts = q_alerts.where(m.Alert.deployment_id == dep)
            q_sight = q_sight.join(m.Alert, m.Alert.id == AlertSighting.alert_id).where(
                m.Alert.deployment_id == dep
            )
        return {("alert", i) for i in s.scalars(q_alerts)} | {
            ("sighting", i) for i in s.scalars(q_sight)
        }


def cli_verify(world: World) -> tuple[bool, str]:
    """`openlfr audit verify` in a process of its own: exit 0 and its last line."""
    cmd = [sys.executable, "-m", "openlfr", "audit", "verify"]
    out = subprocess.run(
        cmd, env=world.env(), cwd=REPO, capture_output=True, text=True, timeout=300
    )
    lines = (out.stdout + out.stderr).strip().splitlines()
    return out.returncode == 0, lines[-1] if lines else ""


def store_verifies(settings: StoreSettings) -> bool:
    store = open_store(settings)
    try:
        with store.session() as s:
            return verify_audit(s).ok
    finally:
        store.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(
    world: World, tmpdir: Path, *, extra: dict[str, str] | None = None, pre: str = ""
) -> tuple[subprocess.Popen[bytes], str]:
    """`openlfr serve` on the world's store with its own TMPDIR; ``pre``: Python run before the
    CLI in that process (to change a module setting for a before/after figure)."""
    port = free_port()
    tmpdir.mkdir(parents=True, exist_ok=True)
    code = f"{pre}\nfrom openlfr.cli import main\nmain()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port)],
        env=world.env(TMPDIR=str(tmpdir), **(extra or {})),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            httpx.get(f"{base}/public", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("openlfr serve did not start within 120 s")


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """Resident memory of ``pid`` (VmRSS now, or VmHWM: the peak) in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0
