"""`openlfr eval identify` on a 30-identity LFW subset, the embedding cache, and bad input."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import VisionSettings
from openlfr.evaluation import embedding_cache

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw"
RATE_KEYS = {"0.01", "0.001", "0.0001"}

pytestmark = pytest.mark.skipif(
    not (LFW / "identities.csv").is_file(), reason="no ../shared/data/lfw"
)
runner = CliRunner()


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mp = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("eval-cache")
    mp.setattr(embedding_cache, "default_cache_dir", lambda: cache)
    yield cache
    mp.undo()


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
    for g in got["by_group"].values():
        assert set(g["tpir_at_fpir"]) == RATE_KEYS
        assert 0.0 <= g["fpir_at_threshold"] <= 1.0 and 0.0 <= g["fnir_at_threshold"] <= 1.0
        for metric in ("fpir", "fnir"):
            lo, hi = g["ci95"][metric]
            assert 0.0 <= lo <= hi <= 1.0
    eq = got["equitability"]
    assert "FPIR 0.001" in eq["threshold_source"]
    assert eq["operating_threshold"] == pytest.approx(got["thresholds"]["0.001"])
    assert eq["verdict"]  # 10 vs 10 identities: almost surely no significant difference
    assert "noisy proxy" in eq["note"] and "not self-reported" in eq["note"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "o.json").read_text()) == got


def test_identify_without_groups(subset: tuple[Path, Path]) -> None:
    root, _ = subset
    result = runner.invoke(app, ["eval", "identify", "--root", str(root)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["by_group"] == {} and "equitability" not in got


def test_cache_serves_the_second_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    img = sorted((LFW / "images" / "Abel_Pacheco").iterdir())[0]
    link = tmp_path / "a.jpg"
    link.symlink_to(img)
    cache = tmp_path / "cache"
    first = embedding_cache.embed_files([link], VisionSettings(), cache_dir=cache)
    assert first.ok.all()

    def boom(*_: object) -> None:
        raise AssertionError("the cache should have served this")

    monkeypatch.setattr(embedding_cache, "build_detector", boom)
    again = embedding_cache.embed_files([link], VisionSettings(), cache_dir=cache)
    assert (again.vectors == first.vectors).all()
    # another model's settings are another key: not served from this entry
    with pytest.raises(AssertionError):
        embedding_cache.embed_files([link], VisionSettings(detector_score=0.7), cache_dir=cache)
    # a touched file is embedded afresh (its copy here, so the shared data is left alone)
    copy = tmp_path / "b.jpg"
    copy.write_bytes(img.read_bytes())
    monkeypatch.undo()
    embedding_cache.embed_files([copy], VisionSettings(), cache_dir=cache)
    os.utime(copy, ns=(1, 1))
    monkeypatch.setattr(embedding_cache, "build_detector", boom)
    with pytest.raises(AssertionError):
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
