"""Scale benchmark: a synthetic 1M x 384 index, exact (flat) against IVF, HNSW and IVF-PQ: build and query time,
recall, memory; the IVF-PQ code size chosen by a sweep; BM25 at a million chunks; figures extrapolated to 15M.

    python bench/scale.py [--n 1000000] [--dim 384] [--queries 500] [--clusters 2000] [--spread 0.6]
                          [--kinds flat,ivf,hnsw,ivfpq] [--gpu] [--json OUT]
    python bench/scale.py --pq-sweep [--n 1000000]          # IVF-PQ code sizes on one coarse quantizer
    python bench/scale.py --real WORKSPACE...               # the same sweep on digest's real vectors
    python bench/scale.py --bm25 1000000 [--json OUT]       # BM25 (bm25s) at that many chunks
    python bench/scale.py --extrapolate 15000000 ROWS.json...  # carry measured rows to 15M (labelled)
    python bench/scale.py --build-peak 300000 [--kinds flat,ivfpq]  # peak memory: streamed dense build vs one array

Vectors are drawn around random cluster centres and L2-normalized (real embeddings cluster; uniform random
vectors would be the worst case for any graph index). IVF, HNSW and IVF-PQ go through digest's own build
path (`digest.index._dense_index`), which measures recall@10 against exact search and raises nprobe / efSearch
(and IVF-PQ's re-scored candidates) until it reaches 0.95. Recall is measured again here on other queries.
Memory is the growth of this process's resident set while each index is built. On a shared machine run it
with OMP_NUM_THREADS=1 and compare CPU seconds: contended OpenMP threads spin against each other.

--extrapolate N: each kind's largest measured row carried to N vectors, labelled: memory per vector, latency
along a cost model at the search setting tuned when measured, build CPU along the power law fitted through
two measured sizes (`extrapolate`).

IVF-PQ is searched as digest searches it (`digest.index.Rescored`): its candidates re-scored from the float16
vectors file, memory-mapped; "cold" latency is measured after the file's pages are dropped from the page cache
(posix_fadvise), as when the file is larger than the memory left for it. `index_mib` is the FAISS index itself
(what a search keeps in memory); `vectors_file_mib` what lies on disk beside it.

--bm25 N: N chunks made from the real chunks of a digest workspace (`--chunks-from`, default the 53-paper one
bench/eval.py builds): each real chunk's BM25 tokens, repeated, with 8% of them replaced by new words drawn
from a pool sized by Heaps' law as fitted on the real chunks, so that the vocabulary grows as a real corpus's
would. Builds the bm25s index as digest does, saves it, then loads it in fresh processes (in memory and
`mmap=True`) and times digest's query path (`get_scores_from_ids` over all chunks, then the top 50) on the
dev and holdout questions. Also the memory of digest's chunk list (`Chunk` objects) per chunk.

--build-peak N: digest's dense build (`digest.index._dense_from_parts`: each paper's vectors streamed to disk, the
index built from the file a block at a time) against the build before it (every paper's vectors concatenated into one
float32 array, the index built from that, IVF-PQ's float16 file saved from it), each in a fresh process holding the N
synthetic vectors in memory as papers of 40 (as `build_index` holds its parts); the peak resident set (VmHWM,
reset when the build starts) above what the process held then, the ratio of the two, and whether the two builds agree
(the same FAISS index bytes, or the same tuned search setting and recall).

--gpu (needs faiss-gpu, `pip install .[gpu]`, and CUDA torch): exact and IVF search on the GPU, and embedding
throughput of all-MiniLM-L6-v2 on CUDA (fp16) against a bare `model.encode`.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import QA_DEV, QA_HOLDOUT, ROOT, load_questions, percentiles, rss_mib, timed  # noqa: E402
from digest.index import (Rescored, live_version, _dense_from_parts, _dense_index, _save_vectors, ivf_lists,  # noqa: E402
                          tune_search)


def synthetic(n: int, dim: int, clusters: int = 2000, spread: float = 0.6, seed: int = 0) -> np.ndarray:
    """`n` unit vectors scattered around `clusters` random centres (noise `spread` per coordinate), in blocks."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        size = min(100_000, n - start)
        block = centres[rng.integers(0, clusters, size)] + spread * rng.standard_normal((size, dim)).astype(np.float32)
        out[start : start + size] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def queries_near(vectors: np.ndarray, count: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = vectors[rng.choice(len(vectors), count, replace=False)] + 0.1 * rng.standard_normal((count, vectors.shape[1]))
    return (q / np.linalg.norm(q, axis=1, keepdims=True)).astype(np.float32)


def recall_at(found: np.ndarray, exact: np.ndarray) -> float:
    k = exact.shape[1]
    return round(float(np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact)])), 4)


