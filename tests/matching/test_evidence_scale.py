"""Evidence margins under z-norm (issue 12 item 3): on the threshold's scale, in the live path.

With settings.scoring.normalisation='znorm' the live gallery returns cohort z-scores mapped onto
a cosine-like scale, and `openlfr calibrate` finds the threshold on that same scale. The extra
score a single or turned view needs (single_view_extra, weak_view_extra) is added to that
threshold and compared, in CameraAnalysis.decide, with the gallery's NORMALISED score, never
with a raw cosine. Shown on real LFW faces by placing the threshold so that the normalised score
clears threshold + single_view_extra but not threshold + single_view_extra + weak_view_extra,
with a probe whose raw cosine sits outside that band: the frontal view alerts, the turned one
does not, and the raw gallery at the same threshold decides both alike.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from suite import data_path

from openlfr.config import Settings, VisionSettings
from openlfr.evaluation import calibration as cal
from openlfr.evaluation import embedding_cache
from openlfr.matching.gallery import NumpyGallery
from openlfr.matching.normalised import NormalisedGallery
from openlfr.matching.protocols import GalleryIndex
from openlfr.pipeline.analysis import CameraAnalysis, Pending
from openlfr.pipeline.evidence import required_score, view_weight
from openlfr.vision.types import Frame

N_GALLERY, N_COHORT = 12, 30


pytestmark = pytest.mark.usefixtures("private_eval_cache")


@pytest.fixture(scope="module")
def faces() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(gallery: first images of 12 identities, probes: their second images, cohort: one image
    each of 30 identities with a single image), real SFace vectors."""
    lfw = data_path("lfw", "images")
    names = sorted(os.listdir(lfw))
    multi = [n for n in names if len(os.listdir(lfw / n)) >= 2][:N_GALLERY]
    single = [n for n in names if len(os.listdir(lfw / n)) == 1][:N_COHORT]
    paths = [lfw / n / f for n in multi for f in sorted(os.listdir(lfw / n))[:2]]
    paths += [lfw / n / os.listdir(lfw / n)[0] for n in single]
    emb = embedding_cache.embed_files(paths, VisionSettings())
    v = emb.vectors[emb.ok]
    assert emb.ok.all()
    return v[0 : 2 * N_GALLERY : 2], v[1 : 2 * N_GALLERY : 2], v[2 * N_GALLERY :]


def _alerts(gallery: GalleryIndex, threshold: float, probe: np.ndarray, weight: float) -> int:
    """Alerts CameraAnalysis.decide raises for one view (of evidence `weight`) of a new track."""
    settings = Settings()
    analysis = CameraAnalysis(gallery=gallery, settings=settings, threshold=threshold)
    state = analysis._new_track(1, 0)
    blank = np.zeros((8, 8, 3), np.uint8)
    frame = Frame(np.zeros((64, 64, 3), np.uint8), "cam", 0, 0.0)
    pending = Pending(state, blank, 1.0, blank, weight)
    return len(analysis.decide(frame, [pending], probe[None, :].astype(np.float32)))


def test_turned_view_margin_is_on_the_normalised_scale(
    faces: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    gal, probes, cohort = faces
    inner = NumpyGallery(gal, np.arange(N_GALLERY))
    znorm = NormalisedGallery.from_cohort(inner, cohort, N_GALLERY)
    s = Settings()
    m, e = s.matching, s.evidence
    turned = view_weight(0.7, 120.0, s.quality, e)  # three-quarter view, large
    assert turned < e.min_evidence  # the turned view is a weak one: it carries the extra margin
    single, weak = m.single_view_extra, e.weak_view_extra
    assert weak > 0

    # The mated probe whose raw cosine lies furthest from its normalised score.
    z_best, z_lab = znorm.search(probes, 1)
    raw_best, raw_lab = inner.search(probes, 1)
    ok = (z_lab[:, 0] == np.arange(N_GALLERY)) & (raw_lab[:, 0] == np.arange(N_GALLERY))
    gap = np.where(ok, np.abs(z_best[:, 0] - raw_best[:, 0]), -1.0)
    k = int(np.argmax(gap))
    zs, rs = float(z_best[k, 0]), float(raw_best[k, 0])
    assert gap[k] > weak, "z-norm moved no mated score by more than the margin"

    # The threshold the scale needs: the normalised score clears threshold + single_view_extra
    # but not the turned view's threshold + single_view_extra + weak_view_extra.
    t = zs - single - weak / 2
    assert required_score(t, 1.0, m, e) <= zs < required_score(t, turned, m, e)
    assert _alerts(znorm, t, probes[k], 1.0) == 1  # frontal view: alerts
    assert _alerts(znorm, t, probes[k], turned) == 0  # turned view: needs more evidence
    # Had the margin met the raw cosine instead, both views would be decided alike there.
    assert _alerts(inner, t, probes[k], 1.0) == _alerts(inner, t, probes[k], turned)

    # And the threshold's own scale is this one: calibration scores the pair as live does.
    vecs = np.concatenate([gal, probes])
    ids = [str(i) for i in range(N_GALLERY)] * 2
    first = np.array([True] * N_GALLERY + [False] * N_GALLERY)
    data = cal.scores_from_vectors(ids, vecs, np.ones(len(vecs), bool), first, cohort=cohort)
    assert zs == pytest.approx(float(data.mate_scores[k]), abs=1e-5)
    assert rs != pytest.approx(float(data.mate_scores[k]), abs=weak)
