"""`openlfr eval pairs` on 40 real LFW pairs, and its refusals of bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from suite import SHARED_DATA, needs
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import VisionSettings
from openlfr.evaluation import embedding_cache

LFW = SHARED_DATA / "lfw"
KEYS = {"pairs", "failures_to_enrol", "accuracy", "auc", "tar_at_far", "thresholds"}
RATE_KEYS = {"0.01", "0.001", "0.0001"}

pytestmark = [
    pytest.mark.usefixtures("private_eval_cache"),
    pytest.mark.skipif(
        not (LFW / "pairs.csv").is_file(), reason=needs("shared data", f"{LFW / 'pairs.csv'}")
    ),
]
runner = CliRunner()


def _flat(text: str) -> str:
    """Rich wraps long lines; compare without whitespace."""
    return "".join(text.split())


def _subset(tmp_path: Path) -> tuple[Path, Path]:
    """10 same + 10 different pairs from each of folds 0 and 1, images symlinked into tmp."""
    with (LFW / "pairs.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    chosen = []
    for fold in ("0", "1"):
        for same in ("1", "0"):
            chosen += [r for r in rows if r["fold"] == fold and r["same"] == same][:10]
    root = tmp_path / "images"
    for r in chosen:
        for rel in (r["img_a"], r["img_b"]):
            dst = root / rel
            if not dst.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.symlink_to(LFW / "images" / rel)
    pairs = tmp_path / "pairs.csv"
    with pairs.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["img_a", "img_b", "same", "fold"])
        w.writeheader()
        w.writerows(chosen)
    return pairs, root


def _cosines(pairs: Path, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(same-person, different-person) cosine scores of the pairs in `pairs`."""
    with pairs.open() as fh:
        rows = list(csv.DictReader(fh))
    files = sorted({root / r[k] for r in rows for k in ("img_a", "img_b")})
    emb = embedding_cache.embed_files(files, VisionSettings())
    assert emb.ok.all()
    index = {f: i for i, f in enumerate(files)}
    ia = [index[root / r["img_a"]] for r in rows]
    ib = [index[root / r["img_b"]] for r in rows]
    # float32 products summed as the scorer sums them, so a tie at the threshold is exact
    scores = np.einsum("ij,ij->i", emb.vectors[ia], emb.vectors[ib]).astype(np.float64)
    same = np.array([r["same"] == "1" for r in rows])
    return scores[same], scores[~same]


def test_forty_real_pairs(tmp_path: Path) -> None:
    pairs, root = _subset(tmp_path)
    out = tmp_path / "out" / "pairs.json"
    result = runner.invoke(
        app, ["eval", "pairs", "--pairs", str(pairs), "--root", str(root), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)  # stdout carries only the JSON object
    assert set(got) == KEYS
    assert got["pairs"] == 40 and got["failures_to_enrol"] == 0
    assert set(got["tar_at_far"]) == set(got["thresholds"]) == RATE_KEYS
    assert got["accuracy"] >= 0.9 and got["auc"] >= 0.95
    # 20 different pairs: every FAR asked for is below 1/20, so no impostor may pass. Scored
    # again here from the same embeddings (the cache serves them) to check that claim itself.
    genuine, impostor = _cosines(pairs, root)
    for rate in RATE_KEYS:
        t = got["thresholds"][rate]
        assert t > impostor.max(), f"an impostor passes at FAR {rate}"
        assert t == np.nextafter(impostor.max(), np.inf)  # and no stricter than that needs
        assert got["tar_at_far"][rate] == pytest.approx(np.mean(genuine >= t), abs=1e-12)
    assert got["tar_at_far"]["0.01"] >= 0.9  # and most same-person pairs still pass
    assert "2-fold" in _flat(result.stderr)
    assert json.loads(out.read_text()) == got


def test_no_face_is_a_failure_to_enrol_scored_lowest(tmp_path: Path) -> None:
    pairs, root = _subset(tmp_path)
    cv2.imwrite(str(root / "blank.png"), np.full((250, 250, 3), 128, np.uint8))
    first = next(csv.DictReader(pairs.open()))
    with pairs.open("a", newline="") as fh:
        fh.write(f"{first['img_a']},blank.png,1,0\n")
    result = runner.invoke(app, ["eval", "pairs", "--pairs", str(pairs), "--root", str(root)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["pairs"] == 41 and got["failures_to_enrol"] == 1
    # the same-person pair with no face is a false non-match at every threshold
    assert all(v <= 20 / 21 for v in got["tar_at_far"].values())
    assert "blank.png" in _flat(result.stderr)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "pairs.csv:emptyfile"),
        ("img_a,img_b\nx.jpg,y.jpg\n", "pairs.csvline1:missingcolumn(s)same"),
        ("img_a,img_b,same\n{a},{a},1\n{a},{a},2\n", "pairs.csvline3:'same'mustbe0or1,got'2'"),
        (
            "img_a,img_b,same\n{a},{a},1\n{a},Nobody/none.jpg,0\n",
            "pairs.csvline3:image'Nobody/none.jpg'notfound",
        ),
        ("img_a,img_b,same,fold\n{a},{a},1,first\n", "pairs.csvline2:'fold'mustbeaninteger"),
        ("img_a,img_b,same\n{a}\n", "pairs.csvline2:expected3fields,got1"),
        ("img_a,img_b,same\n", "pairs.csv:nopairs"),
    ],
)
def test_bad_pairs_file_exits_2_naming_the_line(tmp_path: Path, content: str, message: str) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(content.format(a="Abel_Pacheco/Abel_Pacheco_0001.jpg"))
    result = runner.invoke(
        app, ["eval", "pairs", "--pairs", str(pairs), "--root", str(LFW / "images"), "--no-cache"]
    )
    assert result.exit_code == 2, result.output
    assert message in _flat(result.stderr), result.stderr
    assert result.stdout == ""


def test_missing_pairs_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["eval", "pairs", "--pairs", str(tmp_path / "nope.csv"), "--root", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert "nope.csv:pairsfilenotfound" in _flat(result.stderr)
