"""An interrupted custody import resumes (issue 11 item 1): a real `openlfr custody import`
process on real LFW faces is SIGKILLed part-way, run again, and ends exactly where a clean import
of the same CSV ends: the same rows with the same decisions and vectors, every row whole (its
sealed image decodes and its sealed embedding is a unit vector), the index holding exactly the
eligible rows, one audited collection per row and the hash chain intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import OperationalError
from store_support import store_env

from openlfr.config import Settings, StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.context import AppContext
from openlfr.service.custody_import import import_custody
from openlfr.service.custody_index_sync import open_custody_index
from openlfr.service.sessions import issue_session
from openlfr.store import verify_audit
from openlfr.store.models import AuditEntry
from openlfr.store.models_accounts import SessionKind
from openlfr.store.models_custody import CustodyImage

HEADER = "custody_id,person_ref,image,captured,age_at_capture,case_outcome"
# Four batches of 64: the kill, sent once the first is committed, lands before the last one
# (with 100 rows, two batches, the second once committed too before the kill under CI load).
ROWS = 200


def _csv(path: Path, images: Path) -> Path:
    lines = [HEADER]
    for i, person in enumerate(sorted(p.name for p in images.iterdir())[:ROWS]):
        first = sorted((images / person).iterdir())[0].name
        outcome = "acquitted" if i % 7 == 3 else "charged"
        lines.append(f"K{i:04d},P{i},{person}/{first},2019-05-06,31,{outcome}")
    lines.insert(40, "KBAD,PBAD,no/such/file.jpg,2019-05-06,31,charged")
    path.write_text("\n".join(lines) + "\n")
    return path


def _state(ctx: AppContext) -> dict[str, tuple[bool, bytes]]:
    """custody_id -> (eligible, embedding) with every row checked whole on the way."""
    out = {}
    with ctx.store.session() as s:
        for row in s.scalars(select(CustodyImage).order_by(CustodyImage.id)):
            jpeg = ctx.store.unseal(row, "image_blob")
            assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) is not None
            vec = np.frombuffer(ctx.store.unseal(row, "embedding_blob"), np.float32)
            assert vec.shape == (128,) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-3
            out[row.custody_id] = (bool(row.eligible), vec.tobytes())
        events = s.scalars(
            select(AuditEntry.object_id).where(AuditEntry.event == "custody_image_imported")
        ).all()
        ids = s.scalars(select(CustodyImage.id)).all()
        assert sorted(events) == sorted(str(i) for i in ids)  # one collection each, no more
        check = verify_audit(s)
        assert check.ok, check.reason
        eligible = set(s.scalars(select(CustodyImage.id).where(CustodyImage.eligible.is_(True))))
    assert set(open_custody_index(ctx).alive_ids().tolist()) == eligible
    return out


def _held(settings: StoreSettings) -> int:
    url = make_url(settings.resolved_url())
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return 0  # not created yet: connecting would create it under the import
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if not engine.dialect.has_table(conn, "custody_images"):
                return 0
            return int(conn.execute(text("SELECT count(*) FROM custody_images")).scalar_one())
    except OperationalError:  # SQLite's writer holds the lock this instant: ask again
        return 0
    finally:
        engine.dispose()


def test_killed_import_resumes_to_the_clean_result(
    store_settings: StoreSettings, tmp_path: Path, shared_data: Path
) -> None:
    images = shared_data / "lfw" / "images"
    csv_path = _csv(tmp_path / "estate.csv", images)
    ctx = AppContext.open(Settings(store=store_settings), "test")
    try:
        acct = create_account(ctx.store, username="sup", password="correct horse battery",
                              role="supervisor", display_name="Sup", created_by="test")  # fmt: skip
        token = issue_session(ctx.store, int(acct), SessionKind.BEARER, 1.0, "test")[0]
    finally:
        ctx.close()
    env = {**os.environ, **store_env(store_settings), "OPENLFR_TOKEN": token,
           "OPENLFR_CONFIG_DIR": str(tmp_path / "cfg")}  # fmt: skip
    cmd = [sys.executable, "-m", "openlfr", "custody", "import", "--csv", str(csv_path),
           "--images", str(images), "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    held = 0
    while held == 0:  # the first batch committed: the kill lands mid-import
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the import committed nothing in 120 s"
        time.sleep(0.02)
        held = _held(store_settings)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    at_kill = _held(store_settings)
    assert at_kill > 0

    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    resumed = json.loads(again.stdout.strip().splitlines()[-1])
    assert resumed["skipped_existing"] == at_kill
    assert resumed["rows"] == ROWS + 1

    clean_settings = StoreSettings(data_dir=tmp_path / "clean")
    clean_ctx = AppContext.open(Settings(store=clean_settings), "test.clean")
    ctx = AppContext.open(Settings(store=store_settings), "test")
    try:
        clean = import_custody(clean_ctx, csv_path, images)
        assert at_kill < clean.imported, "the import was not stopped part-way"
        assert resumed["imported"] + resumed["skipped_existing"] == clean.imported
        assert resumed["rejected"] == clean.rejected >= 1  # the missing file, and two-face images
        got, want = _state(ctx), _state(clean_ctx)
        assert set(got) == set(want)
        assert {k: v[0] for k, v in got.items()} == {k: v[0] for k, v in want.items()}
        for key, (_, vec) in want.items():  # the same faces, embedded the same way
            a, b = np.frombuffer(got[key][1], np.float32), np.frombuffer(vec, np.float32)
            assert float(a @ b) > 0.999, key
        with ctx.store.session() as s:
            assert s.scalar(select(func.count()).select_from(CustodyImage)) == clean.imported
    finally:
        ctx.close()
        clean_ctx.close()
