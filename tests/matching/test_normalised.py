"""NormalisedGallery (cohort z-norm behind the GalleryIndex protocol) and wrap_gallery."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from suite import data_path

from openlfr.config import Settings, StoreSettings, VisionSettings
from openlfr.config_scoring import ScoringSettings
from openlfr.evaluation import embedding_cache
from openlfr.evaluation.cohort import CohortError, load_cohort, one_per_identity, save_cohort
from openlfr.matching.gallery import NumpyGallery
from openlfr.matching.normalised import NormalisedGallery
from openlfr.matching.protocols import GalleryIndex
from openlfr.service.context import AppContext
from openlfr.service.gallery_scoring import wrap_gallery

pytestmark = pytest.mark.usefixtures("private_eval_cache")


@pytest.fixture(scope="module")
def faces() -> tuple[list[str], np.ndarray]:
    """SFace vectors of the first two images of 12 LFW identities with 2+ images."""
    lfw = data_path("lfw", "images")
    names = [n for n in sorted(os.listdir(lfw)) if len(os.listdir(lfw / n)) >= 2][:12]
    ids = [n for n in names for _ in range(2)]
    paths = [lfw / n / f for n in names for f in sorted(os.listdir(lfw / n))[:2]]
    emb = embedding_cache.embed_files(paths, VisionSettings())
    assert emb.ok.all()
    return ids, emb.vectors


def _split(faces: tuple[list[str], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gallery: first image of identities 0-5, probes: their second images, cohort: 6-11)."""
    _, v = faces
    return v[0:12:2], v[1:12:2], v[12:]


def test_scores_are_cohort_z_scores_and_reranked(faces: tuple[list[str], np.ndarray]) -> None:
    gal, probes, cohort = _split(faces)
    inner = NumpyGallery(gal, np.arange(6))
    g = NormalisedGallery.from_cohort(inner, cohort, 6)
    assert isinstance(g, GalleryIndex) and len(g) == 6 and g.dim == 128
    c = cohort @ gal.T
    mu, sd = c.mean(axis=0), np.maximum(c.std(axis=0), 0.02)
    cc = cohort @ cohort.T
    off = cc[~np.eye(len(cohort), dtype=bool)]
    assert g.reference == pytest.approx((off.mean(), off.std()), rel=1e-5)
    want = off.mean() + off.std() * (probes @ gal.T - mu) / sd  # z on the cosine-like scale
    z, labels = g.search(probes, 6)
    assert z.dtype == np.float32 and labels.dtype == np.int64
    for i in range(len(probes)):
        np.testing.assert_allclose(z[i], want[i][labels[i]], rtol=1e-4, atol=1e-4)
        assert list(labels[i]) == list(np.argsort(-want[i], kind="stable"))
    assert (labels[:, 0] == np.arange(6)).all()  # every mate is found first


@pytest.mark.parametrize("k", [1, 3, 8])
def test_k_and_padding(faces: tuple[list[str], np.ndarray], k: int) -> None:
    gal, probes, cohort = _split(faces)
    g = NormalisedGallery.from_cohort(NumpyGallery(gal, np.arange(6)), cohort, 6)
    z, labels = g.search(probes, k)
    assert z.shape == labels.shape == (6, k)
    assert (labels[:, min(k, 6) :] == -1).all() and np.isneginf(z[:, min(k, 6) :]).all()
    assert (np.diff(z[:, : min(k, 6)], axis=1) <= 0).all()


def test_several_vectors_per_label_score_by_their_best(faces: tuple[list[str], np.ndarray]) -> None:
    _, v = faces
    inner = NumpyGallery(v[:8], np.array([0, 0, 1, 1, 2, 2, 3, 3]))
    cohort = v[12:]
    g = NormalisedGallery.from_cohort(inner, cohort, 4)
    best = np.stack([np.maximum(cohort @ v[2 * j], cohort @ v[2 * j + 1]) for j in range(4)], 1)
    z, labels = g.search(v[:1], 1)
    raw = max(float(v[0] @ v[0]), float(v[0] @ v[1]))
    assert labels[0, 0] == 0
    mu0, sd0 = g.reference
    want = mu0 + sd0 * (raw - best[:, 0].mean()) / best[:, 0].std()
    assert z[0, 0] == pytest.approx(want, rel=1e-4)


def test_bad_statistics_refused(faces: tuple[list[str], np.ndarray]) -> None:
    gal, _, cohort = _split(faces)
    inner = NumpyGallery(gal, np.arange(6))
    with pytest.raises(ValueError, match="at least 2"):
        NormalisedGallery.from_cohort(inner, cohort[:1], 6)
    with pytest.raises(ValueError, match="no cohort scores"):
        NormalisedGallery.from_cohort(inner, cohort, 7)  # label 6 does not exist
    with pytest.raises(ValueError, match="std"):
        NormalisedGallery(inner, np.zeros(6), np.zeros(6))


def test_scale_is_cosine_like(faces: tuple[list[str], np.ndarray]) -> None:
    """Impostor scores keep a cosine's range, so thresholds fit MatchingSettings' [-1, 1]."""
    gal, probes, cohort = _split(faces)
    g = NormalisedGallery.from_cohort(NumpyGallery(gal, np.arange(6)), cohort, 6)
    z, labels = g.search(probes, 6)
    impostor = z[labels != np.arange(6)[:, None]]
    assert (np.abs(impostor) < 1.0).all() and (z[:, 0] > impostor.max()).all()
    mu0, sd0 = g.reference
    assert -0.2 < mu0 < 0.3 and 0.0 < sd0 < 0.3  # cosines between strangers, as SFace gives


def test_wrap_gallery(faces: tuple[list[str], np.ndarray], tmp_path: Path) -> None:
    ids, v = faces
    gal, probes, _ = _split(faces)
    cohort_file = tmp_path / "cohort.npz"
    save_cohort(cohort_file, one_per_identity(ids[12:], v[12:], np.ones(12, bool)), "sface")
    assert load_cohort(cohort_file, "sface", 128, 6).shape == (6, 128)
    inner = NumpyGallery(gal, np.arange(6))
    entries = list(range(6))

    def ctx(**scoring: object) -> AppContext:
        s = Settings().model_copy(
            update={
                "store": StoreSettings(data_dir=tmp_path / "data"),
                "scoring": ScoringSettings.model_validate(scoring),
            }
        )
        return AppContext(settings=s, store=None, actor="test")  # type: ignore[arg-type]

    assert wrap_gallery(ctx(), inner, entries) is inner  # default: raw cosine, unchanged
    wrapped = wrap_gallery(
        ctx(normalisation="znorm", cohort_path=cohort_file, cohort_min=6), inner, entries
    )
    assert isinstance(wrapped, NormalisedGallery)
    assert (wrapped.search(probes, 1)[1][:, 0] == np.arange(6)).all()
    with pytest.raises(ValueError, match="cohort_path"):
        wrap_gallery(ctx(normalisation="znorm"), inner, entries)
    with pytest.raises(CohortError, match="at least 50"):
        wrap_gallery(ctx(normalisation="znorm", cohort_path=cohort_file), inner, entries)
    save_cohort(tmp_path / "dlib.npz", v[12:], "dlib")
    with pytest.raises(CohortError, match="made with 'dlib'"):
        load_cohort(tmp_path / "dlib.npz", "sface", 128, 2)
    with pytest.raises(CohortError, match="not a readable"):
        load_cohort(tmp_path / "absent.npz", "sface", 128, 2)
