"""One camera's analysis state, split at the two points where cameras share work.

`prepare` (track, quality gate, align) runs on one frame's detections; `decide` (fuse, search,
threshold) runs on the vectors the shared inference stage embedded for it, in one batch with
every other camera's faces. Between them the camera's state is untouched, so batching across
cameras decides exactly as each camera alone would.

Only counts leave this object unless a track matches; then one Alert per (track, identity).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from openlfr.config import Settings
from openlfr.matching.decision import decide
from openlfr.matching.protocols import GalleryIndex
from openlfr.pipeline.alerts import Alert
from openlfr.pipeline.detect_scale import DetectionScale
from openlfr.pipeline.evidence import required_score, view_weight
from openlfr.pipeline.tracks import TrackState, View
from openlfr.tracking import FaceTracker, Tracker
from openlfr.vision.align import align_face
from openlfr.vision.protocols import Detector
from openlfr.vision.quality import assess, landmark_gate, pose_asymmetry
from openlfr.vision.types import FaceDetections, Frame

#: A detector's `refine`: the same faces with re-found landmarks (vision/landmarks.py).
RefineFn = Callable[[np.ndarray, FaceDetections], FaceDetections]


@dataclass
class PipelineCounters:
    """The only record a non-matching face leaves: numbers."""

    frames: int = 0
    faces: int = 0
    tracks: int = 0
    embedded: int = 0
    alerts: int = 0


@dataclass(eq=False, slots=True)
class Pending:
    """A view of a track waiting to be embedded: held in memory for one batch only."""

    state: TrackState
    aligned: np.ndarray
    quality: float
    crop: np.ndarray
    weight: float = 1.0  # evidence weight from pose and size (pipeline/evidence.py)


def context_crop(image: np.ndarray, box: np.ndarray, pad: float = 0.35) -> np.ndarray:
    """The face box grown by `pad` on each side, clipped to the frame: what an officer sees."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    xa, ya = max(0, int(x1 - pad * w)), max(0, int(y1 - pad * h))
    xb, yb = min(image.shape[1], int(x2 + pad * w)), min(image.shape[0], int(y2 + pad * h))
    return np.ascontiguousarray(image[ya:yb, xa:xb])


