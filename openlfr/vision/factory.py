"""Chooses backends by configuration, so that nothing else imports a concrete one."""

from __future__ import annotations

from openlfr.config import VisionSettings
from openlfr.vision.protocols import Detector, Embedder


def build_detector(settings: VisionSettings) -> Detector:
    if settings.threads:
        import cv2

        cv2.setNumThreads(settings.threads)
    if settings.detector == "yunet":
        from openlfr.vision.yunet import YuNetDetector

        return YuNetDetector(settings)
    raise ValueError(f"unknown detector backend {settings.detector!r}")  # pragma: no cover


def build_embedder(settings: VisionSettings) -> Embedder:
    if settings.embedder == "sface":
        from openlfr.vision.sface import SFaceEmbedder

        return SFaceEmbedder(flip=settings.flip_tta)
    if settings.embedder == "dlib":
        from openlfr.vision.dlib_resnet import DlibResNetEmbedder

        return DlibResNetEmbedder()
    raise ValueError(f"unknown embedder backend {settings.embedder!r}")  # pragma: no cover
