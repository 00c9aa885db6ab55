"""`openlfr eval identify` on a 30-identity LFW subset, the embedding cache, and bad input."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
from suite import SHARED_DATA, needs
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import VisionSettings
from openlfr.evaluation import embedding_cache

LFW = SHARED_DATA / "lfw"
RATE_KEYS = {"0.01", "0.001", "0.0001"}

pytestmark = [
    pytest.mark.usefixtures("private_eval_cache"),
    pytest.mark.skipif(
        not (LFW / "identities.csv").is_file(),
        reason=needs("shared data", f"{LFW / 'identities.csv'}"),
    ),
]
runner = CliRunner()


def _flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """20 identities with 2+ images (up to 3 each; 10 F, 10 M) and 10 with one (5 F, 5 M)."""
    tmp = tmp_path_factory.mktemp("identify")
    with (LFW / "identities.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    chosen = []
    for many in (True, False):
        for g in ("F", "M"):
            pick = [
                r for r in rows if r["gender_from_name"] == g and (int(r["n_images"]) >= 2) == many
            ]
            chosen += pick[: 10 if many else 5]
    root = tmp / "faces"
    for r in chosen:
        src = sorted((LFW / "images" / r["identity"]).iterdir())[:3]
        (root / r["identity"]).mkdir(parents=True)
        for f in src:
            (root / r["identity"] / f.name).symlink_to(f)
    ids = tmp / "identities.csv"
    with ids.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["identity", "n_images", "gender_from_name"])
        w.writeheader()
        w.writerows(chosen)
    return root, ids


def test_identify_thirty_identities(subset: tuple[Path, Path], tmp_path: Path) -> None:
    root, ids = subset
    png = tmp_path / "det.png"
    result = runner.invoke(
        app,
        [
            "eval",
            "identify",
            "--root",
            str(root),
            "--identities",
            str(ids),
            "--group-by",
            "gender_from_name",
            "--plot",
            str(png),
            "--json",
            str(tmp_path / "o.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["gallery"] == 20 and got["nonmated_probes"] == 10
    n_mated = sum(
        min(len(list(d.iterdir())), 3) - 1 for d in root.iterdir() if len(list(d.iterdir())) > 1
    )
    assert got["mated_probes"] == n_mated
    assert got["rank1"] >= 0.85
    assert set(got["tpir_at_fpir"]) == set(got["thresholds"]) == RATE_KEYS
    assert set(got["by_group"]) == {"F", "M"}
    # Per group: the counts follow from the subset, and each rate is its own counts' ratio.
    with ids.open() as fh:
        gender = {r["identity"]: r["gender_from_name"] for r in csv.DictReader(fh)}
    for name, g in got["by_group"].items():
        assert set(g["tpir_at_fpir"]) == RATE_KEYS
        mine = [d for d in root.iterdir() if gender[d.name] == name]
        counts = g["counts"]
        assert counts["nonmated_probes"] == 5 == sum(len(list(d.iterdir())) == 1 for d in mine)
        assert counts["mated_probes"] == sum(len(list(d.iterdir())) - 1 for d in mine)
        assert g["fpir_at_threshold"] == counts["false_positives"] / counts["nonmated_probes"]
        assert g["fnir_at_threshold"] == counts["misses"] / counts["mated_probes"]
        for metric in ("fpir", "fnir"):
            lo, hi = g["ci95"][metric]
            assert 0.0 <= lo <= g[f"{metric}_at_threshold"] <= hi <= 1.0
            assert hi > lo  # five or ten identities cannot pin a rate down
    eq = got["equitability"]
    assert "FPIR 0.001" in eq["threshold_source"]
    assert eq["operating_threshold"] == pytest.approx(got["thresholds"]["0.001"])
    assert eq["groups_compared"] == ["F", "M"]
    comparisons = {(c["metric"], frozenset((c["worse"], c["better"]))) for c in eq["comparisons"]}
    assert comparisons == {("fpir", frozenset("FM")), ("fnir", frozenset("FM"))}
    # 10 vs 10 identities and no errors in either group: nothing can be significant, and the
    # verdict must say so in words (not merely be non-empty).
    assert not any(c["significant"] for c in eq["comparisons"])
    assert eq["verdict"] == "no statistically significant difference at this threshold"
    assert "noisy proxy" in eq["note"] and "not self-reported" in eq["note"]
    # Per identity: each group's mean of its people's own miss rates, at the same threshold.
    per_id = eq["per_identity"]
    assert set(per_id["groups"]) == {"F", "M"}
    for name, g in per_id["groups"].items():
        assert g["identities"] == 10  # people with a gallery image (and so mated searches)
        assert 0.0 <= g["ci95"][0] <= g["fnir"] <= g["ci95"][1] <= 1.0
        if got["by_group"][name]["counts"]["misses"] == 0:
            assert g["fnir"] == 0.0
    assert [c["metric"] for c in per_id["comparisons"]] == ["fnir_per_identity"]
    assert "per identity:" in result.stderr
    # 15 identities per group (< 30): reported with CIs, and flagged as too small to judge.
    for g in got["by_group"].values():
        assert g["identities"] == 15 and g["too_small_to_judge"] is True
    assert eq["too_small_to_judge"] == ["F", "M"]
    assert sum("too small to judge" in c for c in eq["caveats"]) == 2
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "o.json").read_text()) == got


def test_identify_without_groups(subset: tuple[Path, Path]) -> None:
    root, _ = subset
    result = runner.invoke(app, ["eval", "identify", "--root", str(root)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["by_group"] == {} and "equitability" not in got


class CacheMiss(Exception):
    """Raised by a stand-in model loader: the cache did not serve an image (its own type, so
    that no other error, an assert inside the cache included, can pass for it)."""


def test_cache_serves_the_second_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    img = sorted((LFW / "images" / "Abel_Pacheco").iterdir())[0]
    link = tmp_path / "a.jpg"
    link.symlink_to(img)
    cache = tmp_path / "cache"
    first = embedding_cache.embed_files([link], VisionSettings(), cache_dir=cache)
    assert first.ok.all()

    def boom(*_: object) -> None:
        raise CacheMiss

    monkeypatch.setattr(embedding_cache, "build_detector", boom)
    again = embedding_cache.embed_files([link], VisionSettings(), cache_dir=cache)
    assert (again.vectors == first.vectors).all()
    # another model's settings are another key: not served from this entry
    with pytest.raises(CacheMiss):
        embedding_cache.embed_files([link], VisionSettings(detector_score=0.7), cache_dir=cache)
    # a touched file is embedded afresh (its copy here, so the shared data is left alone)
    copy = tmp_path / "b.jpg"
    copy.write_bytes(img.read_bytes())
    monkeypatch.undo()
    embedding_cache.embed_files([copy], VisionSettings(), cache_dir=cache)
    os.utime(copy, ns=(1, 1))
    monkeypatch.setattr(embedding_cache, "build_detector", boom)
    with pytest.raises(CacheMiss):
        embedding_cache.embed_files([copy], VisionSettings(), cache_dir=cache)


def test_empty_folder_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["eval", "identify", "--root", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert _flat(f"{tmp_path / 'empty'}: no images found") in _flat(result.stderr)


def test_identities_csv_without_the_column_exits_2(subset: tuple[Path, Path]) -> None:
    root, ids = subset
    result = runner.invoke(
        app,
        ["eval", "identify", "--root", str(root), "--identities", str(ids), "--group-by", "race"],
    )
    assert result.exit_code == 2
    assert _flat(f"{ids} line 1: no column 'race'") in _flat(result.stderr)


def test_group_by_needs_identities(subset: tuple[Path, Path]) -> None:
    root, _ = subset
    result = runner.invoke(app, ["eval", "identify", "--root", str(root), "--group-by", "x"])
    assert result.exit_code == 2
    assert "--identitiesand--group-bygotogether" in _flat(result.stderr)
