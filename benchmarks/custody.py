"""Custody index benchmark (issue 11): search latency at scale against brute force, memory,
live removal, and real-face rank-1/rank-20 with NFA identities never returned.

Synthetic clustered unit vectors stand in for faces at scale; real LFW embeddings (the shared
evaluation cache, benchmarks/accuracy.py fills it) are mixed in so that accuracy is measured on
real faces. Run niced: `nice -n 10 .venv/bin/python benchmarks/custody.py --sizes 100000,1000000`.
The index is built and brute-forced a block at a time from its own memory-mapped files, so 10M
x 128 needs one copy of the vectors (peak RSS ~11.6 GB, mostly the mapped files).

Measured 2026-12-02 on the shared 2-core machine (other sessions' load noted; sqlite store):

| what | figure | target |
|---|---|---|
| import, 938 LFW images, 2 worker processes (load ~1.8) | 73.4 images/s (48.9 at 1.9) | >= 40 |
| import, same, in-process (load ~1.8) | 54.5 images/s | |
| import, same, before this change (threads + serial embedding, warm cache) | 61.8 images/s | |
| import, 281 images, 2 workers (pool start ~2 s included) | 60.2 images/s | |
| import CPU per image, all processes | 27-32 ms | |
| reconcile 1M outcome rows, 500k withdrawn, 1M audit (load 1.3-2.5) | 42.9 s, chain ok | <= 60 s |
| same, paired: now (load 5.1-5.7) / before (load 3.1-5.0) | 49.4 s / 58.9 s | |
| remove 10,000 vectors from the live index (10M) | 0.049 s | <= 1 s |
| search 1M, median / p95 (quiet, load 0.4) | 6.89 / 9.53 ms, 50/50 = brute, 1.28x | <= 10 ms |
| search 10M, median / p95 (quiet, load 0.4) | 86.8 / 132.7 ms, 50/50 = brute, 1.28x | <= 100 |
| search 1M, median / p95 (load 1.6-1.8) | 7.54 / 12.2 ms, 50/50 = brute, 1.28x | |
| search 10M, median / p95 (load 4.9-6.1) | 116 / 177 ms, 50/50 = brute, 1.28x | |
| same, a second run (load 2.1-2.7) | 136 / 158 ms, 50/50 = brute, 1.28x | |
| search 10M, before, same command (load 3.9-6.8) | 151 / 330 ms, 50/50, 1.28x | |
| search 10M, one built index, 2 paired runs now / before (load 1.7-1.9) | 97, 84 / 135, 121 ms | |
| search 1M / 10M before, earlier session (load ~0.5) | 7.7 / 112 ms | |
| real faces (360 gallery, 1,437 probes) | rank-1 98.1 %, rank-20 99.8 %, 0 NFA | 97 %, 99 % |

Under load 8-12 the same runs gave 13-18 images/s, 278 ms at 10M and 20.5 ms at 1M: figures
from this machine are lower bounds. At 10M most of a search is the int8 first pass (1.28 GB of
codes streamed per probe). Two changes took it from 120-135 to 84-97 ms at load ~1.8: the codes
are read into memory as 64 MiB column blocks instead of mapped (4 KiB pages: 95-146 ms against
80-103 ms for the pass alone), and the blocks go to whichever of two single-threaded scorers is
free, where one two-thread call waited for the half on a core another process held
(matching/custody_scan.py). The exact widening pass (~7,000 rows at 10M) sorts only the rows
at or above the k-th score already found (5.1 -> 2.0 ms). Tried and dropped: scanning only
the blocks whose maximum reaches the threshold (19 ms against 5 ms for one compare: a
quarter of the blocks reach it) and signed x signed MatMulInteger to drop the offset pass
(25x slower in onnxruntime); a prepacked constant code matrix failed to bind at a first try
and was not pursued. Not tried, by estimate: 4-bit or 64-d first passes (a 4-bit grid step is
17x the int8 one, whose proven bound is already 0.10 at a k-th score of 0.38 here, and these
vectors have no 64-d subspace: the widening would take most of the gallery).

Reconciliation: audit rows go in as tuples by the driver's executemany (SQLite; COPY on
PostgreSQL as before), their hashes built field by field (tests/store/test_audit_bulk_fast.py
holds them to `compute_row_hash`), and the estate is read and updated by Core statements,
without the ORM's per-row work.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from openlfr.config import Settings
from openlfr.evaluation.embedding_cache import embed_files
from openlfr.matching.custody_index import CustodyIndex

LFW = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfw" / "images"
MODEL = "benchmark"
STEP = 500_000  # vectors per block: generated, added and scanned a block at a time
BENCH_DIR = None  # temporary folders: the system's (on disk here; 10M needs ~7 GB free)


def lfw_sets(people: int) -> tuple[np.ndarray, list[int], np.ndarray, list[int]]:
    """(gallery vectors, gallery identity, probe vectors, probe identity): the first image of
    each identity with two or more images is imported, the others searched."""
    dirs = [d for d in sorted(LFW.iterdir()) if len(list(d.iterdir())) >= 2][:people]
    paths, who = [], []
    for i, d in enumerate(dirs):
        for f in sorted(d.iterdir()):
            paths.append(f)
            who.append(i)
    emb = embed_files(paths, Settings().vision)
    g, gi, p, pi, seen = [], [], [], [], set()
    for vec, ok, i in zip(emb.vectors, emb.ok, who, strict=True):
        if not ok:
            continue
        if i not in seen:
            seen.add(i)
            g.append(vec)
            gi.append(i)
        else:
            p.append(vec)
            pi.append(i)
    return np.asarray(g, np.float32), gi, np.asarray(p, np.float32), pi


def synthetic(
    n: int, rng: np.random.Generator, dim: int = 128, centres: np.ndarray | None = None
) -> np.ndarray:
    """Unit vectors in 1,024 clusters (``centres``, drawn here when not given)."""
    if centres is None:
        centres = rng.standard_normal((1024, dim)).astype(np.float32)
    out = np.empty((n, dim), np.float32)
    for a in range(0, n, 1_000_000):
        b = min(n, a + 1_000_000)
        out[a:b] = centres[rng.integers(0, 1024, b - a)]
        out[a:b] += 0.6 * rng.standard_normal((b - a, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def brute_top(vectors: np.ndarray, probes: np.ndarray, k: int) -> list[set[int]]:
    """Row ids (1-based) of each probe's top k by a plain scan, a block of rows at a time: the
    scan reads the index's own memory-mapped vectors, never a second copy of them."""
    best_s = np.full((len(probes), k), -np.inf, np.float32)
    best_i = np.zeros((len(probes), k), np.int64)
    for a in range(0, len(vectors), STEP):
        s = np.asarray(vectors[a : a + STEP]) @ probes.T  # (rows, Q)
        top = np.argpartition(-s, k - 1, axis=0)[:k].T if len(s) > k else np.argsort(-s, 0).T
        cand_s = np.concatenate([best_s, np.take_along_axis(s.T, top, 1)], axis=1)
        cand_i = np.concatenate([best_i, top + a + 1], axis=1)
        keep = np.argsort(-cand_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(cand_s, keep, 1), np.take_along_axis(cand_i, keep, 1)
    return [set(row.tolist()) for row in best_i]


def run_size(n: int, real: np.ndarray, probes: np.ndarray, rng: np.random.Generator) -> dict:
    """Builds an index of n vectors (the real faces first) a block at a time, so the process
    never holds more than one block beside the index's own memory-mapped files."""
    centres = rng.standard_normal((1024, real.shape[1])).astype(np.float32)
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
        folder = Path(tmp) / "idx"
        index = CustodyIndex.open(folder, model=MODEL, threads=2)
        t0 = time.perf_counter()
        for a in range(0, n, STEP):
            b = min(n, a + STEP)
            part = synthetic(b - a, rng, centres=centres)
            if a == 0:
                part[: len(real)] = real
            index.add(np.arange(a + 1, b + 1, dtype=np.int64), part)
            del part
        build = time.perf_counter() - t0
        measured = probes[:50]
        for q in measured[:3]:  # page the index in, as a long-running service has it
            index.search(q, 20)
        lat, found = [], []
        for q in measured:
            t = time.perf_counter()
            ids, _ = index.search(q, 20)
            lat.append((time.perf_counter() - t) * 1000)
            found.append(set(ids.tolist()))
        vectors = np.memmap(folder / "vectors.f32", np.float32, "r", shape=(n, real.shape[1]))
        truth = brute_top(vectors, measured, 20)
        same = sum(int(f == t) for f, t in zip(found, truth, strict=True))
        mem = index.memory_bytes() / (n * real.shape[1] * 4)
        gone = np.arange(len(real) + 1, len(real) + 10_001, dtype=np.int64)
        t = time.perf_counter()
        removed = index.remove(gone)
        rm = time.perf_counter() - t
        ids, _ = index.search(measured[0], 20)
        assert not set(ids.tolist()) & set(gone.tolist())
        del vectors, index
    return {"n": n, "build_s": build, "median_ms": statistics.median(lat),
            "p95_ms": float(np.percentile(lat, 95)), "top20_same": f"{same}/{len(measured)}",
            "mem_x_raw": mem, "removed": removed, "remove_s": rm,
            "peak_rss_gb": peak_rss_gb()}  # fmt: skip


def peak_rss_gb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def accuracy(g: np.ndarray, gi: list[int], p: np.ndarray, pi: list[int]) -> dict:
    """Rank-1/rank-20 on real faces; one identity in ten is NFA and never indexed (R17)."""
    nfa = {i for i in gi if i % 10 == 0}
    keep = [k for k, i in enumerate(gi) if i not in nfa]
    with tempfile.TemporaryDirectory() as tmp:
        index = CustodyIndex.open(Path(tmp) / "idx", model=MODEL, threads=2)
        index.add(np.asarray([gi[k] + 1 for k in keep], np.int64), g[keep])
        r1 = r20 = n = nfa_returned = 0
        for q, i in zip(p, pi, strict=True):
            ids, _ = index.search(q, 20)
            got = [int(x) - 1 for x in ids]
            nfa_returned += len(nfa & set(got))
            if i in nfa:
                continue
            n += 1
            r1 += int(bool(got) and got[0] == i)
            r20 += int(i in got)
    return {"gallery": len(keep), "probes": n, "rank1": r1 / max(n, 1),
            "rank20": r20 / max(n, 1), "nfa_returned": nfa_returned}  # fmt: skip


def lfw_csv(folder: Path, n: int) -> Path:
    """A custody CSV of the first n LFW files (every image of each identity, in name order)."""
    lines = ["custody_id,person_ref,image,captured,age_at_capture,case_outcome"]
    for d in sorted(LFW.iterdir()):
        for f in sorted(d.iterdir()):
            if len(lines) > n:
                break
            k = len(lines)
            lines.append(f"B{k},P{k},{d.name}/{f.name},2020-01-02,30,convicted")
    path = folder / "estate.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cpu_s() -> float:
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def import_rate(n: int, workers: int) -> dict:
    """`import_custody` of n real LFW images into a fresh store: images/s of wall time, and
    CPU ms per image over every process (this one and its workers)."""
    import os

    from openlfr.config import StoreSettings
    from openlfr.service.context import AppContext
    from openlfr.service.custody_import import import_custody

    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
        ctx = AppContext.open(Settings(store=StoreSettings(data_dir=Path(tmp) / "s")), "bench")
        try:
            c0 = _cpu_s()
            r = import_custody(ctx, lfw_csv(Path(tmp), n), LFW, workers=workers)
            cpu = _cpu_s() - c0
        finally:
            ctx.close()
    d = r.as_dict()
    return {"workers": workers, "imported": d["imported"], "rejected": d["rejected"],
            "images_per_s": d["images_per_s"], "cpu_ms": 1000 * cpu / max(1, r.imported),
            "load": os.getloadavg()[0]}  # fmt: skip


def reconcile(n: int) -> dict:
    """`openlfr case-outcome --csv` (its service call, `import_outcome_csv`) on an estate of n
    custody rows with a live index of n vectors: a CSV of n outcomes, one in two ending without
    conviction, so n/2 images are withdrawn, each with its audit row, in one transaction."""
    from sqlalchemy import func, insert, select

    from openlfr.config import StoreSettings
    from openlfr.service.case_outcomes import import_outcome_csv
    from openlfr.service.context import AppContext
    from openlfr.service.custody_index_sync import open_custody_index
    from openlfr.store import verify_audit
    from openlfr.store.models import AuditEntry
    from openlfr.store.models_custody import CustodyImage

    ends = ("no_further_action", "acquitted", "discontinued")
    with tempfile.TemporaryDirectory(dir=BENCH_DIR) as tmp:
        ctx = AppContext.open(Settings(store=StoreSettings(data_dir=Path(tmp) / "s")), "bench")
        try:
            t = time.perf_counter()
            with ctx.store.session() as s:  # the estate's rows, set up in bulk (not measured)
                for a in range(0, n, 50_000):
                    s.execute(insert(CustodyImage), [
                        {"id": i + 1, "custody_id": f"K{i}", "person_ref": f"P{i}",
                         "case_outcome": "charged", "eligible": True, "eligibility_reason": "R3",
                         "image_sha256": "0" * 64, "image_blob": b"", "embedding_blob": b"",
                         "embedding_model": ctx.settings.vision.embedder, "imported_by": "bench",
                         "indexed": True}
                        for i in range(a, min(n, a + 50_000))
                    ])  # fmt: skip
            index = open_custody_index(ctx)
            rng = np.random.default_rng(5)
            for a in range(0, n, STEP):
                b = min(n, a + STEP)
                index.add(np.arange(a + 1, b + 1, dtype=np.int64), synthetic(b - a, rng))
            setup = time.perf_counter() - t
            csv_path = Path(tmp) / "outcomes.csv"
            with csv_path.open("w") as fh:
                fh.write("source_ref,case_outcome\n")
                fh.writelines(
                    f"K{i},{ends[i // 2 % 3] if i % 2 == 0 else 'convicted'}\n" for i in range(n)
                )
            with ctx.store.session() as s:
                before = int(s.scalar(select(func.max(AuditEntry.id))) or 0)
            t = time.perf_counter()
            results = import_outcome_csv(ctx, csv_path, reason="benchmark export")
            took = time.perf_counter() - t
            with ctx.store.session() as s:
                audited = int(s.scalar(select(func.max(AuditEntry.id))) or 0) - before
                chain = verify_audit(s).ok
            withdrawn = sum(r.custody_withdrawn for r in results)
            assert len(index) == n - withdrawn  # out of the live index, before any compaction
        finally:
            ctx.close()
    return {"rows": n, "withdrawn": withdrawn, "audit_rows": audited, "seconds": took,
            "rows_per_s": n / took, "setup_s": setup, "chain_ok": chain}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100000,1000000", help="Index sizes, comma-separated.")
    ap.add_argument("--people", type=int, default=400, help="LFW identities (>= 2 images).")
    ap.add_argument(
        "--import-images", type=int, default=1000, help="Real images imported (0: skip)."
    )
    ap.add_argument("--reconcile", type=int, default=100_000, help="Case-outcome rows (0: skip).")
    ap.add_argument(
        "--skip-search", action="store_true", help="Only the import and reconciliation."
    )
    args = ap.parse_args()
    import os

    if args.import_images:
        from openlfr.machine import cores

        print("| import | workers | imported | rejected | images/s | CPU ms/image | load avg |")
        print("|---|---|---|---|---|---|---|")
        for workers in sorted({1, cores()}):
            r = import_rate(args.import_images, workers)
            cells = (r["workers"], r["imported"], r["rejected"], f"{r['images_per_s']:.1f}",
                     f"{r['cpu_ms']:.1f}", f"{r['load']:.1f}")  # fmt: skip
            print("| LFW | " + " | ".join(map(str, cells)) + " |", flush=True)
    if args.reconcile:
        r = reconcile(args.reconcile)
        print("| reconcile rows | withdrawn | audit rows | seconds | rows/s | chain ok |")
        print("|---|---|---|---|---|---|")
        print(f"| {r['rows']:,} | {r['withdrawn']:,} | {r['audit_rows']:,} | {r['seconds']:.1f} | "
              f"{r['rows_per_s']:,.0f} | {r['chain_ok']} |", flush=True)  # fmt: skip
    if args.skip_search:
        return
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    rng = np.random.default_rng(11)
    g, gi, p, pi = lfw_sets(args.people)
    acc = accuracy(g, gi, p, pi)
    print(f"| real faces | gallery {acc['gallery']} | probes {acc['probes']} | rank-1 "
          f"{acc['rank1']:.1%} | rank-20 {acc['rank20']:.1%} | NFA returned "
          f"{acc['nfa_returned']} |")  # fmt: skip
    print("| size | build s | median ms | p95 ms | top-20 = brute | memory x raw | "
          "remove 10k s | peak RSS GB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for n in (int(x) for x in args.sizes.split(",")):
        r = run_size(n, g, p, rng)
        row = (f"| {r['n']:,} | {r['build_s']:.1f} | {r['median_ms']:.2f} | {r['p95_ms']:.2f} | "
               f"{r['top20_same']} | {r['mem_x_raw']:.2f} | {r['remove_s']:.3f} | "
               f"{r['peak_rss_gb']:.1f} |")  # fmt: skip
        print(row, flush=True)


if __name__ == "__main__":
    main()
