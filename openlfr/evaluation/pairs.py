"""`openlfr eval pairs`: 1:1 verification accuracy on a list of image pairs (LFW protocol).

The pairs file is a CSV with a header row and columns `img_a,img_b,same[,fold]`; paths are
relative to the root folder and `same` is 1 (same person) or 0. Each distinct image is embedded
once; a pair's score is the cosine similarity of its two embeddings.

Failures to enrol: an image in which no face is found (or that cannot be decoded) is counted in
`failures_to_enrol`, and every pair that uses it is scored as a non-match at the lowest possible
score (cosine -1). This is the honest convention (NIST's): a same-person pair then counts as a
false non-match at every threshold, instead of being quietly dropped from the denominator.

Accuracy: with a `fold` column, the LFW protocol (for each fold, the best threshold on the other
folds, tested on that fold; the mean over folds is reported); without one, the accuracy at the
single best threshold on all pairs (optimistic: the threshold is tuned on the test data).
TAR at FAR x: the threshold is the one at which at most x of the different-person pairs are
accepted (see `metrics.threshold_at_rate`); TAR is the fraction of same-person pairs at or above it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.config import VisionSettings
from openlfr.errors import OpenLFRError
from openlfr.evaluation import metrics
from openlfr.evaluation.embedding_cache import ProgressFn, embed_files

REQUIRED = ("img_a", "img_b", "same")


class PairsFileError(OpenLFRError, ValueError):
    """The pairs file is missing, empty or malformed, or names an image that is not there."""


@dataclass(frozen=True)
class Pair:
    a: Path
    b: Path
    same: bool
    fold: int | None


def read_pairs(csv_path: Path, root: Path) -> list[Pair]:
    """Parses and checks the whole file before any image is embedded; errors name the line."""
    if not csv_path.is_file():
        raise PairsFileError(f"{csv_path}: pairs file not found")
    if not root.is_dir():
        raise PairsFileError(f"{root}: image root folder not found")
    try:
        text = csv_path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PairsFileError(f"{csv_path}: cannot read pairs file ({exc})") from None
    if not text.strip():
        raise PairsFileError(f"{csv_path}: empty file (expected a header img_a,img_b,same[,fold])")
    reader = csv.reader(text.splitlines())
    header = [h.strip() for h in next(reader)]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise PairsFileError(
            f"{csv_path} line 1: missing column(s) {', '.join(missing)} "
            f"(header is {','.join(header)}; expected img_a,img_b,same[,fold])"
        )
    col = {name: header.index(name) for name in (*REQUIRED, "fold") if name in header}
    pairs: list[Pair] = []
    for lineno, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        where = f"{csv_path} line {lineno}"
        if len(row) < len(header):
            raise PairsFileError(f"{where}: expected {len(header)} fields, got {len(row)}")
        same = row[col["same"]].strip()
        if same not in ("0", "1"):
            raise PairsFileError(f"{where}: 'same' must be 0 or 1, got {same!r}")
        fold: int | None = None
        if "fold" in col:
            raw = row[col["fold"]].strip()
            try:
                fold = int(raw)
            except ValueError:
                raise PairsFileError(f"{where}: 'fold' must be an integer, got {raw!r}") from None
        paths = []
        for name in ("img_a", "img_b"):
            rel = row[col[name]].strip()
            if not rel:
                raise PairsFileError(f"{where}: empty {name}")
            p = root / rel
            if not p.is_file():
                raise PairsFileError(f"{where}: image {rel!r} not found under {root}")
            paths.append(p)
        pairs.append(Pair(paths[0], paths[1], same == "1", fold))
    if not pairs:
        raise PairsFileError(f"{csv_path}: no pairs after the header")
    if len({p.same for p in pairs}) < 2:
        raise PairsFileError(f"{csv_path}: needs both same=1 and same=0 pairs")
    return pairs


def score_pairs(
    pairs: list[Pair],
    vision: VisionSettings,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, int, dict[str, str]]:
    """(scores, failures to enrol, reasons by image): one cosine per pair, LOWEST_SCORE where an
    image of the pair has no face."""
    images = sorted({p for pair in pairs for p in (pair.a, pair.b)})
    index = {p: i for i, p in enumerate(images)}
    emb = embed_files(images, vision, use_cache=use_cache, cache_dir=cache_dir, progress=progress)
    ia = np.array([index[p.a] for p in pairs])
    ib = np.array([index[p.b] for p in pairs])
    scores = np.einsum("ij,ij->i", emb.vectors[ia], emb.vectors[ib]).astype(np.float64)
    usable = emb.ok[ia] & emb.ok[ib]
    scores[~usable] = metrics.LOWEST_SCORE
    return scores, int(np.count_nonzero(~emb.ok)), emb.reasons


@dataclass(frozen=True)
class PairsResult:
    summary: dict[str, Any]  # exactly the keys of the fixed interface (the JSON printed)
    details: dict[str, Any]  # how accuracy was measured, per-fold figures, caveats, failures


def evaluate_pairs(
    csv_path: Path,
    root: Path,
    vision: VisionSettings,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> PairsResult:
    pairs = read_pairs(csv_path, root)
    scores, fte, reasons = score_pairs(
        pairs, vision, use_cache=use_cache, cache_dir=cache_dir, progress=progress
    )
    return summarise(scores, [p.same for p in pairs], [p.fold for p in pairs], fte, reasons)


def summarise(
    scores: np.ndarray,
    same: list[bool],
    folds: list[int | None],
    failures_to_enrol: int = 0,
    reasons: dict[str, str] | None = None,
) -> PairsResult:
    labels = np.asarray(same, bool)
    genuine, impostor = scores[labels], scores[~labels]
    out: dict[str, Any] = {"pairs": int(scores.size), "failures_to_enrol": failures_to_enrol}
    details: dict[str, Any] = {"same_pairs": int(genuine.size), "different_pairs": impostor.size}
    fold_ids = [f for f in folds if f is not None]
    if len(fold_ids) == len(folds) and len(set(fold_ids)) >= 2:
        fa = metrics.fold_accuracy(scores, labels, fold_ids)
        out["accuracy"] = fa.mean
        details["accuracy_method"] = f"{len(fa.per_fold)}-fold: best threshold on the other folds"
        details["accuracy_std"] = fa.std
        details["accuracy_per_fold"] = fa.per_fold
    else:
        t, acc = metrics.best_threshold(scores, labels)
        out["accuracy"] = acc
        details["accuracy_method"] = "best threshold on all pairs (tuned on the test data)"
        details["accuracy_threshold"] = t
    out["auc"] = metrics.auc(scores, labels)
    ths = {metrics.rate_key(r): metrics.threshold_at_rate(impostor, r) for r in metrics.RATES}
    out["tar_at_far"] = {k: metrics.accept_rate(genuine, t) for k, t in ths.items()}
    out["thresholds"] = ths
    details["notes"] = metrics.unmeasurable("FAR", impostor.size, "different-person pairs")
    details["failed_images"] = dict(sorted((reasons or {}).items()))
    return PairsResult(out, details)