def measure(name: str, index, queries: np.ndarray, exact: np.ndarray | None, k: int = 10) -> dict:
    """Single-query latency (one at a time, as a user searches) and batch throughput."""
    single = []
    for q in queries[:200]:
        with timed() as t:
            index.search(q[None, :], k)
        single.append(t.wall)
    with timed() as t:
        _, found = index.search(queries, k)
    row = {"index": name, **percentiles(single), "batch_qps": round(len(queries) / t.wall, 1)}
    if exact is not None:
        row["recall_at_10"] = recall_at(found, exact)
    return row


def cpu_bench(vectors: np.ndarray, queries: np.ndarray, kinds: list[str]) -> list[dict]:
    rows = []
    base = rss_mib()
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    if "flat" in kinds:
        with timed() as t:
            flat = faiss.IndexFlatIP(vectors.shape[1])
            flat.add(vectors)
        rows.append({"n": len(vectors), "build_s": round(t.wall, 1), "rss_growth_mib": round(rss_mib() - base),
                     "index_mib": mib(vectors.nbytes), **measure("flat", flat, queries, exact)})
        print(rows[-1], flush=True)
        del flat
    for kind in (k for k in kinds if k != "flat"):
        base = rss_mib()
        meta: dict = {}
        with timed() as t:
            index = _dense_index(vectors, kind, meta)
        row = {"n": len(vectors), "build_s": round(t.wall, 1), "build_cpu_s": round(t.cpu, 1),
               "rss_growth_mib": round(rss_mib() - base), "index_mib": mib(faiss.serialize_index(index).nbytes),
               "search_param": meta["search_param"], "build_recall_at_10": meta["recall_at_10"]}
        if kind == "ivfpq":
            with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
                path = Path(tmp) / "vectors.npy"
                _save_vectors(vectors, path)
                searcher = Rescored(index, np.load(path, mmap_mode="r"), meta["rescore"])
                row |= {"pq": [index.pq.M, index.pq.nbits], "rescore": meta["rescore"],
                        "vectors_file_mib": mib(path.stat().st_size), **measure(kind, searcher, queries, exact)}
                del searcher
                row |= cold(index, path, queries, meta["rescore"])
        else:
            row |= measure(kind, index, queries, exact)
        rows.append(row)
        print(rows[-1], flush=True)
        del index
    return rows


PAPER = 40  # chunks a synthetic paper holds, for --build-peak


def peak_rss_mib() -> float:
    """This process's peak resident set, MiB: VmHWM, not `ru_maxrss`, which also counts the parent's resident set
    at the fork that started this process."""
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM:")).split()[1]) / 1024


def build_peak(path: str, kind: str, mode: str) -> dict:
    """In a fresh process: the dense build of `kind` over the vectors saved at `path`, held in memory as papers of
    PAPER rows; `mode` "stream" (digest's build) or "whole" (one float32 array first, as before session 8). The peak
    resident set above what the process held before the build, its seconds, and what the build chose."""
    vectors = np.load(path)  # read into memory
    parts = [vectors[i : i + PAPER] for i in range(0, len(vectors), PAPER)]
    ctypes.CDLL("libc.so.6").malloc_trim(0)  # heap freed while importing goes back: a build cannot reuse it unseen
    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak resident set (VmHWM) restarts from now
    base = peak_rss_mib()
    meta: dict = {}
    with tempfile.TemporaryDirectory(dir=Path(path).parent) as tmp, timed() as t:
        if mode == "stream":
            index = _dense_from_parts(parts, len(vectors), vectors.shape[1], kind, meta, Path(tmp))
        else:
            whole = np.ascontiguousarray(np.concatenate([np.asarray(p, dtype=np.float32) for p in parts]))
            index = _dense_index(whole, kind, meta)
            if kind == "ivfpq":
                _save_vectors(whole, Path(tmp) / "vectors.npy")
        peak = peak_rss_mib() - base
    saved = faiss.serialize_index(index)
    digest = hashlib.sha256(saved).hexdigest()[:16]
    return {"kind": kind, "mode": mode, "n": len(vectors), "held_mib": round(base), "peak_growth_mib": round(peak),
            "index_mib": mib(saved.nbytes), "build_s": round(t.wall, 1),
            "build_cpu_s": round(t.cpu, 1), "index_sha256": digest,
            **{k: meta[k] for k in ("search_param", "recall_at_10", "rescore") if k in meta}}


