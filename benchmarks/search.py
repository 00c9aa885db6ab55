"""1:N search benchmark: exhaustive numpy fp32, FAISS IndexFlatIP and openlfr's CompactGallery.

    python benchmarks/search.py [--sizes 10000,100000,1000000] [--out out/bench] [--probes 64]

For each gallery size and each kind of data (random unit vectors; "clustered": identities as
cluster centres with ~10 images around each, like face embeddings), measures build time, memory
(bytes of the index's arrays, and the process RSS it added, after building and after the
searches), per-probe latency (median and p95, probes one at a time and in batches of 32), and
checks that CompactGallery returns exactly the labels of exhaustive search (openlfr's
NumpyGallery) with the same scores: mismatches must be 0.
Runs on 2 threads. Prints a Rich table and writes OUT/search.md and OUT/search.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from rich.console import Console
from rich.table import Table

from openlfr.matching.compact import CompactGallery
from openlfr.matching.gallery import NumpyGallery, _best_per_label

DIM, K, BATCH, THREADS = 128, 10, 32, 2
console = Console(stderr=True)
Search = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def unit(v: np.ndarray) -> np.ndarray:
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def make_data(kind: str, n: int, probes: int, seed: int) -> tuple[np.ndarray, ...]:
    """Gallery vectors, labels, and probes: half mated (a gallery image, perturbed), half not."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        vectors = unit(rng.standard_normal((n, DIM), dtype=np.float32))
        labels = rng.integers(0, max(1, n // 2), n)
        others = unit(rng.standard_normal((probes - probes // 2, DIM), dtype=np.float32))
    else:
        ids = max(1, n // 10)
        shared = rng.standard_normal(DIM, dtype=np.float32)  # embeddings share a mean direction
        centres = unit(rng.standard_normal((ids, DIM), dtype=np.float32) + 0.8 * shared)
        labels = rng.integers(0, ids, n)
        vectors = centres[labels]
        vectors += 0.06 * rng.standard_normal((n, DIM), dtype=np.float32)
        unit(vectors)
        new = unit(rng.standard_normal((probes, DIM), dtype=np.float32) + 0.8 * shared)
        others = unit(new[: probes - probes // 2] + 0.06 * rng.standard_normal(DIM, np.float32))
    mates = vectors[rng.integers(0, n, probes // 2)]
    mates = unit(mates + 0.04 * rng.standard_normal(mates.shape, dtype=np.float32))
    return vectors, labels, np.vstack([mates, others]).astype(np.float32)


class BruteNumpy:
    """Exhaustive fp32 scan, done well: one matmul, argpartition, best score per label."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        self.vectors, self.labels = vectors, labels

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims = probes @ self.vectors.T
        fetch = min(sims.shape[1] - 1, k * 8)
        part = np.argpartition(-sims, fetch, axis=1)[:, : fetch + 1]
        top = np.take_along_axis(sims, part, 1)
        order = np.argsort(-top, axis=1, kind="stable")
        rows = np.take_along_axis(part, order, 1)
        return _best_per_label(np.take_along_axis(top, order, 1), self.labels[rows], k)


class FlatIP:
    def __init__(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        self.index = faiss.IndexFlatIP(DIM)
        self.index.add(vectors)
        self.labels = labels

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        sims, rows = self.index.search(probes, k * 8)
        labels = np.where(rows >= 0, self.labels[np.maximum(rows, 0)], -1)
        return _best_per_label(sims, labels, k)


def index_bytes(name: str, index: Any, n: int) -> int:
    if name == "compact int8 + exact re-rank":
        return int(index.memory_bytes())
    return n * DIM * 4 + n * 8  # fp32 vectors + int64 labels


def latencies(search: Search, probes: np.ndarray, batch: int) -> list[float]:
    """Seconds per probe of each call, after one warm-up call."""
    search(probes[:batch], K)
    out = []
    for lo in range(0, len(probes) - batch + 1, batch):
        t = time.perf_counter()
        search(probes[lo : lo + batch], K)
        out.append((time.perf_counter() - t) / batch)
    return out


def reference(
    vectors: np.ndarray, labels: np.ndarray, probes: np.ndarray
) -> tuple[np.ndarray, ...]:
    """openlfr's NumpyGallery (full sort per probe), a few probes at a time to bound memory."""
    ref = NumpyGallery(vectors, labels)
    parts = [ref.search(probes[i : i + 4], K) for i in range(0, len(probes), 4)]
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def run_one(kind: str, n: int, n_probes: int, seed: int) -> list[dict[str, Any]]:
    vectors, labels, probes = make_data(kind, n, n_probes, seed)
    console.print(f"[bold]{kind} N={n:,}[/]: reference (exhaustive, full sort)...")
    ref_s, ref_l = reference(vectors, labels, probes)
    rows = []
    builders: list[tuple[str, Callable[[], Any]]] = [
        ("numpy fp32 brute force", lambda: BruteNumpy(vectors, labels)),
        ("faiss IndexFlatIP", lambda: FlatIP(vectors, labels)),
        ("compact int8 + exact re-rank", lambda: CompactGallery(vectors, labels, threads=THREADS)),
    ]
    for name, build in builders:
        gc.collect()
        before = rss_bytes()
        t = time.perf_counter()
        index = build()
        build_s = time.perf_counter() - t
        rss_added = rss_bytes() - before
        one = latencies(index.search, probes, 1)
        many = latencies(index.search, probes, BATCH)
        s, lab = index.search(probes, K)
        rss_searched = rss_bytes() - before
        nbytes = index_bytes(name, index, n)
        row: dict[str, Any] = {
            "data": kind,
            "n": n,
            "method": name,
            "build_s": round(build_s, 3),
            "index_mb": round(nbytes / 2**20, 1),
            "x_raw": round(nbytes / vectors.nbytes, 3),
            "rss_added_mb": round(rss_added / 2**20, 1),
            "rss_after_search_mb": round(rss_searched / 2**20, 1),
            "q1_median_ms": round(1e3 * float(np.median(one)), 2),
            "q1_p95_ms": round(1e3 * float(np.percentile(one, 95)), 2),
            "q32_median_ms": round(1e3 * float(np.median(many)), 2),
            "q32_p95_ms": round(1e3 * float(np.percentile(many, 95)), 2),
            "label_mismatches": int((lab != ref_l).sum()),
            "max_abs_score_diff": float(np.nanmax(np.abs(np.where(ref_l >= 0, s - ref_s, 0)))),
        }
        if isinstance(index, CompactGallery):
            row["widened_or_exhaustive"] = dict(index.stats)
        console.print(row)
        rows.append(row)
        del index
    return rows


COLUMNS = [
    ("data", "data"),
    ("n", "N"),
    ("method", "method"),
    ("build_s", "build s"),
    ("index_mb", "index MiB"),
    ("x_raw", "x raw fp32"),
    ("rss_added_mb", "RSS added MiB"),
    ("rss_after_search_mb", "RSS after searches MiB"),
    ("q1_median_ms", "1 probe median ms"),
    ("q1_p95_ms", "1 probe p95 ms"),
    ("q32_median_ms", "batch 32 ms/probe median"),
    ("q32_p95_ms", "batch 32 ms/probe p95"),
    ("label_mismatches", "label mismatches"),
    ("max_abs_score_diff", "max |score diff|"),
]


def fmt(key: str, value: Any) -> str:
    if key == "n":
        return f"{value:,}"
    if key == "max_abs_score_diff":
        return f"{value:.1e}"
    return str(value)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--kinds", default="random,clustered")
    ap.add_argument("--probes", type=int, default=64, help="probes timed (a multiple of 32)")
    ap.add_argument("--out", type=Path, default=Path("out/bench"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    faiss.omp_set_num_threads(THREADS)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for n in (int(s) for s in args.sizes.split(",")):
        for kind in args.kinds.split(","):
            rows += run_one(kind, n, max(BATCH, args.probes // BATCH * BATCH), args.seed)
    table = Table(title=f"1:N search, {DIM}-d, k={K}, {THREADS} threads")
    for _, title in COLUMNS:
        table.add_column(title)
    for r in rows:
        table.add_row(*(fmt(key, r[key]) for key, _ in COLUMNS))
    Console(width=240).print(table)
    meta = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "k": K,
        "threads": THREADS,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    lines = [
        "# 1:N search: exhaustive vs compact (int8 first pass + exact fp32 re-rank)",
        "",
        f"{meta['date']}, {meta['machine']}, numpy {meta['numpy']}, faiss {meta['faiss']}, "
        f"k={K}, {THREADS} threads. Label mismatches are against openlfr's NumpyGallery "
        "(exhaustive fp32, full sort); the compact index must show 0.",
        "",
        "| " + " | ".join(t for _, t in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(fmt(key, r[key]) for key, _ in COLUMNS) + " |" for r in rows]
    (args.out / "search.md").write_text("\n".join(lines) + "\n")
    console.print(f"wrote {args.out / 'search.md'} and search.json in {meta['wall_s']} s")


if __name__ == "__main__":
    main()
