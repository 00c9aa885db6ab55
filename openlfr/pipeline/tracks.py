"""Per-track state: which views to embed, how to fuse them. Lives in memory only.

A track that never matches is forgotten when it ends: its views, vectors and crop are dropped
with the object (R8: non-matches are never written anywhere).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openlfr.config import TrackingSettings


@dataclass(eq=False)
class View:
    vector: np.ndarray  # (D,) float32, unit length
    quality: float
    frame_index: int
    weight: float = 1.0  # evidence this view adds (pipeline/evidence.py): 1 frontal and large


@dataclass
class TrackState:
    track_id: int
    first_frame: int
    last_frame: int
    views: list[View] = field(default_factory=list)
    best_crop: np.ndarray | None = None
    best_quality: float = 0.0
    last_embed_frame: int = -(10**9)
    embeds: int = 0
    alerted: set[int] = field(default_factory=set)
    tracker_id: int = -1  # the tracker's id; a hand-over to another person starts a new track
    evidence: float = 0.0  # summed weights of every view embedded (the sequential decision)

    def wants_view(self, quality: float, frame_index: int, s: TrackingSettings) -> bool:
        """Embed this view? The first usable view always; then spaced or clearly better ones.

        Keeping at most `max_embeddings_per_track` views bounds the work per person, and once
        the track has alerted there is nothing left to decide: one view per `recheck_frames`
        only checks that the box still follows the same person (CameraAnalysis.decide).
        """
        gap = frame_index - self.last_embed_frame
        if self.alerted:
            return not self.resting(frame_index, s)
        if not self.views:
            return True
        if len(self.views) < s.max_embeddings_per_track:
            return gap >= s.min_embed_gap_frames or quality > self.best_quality * s.quality_gain
        worst = min(v.quality for v in self.views)
        better = gap >= s.min_embed_gap_frames and quality > worst * s.quality_gain
        return better or gap >= s.recheck_frames

    def resting(self, frame_index: int, s: TrackingSettings) -> bool:
        """Alerted and not yet due a re-check: nothing about this view can matter, so the
        caller need not even align it. Re-checks only notice a hand-over to someone else."""
        return bool(self.alerted) and frame_index - self.last_embed_frame < s.recheck_frames

    def same_person(self, vector: np.ndarray, s: TrackingSettings) -> bool:
        return not self.views or float(vector @ self.fused()) >= s.split_similarity

    def add_view(self, view: View, crop: np.ndarray, s: TrackingSettings) -> None:
        self.views.append(view)
        self.embeds += 1
        self.evidence += view.weight
        self.last_embed_frame = view.frame_index
        if len(self.views) > s.max_embeddings_per_track:
            worst = min(range(len(self.views)), key=lambda i: self.views[i].quality)
            del self.views[worst]
        if view.quality >= self.best_quality:
            self.best_quality = view.quality
            self.best_crop = crop

    def fused(self) -> np.ndarray:
        """Quality-weighted mean of the kept views, re-normalised: one probe per track."""
        weights = np.array([v.quality for v in self.views], np.float32)
        weights = weights / max(float(weights.sum()), 1e-12)
        mean = (np.stack([v.vector for v in self.views]) * weights[:, None]).sum(axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
