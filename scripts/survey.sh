#!/usr/bin/env bash
# The main job: fetch the survey list, parse, index, summarize and export into out/.
#   LIST=file          paper list (default corpus/papers.toml)
#   LOCAL_ARXIV=dir    no internet: serve dir (a folder with pdf/ and metadata.json, e.g. ../shared/corpus)
#                      through digest's loopback arXiv server and fetch from it
#   PDF_DIR=dir        no arXiv at all: survey the PDFs in dir instead of fetching
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export HF_HUB_OFFLINE=1
args=(--list "${LIST:-corpus/papers.toml}")
[ -n "${PDF_DIR:-}" ] && args=(--pdf-dir "$PDF_DIR")

if [ -n "${LOCAL_ARXIV:-}" ]; then
  log=$(mktemp)
  python -m digest.testing.arxiv_server --corpus "$LOCAL_ARXIV" --port 0 >"$log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null' EXIT
  for _ in $(seq 50); do grep -q '^http' "$log" && break; sleep 0.2; done
  export DIGEST_ARXIV_API_URL=$(grep -m1 '^http' "$log")
  export DIGEST_ARXIV_DELAY=0
  echo "loopback arXiv server at $DIGEST_ARXIV_API_URL serving $LOCAL_ARXIV" >&2
fi

digest run "${args[@]}" --out "${OUT:-out}"
