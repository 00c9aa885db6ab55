"""Least-squares alignment and landmark refinement: the pure parts table-driven, the whole on
real LFW faces with the real detector."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.config import Settings, VisionSettings
from openlfr.errors import FrameShapeError
from openlfr.matching.gallery import NumpyGallery
from openlfr.pipeline.analysis import CameraAnalysis
from openlfr.vision import landmarks as lm
from openlfr.vision.align import TEMPLATE_112, align_face, similarity_matrix
from openlfr.vision.factory import build_detector
from openlfr.vision.images import find_single_face, read_image
from openlfr.vision.protocols import Detector
from openlfr.vision.types import FaceDetections, Frame


def _similarity(angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(angle_deg)
    r = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([r, np.array(shift)[:, None]])


@pytest.mark.parametrize(
    ("angle", "scale", "shift"),
    [(0.0, 1.0, (0.0, 0.0)), (12.0, 0.4, (-30.0, 7.5)), (-80.0, 2.5, (100.0, -3.0))],
)
def test_the_least_squares_fit_recovers_an_exact_similarity(
    angle: float, scale: float, shift: tuple[float, float]
) -> None:
    m = _similarity(angle, scale, shift)
    src = (TEMPLATE_112 - m[:, 2]) @ np.linalg.inv(m[:, :2]).T  # points m maps onto the template
    np.testing.assert_allclose(similarity_matrix(src, TEMPLATE_112), m, atol=1e-4)


def test_the_fit_spreads_one_bad_point_over_all_rather_than_trusting_two() -> None:
    """A landmark 6 px off moves the least-squares crop by a fraction of that; the fit never
    reflects the face (a mirror is not a similarity)."""
    src = TEMPLATE_112.astype(np.float64).copy()
    src[3, 1] += 6.0
    m = similarity_matrix(src, TEMPLATE_112)
    moved = np.abs(src @ m[:, :2].T + m[:, 2] - TEMPLATE_112)
    assert moved[[0, 1, 2, 4]].max() < 2.0 and moved[3].max() > 3.0
    assert np.linalg.det(m[:, :2]) > 0
    assert np.linalg.det(similarity_matrix(src[:, ::-1], TEMPLATE_112)[:, :2]) > 0


@pytest.mark.parametrize(
    "points",
    [np.zeros((5, 2)), np.full((5, 2), 40.0), np.full((5, 2), np.nan), np.zeros((4, 3))],
)
def test_degenerate_landmarks_are_refused(points: np.ndarray) -> None:
    with pytest.raises(FrameShapeError):
        similarity_matrix(points, TEMPLATE_112 if points.shape == (5, 2) else points)


@pytest.mark.parametrize(
    ("points", "width", "expected"),
    [
        (
            [[10, 5], [30, 5], [20, 15], [12, 25], [28, 25]],
            100,
            [[69, 5], [89, 5], [79, 15], [71, 25], [87, 25]],
        ),
        (
            [[0, 0], [1, 1], [2, 2], [3, 3], [4, 4]],
            5,
            [[3, 1], [4, 0], [2, 2], [0, 4], [1, 3]],
        ),
    ],
)
def test_points_from_a_mirrored_picture_come_back_with_eyes_and_mouth_swapped(
    points: list[list[float]], width: int, expected: list[list[float]]
) -> None:
    np.testing.assert_allclose(lm.mirror_back(np.array(points, float), width), expected)


BASE = np.array([[40, 50], [70, 50], [55, 65], [45, 80], [65, 80]], np.float64)
NEAR = BASE + 2.0  # eye distance 30: tolerance 0.25 * 30 + 2 = 9.5 px
FAR = BASE + 10.0


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([], BASE),
        ([None, None], BASE),
        ([NEAR], BASE + 1.0),
        ([NEAR, NEAR], BASE + 4.0 / 3.0),
        ([FAR], BASE),
        ([NEAR, FAR, None], BASE + 1.0),
    ],
)
def test_merge_averages_only_point_sets_near_the_original(
    candidates: list[np.ndarray | None], expected: np.ndarray
) -> None:
    np.testing.assert_allclose(lm.merge(BASE, candidates), expected, atol=1e-5)


@pytest.mark.parametrize("box", [[10, 20, 40, 60], [300, 100, 700, 500], [0, 0, 1, 1]])
def test_a_close_up_puts_the_face_at_the_refinement_scale_and_maps_back(box: list[int]) -> None:
    matrix, side = lm.close_up(np.array(box, np.float32))
    assert side == round(2 * (0.5 + lm.MARGIN) * lm.REFINE_FACE_PX)
    corners = np.array([box[:2], box[2:]], np.float64)
    inside = corners * matrix[0, 0] + matrix[:, 2]
    assert np.abs(inside.mean(axis=0) - side / 2).max() < 1e-6  # the box is centred
    np.testing.assert_allclose(lm.to_image(inside, matrix), corners, atol=1e-6)


class _Stub:
    """A detector that finds the given faces in any picture (for the pure plumbing only)."""

    def __init__(self, found: FaceDetections) -> None:
        self.found, self.calls = found, 0

    def __call__(self, image: np.ndarray, max_side: int) -> FaceDetections:
        self.calls += 1
        assert max_side == image.shape[0] == image.shape[1]  # never shrunk again
        return self.found


def test_refinement_with_nothing_found_in_the_close_ups_keeps_the_points() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    dets = FaceDetections(
        np.array([[30, 30, 90, 110]], np.float32),
        BASE[None].astype(np.float32),
        np.ones(1, np.float32),
    )
    stub = _Stub(FaceDetections.empty())
    out = lm.refine_landmarks(stub, image, dets)
    assert stub.calls == 2
    np.testing.assert_array_equal(out.landmarks, dets.landmarks)
    np.testing.assert_array_equal(out.boxes, dets.boxes)
    assert len(lm.refine_landmarks(stub, image, FaceDetections.empty())) == 0


@pytest.fixture(scope="module")
def faces(shared_data: Path) -> list[np.ndarray]:
    people = sorted(p for p in (shared_data / "lfw" / "images").iterdir() if p.is_dir())[:40:4]
    return [read_image(sorted(p.glob("*.jpg"))[0]) for p in people]


def _points(detector: Detector, image: np.ndarray) -> np.ndarray:
    return find_single_face(image, detector, "test", several="central").detections.landmarks[0]


def _mirror_disagreement(detector: Detector, image: np.ndarray) -> float:
    """How far the points found on the mirrored picture, mirrored back, are from those found
    on the picture itself (px, mean over the five): the detector's jitter and side bias."""
    straight = _points(detector, image)
    mirrored = lm.mirror_back(_points(detector, cv2.flip(image, 1)), image.shape[1])
    return float(np.linalg.norm(straight - mirrored, axis=1).mean())


