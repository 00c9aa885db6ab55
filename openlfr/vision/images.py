"""Reading enrolment images safely and finding the one face in them.

Every refusal is an ImageRejected with a one-line reason naming the file, so that a batch of
enrolments can report each bad file and go on with the rest.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from openlfr.errors import ImageRejected
from openlfr.vision.protocols import Detector
from openlfr.vision.types import FaceDetections

# A police custody photo is a few megapixels; anything far beyond is a mistake or an attack
# (a decompression bomb: a small file that expands to gigabytes of pixels).
MAX_IMAGE_PIXELS = 40_000_000
MAX_FILE_BYTES = 50 * 1024 * 1024
# Pictures are decoded to at most this many pixels a side: a face needs a few hundred, and a
# 40-megapixel photo decoded in full costs ~120 MB per copy (several copies per enrolment, times
# the concurrent uploads). A JPEG is decoded at a reduced DCT scale (cheap); others in full,
# then reduced.
MAX_DECODED_SIDE = 4096
# A second face at least this fraction of the largest face's size makes the image ambiguous:
# we cannot tell whose face the reference is meant to be.
SECOND_FACE_RATIO = 0.5


def read_image_bytes(data: bytes, name: str) -> np.ndarray:
    """Decodes image bytes to BGR uint8, refusing non-images, truncated files and bombs.

    The pixel count is checked from the header, before any pixel is decoded."""
    if len(data) == 0:
        raise ImageRejected(name, "empty file")
    if len(data) > MAX_FILE_BYTES:
        raise ImageRejected(name, f"file is {len(data) // 2**20} MiB, over the 50 MiB limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ImageRejected(
                    name, f"image is {w}x{h} pixels, over the {MAX_IMAGE_PIXELS:,} pixel limit"
                )
            if max(w, h) > MAX_DECODED_SIDE:
                # A JPEG decodes at 1/2, 1/4 or 1/8 of its size directly: ask for the smallest
                # such scale that fits (draft never goes below the size asked for).
                k = next((k for k in (2, 4, 8) if max(w, h) / k <= MAX_DECODED_SIDE), 8)
                img.draft("RGB", (max(1, w // k), max(1, h // k)))
            img.load()  # a truncated file fails here, not later
            if max(img.size) > MAX_DECODED_SIDE:
                # Not a JPEG: decoded in full, so shrink it now, before the conversions below
                # each copy it (four full copies of a 40 MP picture were ~0.5 GB per upload).
                with contextlib.suppress(ValueError):  # a mode reduce() lacks: reduced later
                    img = img.reduce(math.ceil(max(img.size) / MAX_DECODED_SIDE))
    except ImageRejected:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(name, "image is too large (decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageRejected(name, "not an image (unrecognised format)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(name, f"unreadable or truncated image ({exc})") from None
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float pictures: convert("RGB") would clip at 255 and whiten the face.
        deep = np.asarray(img, dtype=np.float64)
        lo, hi = float(deep.min()), float(deep.max())
        grey = ((deep - lo) * (255.0 / max(hi - lo, 1e-9))).astype(np.uint8)
        return _reduced(np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2)))
    try:
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:  # a mode PIL reads but cannot convert
        raise ImageRejected(name, f"unsupported image mode {img.mode} ({exc})") from None
    return _reduced(np.ascontiguousarray(rgb[:, :, ::-1]))


def _reduced(bgr: np.ndarray) -> np.ndarray:
    h, w = bgr.shape[:2]
    if max(h, w) <= MAX_DECODED_SIDE:
        return bgr
    scale = MAX_DECODED_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def read_file_capped(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """At most ``limit`` bytes of a regular file, or ImageRejected: the size is known before
    reading, and a device (/dev/zero), pipe or socket is refused rather than read until memory
    runs out."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ImageRejected(name, "not a regular file (a device, pipe or folder)")
            if info.st_size > limit:
                size, most = info.st_size // 2**20, limit // 2**20
                raise ImageRejected(name, f"file is {size} MiB, over the {most} MiB limit")
            data = f.read(limit + 1)  # a file that grew since fstat is still bounded
    except IsADirectoryError:
        raise ImageRejected(name, "not a regular file (a device, pipe or folder)") from None
    except OSError as exc:
        raise ImageRejected(name, f"cannot read file ({exc.strerror or exc})") from None
    if len(data) > limit:
        raise ImageRejected(name, f"file is over the {limit // 2**20} MiB limit")
    return data


def read_image(path: Path) -> np.ndarray:
    return read_image_bytes(read_file_capped(path), str(path))


@dataclass(frozen=True)
class SingleFace:
    image: np.ndarray  # the (possibly padded) image the landmarks refer to
    detections: FaceDetections  # exactly one face


def _pad(image: np.ndarray, frac: float) -> np.ndarray:
    h, w = image.shape[:2]
    py, px = int(h * frac), int(w * frac)
    return cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_REPLICATE)


def find_single_face(
    image: np.ndarray, detector: Detector, name: str, *, several: str = "refuse"
) -> SingleFace:
    """The one face of an enrolment image; refuses none, and several (see SECOND_FACE_RATIO)
    unless `several="central"`, which takes the face nearest the centre: for research sets
    such as LFW whose subject is centred by construction, never for enrolment of a subject.

    Tightly cropped faces (the whole picture is the face) are often missed by detectors trained
    on scenes, so a padded copy is tried before giving up.
    """
    for candidate in (image, _pad(image, 0.3)):
        dets = detector.detect(candidate)
        if len(dets) == 0:
            continue
        order = np.argsort(-dets.sizes)
        dets = dets.take(order)
        sizes = dets.sizes
        rivals = int(np.count_nonzero(sizes >= SECOND_FACE_RATIO * sizes[0]))
        if rivals > 1 and several == "refuse":
            raise ImageRejected(
                name, f"{rivals} faces found; an enrolment image must show one person"
            )
        centre = np.array([candidate.shape[1], candidate.shape[0]], np.float32) / 2
        mids = (dets.boxes[:rivals, :2] + dets.boxes[:rivals, 2:]) / 2
        best = int(np.argmin(np.linalg.norm(mids - centre, axis=1)))
        # Refined here, once, so every user of the face (enrolment, custody import, search,
        # evaluation) aligns it from the same steadier points as the live pipeline does.
        return SingleFace(candidate, detector.refine(candidate, dets.take(np.array([best]))))
    raise ImageRejected(name, "no face found")
