"""Refresh the screenshots in docs/ (operator page, authorising officer's review, public report).

    python benchmarks/screenshots.py [--out docs]

The tests never write into the checkout (their screenshots go to a temporary folder); this
script is the one deliberate way to update docs/*.png. It builds a throw-away store in a
temporary folder (never the user's store), enrols a neutral reference (SUBJ-0412) from a frame
of a shared clip, raises alerts through the same alert sink a run uses, serves the app on
127.0.0.1 and drives Debian's chromium with Playwright. Faces are blurred in the pictures.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av  # noqa: E402
import numpy as np  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import select  # noqa: E402

from openlfr.api import create_app  # noqa: E402
from openlfr.config import Settings, StoreSettings, WebSettings  # noqa: E402
from openlfr.pipeline.alerts import Alert  # noqa: E402
from openlfr.service.accounts import create_account  # noqa: E402
from openlfr.service.alert_sink import StoreAlertSink  # noqa: E402
from openlfr.service.alerts import adjudicate, record_outcome  # noqa: E402
from openlfr.service.context import AppContext, utcnow  # noqa: E402
from openlfr.service.deployments import (  # noqa: E402
    DeploymentDraft,
    authorise_deployment,
    create_deployment,
)
from openlfr.service.enrolment import ImageSpec, enrol_subject  # noqa: E402
from openlfr.service.runs import run_deployment  # noqa: E402
from openlfr.service.watchlists import GalleryEntry, compile_watchlist  # noqa: E402
from openlfr.store import models as m  # noqa: E402

DATA = REPO.parent / "shared" / "data"
CLIP = DATA / "video" / "WDA_KatieHill_000.mp4"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
PASSWORD = "correct horse battery"


def _frame(seconds: float) -> np.ndarray:
    with av.open(str(CLIP)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                return np.asarray(frame.to_ndarray(format="bgr24"))
    raise SystemExit(f"{CLIP}: no frame at {seconds} s")


def _raise_pending(settings: Settings, live: int) -> None:
    """One more alert, raised as a run raises it (after the report's picture is taken, so that
    the report shows the run's own figures), waiting for the operator's screenshot."""
    ctx = AppContext.open(settings, actor="runner")
    with ctx.store.session() as s:
        cam = s.scalar(select(m.Camera.id).where(m.Camera.deployment_id == live))
        e = s.scalar(
            select(m.WatchlistEntry)
            .join(m.Deployment, m.Deployment.watchlist_id == m.WatchlistEntry.watchlist_id)
            .where(m.Deployment.id == live)
        )
        assert cam is not None and e is not None
        gallery = [GalleryEntry(e.subject_id, "SUBJ-0412", e.reference_image_id, e.category)]
    crop = _frame(7.0)[60:400, 90:430].copy()
    StoreAlertSink(ctx, live, cam, gallery).raise_alert(
        Alert("high-street-north", 99, 0, 0.74, 0.2, -1, 1, 190, 0.0, 5, crop)
    )
    ctx.close()


def _store(tmp: Path) -> tuple[Settings, int, int]:
    """A store with one subject, a deployment run over the clip (its alerts closed, one more
    to come) and a draft for the authorising officer; returns (settings, live id, draft id)."""
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=tmp / "store"),
                                             "web": WebSettings(alert_poll_s=0.2)})  # fmt: skip
    ctx = AppContext.open(settings, actor="sgt.setup")
    picture = tmp / "reference.jpg"
    import cv2

    cv2.imwrite(str(picture), _frame(7.5))
    spec = ImageSpec(picture, "CUST-7", "PACE s64A", "charged", date.today(), 30)
    enrol_subject(ctx, reference="SUBJ-0412", display_name="K H", category="suspect",
                  images=[spec])  # fmt: skip
    wl = compile_watchlist(ctx, "Op Screenshot")
    now = utcnow()

    def draft(name: str) -> int:
        return create_deployment(ctx, DeploymentDraft(
            name, "locate a suspect wanted for robbery", "High Street", "sightings reported",
            now - timedelta(minutes=1), now + timedelta(hours=4), wl.id,
            [("high-street-north", str(CLIP))], None,
            "threshold at the calibrated floor; false-alert rates by group reviewed",
        ))  # fmt: skip

    live = draft("Op High Street")
    authorise_deployment(ctx, live, officer="A Smith", rank="superintendent",
                         reasons="serious offence; recent sightings at this location")  # fmt: skip
    pending = draft("Op Market Square")
    # A real run over the clip (real counts for the report); its alerts are closed.
    run_deployment(ctx, live)
    op = AppContext.open(settings, actor="pc.operator")
    with ctx.store.session() as s:
        raised = list(s.scalars(select(m.Alert.id).where(m.Alert.deployment_id == live)))
    for alert_id in raised:
        adjudicate(op, alert_id, "confirmed", "same face: scar above left eyebrow")
        record_outcome(op, alert_id, "engaged_no_arrest")
    for username, role, rank in (("operator", "operator", None),
                                 ("supt", "authorising_officer", "superintendent")):  # fmt: skip
        create_account(ctx.store, username=username, password=PASSWORD, role=role, rank=rank,
                       display_name="PC Operator" if rank is None else "A Smith",
                       created_by="screenshots")  # fmt: skip
    op.close()
    ctx.close()
    return settings, live, pending


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SystemExit("the server did not start")
        time.sleep(0.05)
    return srv, thread, f"http://127.0.0.1:{port}"


def _login(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs", help="folder for the PNGs")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import ViewportSize, sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        settings, live, pending = _store(Path(tmp))
        srv, thread, url = _serve(create_app(settings))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
                view: ViewportSize = {"width": 1366, "height": 768}
                report = browser.new_context(viewport=view).new_page()
                report.goto(f"{url}/public/report.html")
                report.screenshot(path=str(out / "report.png"))
                _raise_pending(settings, live)
                page = browser.new_context(viewport=view).new_page()
                _login(page, url, "operator")
                page.wait_for_selector("#conn.on")
                page.locator("#queue li").first.click()
                page.wait_for_selector("#alert:not([hidden])")
                for img in ("#img-probe", "#img-ref"):  # no real face in a published picture
                    page.locator(img).evaluate("e => { e.style.filter = 'blur(18px)'; }")
                time.sleep(0.5)
                page.screenshot(path=str(out / "operator.png"))
                review = browser.new_context(viewport=view).new_page()
                _login(review, url, "supt")
                review.goto(f"{url}/deployments/{pending}/review")
                review.fill("#authorise-form textarea[name=reasons]", "serious offence; "
                            "sightings this week; no less intrusive means")  # fmt: skip
                review.screenshot(path=str(out / "review.png"), full_page=True)
                browser.close()
        finally:
            srv.should_exit = True
            thread.join(15)
    for name in ("operator.png", "review.png", "report.png"):
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
