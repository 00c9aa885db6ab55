"""Bad input to calibration and equality (issue 12), and calibrating on the live z-norm scale."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from suite import data_path

from openlfr.config import VisionSettings
from openlfr.evaluation import calibration as cal
from openlfr.evaluation import embedding_cache
from openlfr.evaluation.equality import identities_per_group, size_caveats
from openlfr.evaluation.metrics import MIN_GROUP_IDENTITIES, too_small_to_judge
from openlfr.matching.gallery import NumpyGallery
from openlfr.matching.normalised import NormalisedGallery

pytestmark = pytest.mark.usefixtures("private_eval_cache")


@pytest.fixture(scope="module")
def real() -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """SFace vectors of 16 LFW identities (up to 3 images each): ids, vectors, ok, is_first."""
    lfw = data_path("lfw", "images")
    names = sorted(os.listdir(lfw))
    multi = [n for n in names if len(os.listdir(lfw / n)) >= 2][:10]
    single = [n for n in names if len(os.listdir(lfw / n)) == 1][:6]
    ids: list[str] = []
    paths: list[Path] = []
    first: list[bool] = []
    for n in multi + single:
        for i, f in enumerate(sorted(os.listdir(lfw / n))[:3]):
            ids.append(n)
            paths.append(lfw / n / f)
            first.append(i == 0)
    emb = embedding_cache.embed_files(paths, VisionSettings())
    return ids, emb.vectors, emb.ok, np.array(first)


@pytest.mark.parametrize(
    ("target_fpir", "refused", "minimum"),
    [
        (0.5, False, 2),
        (0.05, False, 20),
        (1 / 30, False, 30),  # exactly one false alert among the probes: still measurable
        (0.01, True, 100),
        (0.001, True, 1000),
    ],
)
def test_calibration_refuses_targets_it_cannot_support(
    real: tuple[list[str], np.ndarray, np.ndarray, np.ndarray],
    target_fpir: float,
    refused: bool,
    minimum: int,
) -> None:
    ids, vecs, ok, first = real
    data = cal.scores_from_vectors(ids, vecs, ok, first)
    probes = len(data.impostors.counts)
    assert probes == int(ok.sum()) and 30 <= probes < 100
    assert cal.min_probes_for(target_fpir) == minimum
    per_hour = target_fpir * 1000.0
    if refused:
        with pytest.raises(cal.CalibrationRefused) as err:
            cal.calibrate_scores(
                data.impostors, data.mate_scores, data.mated, false_alerts_per_hour=per_hour,
                watchlist_size=3, faces_per_hour=1000.0,
            )  # fmt: skip
        msg = str(err.value)
        assert f"at least {minimum} non-mated probe" in msg and f"it has {probes}" in msg
    else:
        res = cal.calibrate_scores(
            data.impostors, data.mate_scores, data.mated, false_alerts_per_hour=per_hour,
            watchlist_size=3, faces_per_hour=1000.0,
        )  # fmt: skip
        assert res["expected_fpir"] <= target_fpir + 1e-12


@pytest.mark.parametrize(
    ("sizes", "flagged"),
    [
        ({"F": 29, "M": 300}, ["F"]),
        ({"F": 30, "M": 30}, []),
        ({"F": 3, "M": 2, "unknown": 40}, ["F", "M"]),
    ],
)
def test_small_groups_flagged(sizes: dict[str, int], flagged: list[str]) -> None:
    groups = {f"{g}{i}": g for g, n in sizes.items() for i in range(n)}
    ids = [name for name in groups for _ in range(2)]  # two searches each: counted once
    got = identities_per_group(ids, groups)
    assert got == dict(sorted(sizes.items()))
    notes = size_caveats(got, MIN_GROUP_IDENTITIES)
    assert [n.split("'")[1] for n in notes] == flagged
    assert all("too small to judge" in n for n in notes)
    assert [g for g, n in got.items() if too_small_to_judge(n)] == flagged


def test_calibration_on_the_live_znorm_scale(
    real: tuple[list[str], np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """The z-scores calibration thresholds are the very scores NormalisedGallery returns live."""
    ids, vecs, ok, first = real
    tmask = first & ok
    cohort = vecs[~first & ok][:12]  # other images stand in for strangers here
    data = cal.scores_from_vectors(ids, vecs, ok, first, cohort=cohort)
    plain = cal.scores_from_vectors(ids, vecs, ok, first)
    assert not np.allclose(data.mate_scores, plain.mate_scores)
    live = NormalisedGallery.from_cohort(
        NumpyGallery(vecs[tmask], np.arange(int(tmask.sum()))), cohort, int(tmask.sum())
    )
    probes = vecs[ok & ~first]
    z, labels = live.search(probes, int(tmask.sum()))
    t_ids = np.asarray(ids, dtype=object)[tmask]
    p_ids = np.asarray(ids, dtype=object)[ok & ~first]
    mate_live = [z[i][t_ids[labels[i]] == p_ids[i]][0] for i in range(len(p_ids))]
    np.testing.assert_allclose(np.sort(mate_live), np.sort(data.mate_scores), atol=1e-4)


def test_cohort_for_follows_the_scoring_settings(
    real: tuple[list[str], np.ndarray, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    from openlfr.config import Settings
    from openlfr.config_scoring import ScoringSettings
    from openlfr.evaluation.cohort import save_cohort

    _ids, vecs, ok, _ = real
    path = tmp_path / "cohort.npz"
    save_cohort(path, vecs[ok], "sface")

    def settings(**kw: object) -> Settings:
        return Settings().model_copy(update={"scoring": ScoringSettings.model_validate(kw)})

    assert cal.cohort_for(settings()) is None  # raw cosine: calibrate as before
    got = cal.cohort_for(settings(normalisation="znorm", cohort_path=path, cohort_min=10))
    assert got is not None and got.shape == (int(ok.sum()), 128)
    with pytest.raises(cal.CalibrationRefused, match="cohort_path"):
        cal.cohort_for(settings(normalisation="znorm"))
