"""A PDF page as a PNG, with a quote's words highlighted where they stand on the page.

The quote is found by `page.search_for` (which joins hyphenated words and follows lines); when that fails
(a parsed quote normalized, a table row, a formula, a quote that runs onto the next page), by aligning the quote's
words with the page's words and keeping the longest well-aligned run. A quote found nowhere leaves the page as it is.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

import pymupdf

from ..errors import DigestError
from ..parse.pdf import open_pdf

ZOOM = 1.5  # pixels per PDF point: a Letter page is 918 px wide
MIN_SHARE = 0.5  # of a quote's words the word alignment must find, in order, to count as found
RUN = 4  # words in a row that count wherever they stand on the page
SURE_RUN = 8  # words in a row that are the quote even when the rest of it is not on the page (links, next page)
GAP = 3  # unmatched words (symbols, formula pieces) between two matched ones that are highlighted too
_WORD = re.compile(r"\w+")
_WORD_FLAGS = pymupdf.TEXT_DEHYPHENATE | pymupdf.TEXT_MEDIABOX_CLIP  # ligatures expanded, hyphenation joined
_LOCK = threading.Lock()  # pymupdf is not thread-safe


class PageNotFound(DigestError):
    """A page number the PDF does not have."""


@dataclass
class Highlight:
    """Where a quote stands on a page: rectangles in PDF points (x0, y0, x1, y1), how they were found
    (`exact`, `words`, or `none`), the page's size in points and the paper's page count."""

    rects: list[tuple[float, float, float, float]] = field(default_factory=list)
    how: str = "none"
    width: float = 0.0
    height: float = 0.0
    pages: int = 0

    @property
    def found(self) -> bool:
        return bool(self.rects)


def find_quote(pdf: Path, page_no: int, quote: str) -> Highlight:
    """Where `quote` stands on page `page_no` (1-based) of `pdf`."""
    with _LOCK, open_pdf(pdf) as doc:
        return _locate(_page(doc, page_no), quote)


def render_page(pdf: Path, page_no: int, quote: str = "", zoom: float = ZOOM) -> tuple[bytes, Highlight]:
    """Page `page_no` of `pdf` as PNG bytes, `quote` highlighted on it, and where the highlight is."""
    with _LOCK, open_pdf(pdf) as doc:
        page = _page(doc, page_no)
        spot = _locate(page, quote)
        if spot.found:
            page.add_highlight_annot([pymupdf.Rect(r) for r in spot.rects])  # in memory only: the file is untouched
        return page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), annots=True).tobytes("png"), spot


def _page(doc: pymupdf.Document, page_no: int) -> pymupdf.Page:
    if not 1 <= page_no <= doc.page_count:
        raise PageNotFound(f"page {page_no} does not exist: the paper has pages 1 to {doc.page_count}")
    return doc[page_no - 1]


def _locate(page: pymupdf.Page, quote: str) -> Highlight:
    size = {"width": page.rect.width, "height": page.rect.height, "pages": page.parent.page_count}
    quote = " ".join(quote.split())
    if not quote:
        return Highlight(**size)
    exact = page.search_for(quote)
    if exact:
        return Highlight([tuple(r) for r in exact], "exact", **size)
    rects = _aligned_words(page, quote)
    return Highlight(rects, "words" if rects else "none", **size)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def _aligned_words(page: pymupdf.Page, quote: str) -> list[tuple[float, float, float, float]]:
    """One rectangle per line for the page words that spell the quote's words in order, when at least MIN_SHARE
    of them do (in runs near the longest one, or of RUN words and more) or SURE_RUN do in a row; else none."""
    wanted = _tokens(quote)
    tokens, owners = [], []  # page tokens, and the index of the page word each came from
    words = page.get_text("words", flags=_WORD_FLAGS)
    for i, word in enumerate(words):
        for token in _tokens(word[4]):
            tokens.append(token)
            owners.append(i)
    blocks = [b for b in SequenceMatcher(None, tokens, wanted, autojunk=False).get_matching_blocks() if b.size]
    if not blocks:
        return []
    anchor = max(blocks, key=lambda b: b.size)
    slack = max(8, len(wanted) // 2)  # how far a run may drift from the longest one and still belong to it
    runs = [b for b in blocks if b.size >= RUN or abs((b.a - b.b) - (anchor.a - anchor.b)) <= slack]
    if anchor.size < SURE_RUN and sum(b.size for b in runs) < MIN_SHARE * len(wanted):
        return []
    hit = sorted({owners[b.a + k] for b in runs for k in range(b.size)})
    gaps = [i for a, b in zip(hit, hit[1:]) if b - a <= GAP + 1 for i in range(a + 1, b)]  # punctuation, symbols
    return _line_rects([words[i] for i in sorted(set(hit) | set(gaps))])


def _line_rects(words: list[tuple]) -> list[tuple[float, float, float, float]]:
    """The union of the words' boxes on each line (block, line), in reading order."""
    lines: dict[tuple[int, int], pymupdf.Rect] = {}
    for x0, y0, x1, y1, _, block, line, _ in words:
        box = pymupdf.Rect(x0, y0, x1, y1)
        lines[block, line] = lines[block, line] | box if (block, line) in lines else box
    return [tuple(r) for r in lines.values()]
