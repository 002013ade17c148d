"""Scale benchmark: a synthetic 1M x 384 index, exact (flat) against IVF and HNSW: build and query time, recall, memory.

    python bench/scale.py [--n 1000000] [--dim 384] [--queries 500] [--clusters 2000] [--spread 0.6]
                          [--kinds flat,ivf,hnsw] [--gpu]

Vectors are drawn around random cluster centres and L2-normalized (real embeddings cluster; uniform random
vectors would be the worst case for any graph index). IVF and HNSW go through digest's own build path
(`digest.index._dense_index`), which measures recall@10 against exact search and raises nprobe / efSearch
until it reaches 0.95. Recall is measured again here on other queries. Memory is the growth of this
process's resident set while each index is built.

--gpu (needs faiss-gpu, `pip install .[gpu]`, and CUDA torch): exact and IVF search on the GPU, and embedding
throughput of all-MiniLM-L6-v2 on CUDA (fp16) against a bare `model.encode`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentiles, rss_mib, timed  # noqa: E402
from digest.index import _dense_index  # noqa: E402


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
    with timed() as t:
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
    _, exact = flat.search(queries, 10)
    if "flat" in kinds:
        rows.append({"build_s": round(t.wall, 1), "rss_growth_mib": round(rss_mib() - base),
                     **measure("flat", flat, queries, exact)})
        print(rows[-1], flush=True)
    for kind in (k for k in kinds if k != "flat"):
        base = rss_mib()
        meta: dict = {}
        with timed() as t:
            index = _dense_index(vectors, kind, meta)
        rows.append({"build_s": round(t.wall, 1), "build_cpu_s": round(t.cpu, 1), "rss_growth_mib": round(rss_mib() - base),
                     "search_param": meta["search_param"], "build_recall_at_10": meta["recall_at_10"],
                     **measure(kind, index, queries, exact)})
        print(rows[-1], flush=True)
        del index
    return rows


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
    args = ap.parse_args()

    print(f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads; rss at start {rss_mib():.0f} MiB")
    with timed() as t:
        vectors = synthetic(args.n, args.dim, args.clusters, args.spread)
    queries = queries_near(vectors, args.queries)
    print(f"{args.n} x {args.dim} vectors ({vectors.nbytes / 2**20:.0f} MiB) generated in {t.wall:.1f} s", flush=True)
    if args.gpu:
        gpu_bench(vectors, queries)
        print(gpu_embedding())
    else:
        cpu_bench(vectors, queries, args.kinds.split(","))


if __name__ == "__main__":
    main()
