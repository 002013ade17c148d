"""Figures (issue 12): every caption's crop checked against its page, and the results figures chosen per paper.

    python bench/figures.py [--split dev|more] [--verbose]

For each paper of ../shared/corpus/pdf (dev) and ../shared/corpus/more/pdf (more), parsed with
digest.parse.parse_pdf, the float of every caption is cropped (digest.parse.crop) and the box checked on its page:
- whole: the caption lies inside it; so does every float mark (vector drawing, image, figure text) that the box
  overlaps (one may be cut by at most TRIM body sizes at its top or bottom: an image's white margin); and no float
  mark lies against it from outside (within half a body size), i.e. no float was cut in two (the marks of the
  page's other captions and crops aside);
- clean: no body-text line (wide line of the main type, or a heading) overlaps it by a tenth of its area or more;
- side: the caption took the float on the right side of itself: not a crop whose float part (the box beyond the
  caption, above or below it) is smaller than the caption while float marks on the caption's other side, grown as a
  float would be, make a float larger than the caption and twice the part taken or more (`side: thin float`, a
  footnote or a line of text taken for the float).
A paper has a results figure when digest.summarize.figures chooses and crops at least one. Prints per split: papers,
captions, floats cropped, crops passing every check (with the count failing `side`), papers with a results figure/table.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pymupdf

from digest.models import Caption
from digest.parse import parse_pdf
from digest.parse.crop import TRIM, Box, PageMarks, body_style, float_boxes, page_marks
from digest.settings import Settings
from digest.summarize import summarize_paper
from digest.summarize.evidence import PaperText
from digest.summarize.figures import crop_figures, results_captions

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SPLITS = {"dev": SHARED / "corpus" / "pdf", "more": SHARED / "corpus" / "more" / "pdf"}


def problems(box: Box, caption: Caption, marks: PageMarks, captions: list[Caption], crops: list[Box],
             size: float) -> list[str]:
    """What is wrong with a crop: `cut` (caption or a float mark not wholly inside, or one against its edge; marks
    of the page's captions and other crops aside), `body` (a body-text line in it) and `side` (a thin float taken
    on one side of the caption, a substantial one left on the other)."""
    others = [c.bbox for c in captions]
    floats = [m for m in marks.floats if not any(_centred(m, c) for c in others + [b for b in crops if b != box])]
    found = []
    if not _inside(caption.bbox, box, 0.5, 0.5):
        found.append("cut: caption")
    if any(_overlap(m, box) > 0 and not _inside(m, box, 1.0, TRIM * size) for m in floats):
        found.append("cut: mark across the edge")
    if any(_overlap(m, box) == 0 and _overlap(m, _grown(box, 0.5 * size)) > 0 for m in floats):
        found.append("cut: mark against the edge")
    body = [b for b in marks.body if not any(_centred(b, c) for c in others)]
    if any(_overlap(b, box) >= 0.1 * _area(b) for b in body):
        found.append("body")
    if _wrong_side(box, caption.bbox, floats, body, size):
        found.append("side: thin float")
    return found


def _wrong_side(box: Box, caption: Box, floats: list[Box], body: list[Box], size: float) -> bool:
    """Whether the crop's float part (above or below the caption) is smaller than the caption while the caption's
    other side holds a float larger than the caption and at least twice that part: the float marks there
    across from the caption, grown from it through gaps of at most 2.4 body sizes, short of running text."""
    width = caption[2] - caption[0]
    above, below = max(0.0, caption[1] - box[1]), max(0.0, box[3] - caption[3])
    if max(above, below) < 1:
        return False  # a side caption, or none
    up = above < below  # the other side
    part = (box[2] - box[0]) * max(above, below)
    if part >= _area(caption):
        return False
    edge = caption[1] if up else caption[3]
    grown = None
    for m in sorted((m for m in floats if ((m[1] + m[3]) / 2 < edge) == up and not _overlap(m, box)
                     and min(m[2], caption[2]) - max(m[0], caption[0]) > 0.5 * min(width, m[2] - m[0])),
                    key=lambda m: -m[3] if up else m[1]):
        reach = (grown or caption)[1] - m[3] if up else m[1] - (grown or caption)[3]
        if reach > 2.4 * size:
            break
        merged = _union([grown or (caption[0], edge, caption[2], edge), m])
        if any(_overlap(b, merged) >= 0.1 * _area(b) for b in body):
            break
        grown = merged
    other = _area(grown) if grown else 0.0
    return other > _area(caption) and other >= 2 * part


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _inside(inner: Box, outer: Box, dx: float, dy: float) -> bool:
    return (inner[0] >= outer[0] - dx and inner[2] <= outer[2] + dx
            and inner[1] >= outer[1] - dy and inner[3] <= outer[3] + dy)


def _overlap(a: Box, b: Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _area(a: Box) -> float:
    return max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])


def _grown(a: Box, d: float) -> Box:
    return (a[0] - d, a[1] - d, a[2] + d, a[3] + d)


def _centred(a: Box, outer: Box) -> bool:
    x, y = (a[0] + a[2]) / 2, (a[1] + a[3]) / 2
    return outer[0] <= x <= outer[2] and outer[1] <= y <= outer[3]


def check_paper(path: Path, settings: Settings, verbose: bool) -> dict:
    parsed = parse_pdf(path, path.stem)
    captions = [c for c in parsed.captions if c.bbox is not None]
    stats = {"captions": len(captions), "cropped": 0, "clean": 0, "side": 0, "results": 0}
    with pymupdf.open(path) as doc:
        style = body_style(doc)
        for number in sorted({c.page for c in captions}):
            page = doc[number - 1]
            on_page = [c for c in captions if c.page == number]
            marks = page_marks(page, style)
            boxes = float_boxes(marks, [(c.bbox, c.kind) for c in on_page], style)
            for caption, box in zip(on_page, boxes):
                if box is None:
                    continue
                stats["cropped"] += 1
                found = problems(box, caption, marks, on_page, [b for b in boxes if b], style.size)
                stats["clean"] += not found
                stats["side"] += any(f.startswith("side") for f in found)
                if found and verbose:
                    print(f"  {path.stem} p.{number} {caption.label}: {', '.join(found)}")
    scores = summarize_paper(parsed, settings, fields=["evaluation"]).benchmarks
    chosen = crop_figures(path, parsed, results_captions(PaperText(parsed), scores))
    stats["results"] = int(bool(chosen))
    if verbose:
        print(f"  {path.stem}: chosen {', '.join(f.label for f, _ in chosen) or '-'}")
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=sorted(SPLITS), action="append")
    ap.add_argument("--verbose", action="store_true", help="name each crop that fails a check, and the choices")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as ws:
        settings = Settings.load(workspace=Path(ws))
        print(f"{'split':<6} {'papers':>6} {'captions':>8} {'cropped':>8} {'pass':>12} {'with results':>14} {'s':>6}")
        for split in args.split or list(SPLITS):
            started = time.perf_counter()
            totals = {"papers": 0, "captions": 0, "cropped": 0, "clean": 0, "side": 0, "results": 0}
            for path in sorted(SPLITS[split].glob("*.pdf")):
                stats = check_paper(path, settings, args.verbose)
                totals["papers"] += 1
                for key, value in stats.items():
                    totals[key] += value
            t = totals
            print(f"{split:<6} {t['papers']:>6} {t['captions']:>8} {t['cropped']:>8} "
                  f"{t['clean']:>5} ({t['clean'] / max(t['cropped'], 1):.3f}) "
                  f"{t['results']:>5} ({t['results'] / max(t['papers'], 1):.3f}) {time.perf_counter() - started:>6.0f}"
                  f"  (side: {t['side']})")


if __name__ == "__main__":
    main()
