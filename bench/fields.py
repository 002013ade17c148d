"""Survey-field quality of the extractive summarizer on the dev gold set, and its speed.

    python bench/fields.py [--gold ../shared/eval/fields_dev.json] [--pdfs ../shared/corpus/pdf] [--show]

For each field: recall (gold items, each a list of aliases, found in the field's value after normalize; the
`benchmarks` gold is looked up in the evaluation list plus the benchmark table), precision of the URL fields
(a link given where the gold has none, or the wrong one, counts against it) and of the entity lists (every dataset
or benchmark name must occur in the paper). Speed: seconds per paper, and the ratio to parsing the same PDF,
measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from digest.models import PaperSummary
from digest.parse import parse_pdf
from digest.settings import Settings
from digest.summarize import summarize_paper
from digest.summarize.entities import is_benchmark_name, gazetteer
from digest.summarize.evidence import PaperText
from digest.text import normalize

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TEXT_FIELDS = ("datasets", "benchmarks", "architecture", "training")
TARGET_RECALL = 0.85
TARGET_PRECISION = 0.98


def haystack(summary: PaperSummary, key: str) -> str:
    """The normalized text a gold alias is looked for in."""
    if key == "benchmarks":
        field = summary.fields.get("evaluation")
        parts = list(field.value or []) if field else []
        parts += [f"{b.benchmark} {b.metric} {b.setting}" for b in summary.benchmarks]
        return normalize(" | ".join(parts))
    value = summary.fields[key].value if key in summary.fields else None
    return normalize(" | ".join(value) if isinstance(value, list) else value or "")


def name_of(item: str) -> str:
    """A list item's name: "CommonCrawl (67.0%)" -> "CommonCrawl"."""
    return re.sub(r"\s*\([^()]*\)$", "", item).strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gold", type=Path, default=SHARED / "eval" / "fields_dev.json")
    ap.add_argument("--pdfs", type=Path, default=SHARED / "corpus" / "pdf")
    ap.add_argument("--show", action="store_true", help="print each paper's values")
    args = ap.parse_args()
    gold = json.loads(args.gold.read_text())
    settings = Settings.load(workspace=Path.cwd())
    known = {normalize(n) for e in gazetteer() for n in (e.name, *e.aliases)}

    hits = {k: [0, 0] for k in TEXT_FIELDS}
    url = {k: {"right": 0, "given": 0, "expected": 0} for k in ("code_url", "model_url")}
    entity_in_text = [0, 0]
    unseen_names: list[str] = []
    parse_s = summarize_s = 0.0
    for item in gold:
        aid = item["arxiv_id"]
        t0 = time.perf_counter()
        parsed = parse_pdf(args.pdfs / f"{aid}.pdf", aid)
        t1 = time.perf_counter()
        summary = summarize_paper(parsed, settings)
        t2 = time.perf_counter()
        parse_s, summarize_s = parse_s + t1 - t0, summarize_s + t2 - t1
        text = PaperText(parsed)

        missed = {}
        for key in TEXT_FIELDS:
            found = haystack(summary, key)
            misses = [aliases[0] for aliases in item.get(key, []) if not any(normalize(a) in found for a in aliases)]
            hits[key][0] += len(item.get(key, [])) - len(misses)
            hits[key][1] += len(item.get(key, []))
            missed[key] = misses
        for key in url:
            value = summary.fields[key].value or ""
            expected = item.get(key) or []
            right = bool(value) and any(normalize(a) in normalize(value) for a in expected)
            url[key]["right"] += right
            url[key]["given"] += bool(value)
            url[key]["expected"] += bool(expected)
            if bool(value) != bool(expected) or (value and not right):
                missed[key] = [f"got {value or None}, expected {expected or None}"]
        for key in ("datasets", "evaluation"):
            for entry in summary.fields[key].value or []:
                name = name_of(entry)
                entity_in_text[0] += text.names(name) or normalize(name) in text.normalized
                entity_in_text[1] += 1
                if normalize(name) not in known and key == "evaluation" and not is_benchmark_name(name):
                    unseen_names.append(f"{aid}: {name}")
        print(f"{aid}  {t2 - t1:5.2f}s  " + "  ".join(f"{k} missed {v}" for k, v in missed.items() if v))
        if args.show:
            for key, value in summary.fields.items():
                print(f"    [{key}] {value.value}")

    print("\nfield          recall   (hit/gold)")
    ok = True
    for key, (hit, total) in hits.items():
        recall = hit / total if total else 1.0
        ok &= recall >= TARGET_RECALL
        print(f"{key:<14} {recall:6.2f}   ({hit}/{total})")
    print("\nurl field      recall   precision   (right/expected, right/given)")
    for key, c in url.items():
        recall = c["right"] / c["expected"] if c["expected"] else 1.0
        precision = c["right"] / c["given"] if c["given"] else 1.0
        ok &= recall == 1.0 and precision == 1.0 if key == "code_url" else True
        print(f"{key:<14} {recall:6.2f}   {precision:9.2f}   ({c['right']}/{c['expected']}, {c['right']}/{c['given']})")
    precision = entity_in_text[0] / entity_in_text[1] if entity_in_text[1] else 1.0
    ok &= precision >= TARGET_PRECISION
    print(f"\nentity names found in the paper text: {precision:.3f} ({entity_in_text[0]}/{entity_in_text[1]})")
    print(f"names from patterns (not in the gazetteer), check by eye: {unseen_names or 'none'}")
    n = len(gold)
    print(f"\nseconds per paper: summarize {summarize_s / n:.2f}, parse {parse_s / n:.2f}; summarize/parse = {summarize_s / parse_s:.2f}")
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