def build_peaks(n: int, dim: int, clusters: int, spread: float, kinds: list[str]) -> list[dict]:
    """`build_peak` of both modes for each kind, each in its own process, on the same synthetic vectors; a summary
    row per kind: the whole-array build's peak growth over the streamed one's, and whether they agree."""
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        path = Path(tmp) / "vectors.npy"
        np.save(path, synthetic(n, dim, clusters, spread))
        for kind in kinds:
            runs = {}
            for mode in ("whole", "stream"):
                out = subprocess.run([sys.executable, __file__, "--build-peak-of", str(path), "--kinds", kind,
                                      "--mode", mode], capture_output=True, text=True, check=True).stdout
                runs[mode] = json.loads(out.splitlines()[-1])
                rows.append(runs[mode])
                print(rows[-1], flush=True)
            whole, stream = runs["whole"], runs["stream"]
            same = whole["index_sha256"] == stream["index_sha256"]
            agree = all(whole.get(k) == stream.get(k) for k in ("search_param", "rescore"))
            rows.append({"kind": kind, "n": n, "peak_ratio_whole_over_stream":
                         round(whole["peak_growth_mib"] / max(1, stream["peak_growth_mib"]), 2),
                         "same_index_bytes": same, "same_search_setting": agree,
                         "recall_at_10": [whole.get("recall_at_10"), stream.get("recall_at_10")]})
            print(rows[-1], flush=True)
    return rows


def mib(size: int) -> int:
    return round(size / 2**20)


def cold(index, path: Path, queries: np.ndarray, factor: int, count: int = 50) -> dict:
    """Single-query latency of IVF-PQ with the vectors file's pages dropped from the page cache before each query
    (and the file mapped afresh: the kernel keeps pages that a mapping holds)."""
    single = []
    fd = os.open(path, os.O_RDONLY)
    try:
        for q in queries[:count]:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            searcher = Rescored(index, np.load(path, mmap_mode="r"), factor)
            with timed() as t:
                searcher.search(q[None, :], 10)
            single.append(t.wall)
            del searcher
    finally:
        os.close(fd)
    return percentiles(single, "cold_")


def pq_sweep(vectors: np.ndarray, queries: np.ndarray, ms=(24, 48, 96), factors=(1, 5, 10, 20, 40, 80)) -> list[dict]:
    """IVF-PQ code sizes (sub-quantizers `ms`, 8 bits each) on one trained coarse quantizer: recall@10 of the
    codes alone (factor 1) and re-scored from `factors` * 10 candidates, at the nprobe digest's build tuning picks
    (for PQ_RESCORE); bytes a vector in memory; train and add CPU seconds."""
    dim, n = vectors.shape[1], len(vectors)
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    lists = ivf_lists(n)
    rng = np.random.default_rng(0)
    train = vectors[np.sort(rng.choice(n, min(n, 64 * lists), replace=False))]
    quantizer = faiss.IndexFlatIP(dim)
    rows = []
    stored = vectors.astype(np.float16)
    for m in ms:
        with timed() as t:
            index = faiss.IndexIVFPQ(quantizer, dim, lists, m, 8, faiss.METRIC_INNER_PRODUCT)
            index.train(train)  # the quantizer is trained by the first and reused
            index.add(vectors)
        searcher = Rescored(index, stored, 10)
        nprobe, recall, _ = tune_search(index, vectors, "nprobe", (8, 16, 32, 64, 128, 256), [searcher])
        row = {"n": n, "lists": lists, "pq_m": m, "bytes_per_vector": round(faiss.serialize_index(index).nbytes / n, 1),
               "train_add_cpu_s": round(t.cpu, 1), "nprobe": nprobe, "build_recall_at_10": recall}
        index.nprobe = nprobe
        for factor in factors:
            _, found = (index if factor == 1 else Rescored(index, stored, factor)).search(queries, 10)
            row[f"recall_x{factor}"] = recall_at(found, exact)
        rows.append(row)
        print(row, flush=True)
    return rows


def real_vectors(workspaces: list[Path]) -> np.ndarray:
    """The vectors of digest workspaces' live indexes (flat ones), stacked."""
    blocks = []
    for ws in workspaces:
        index = faiss.read_index(str(live_version(ws / "index") / "dense.faiss"))
        blocks.append(index.reconstruct_n(0, index.ntotal))
    return np.concatenate(blocks)


