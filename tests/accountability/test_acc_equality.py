"""Equality evidence per deployment: the newest `eval identify --record` measurement of the
model in use, read at the deployment's threshold, and a warning when none is current."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from openlfr.config import Settings, StoreSettings
from openlfr.config_accountability import AccountabilitySettings
from openlfr.evaluation.equality import GRID, rates_by_threshold
from openlfr.service.equality import equality_evidence, record_equality

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _settings(tmp_path: Path, max_age: int = 30) -> Settings:
    return Settings().model_copy(
        update={
            "store": StoreSettings(data_dir=tmp_path),
            "accountability": AccountabilitySettings(equality_max_age_days=max_age),
        }
    )


def _result(shift: float) -> dict[str, object]:
    rng = np.random.default_rng(7)
    n_groups = np.array(["x"] * 300 + ["y"] * 300, dtype=object)
    n_scores = np.concatenate([rng.normal(0.2, 0.1, 300), rng.normal(0.2 + shift, 0.1, 300)])
    m_groups = np.array(["x"] * 50 + ["y"] * 50, dtype=object)
    m_scores = rng.normal(0.7, 0.1, 100)
    grid = rates_by_threshold(m_groups, n_groups, lambda t: m_scores >= t, n_scores)
    return {"grid": list(GRID), "by_group_at_thresholds": grid}


def test_no_measurement_warns(tmp_path: Path) -> None:
    ev = equality_evidence(_settings(tmp_path), 0.5, NOW)
    assert ev.groups == [] and ev.warning is not None and "--record" in ev.warning


def test_newest_measurement_at_the_threshold_and_its_age(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    record_equality(settings, _result(0.0), "g", NOW - timedelta(days=90))
    record_equality(settings, _result(0.15), "g", NOW - timedelta(days=10))
    ev = equality_evidence(settings, 0.42, NOW)
    assert ev.warning is None and ev.measured_at is not None
    assert ev.measured_at.startswith((NOW - timedelta(days=10)).date().isoformat())
    assert ev.grid_threshold == pytest.approx(0.42)
    rates = {g.group: g for g in ev.groups}
    assert rates["y"].fpir is not None and rates["x"].fpir is not None
    assert rates["y"].fpir > rates["x"].fpir  # the newest file (shifted y) was read
    # A higher threshold gives no more false positives, and no fewer misses.
    high = {g.group: g for g in equality_evidence(settings, 0.6, NOW).groups}
    assert high["y"].fpir is not None and high["y"].fpir <= rates["y"].fpir
    assert (high["x"].fnir or 0) >= (rates["x"].fnir or 0)
    stale = equality_evidence(settings, 0.42, NOW + timedelta(days=30))
    assert stale.warning is not None and "older than 30 days" in stale.warning


def test_recording_needs_per_group_rates(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--group-by"):
        record_equality(_settings(tmp_path), {"grid": []}, "", NOW)


def test_eval_identify_record_keeps_what_the_officer_sees(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`openlfr eval identify --group-by COL --record` on 8 LFW identities (4 with 2 images,
    4 with one): the recorded evidence is read back for the model in use, and its per-group
    counts are the run's own; without --group-by there is nothing to record (exit 2)."""
    import csv
    import json

    from typer.testing import CliRunner

    from openlfr.cli import app

    lfw = shared_data / "lfw"
    with (lfw / "identities.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    chosen = [r for r in rows if int(r["n_images"]) >= 2][:4] + [
        r for r in rows if int(r["n_images"]) == 1
    ][:4]
    root = tmp_path / "faces"
    for i, r in enumerate(chosen):
        (root / r["identity"]).mkdir(parents=True)
        for f in sorted((lfw / "images" / r["identity"]).iterdir())[:2]:
            (root / r["identity"] / f.name).symlink_to(f)
        r["half"] = "first" if i % 2 else "second"
    ids = tmp_path / "ids.csv"
    with ids.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["identity", "half"], extrasaction="ignore")
        w.writeheader()
        w.writerows(chosen)
    monkeypatch.setenv("OPENLFR_STORE__DATA_DIR", str(tmp_path / "store"))
    args = ["eval", "identify", "--root", str(root), "--identities", str(ids),
            "--group-by", "half", "--record", "--no-cache"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=tmp_path / "store")})
    ev = equality_evidence(settings, 0.5, datetime.now(UTC))
    assert ev.warning is None and ev.group_by == "half"
    for g in ev.groups:
        counts = got["by_group"][g.group]["counts"]
        assert (g.mated, g.nonmated) == (counts["mated_probes"], counts["nonmated_probes"])
    fails = CliRunner().invoke(app, ["eval", "identify", "--root", str(root), "--record"])
    assert fails.exit_code == 2 and "--group-by" in fails.output