def test_refined_points_agree_with_their_mirror_image_better(faces: list[np.ndarray]) -> None:
    plain = build_detector(VisionSettings(refine_landmarks=False))
    refined = build_detector(VisionSettings(refine_landmarks=True))
    before = np.mean([_mirror_disagreement(plain, f) for f in faces])
    after = np.mean([_mirror_disagreement(refined, f) for f in faces])
    assert after < 0.6 * before, (before, after)


def test_refinement_only_nudges_the_points_and_keeps_the_face(faces: list[np.ndarray]) -> None:
    plain = build_detector(VisionSettings(refine_landmarks=False))
    refined = build_detector(VisionSettings(refine_landmarks=True))
    moved = []
    for image in faces:
        a = find_single_face(image, plain, "a", several="central").detections
        b = find_single_face(image, refined, "b", several="central").detections
        np.testing.assert_array_equal(a.boxes, b.boxes)
        eyes = float(np.linalg.norm(a.landmarks[0, 0] - a.landmarks[0, 1]))
        shift = float(np.abs(a.landmarks - b.landmarks).max())
        assert shift < lm.TOLERANCE_EYES * eyes + lm.TOLERANCE_PX
        moved.append(shift)
        assert align_face(image, b.landmarks[0]).shape == (112, 112, 3)
    assert max(moved) > 0.1  # it does something
    off = plain.refine(faces[0], a)
    assert off is a  # off means untouched


def test_the_live_pipeline_aligns_the_views_it_embeds_from_refined_points(
    faces: list[np.ndarray],
) -> None:
    """CameraAnalysis.prepare with the detector's refine: the view it hands to the embedder is
    aligned from the refined points; without it, from the detected ones."""
    refined = build_detector(VisionSettings(refine_landmarks=True))
    image = cv2.copyMakeBorder(faces[0], 200, 200, 300, 300, cv2.BORDER_CONSTANT)  # a scene
    dets = refined.detect(image)
    assert len(dets) == 1
    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((8, 128)).astype(np.float32)
    gallery = NumpyGallery(vecs / np.linalg.norm(vecs, axis=1, keepdims=True), np.arange(8))
    crops = {}
    for name, refine in (("detected", None), ("refined", refined.refine)):
        cam = CameraAnalysis(gallery=gallery, settings=Settings(), threshold=0.5)
        frame = Frame(camera_id="c1", index=0, timestamp=0.0, image=image)
        (view,) = cam.prepare(frame, dets, refine)
        crops[name] = view.aligned
    np.testing.assert_array_equal(crops["detected"], align_face(image, dets.landmarks[0]))
    expected = align_face(image, refined.refine(image, dets).landmarks[0])
    np.testing.assert_array_equal(crops["refined"], expected)
    assert np.abs(crops["refined"].astype(int) - crops["detected"]).mean() > 0.5
