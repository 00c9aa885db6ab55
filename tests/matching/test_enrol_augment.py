"""Enrolment-time template augmentation (issue 12 item 1) in the real enrolment path.

With settings.scoring.enrol_augment='mirror+rotate', `enrol_subject` seals the mean of the held
face's augmented views, made from the image in memory: no view, crop or copy of the upload is
written anywhere in the clear. The augmented template scores a mirrored probe of the same photo
higher than the plain template does, and `openlfr calibrate` builds the same template.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from suite import SHARED_DATA

from openlfr.config import Settings, StoreSettings
from openlfr.config_scoring import ScoringSettings
from openlfr.evaluation import embedding_cache
from openlfr.evaluation.templates import enrolment_templates
from openlfr.matching.templates import augmented_template, augmented_views
from openlfr.service.context import AppContext
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.store.models import ReferenceImage
from openlfr.vision.images import find_single_face, read_image_bytes
from openlfr.vision.protocols import Detector, Embedder

IMAGE = SHARED_DATA / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg"
AUG = ScoringSettings(enrol_augment="mirror+rotate", augment_degrees=7.0)
MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"BM6", b"RIFF")  # JPEG, PNG, BMP, WebP headers
pytestmark = pytest.mark.usefixtures("shared_data")


@pytest.fixture
def ctx(
    store_settings: StoreSettings,
    models: tuple[Detector, Embedder],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[AppContext]:
    # Every temp file and relative path lands under tmp_path, so the scan below sees them all.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.chdir(tmp_path)
    cache = tmp_path / "eval-cache"
    monkeypatch.setattr(embedding_cache, "default_cache_dir", lambda: cache)
    settings = Settings().model_copy(update={"store": store_settings, "scoring": AUG})
    context = AppContext.open(settings, actor="pc.tester")
    context.use_models(*models)
    try:
        yield context
    finally:
        context.close()


def _files(root: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_augmented_template_is_sealed_from_the_held_image_only(
    ctx: AppContext, models: tuple[Detector, Embedder], tmp_path: Path, backend: str
) -> None:
    detector, embedder = models
    data = IMAGE.read_bytes()
    before = _files(tmp_path)
    result = enrol_subject(
        ctx,
        reference="PNC-AUG-1",
        display_name="Augmented",
        category="suspect",
        images=[
            ImageSpec(
                path=Path("upload.jpg"), source_ref="CUST-1", lawful_basis="PACE Code D",
                age_at_capture=30, data=data,
            )
        ],
    )  # fmt: skip
    assert not result.refused and len(result.enrolled) == 1
    image_id = result.enrolled[0][1]

    # Nothing in the clear: every file created or changed holds no image (the stored JPEG is
    # sealed; the views were never written), and the upload's own bytes appear nowhere.
    after = _files(tmp_path)
    changed = [p for p, m in after.items() if before.get(p) != m]
    if backend == "sqlite":  # its database file changed: the scan below looked at something
        assert changed
    for p in changed:
        raw = p.read_bytes()
        assert data[100:164] not in raw, p
        assert not any(raw.startswith(m) for m in MAGIC), p
    assert not (tmp_path / "upload.jpg").exists()

    with ctx.store.session() as s:
        stored = np.frombuffer(
            ctx.store.unseal(s.get(ReferenceImage, image_id), "embedding_blob"), np.float32
        )
    face = find_single_face(read_image_bytes(data, "upload.jpg"), detector, "upload.jpg")
    lm = face.detections.landmarks
    plain = embedder.embed(face.image, lm).vectors[0]
    expected = augmented_template(embedder, face.image, lm[0], "mirror+rotate", 7.0)
    assert np.allclose(stored, expected, atol=1e-5)
    assert not np.allclose(stored, plain, atol=1e-3)  # the plain embedding was not what got kept
    assert abs(float(np.linalg.norm(stored)) - 1.0) < 1e-4

    # A mirrored probe of the same photo: the augmented template scores it higher.
    mirrored = cv2.flip(face.image, 1)
    mface = find_single_face(mirrored, detector, "mirror")
    probe = embedder.embed(mface.image, mface.detections.landmarks).vectors[0]
    assert float(probe @ stored) > float(probe @ plain)

    # Calibration builds the same template for the same file (its threshold fits enrolment).
    cal = enrolment_templates([IMAGE], ctx.settings.vision, AUG, np.array([True]))
    assert cal is not None and cal[1][0]
    assert np.allclose(cal[0][0], stored, atol=1e-5)
    assert enrolment_templates([IMAGE], ctx.settings.vision, ScoringSettings(),
                               np.array([True])) is None  # fmt: skip


def test_views_per_mode() -> None:
    crop = np.arange(112 * 112 * 3, dtype=np.uint8).reshape(112, 112, 3)
    assert len(augmented_views(crop, "none", 7.0)) == 1
    mirror = augmented_views(crop, "mirror", 7.0)
    assert len(mirror) == 2 and np.array_equal(mirror[1], crop[:, ::-1])
    rot = augmented_views(crop, "mirror+rotate", 7.0)
    assert len(rot) == 4 and not np.array_equal(rot[2], rot[3])
    assert len(augmented_views(crop, "mirror+rotate", 0.0)) == 2  # no rotation asked
