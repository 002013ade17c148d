"""效果展示's pictures: the paper's headline figures and results tables, cropped from its pages.

A caption is chosen by what the paper says it shows: a table the benchmark scores were read from (above all one
holding the paper's own models' scores), a caption naming the paper's own model, a caption presenting results
(digest.fields.RESULT_CAPTION_CUES); appendix floats count less. The best MAX_FIGURES that crop cleanly
(digest.parse.crop) are kept, in page order, each as a PNG beside the paper's sheet.
"""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf

from digest.fields import RESULT_CAPTION_CUES
from digest.files import safe_name, write_atomic
from digest.models import BenchmarkScore, Caption, Evidence, FieldValue, Figure, PaperSummary, ParsedPaper
from digest.parse import open_pdf
from digest.parse.crop import Box, Style, body_style, float_boxes, page_marks, render

from .benchmarks import own_names as title_names
from .evidence import PaperText, clip
from .extractive import CAPTION_CHARS
from .facts import own_names

MAX_FIGURES = 4
MIN_SCORE = 1  # a caption scoring less is not a results figure
_RESULTS = re.compile(RESULT_CAPTION_CUES, re.I)


def results_captions(text: PaperText, scores: list[BenchmarkScore]) -> list[Caption]:
    """The captions (with a position) of the paper's results figures and tables, best first, one per label: +3 for a
    table holding the own models' scores (+2 any scores), +2 for naming an own model (or "we", "our"), +1 for
    presenting results, -2 in the appendix; only those with results (scores or cue) that score MIN_SCORE."""
    parsed = text.parsed
    names = list(dict.fromkeys(own_names(text) + title_names(parsed.title)))
    own = [text.own] + [re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w])") for name in names]
    scored = _scored_tables(text, scores)
    appendix = min((s.page_start for s in parsed.sections if s.kind == "appendix"), default=parsed.pages + 1)
    ranked = []
    for caption in parsed.captions:
        if caption.bbox is None:
            continue
        data = scored.get((caption.label, caption.page), 0) if caption.kind == "table" else 0
        cue = bool(_RESULTS.search(caption.text))
        named = any(pattern.search(caption.text) for pattern in own)
        score = data + 2 * named + cue - 2 * (caption.page >= appendix)
        if (data or cue) and score >= MIN_SCORE:
            ranked.append((-score, caption.page, caption))
    best: dict[str, Caption] = {}
    for *_, caption in sorted(ranked, key=lambda r: r[:2]):
        best.setdefault(caption.label, caption)
    return list(best.values())


def _scored_tables(text: PaperText, scores: list[BenchmarkScore]) -> dict[tuple[str, int], int]:
    """(label, page) of the tables the scores were read from: 3 when one holds an own model's score, else 2."""
    weight: dict[tuple[str, int], int] = {}
    for table in text.parsed.tables:
        rows = {row.text for row in text.table_rows(table)}
        held = [s for s in scores if s.page == table.page and s.quote in rows]
        if held and table.label:
            weight[(table.label, table.page)] = 3 if any(s.own for s in held) else 2
    return weight


def crop_figures(pdf: Path, parsed: ParsedPaper, chosen: list[Caption]) -> list[tuple[Figure, bytes]]:
    """The first MAX_FIGURES of `chosen` whose float crops, in page order, each with its PNG; a caption whose float
    is not found is skipped."""
    out: list[tuple[Figure, bytes]] = []
    with open_pdf(pdf) as doc:
        style = body_style(doc)
        for caption in chosen:
            page = doc[caption.page - 1]
            box = _box_of(page, caption, parsed, style)
            if box is not None:
                out.append((_figure(caption, box), render(page, box)))
            if len(out) == MAX_FIGURES:
                break
    return sorted(out, key=lambda pair: (pair[0].page, pair[0].bbox[1]))


def _box_of(page: pymupdf.Page, caption: Caption, parsed: ParsedPaper, style: Style) -> Box | None:
    """A caption's float box, found alongside the other captions of its page."""
    on_page = [c for c in parsed.captions if c.page == caption.page and c.bbox is not None]
    boxes = float_boxes(page_marks(page, style), [(c.bbox, c.kind) for c in on_page], style)
    return boxes[on_page.index(caption)]


def _figure(caption: Caption, box: Box) -> Figure:
    """The record of a cropped caption; its file is named after its kind and number: fig-3.png, table-A.1.png."""
    number = caption.label.split()[-1]
    stem = "fig" if caption.kind == "figure" else "table"
    return Figure(label=caption.label, kind=caption.kind, number=number, caption=caption.text, page=caption.page,
                  bbox=tuple(round(v, 1) for v in box), file=f"{stem}-{safe_name(number)}.png")


def save_figures(pdf: Path, parsed: ParsedPaper, text: PaperText, scores: list[BenchmarkScore],
                 folder: Path) -> list[Figure]:
    """Crop the paper's results figures and write them into `folder` (every image rendered first, then each
    written to a temporary name and renamed: no partial file on failure), removing the images of an earlier choice
    there; the figures written."""
    cropped = crop_figures(pdf, parsed, results_captions(text, scores))
    for figure, png in cropped:
        write_atomic(folder / figure.file, png)
    chosen = {figure.file for figure, _ in cropped}
    for stale in folder.glob("*.png") if folder.is_dir() else ():
        if stale.name not in chosen:
            stale.unlink()
    return [figure for figure, _ in cropped]


def with_figures(summary: PaperSummary, figures: list[Figure]) -> PaperSummary:
    """The sheet holding `figures`, its 效果展示 (when asked for) listing them first (caption and page, the caption
    as evidence) before the examples it found, without bare section titles."""
    if not figures or "demo" not in summary.fields:
        return summary.model_copy(update={"figures": figures})
    demo, shown = summary.fields["demo"], {f.label for f in figures}
    dropped = {e.quote for e in demo.evidence if e.quote == e.section or e.section in shown}
    kept = [e for e in demo.evidence if e.quote not in dropped]
    items = [item for item in (demo.value if isinstance(demo.value, list) else []) if item not in dropped]
    quotes = [clip(f.caption, CAPTION_CHARS) for f in figures]
    value = FieldValue(
        value=[f"{quote} (p. {f.page})" for quote, f in zip(quotes, figures)] + items,
        evidence=[Evidence(page=f.page, section=f.label, quote=quote) for quote, f in zip(quotes, figures)] + kept,
        backend=demo.backend,
    )
    return summary.model_copy(update={"figures": figures, "fields": {**summary.fields, "demo": value}})
