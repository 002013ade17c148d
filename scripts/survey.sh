#!/usr/bin/env bash
# The main job: fetch the survey list, parse, index, summarize and export into out/.
#   LIST=file          paper list (default corpus/papers.toml)
#   LOCAL_ARXIV=dir    no internet: serve dir (a folder with pdf/ and metadata.json, e.g. ../shared/corpus)
#                      through digest's loopback arXiv server and survey every paper it serves plus the list's;
#                      the list's papers it does not serve are named as skipped, not failures
#   PDF_DIR=dir        no arXiv at all: survey the PDFs in dir instead of fetching
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export HF_HUB_OFFLINE=1
args=(--list "${LIST:-corpus/papers.toml}")
[ -n "${PDF_DIR:-}" ] && args=(--pdf-dir "$PDF_DIR")

if [ -n "${LOCAL_ARXIV:-}" ]; then
  log=$(mktemp)
  served=$(mktemp)
  python -m digest.testing.arxiv_server --corpus "$LOCAL_ARXIV" --ids >"$served"
  python -m digest.testing.arxiv_server --corpus "$LOCAL_ARXIV" --port 0 >"$log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null; rm -f "$log" "$served"' EXIT
  for _ in $(seq 50); do grep -q '^http' "$log" && break; sleep 0.2; done
  export DIGEST_ARXIV_API_URL=$(grep -m1 '^http' "$log")
  export DIGEST_ARXIV_DELAY=0
  echo "loopback arXiv server at $DIGEST_ARXIV_API_URL serving $LOCAL_ARXIV" >&2
  args+=(--list "$served" --skip-unknown)
fi

digest run "${args[@]}" --out "${OUT:-out}"
