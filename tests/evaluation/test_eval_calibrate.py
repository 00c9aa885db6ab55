"""`openlfr calibrate`: the FPIR(N, t) arithmetic on hand-computed cases, the CLI on a small real
LFW subset, and exit 2 on bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from suite import data_path
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.evaluation import calibration as cal

runner = CliRunner()

# Two probes: A's impostor scores 0.1, 0.5, 0.9; B's 0.2, 0.3, 0.4 (M = 3 each).
IMP = cal.ImpostorScores.from_rows(
    [np.array([0.9, 0.1, 0.5]), np.array([0.4, 0.2, 0.3])], ["a", "b"]
)


pytestmark = pytest.mark.usefixtures("private_eval_cache")


@pytest.mark.parametrize(
    ("m", "c", "n", "expected"),
    [
        (3, 1, 2, 1 / 3),  # C(2,2)/C(3,2)
        (3, 2, 2, 0.0),  # two bad among three: any pair of two holds one
        (5, 0, 3, 1.0),
        (4, 1, 1, 3 / 4),
        (10, 2, 3, 56 / 120),  # C(8,3)/C(10,3)
    ],
)
def test_survival_ratio(m: int, c: int, n: int, expected: float) -> None:
    got = cal.survival_ratio(np.array([m]), np.array([c]), n)[0]
    assert got == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("n", "t", "expected", "extrapolated"),
    [
        (1, 0.5, (2 / 3 + 0) / 2, False),  # A: 2 of 3 reach 0.5; B: none
        (2, 0.5, (1 + 0) / 2, False),  # any 2 of A's 3 include 0.5 or 0.9
        (2, 0.9, (2 / 3 + 0) / 2, False),  # 1 - C(2,2)/C(3,2)
        (3, 0.35, 1.0, False),  # whole set: A has 0.5, B has 0.4
        (5, 0.5, (1 - (1 / 3) ** 5) / 2, True),  # N > M: 1 - (1 - 2/3)^5
    ],
)
def test_fpir_by_hand(n: int, t: float, expected: float, extrapolated: bool) -> None:
    per, extra = cal.per_probe_fpir(IMP, n, t)
    assert float(per.mean()) == pytest.approx(expected, abs=1e-12)
    assert extra is extrapolated


@pytest.mark.parametrize(
    ("faces_per_hour", "target_per_hour", "expected"),
    [
        # target FPIR 0.5 at N=1: FPIR is 1/2 from t just above 0.3 (A 2/3, B 1/3) up to 0.4
        (100.0, 50.0, 0.3001),
        # target FPIR 0.25: t must pass 0.5 (A 1/3, B 0 -> 1/6); at 0.5 it is 1/3
        (100.0, 25.0, 0.5001),
        # target FPIR 0.1: t must pass 0.9 (nothing left)
        (100.0, 10.0, 0.9001),
    ],
)
def test_choose_threshold_by_hand(
    faces_per_hour: float, target_per_hour: float, expected: float
) -> None:
    got = cal.choose_threshold(IMP, 1, faces_per_hour, target_per_hour)
    assert got == pytest.approx(expected, abs=1e-9)


def test_expected_tpir_by_hand() -> None:
    # Mate scores 0.7 (A: one impostor, 0.9, beats it) and 0.45 (B: none does).
    mates = np.array([0.7, 0.45])
    assert cal.expected_tpir(mates, IMP, 1, 0.5) == pytest.approx(0.5)  # only 0.7 reaches t
    # N = 2: one other entry, drawn from 3; A survives unless it is the 0.9 one: 2/3.
    assert cal.expected_tpir(mates, IMP, 2, 0.4) == pytest.approx((2 / 3 + 1) / 2)


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    lfw = data_path("lfw", "images")
    root = tmp_path_factory.mktemp("lfw-calib")
    names = sorted(os.listdir(lfw))
    multi = [n for n in names if len(os.listdir(lfw / n)) >= 2][:12]
    single = [n for n in names if len(os.listdir(lfw / n)) == 1][:12]
    for n in multi + single:
        (root / n).mkdir()
        for f in sorted(os.listdir(lfw / n))[:3]:
            (root / n / f).symlink_to(lfw / n / f)
    return root


def _run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_cli_keeps_evidence(subset: Path, tmp_path: Path) -> None:
    code, out, err = _run(
        "--store-dir", str(tmp_path), "calibrate", "--root", str(subset),
        "--watchlist-size", "5", "--faces-per-hour", "100", "--false-alerts-per-hour", "5",
    )  # fmt: skip
    assert code == 0, err
    ev = json.loads(out)
    assert ev["model"] == "sface" and ev["target"]["watchlist_size"] == 5
    assert ev["expected_false_alerts_per_hour"] <= 5.0 + 1e-9
    # The figures hang together: rates from one FPIR, comparisons from the folder's shape.
    data = ev["data"]
    assert (data["identities"], data["images"], data["failures_to_enrol"]) == (24, 46, 0)
    assert ev["probes"] == data["images"] and ev["mated_probes"] == 46 - 24
    assert ev["impostor_comparisons"] == ev["probes"] * (data["identities"] - 1)
    fpir = ev["expected_fpir"]
    assert ev["expected_false_alerts_per_hour"] == pytest.approx(100 * fpir)
    assert ev["expected_false_alerts_per_1000_faces"] == pytest.approx(1000 * fpir)
    lo, hi = ev["false_alerts_per_hour_ci95"]
    assert lo <= ev["expected_false_alerts_per_hour"] <= hi and lo < hi
    # The threshold is the lowest that meets the target, so some impostor scores reach it,
    # and the highest impostor listed is above it (a strict target would sit above them all).
    assert ev["impostor_comparisons_at_or_above_threshold"] > 0
    assert data["highest_impostor_comparisons"][0]["score"] >= ev["threshold"]
    assert 0.9 <= ev["expected_tpir"] <= 1.0  # a good model finds its mates at this threshold
    kept = Path(ev["evidence_file"])
    assert kept.parent == tmp_path / "calibrations" and kept.name.startswith("sface-")
    assert json.loads(kept.read_text())["threshold"] == ev["threshold"]
    assert "OPENLFR_GOVERNANCE__THRESHOLD_FLOORS" in ev["authorisation_floor"]["env"]
    # A bigger watchlist raises the threshold needed for the same false alerts per hour.
    code, out, err = _run(
        "calibrate", "--no-store", "--root", str(subset), "--watchlist-size", "20",
        "--faces-per-hour", "100", "--false-alerts-per-1000-faces", "50",
    )  # fmt: skip
    assert code == 0, err
    bigger = json.loads(out)
    assert bigger["threshold"] > ev["threshold"]
    assert bigger["expected_false_alerts_per_hour"] <= 5.0 + 1e-9
    assert bigger["expected_tpir"] <= ev["expected_tpir"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--root", "/nonexistent/x", "--false-alerts-per-hour", "1"], "not found"),
        ([], "exactly one of"),
        (["--false-alerts-per-hour", "1", "--false-alerts-per-1000-faces", "1"], "exactly one"),
        (["--false-alerts-per-hour", "0"], "must be > 0"),
        (["--false-alerts-per-hour", "500"], "not below"),
    ],
)
def test_cli_bad_input_exit_2(subset: Path, args: list[str], fragment: str) -> None:
    base = ["calibrate", "--no-store", "--watchlist-size", "5", "--faces-per-hour", "100"]
    if "--root" not in args:
        base += ["--root", str(subset)]
    code, _out, err = _run(*base, *args)
    assert code == 2
    assert fragment in " ".join(err.split())


def test_cli_bad_folders_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    singles = tmp_path / "singles"
    for n in ("a", "b", "c"):
        (singles / n).mkdir(parents=True)
        (singles / n / "x.jpg").write_bytes(b"")
    for root, fragment in ((empty, "at least 3"), (singles, "two or more images")):
        code, _o, err = _run(
            "calibrate", "--no-store", "--root", str(root), "--watchlist-size", "5",
            "--faces-per-hour", "100", "--false-alerts-per-hour", "1",
        )  # fmt: skip
        assert code == 2 and fragment in " ".join(err.split())
    code, _o, _e = _run("calibrate", "--watchlist-size", "0", "--faces-per-hour", "1")
    assert code == 2