# --------------------------------------------------------------------------------------------------- BM25

NOVEL = 0.08  # share of a synthetic chunk's tokens replaced by new words


def real_tokens(workspace: Path) -> list[list[str]]:
    from digest.index import bm25_text
    from digest.models import Chunk
    from digest.text import bm25_tokens

    with open(live_version(workspace / "index") / "chunks.jsonl", encoding="utf-8") as fh:
        return [bm25_tokens(bm25_text(Chunk.model_validate_json(line))) for line in fh]


def heaps(docs: list[list[str]]) -> tuple[float, float]:
    """Heaps' law V = K * T^beta fitted on the vocabulary growth over the real chunks (T: tokens seen)."""
    seen, points, tokens = set(), [], 0
    for i, doc in enumerate(docs, 1):
        seen.update(doc)
        tokens += len(doc)
        if i % max(1, len(docs) // 20) == 0:
            points.append((np.log(tokens), np.log(len(seen))))
    x, y = np.array(points).T
    beta, log_k = np.polyfit(x, y, 1)
    return float(np.exp(log_k)), float(beta)


def synthetic_chunks(docs: list[list[str]], n: int, seed: int = 0) -> tuple[list[list[str]], int]:
    """`n` token lists: the real ones repeated, NOVEL of their tokens replaced by words from a pool sized so
    that the vocabulary reaches what Heaps' law predicts at this many tokens; and that predicted size."""
    k, beta = heaps(docs)
    tokens = n * np.mean([len(d) for d in docs])
    vocab = int(k * tokens**beta)
    real = len({t for d in docs for t in d})
    pool = [f"zq{i}" for i in range(max(1, vocab - real))]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        doc = list(docs[i % len(docs)])
        hits = np.flatnonzero(rng.random(len(doc)) < NOVEL)
        for j, w in zip(hits, rng.integers(0, len(pool), len(hits))):
            doc[j] = pool[w]
        out.append(doc)
    return out, vocab


def bm25_bench(n: int, workspace: Path) -> dict:
    import bm25s

    docs = real_tokens(workspace)
    corpus, predicted = synthetic_chunks(docs, n)
    base = rss_mib()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with timed() as t:
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    scores = retriever.scores
    nnz = len(scores["data"])
    row = {"chunks": n, "real_chunks": len(docs), "tokens_per_chunk": round(float(np.mean([len(d) for d in docs])), 1),
           "vocab": len(retriever.vocab_dict), "vocab_heaps": predicted, "nnz": nnz,
           "build_s": round(t.wall, 1), "build_cpu_s": round(t.cpu, 1),
           "build_peak_growth_mib": round(peak - max(peak_before, base)),
           "matrix_mib": mib(scores["data"].nbytes + scores["indices"].nbytes + scores["indptr"].nbytes)}
    del corpus
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        with timed() as t:
            retriever.save(tmp, show_progress=False)
        row["save_s"] = round(t.wall, 1)
        row["disk_mib"] = mib(sum(p.stat().st_size for p in Path(tmp).iterdir()))
        del retriever, scores
        for mmap in (False, True):
            out = subprocess.run([sys.executable, __file__, "--bm25-load", tmp] + (["--mmap"] if mmap else []),
                                 capture_output=True, text=True, check=True)
            row |= {f"{'mmap' if mmap else 'ram'}_{k}": v for k, v in json.loads(out.stdout).items()}
    row |= chunk_memory(workspace)
    return row


def bm25_load(path: str, mmap: bool) -> dict:
    """In a fresh process: load a saved bm25s index, then time digest's BM25 query path on real questions."""
    import bm25s

    from digest.index import _top
    from digest.text import bm25_tokens

    base = rss_mib()
    with timed() as t:
        retriever = bm25s.BM25.load(path, mmap=mmap, show_progress=False)
    loaded = rss_mib() - base
    vocab = retriever.vocab_dict
    questions = [q["question"] for q in load_questions(QA_DEV) + load_questions(QA_HOLDOUT)]
    single = []
    for question in questions:
        ids = list(dict.fromkeys(vocab[w] for w in bm25_tokens(question) if w in vocab))
        with timed() as q:
            _top(retriever.get_scores_from_ids(ids), 50, None)
        single.append(q.wall)
    return {"load_s": round(t.wall, 1), "load_rss_mib": round(loaded), "after_queries_rss_mib": round(rss_mib() - base),
            "questions": len(questions), **percentiles(single)}


def chunk_memory(workspace: Path) -> dict:
    """Memory of digest's chunk list per chunk (`Chunk` objects as `Index.load` keeps them), in a fresh process."""
    code = ("import json, sys; sys.path.insert(0, %r); from bench.common import rss_mib; from digest.models import Chunk; "
            "base = rss_mib(); chunks = [Chunk.model_validate_json(l) for l in open(%r, encoding='utf-8')]; "
            "print(json.dumps([len(chunks), rss_mib() - base]))")
    path = live_version(workspace / "index") / "chunks.jsonl"
    count, grown = json.loads(subprocess.run([sys.executable, "-c", code % (str(ROOT), str(path))],
                                             capture_output=True, text=True, check=True).stdout)
    return {"chunk_objects_bytes_each": round(grown * 2**20 / count), "chunks_jsonl_bytes_each": round(path.stat().st_size / count)}


# ---------------------------------------------------------------------------------------------- extrapolation


# Per-query cost against index size at a fixed search setting: exact search reads every vector; IVF reads
# nprobe cells of n / lists vectors each, lists growing as sqrt(n) (`ivf_lists`), plus IVF-PQ's re-scoring, whose
# cost does not grow; HNSW walks a graph (log n). Build: k-means on 64 points a cell (cells x points ~ n) plus
# assigning every vector to a cell (n x lists ~ n^1.5); HNSW inserts each vector in log n.
LATENCY_POWER = {"flat": 1.0, "ivf": 0.5, "ivfpq": 0.5, "hnsw": 0.1}
BUILD_POWER = {"flat": 1.0, "ivf": 1.5, "ivfpq": 1.5, "hnsw": 1.1}


def extrapolate(target: int, rows: list[dict]) -> list[dict]:
    """Each index kind's largest measured row carried to `target` vectors, labelled as extrapolated: memory
    linearly (per vector); query latency along LATENCY_POWER (the search setting tuned at the measured size
    kept: the recall at `target` is not known); build CPU seconds along the power law through two measured sizes
    when there are two, else BUILD_POWER."""
    out = []
    for kind in dict.fromkeys(r["index"] for r in rows if "index" in r):
        have = sorted((r for r in rows if r.get("index") == kind), key=lambda r: r["n"])
        a, b = have[0], have[-1]
        scale = target / b["n"]
        row = {"index": kind, "n": target, "extrapolated_from": sorted({a["n"], b["n"]})}
        for key in ("index_mib", "vectors_file_mib", "rss_growth_mib"):
            if key in b:
                row[key] = round(b[key] * scale)
        for key in ("p50_ms", "p95_ms", "cold_p50_ms", "cold_p95_ms"):
            if key in b:
                row[key] = round(b[key] * scale ** LATENCY_POWER[kind], 2)
        if "build_cpu_s" in b:
            fitted = a["n"] < b["n"] and a.get("build_cpu_s", 0) > 0
            power = np.log(b["build_cpu_s"] / a["build_cpu_s"]) / np.log(b["n"] / a["n"]) if fitted else BUILD_POWER[kind]
            row["build_cpu_s"] = round(float(b["build_cpu_s"] * scale**power))
            row["build_power"] = f"{power:.2f} ({'fitted' if fitted else 'model'})"
        out.append(row)
    return out


def gpu_bench(vectors: np.ndarray, queries: np.ndarray) -> list[dict]:
    if faiss.get_num_gpus() == 0:
        raise SystemExit("--gpu: faiss sees no GPU (install faiss-gpu with `pip install .[gpu]` on a CUDA machine)")
    resources = faiss.StandardGpuResources()
    rows = []
    with timed() as t:
        flat = faiss.GpuIndexFlatIP(resources, vectors.shape[1])
        flat.add(vectors)
    _, exact = flat.search(queries, 10)
    rows.append({"build_s": round(t.wall, 2), **measure("gpu-flat", flat, queries, exact)})
    print(rows[-1], flush=True)
    with timed() as t:
        cpu_ivf = faiss.index_factory(vectors.shape[1], "IVF4096,Flat", faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.index_cpu_to_gpu(resources, 0, cpu_ivf)
        ivf.train(vectors[: min(len(vectors), 200_000)])
        ivf.add(vectors)
    faiss.GpuParameterSpace().set_index_parameter(ivf, "nprobe", 64)
    rows.append({"build_s": round(t.wall, 2), "nprobe": 64, **measure("gpu-ivf4096", ivf, queries, exact)})
    print(rows[-1], flush=True)
    return rows


def gpu_embedding(texts: int = 20_000) -> dict:
    """all-MiniLM-L6-v2 on CUDA: digest's embedder (fp16, length-sorted batches) against a bare encode."""
    from digest.embed import load_embedder

    embedder = load_embedder("all-MiniLM-L6-v2", "cuda")
    words = "attention layer token expert training data benchmark model parameter gradient".split()
    rng = np.random.default_rng(0)
    corpus = [" ".join(rng.choice(words, rng.integers(20, 180))) for _ in range(texts)]
    embedder.embed(corpus[:512])  # warm
    with timed() as ours:
        embedder.embed(corpus)
    with timed() as bare:
        embedder.model.encode(corpus, batch_size=embedder.batch_size, show_progress_bar=False)
    return {"texts": texts, "digest_per_s": round(texts / ours.wall), "bare_per_s": round(texts / bare.wall),
            "overhead_pct": round(100 * (ours.wall / bare.wall - 1), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--clusters", type=int, default=2000, help="Cluster centres of the synthetic vectors.")
    ap.add_argument("--spread", type=float, default=0.6, help="Noise around a centre (1.0 and up: hardly clustered).")
    ap.add_argument("--kinds", default="flat,ivf,hnsw", help="CPU indexes to build, comma-separated.")
    ap.add_argument("--gpu", action="store_true", help="GPU search (faiss-gpu) and CUDA embedding throughput.")
    ap.add_argument("--pq-sweep", action="store_true", help="IVF-PQ code sizes and re-scoring factors.")
    ap.add_argument("--real", type=Path, nargs="+", help="Run the sweep on these digest workspaces' vectors.")
    ap.add_argument("--bm25", type=int, metavar="CHUNKS", help="BM25 at this many chunks.")
    ap.add_argument("--chunks-from", type=Path, default=ROOT / "bench" / ".cache" / "llm",
                    help="The digest workspace whose real chunks --bm25 repeats.")
    ap.add_argument("--bm25-load", help=argparse.SUPPRESS)
    ap.add_argument("--mmap", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--build-peak", type=int, metavar="N", help="Peak memory of the dense build at N vectors.")
    ap.add_argument("--build-peak-of", help=argparse.SUPPRESS)
    ap.add_argument("--mode", choices=("stream", "whole"), help=argparse.SUPPRESS)
    ap.add_argument("--extrapolate", type=int, metavar="N", help="Carry the rows of earlier --json runs to N vectors.")
    ap.add_argument("rows", type=Path, nargs="*", help="--json files of earlier runs, for --extrapolate.")
    ap.add_argument("--json", type=Path, help="Also write the rows to this file.")
    args = ap.parse_args()

    if args.bm25_load:
        print(json.dumps(bm25_load(args.bm25_load, args.mmap)))
        return
    if args.build_peak_of:
        print(json.dumps(build_peak(args.build_peak_of, args.kinds, args.mode)))
        return
    if args.extrapolate:
        rows = extrapolate(args.extrapolate, [r for p in args.rows for r in json.loads(p.read_text())])
    elif args.build_peak:
        kinds = "flat,ivfpq" if args.kinds == ap.get_default("kinds") else args.kinds
        print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; load {os.getloadavg()}", flush=True)
        rows = build_peaks(args.build_peak, args.dim, args.clusters, args.spread, kinds.split(","))
    elif args.bm25:
        if not live_version(args.chunks_from / "index"):
            raise SystemExit(f"--bm25: no digest index in {args.chunks_from}: run bench/eval.py, or give --chunks-from")
        rows = [bm25_bench(args.bm25, args.chunks_from)]
    elif args.real:
        vectors = real_vectors(args.real)
        print(f"{len(vectors)} real vectors from {', '.join(map(str, args.real))}", flush=True)
        rows = pq_sweep(vectors, queries_near(vectors, min(args.queries, len(vectors) // 4)))
    else:
        print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; rss at start {rss_mib():.0f} MiB")
        with timed() as t:
            vectors = synthetic(args.n, args.dim, args.clusters, args.spread)
        queries = queries_near(vectors, args.queries)
        print(f"{args.n} x {args.dim} vectors ({vectors.nbytes / 2**20:.0f} MiB) generated in {t.wall:.1f} s", flush=True)
        if args.gpu:
            rows = gpu_bench(vectors, queries)
            print(gpu_embedding())
        elif args.pq_sweep:
            rows = pq_sweep(vectors, queries)
        else:
            rows = cpu_bench(vectors, queries, args.kinds.split(","))
    for row in rows if (args.extrapolate or args.bm25) else ():
        print(row, flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
