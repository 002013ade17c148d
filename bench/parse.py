"""Parse speed against plain `page.get_text()` over the same pages, in the same run; section recall against the
gold outlines; and, for papers that carry a PDF outline, recall of the typographic heuristics alone against it.

    python bench/parse.py [--pdf-dir DIR] [--gold FILE] [--repeat N]

Target: the whole corpus parses in at most 3x the time of plain text extraction; recall >= 0.95 per gold paper.
Each PDF is timed `--repeat` times in alternation with the baseline; the fastest run of each counts. The ratio is
taken on CPU time (robust on a shared machine); wall-clock time is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pymupdf

from digest.parse import parse_pdf, section_recall

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def plain_text(path: Path) -> int:
    with pymupdf.open(path) as doc:
        return sum(len(page.get_text()) for page in doc)


def timed(fn, *args) -> tuple[float, float, object]:
    """(CPU seconds, wall seconds, result)."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn(*args)
    return time.process_time() - cpu, time.perf_counter() - wall, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdf-dir", type=Path, default=SHARED / "corpus" / "pdf")
    ap.add_argument("--gold", type=Path, default=SHARED / "eval" / "sections_dev.json")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    gold = {g["arxiv_id"]: g["sections"] for g in json.loads(args.gold.read_text())} if args.gold.is_file() else {}

    typography = {}
    totals = {"base": 0.0, "parse": 0.0, "base_wall": 0.0, "parse_wall": 0.0}
    pages = 0
    recalls = {}
    print(f"{'paper':<12} {'pages':>5} {'get_text s':>10} {'parse s':>8} {'ratio':>6}  "
          "sections  tables  links  outline")
    for path in sorted(args.pdf_dir.glob("*.pdf")):
        best = {key: float("inf") for key in totals}
        for _ in range(args.repeat):
            cpu, wall, _ = timed(plain_text, path)
            best["base"], best["base_wall"] = min(best["base"], cpu), min(best["base_wall"], wall)
            cpu, wall, paper = timed(parse_pdf, path, path.stem)
            best["parse"], best["parse_wall"] = min(best["parse"], cpu), min(best["parse_wall"], wall)
        for key in totals:
            totals[key] += best[key]
        pages += paper.pages
        print(f"{path.stem:<12} {paper.pages:>5} {best['base']:>10.3f} {best['parse']:>8.3f} "
              f"{best['parse'] / best['base']:>6.2f}  {len(paper.sections):>8}  {len(paper.tables):>6}  "
              f"{len(paper.links):>5}  {paper.outline_source}")
        if path.stem in gold:
            recalls[path.stem] = section_recall(paper, gold[path.stem])
        if paper.outline_source == "toc":
            with pymupdf.open(path) as doc:
                titles = [entry[1] for entry in doc.get_toc()]
            typography[path.stem] = section_recall(parse_pdf(path, path.stem, use_outline=False), titles)

    print(f"\ncorpus: {pages} pages; CPU: get_text {totals['base']:.2f} s, parse {totals['parse']:.2f} s, "
          f"ratio {totals['parse'] / totals['base']:.2f}x (target <= 3x); wall: get_text {totals['base_wall']:.2f} s, "
          f"parse {totals['parse_wall']:.2f} s, ratio {totals['parse_wall'] / totals['base_wall']:.2f}x")
    for paper_id, (recall, missed) in recalls.items():
        missing = f"  missed: {'; '.join(missed)}" if missed else ""
        print(f"section recall {paper_id}: {recall:.3f} (target >= 0.95){missing}")
    if typography:
        values = [recall for recall, _ in typography.values()]
        worst = min(typography, key=lambda k: typography[k][0])
        print(f"typography alone vs the PDF outline, {len(values)} papers: mean recall {sum(values) / len(values):.3f}, "
              f"lowest {worst} {typography[worst][0]:.3f} (missed: {'; '.join(typography[worst][1]) or '-'})")


if __name__ == "__main__":
    main()