class CameraAnalysis:
    """Tracks, views and counters of one camera. Used by one thread at a time: the camera's
    own, or the inference stage's while the camera waits for its frame's result."""

    def __init__(
        self,
        *,
        gallery: GalleryIndex,
        settings: Settings,
        threshold: float,
        fps: float = 25.0,
        tracker: Tracker | None = None,
    ) -> None:
        self._gallery = gallery
        self._s = settings
        self.threshold = threshold
        self._tracker: Tracker = tracker or FaceTracker(settings.tracking, fps)
        self._tracks: dict[int, TrackState] = {}  # by the tracker's id
        self._next_track_id = 1
        self.counters = PipelineCounters()
        self.finished_tracks: dict[int, tuple[int, int]] = {}  # id -> (first, last) frames
        self.scale = DetectionScale(settings.vision)

    def replace_gallery(self, gallery: GalleryIndex) -> None:
        """Search ``gallery`` from the next frame on (R11: images withdrawn while a deployment
        runs leave its search). Call between frames; labels must keep their meaning."""
        self._gallery = gallery

    @property
    def searching(self) -> bool:
        """Whether anything can match: an empty gallery needs no embedding at all."""
        return len(self._gallery) > 0

    def detect(self, detector: Detector, frame: Frame) -> FaceDetections:
        """This frame's faces, at the size this camera's faces allow (pipeline/detect_scale)."""
        dets = detector.detect(frame.image, max_side=self.scale.side(frame.image))
        self.scale.observe(dets.sizes)
        return dets

    def prepare(
        self, frame: Frame, dets: FaceDetections, refine: RefineFn | None = None
    ) -> list[Pending]:
        """Tracks this frame's faces and picks the views worth embedding. `refine` (the
        detector's) re-finds the landmarks of each view picked before its final alignment."""
        c = self.counters
        c.frames += 1
        c.faces += len(dets)
        tracked = self._tracker.update(dets)
        pending: list[Pending] = []
        ev = self._s.evidence
        floors = {"max_asymmetry": ev.hard_max_asymmetry, "min_face_px": ev.hard_min_face_px}
        for i, tid in enumerate(tracked.track_ids.tolist()):
            state = self._tracks.get(tid)
            if state is None:
                state = self._new_track(tid, frame.index)
            state.last_frame = frame.index
            lm = tracked.detections.landmarks[i]
            size, score = float(tracked.detections.sizes[i]), float(tracked.detections.scores[i])
            # Align (a warp) and measure sharpness only for faces that could still be embedded.
            # Turned and small faces down to the evidence floors are searched, as weaker views.
            if state.resting(frame.index, self._s.tracking) or landmark_gate(
                size, score, lm, self._s.quality, **floors
            ):
                continue
            aligned = align_face(frame.image, lm)
            q = assess(size, score, lm, aligned, self._s.quality, **floors)
            weight = view_weight(pose_asymmetry(lm), size, self._s.quality, ev)
            rank = q.score * weight if ev.weight_quality else q.score
            if q.passed and state.wants_view(rank, frame.index, self._s.tracking):
                if refine is not None:  # only views about to be embedded pay for it
                    face = refine(frame.image, tracked.detections.take(np.array([i])))
                    aligned = align_face(frame.image, face.landmarks[0])
                crop = context_crop(frame.image, tracked.detections.boxes[i])
                pending.append(Pending(state, aligned, rank, crop, weight))
        return pending if self.searching else []

    def decide(self, frame: Frame, pending: list[Pending], vectors: np.ndarray) -> list[Alert]:
        """Fuses each new vector into its track, searches, and returns the new alerts (the
        caller hands them to the AlertSink). Then forgets tracks that have ended."""
        self.counters.embedded += len(pending)
        alerts = []
        for p, vec in zip(pending, vectors):
            state = p.state
            if not state.same_person(vec, self._s.tracking) or self._someone_else(state, p, vec):
                state.last_frame = max(state.first_frame, frame.index - 1)
                self._forget(state.tracker_id)
                state = self._new_track(state.tracker_id, frame.index)
            elif state.alerted:
                # A re-check that found the same person: nothing new to decide, and the next
                # check is due `recheck_frames` from now, not on the next frame.
                state.last_embed_frame = frame.index
                continue
            state.add_view(View(vec, p.quality, frame.index, p.weight), p.crop, self._s.tracking)
            scores, labels = self._gallery.search(state.fused()[None, :], self._s.matching.top_k)
            # The sequential decision: turned/small views need more of them or a clearer match.
            needed = required_score(
                self.threshold, state.evidence, self._s.matching, self._s.evidence
            )
            decision = decide(scores[0], labels[0], needed)
            if decision.matched and decision.label not in state.alerted:
                state.alerted.add(decision.label)
                alerts.append(
                    Alert(
                        camera_id=frame.camera_id,
                        track_id=state.track_id,
                        label=decision.label,
                        score=decision.score,
                        margin=decision.margin,
                        runner_up=decision.runner_up,
                        first_frame=state.first_frame,
                        frame_index=frame.index,
                        timestamp=frame.timestamp,
                        views=len(state.views),
                        probe_crop=state.best_crop if state.best_crop is not None else p.crop,
                    )
                )
                self.counters.alerts += 1
        self._expire(frame.index)
        return alerts

    def _someone_else(self, state: TrackState, p: Pending, vec: np.ndarray) -> bool:
        """A re-check of an alerted track whose view, on its own, clearly matches another
        watchlist subject: the box was handed over. The cosine to the fused vector alone can
        miss this (two people's SFace views can score just above `split_similarity`), and a
        re-check comes only once per `recheck_frames`, so it must not be wasted."""
        if not state.alerted:
            return False
        scores, labels = self._gallery.search(vec[None, :], self._s.matching.top_k)
        needed = required_score(self.threshold, p.weight, self._s.matching, self._s.evidence)
        d = decide(scores[0], labels[0], needed)
        return d.matched and d.label not in state.alerted

    def _new_track(self, tracker_id: int, frame_index: int) -> TrackState:
        state = TrackState(self._next_track_id, frame_index, frame_index, tracker_id=tracker_id)
        self._next_track_id += 1
        self._tracks[tracker_id] = state
        self.counters.tracks += 1
        return state

    def _expire(self, frame_index: int) -> None:
        """Forget tracks unseen for longer than the tracker keeps them: their data goes too."""
        horizon = self._s.tracking.lost_track_frames + 1
        for tid in [t for t, s in self._tracks.items() if frame_index - s.last_frame > horizon]:
            self._forget(tid)

    def _forget(self, tid: int) -> None:
        state = self._tracks.pop(tid)
        if state.alerted:
            self.finished_tracks[state.track_id] = (state.first_frame, state.last_frame)
        state.views.clear()
        state.best_crop = None

    def finish(self) -> PipelineCounters:
        for tid in list(self._tracks):
            self._forget(tid)
        return self.counters
