#!/usr/bin/env bash
# GPU benchmark, for a CUDA machine: bash bench/gpu.sh [--skip-setup]
#   0. `make gpu` (the venv with the gpu extra: faiss-gpu in place of faiss-cpu); --skip-setup when it is done.
#   1. a full `build_index` of the shared corpus (53 PDFs) with device=cuda (fp16): stage seconds, texts/s;
#   2. the corpus's passages embedded by digest on the GPU against a bare `model.encode` on the GPU, and against
#      digest on the CPU (a 2048-text sample); digest's dense search of that index on the GPU (faiss-gpu);
#   3. bench/scale.py --gpu: faiss-gpu exact and IVF4096 search over 1M synthetic vectors, CUDA embedding of
#      synthetic texts against a bare encode.
# About 5-8 minutes on a fresh machine. DEVICE=cpu PAPERS=3 runs step 1-2 on the CPU only (a check of the script
# where there is no GPU); it never stands in for the GPU figures.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE=${DEVICE:-cuda}
PAPERS=${PAPERS:-0}
PY=.venv/bin/python
fail() { echo "bench/gpu.sh: $*" >&2; exit 2; }

if [ "$DEVICE" = cuda ]; then
  nvidia-smi -L >/dev/null 2>&1 || fail "no CUDA GPU here (nvidia-smi lists none): run it on a CUDA machine"
  [ "${1:-}" = --skip-setup ] || make gpu
  $PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
    fail "this torch has no CUDA: pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
  $PY -c 'import faiss, sys; sys.exit(0 if faiss.get_num_gpus() > 0 else 1)' ||
    fail "faiss sees no GPU: run \`make gpu\` (faiss-gpu-cu12 in place of faiss-cpu)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
$PY - "$WORK" "$DEVICE" "$PAPERS" <<'EOF'
import json, sys, time
from pathlib import Path

sys.path.insert(0, ".")
from bench.common import SHARED, percentiles, timed
from digest.catalog import Catalog
from digest.corpus import add_papers
from digest.chunk import Tokenizer, passage_texts
from digest.embed import load_embedder
from digest.index import Index, build_index
from digest.settings import Settings

work, device, papers = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) or None
pdfs = sorted(p for folder in ("pdf", "more/pdf") for p in (SHARED / "corpus" / folder).glob("*.pdf"))[:papers]
settings = Settings.load(workspace=work, device=device)
with Catalog(settings.catalog_path) as catalog:
    add_papers(settings, catalog, pdfs)
    report = build_index(settings, catalog)
embedder, index = load_embedder(settings.embedder, device), Index.open(settings)
texts = list(dict.fromkeys(passage_texts(index.chunks, Tokenizer(embedder.tokenizer, embedder.max_tokens))))
print(f"1. ingest on {device}: {report.papers} papers, {report.chunks} chunks, {report.embedded} texts embedded at "
      f"{report.embedded / report.seconds['embed']:.0f}/s; seconds {report.seconds}", flush=True)

embedder.embed(texts[:512])  # warm-up
with timed() as ours:
    embedder.embed(texts)
with timed() as bare:
    embedder.model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True, show_progress_bar=False)
cpu, sample = load_embedder(settings.embedder, "cpu"), texts[:2048]
cpu.embed(sample[:64])  # warm-up
with timed() as on_cpu:
    cpu.embed(sample)
queries = texts[: min(200, len(texts))]
for q in queries[:10]:
    index.search(q, k=10, mode="dense")  # warm-up: loads the query embedder, moves the index
latencies = []
for q in queries:
    start = time.perf_counter()
    index.search(q, k=10, mode="dense")
    latencies.append(time.perf_counter() - start)
print("2.", json.dumps({
    "device": device, "texts": len(texts), "digest_per_s": round(len(texts) / ours.wall),
    "bare_encode_per_s": round(len(texts) / bare.wall), "overhead_pct": round(100 * (ours.wall / bare.wall - 1), 1),
    "cpu_per_s": round(len(sample) / on_cpu.wall), "speedup_vs_cpu": round(on_cpu.wall / len(sample) * len(texts) / ours.wall, 1),
    "dense_search": type(index._searcher).__name__, **percentiles(latencies, "dense_search_")}), flush=True)
EOF

if [ "$DEVICE" = cuda ]; then
  echo "3. bench/scale.py --gpu"
  $PY bench/scale.py --gpu
fi
