"""Page text as visual lines in reading order, with running heads, page numbers and the arXiv stamp removed."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import pymupdf

# No ligature preservation (pymupdf expands "ﬁ" itself), no images: cheaper than the "dict" default.
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_MEDIABOX_CLIP

_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|medi|cmbx|bx\d|-b$|\.b$|,bold", re.I)
_MATH_FONT = re.compile(r"^(?:[A-Z]{6}\+)?(?:CM(?:MI|SY|EX|R)\d|MSBM|MSAM|.*Math|Symbol|rsfs|eufm|stmary)", re.I)
_MONO_FONT = re.compile(r"mono|courier|inconsolata|consol|menlo|typewriter|code|^(?:[A-Z]{6}\+)?(?:CMTT|SFTT)", re.I)
_STAMP = re.compile(r"^arXiv:\s*\d{4}\.\d{4,5}(v\d+)?\s*\[[\w.\-]+\]", re.I)
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?(?:\d{1,4}|[ivxlc]{1,6})(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_FOOTNOTE_MARK = re.compile(r"^[\d∗*†‡§¶⇤,\s]+$")
_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\ue000-\uf8ff\ufffd\ufffe\uffff]")
_LOOSE_ACCENT = re.compile(r" ?([\u0300-\u036f])([A-Za-z])")
_DOT_LEADER = re.compile(r"(?:\.\s*){6,}\s*\d{1,4}$")
_CONTENTS = re.compile(r"^(?:table of )?contents$", re.I)
_TOC_ENTRY = re.compile(r"(?:\s|\.)\d{1,4}$")
_SPACE_BEFORE_PUNCT = re.compile(r" +([.,;:)])")
_SECTION_NUMBER = re.compile(r"^(?:\d{1,2}|[A-Z])(?:\.\d{1,2}){0,3}\.?$")
MARGIN = 0.085  # share of the page height where running heads and footers live


@dataclass(slots=True)
class Span:
    x0: float
    x1: float
    text: str
    bold: bool = False


@dataclass(slots=True)
class Line:
    """A visual line: pymupdf lines of one block that share a baseline, left to right."""

    page: int  # 0-based
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    size: float
    bold: bool
    block: int  # reading-order block number, unique in the document
    spans: list[Span] = field(default_factory=list)
    gap: float = 0.0  # widest horizontal gap between its spans: wide in table rows, narrow in prose
    marked: bool = False  # began with a raised footnote mark (now removed)
    family: str = ""  # font family most of its letters are set in ("" for math and monospace)
    role: str = "body"  # body | heading | caption | float | title | skip

    @property
    def style(self) -> tuple[float, bool]:
        return (round(self.size * 2) / 2, self.bold)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    def cells(self, min_gap: float) -> list[str]:
        """The line's text split where spans are at least `min_gap` points apart (table cells, author names)."""
        out: list[str] = []
        prev = None
        for span in self.spans:
            if prev is None or span.x0 - prev.x1 >= min_gap:
                out.append(span.text)
            else:
                out[-1] += span.text
            prev = span
        return [" ".join(c.split()) for c in out if c.strip()]

    def bold_prefix(self, chars: int) -> bool:
        """Whether the first `chars` characters of the line are set bold."""
        seen = 0
        for span in self.spans:
            if span.text.strip() and not span.bold:
                return False
            seen += len(span.text.strip()) + 1
            if seen > chars:
                return True
        return True

    def words(self) -> list[tuple[float, float, str]]:
        """Words with x extents (interpolated inside spans); spans that touch form one word."""
        out: list[tuple[float, float, str]] = []
        word, start, end = "", 0.0, 0.0
        for span in self.spans:
            step = (span.x1 - span.x0) / max(len(span.text), 1)
            for n, ch in enumerate(span.text):
                if ch.isspace():
                    if word:
                        out.append((start, end, word))
                    word = ""
                    continue
                if not word:
                    start = span.x0 + n * step
                word += ch
                end = span.x0 + (n + 1) * step
        if word:
            out.append((start, end, word))
        return out


@dataclass(slots=True)
class Block:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    lines: list[Line]


@dataclass(slots=True)
class Page:
    number: int  # 0-based
    width: float
    height: float
    blocks: list[Block]


def clean(text: str) -> str:
    """NFKC (ligatures, full-width forms), spacing accents put back on their letter ("S´ebastien" -> "Sébastien"),
    without control or private-use characters."""
    text = unicodedata.normalize("NFKC", text)
    if _LOOSE_ACCENT.search(text):
        text = unicodedata.normalize("NFC", _LOOSE_ACCENT.sub(r"\2\1", text))
    return _JUNK.sub("", text)


def read_page(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> Page:
    """A page's horizontal text blocks (from `textpage` when given, e.g. an OCR one); rotated text (the arXiv
    stamp, axis labels) is left out."""
    data = page.get_text("dict", flags=TEXT_FLAGS, textpage=textpage)
    blocks = []
    for raw in data["blocks"]:
        lines = _visual_lines(page.number, raw.get("lines", ()))
        if lines:
            blocks.append(Block(page.number, min(l.x0 for l in lines), min(l.y0 for l in lines),
                                max(l.x1 for l in lines), max(l.y1 for l in lines), lines))
    _attach_numbers(blocks)
    return Page(page.number, page.rect.width, page.rect.height, [b for b in blocks if b.lines])


def _attach_numbers(blocks: list[Block]) -> None:
    """A heading number that pymupdf put in a block of its own joins the title on its right."""
    for block in blocks:
        if len(block.lines) != 1 or not _SECTION_NUMBER.match(block.lines[0].text):
            continue
        number = block.lines[0]
        for other in blocks:
            first = other.lines[0] if other.lines and other is not block else None
            if first and abs(first.y1 - number.y1) < 0.3 * number.size and 0 <= first.x0 - number.x1 < 4 * number.size:
                first.text = f"{number.text} {first.text}"
                first.spans[:0] = number.spans
                first.x0 = other.x0 = number.x0
                block.lines = []
                break


def _visual_lines(pno: int, raw_lines: list[dict]) -> list[Line]:
    """Merge the pymupdf lines of a block that share a baseline (a heading's number and title, table cells)."""
    groups: list[tuple[float, float, list[dict]]] = []
    for raw in raw_lines:
        if not -0.05 < raw["dir"][1] < 0.05:
            continue
        size = base = 0.0
        for span in raw["spans"]:
            if span["size"] > size:
                size, base = span["size"], span["origin"][1]
        if groups and abs(groups[-1][0] - base) < 0.4 * groups[-1][1]:
            groups[-1][2].append(raw)
        else:
            groups.append((base, size, [raw]))
    lines = []
    for base, _, group in groups:
        line = _make_line(pno, group, base)
        if line:
            lines.append(line)
    return lines


@lru_cache(maxsize=512)
def _bold_font(font: str) -> bool:
    return bool(_BOLD_FONT.search(font))


@lru_cache(maxsize=512)
def _math_font(font: str) -> bool:
    return bool(_MATH_FONT.search(font))


@lru_cache(maxsize=512)
def _family(font: str) -> str:
    """"ABCDEF+NimbusRomNo9L-Medi" -> "NimbusRomNo9L", "LMRoman12-Bold" -> "LMRoman", "CMBX12" -> "CM";
    "" for math and monospace fonts."""
    if _math_font(font) or _MONO_FONT.search(font):
        return ""
    name = font.split("+")[-1].split("-")[0].split(",")[0]
    tex = re.match(r"^(CM|SF|LM|EC)[A-Z]*\d+$", name)
    return tex.group(1) if tex else re.sub(r"(?:Caps|Slant|Dunh|Demi|Unslanted)?\d*$", "", name)


def _make_line(pno: int, group: list[dict], baseline: float) -> Line | None:
    if len(group) > 1:
        group.sort(key=lambda r: r["bbox"][0])
    spans = [s for raw in group for s in raw["spans"]]
    weights: dict[float, int] = {}
    bold_chars = chars = 0
    bolds = []
    styled: list[bool] = []  # boldness of the text spans that are not math symbols
    families: dict[str, int] = {}
    for s in spans:
        t = s["text"]
        n = len(t) - t.count(" ")
        bold = s["flags"] & 16 or _bold_font(s["font"])
        bolds.append(bold)
        if n:
            weights[s["size"]] = weights.get(s["size"], 0) + n
            family = _family(s["font"])
            families[family] = families.get(family, 0) + n
            if not _math_font(s["font"]):
                chars += n
                styled.append(bool(bold))
                if bold:
                    bold_chars += n
    if not weights:
        return None
    size = max(weights, key=weights.__getitem__)
    small = 0.8 * size
    kept: list[Span] = []
    gap = 0.0
    marked = dropped = False
    prev_x1 = None
    for s, bold in zip(spans, bolds):
        text = s["text"]
        if not text.isascii():
            text = clean(text)
        if s["size"] <= small and _is_footnote_mark(s, text, size, baseline, kept):
            marked = marked or not kept
            dropped = True
            prev_x1 = s["bbox"][2] if kept else prev_x1
            continue
        x0, x1 = s["bbox"][0], s["bbox"][2]
        if prev_x1 is not None:
            if text.strip() and x0 - prev_x1 > gap:
                gap = x0 - prev_x1
            if x0 - prev_x1 > 0.12 * size and text[:1] != " " and kept[-1].text[-1:] != " ":
                text = " " + text
        kept.append(Span(x0, x1, text, bool(bold)))
        prev_x1 = x1
    text = " ".join("".join([s.text for s in kept]).split())
    if not text:
        return None
    if dropped:  # "gradients ⁴." -> "gradients."
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    first, last = group[0]["bbox"], group[-1]["bbox"]
    y0 = min(r["bbox"][1] for r in group) if len(group) > 1 else first[1]
    y1 = max(r["bbox"][3] for r in group) if len(group) > 1 else first[3]
    bold = bool(styled) and bold_chars >= 0.9 * chars and styled[0] and styled[-1]
    return Line(pno, first[0], y0, max(last[2], first[2]), y1, text, round(size, 1), bold, -1, kept, gap, marked,
                max(families, key=families.__getitem__))


def _is_footnote_mark(span: dict, text: str, size: float, baseline: float, before: list[Span]) -> bool:
    """A raised, small marker (footnote number, affiliation star) that is not an exponent after a digit."""
    if span["origin"][1] > baseline - 0.15 * size or not text.strip() or not _FOOTNOTE_MARK.match(text):
        return False
    tail = "".join(span.text for span in before[-3:]).rstrip()[-1:]
    return not (tail and tail in "0123456789−-^e")


# ------------------------------------------------------------------ margins


def strip_margins(pages: list[Page]) -> None:
    """Remove running heads and footers (text repeated at the same edge of many pages), page numbers and the stamp."""
    keys: Counter[str] = Counter()
    for page in pages:
        keys.update({_margin_key(line, page) for b in page.blocks for line in b.lines} - {None})
    threshold = max(3, 0.25 * len(pages))
    for page in pages:
        for block in page.blocks:
            block.lines = [
                line for line in block.lines
                if not _STAMP.match(line.text)
                and not ((key := _margin_key(line, page)) and (keys[key] >= threshold or _PAGE_NUMBER.match(line.text)))
            ]
        page.blocks = [b for b in page.blocks if b.lines]
        for b in page.blocks:
            b.x0, b.y0 = min(l.x0 for l in b.lines), min(l.y0 for l in b.lines)
            b.x1, b.y1 = max(l.x1 for l in b.lines), max(l.y1 for l in b.lines)


def _margin_key(line: Line, page: Page) -> str | None:
    top, bottom = MARGIN * page.height, (1 - MARGIN) * page.height
    if line.y1 > top and line.y0 < bottom:
        return None
    edge = "t" if line.y1 <= top else "b"
    return edge + re.sub(r"\d+", "#", line.text.lower())


# ------------------------------------------------------------ reading order


def reading_order(page: Page) -> list[Block]:
    """Blocks in reading order: on two-column pages, full-width blocks split the page into bands, each read left
    column first, then right."""
    mid = page.width / 2
    slack = 0.02 * page.width

    def column(b: Block) -> int:
        if b.x1 <= mid + slack:
            return 0
        if b.x0 >= mid - slack:
            return 1
        return -1

    cols = Counter(column(b) for b in page.blocks for _ in b.lines)
    if min(cols[0], cols[1]) < 0.15 * sum(cols.values()):
        return page.blocks
    ordered: list[Block] = []
    band: list[Block] = []

    def flush() -> None:
        ordered.extend(sorted(band, key=lambda b: (column(b), b.y0)))
        band.clear()

    for block in sorted(page.blocks, key=lambda b: b.y0):
        if column(block) == -1:
            flush()
            ordered.append(block)
        else:
            band.append(block)
    flush()
    return ordered


def mark_footnotes(lines: list[Line], body: float, height: float) -> None:
    """Small-print blocks that open with a footnote mark, in the lower half of the page below all body-size text
    of their column, leave the text flow (role `footnote`)."""
    blocks: dict[int, list[Line]] = {}
    for line in lines:
        if line.role == "body":
            blocks.setdefault(line.block, []).append(line)
    normal = [l for l in lines if l.role == "body" and l.size >= body - 0.5]
    for members in blocks.values():
        first = members[0]
        if not first.marked or first.y0 < 0.5 * height or max(l.size for l in members) > body - 0.8:
            continue
        x0, x1 = min(l.x0 for l in members), max(l.x1 for l in members)
        if any(n.y0 > first.y0 and n.x0 < x1 and n.x1 > x0 for n in normal):
            continue
        for line in members:
            line.role = "footnote"


def mark_contents(lines: list[Line]) -> None:
    """A table of contents (a "Contents" heading and the entries after it, or any dot-leader line) is skipped."""
    n = 0
    while n < len(lines):
        line = lines[n]
        if _DOT_LEADER.search(line.text):
            line.role = "skip"
        if line.page < 6 and _CONTENTS.match(line.text):
            line.role = "skip"
            misses, end = 0, n
            for k in range(n + 1, len(lines)):
                if _TOC_ENTRY.search(lines[k].text):
                    misses, end = 0, k
                elif (misses := misses + 1) > 2:
                    break
            for k in range(n + 1, end + 1):
                lines[k].role = "skip"
            n = end
        n += 1


def mark_figure_text(lines: list[Line], body: float, family: str) -> None:
    """On a page with a figure, short plain lines set in another typeface than the body text (axis labels,
    legends) are figure text, not prose; paragraphs in another typeface stay."""
    blocks: dict[int, list[Line]] = {}
    for line in lines:
        blocks.setdefault(line.block, []).append(line)
    for members in blocks.values():
        if sum(len(l.text.split()) for l in members) >= 12 * len(members):
            continue  # running text
        for line in members:
            plain = line.role == "body" and not line.bold and line.size < body + 0.9
            if plain and line.family and line.family != family:
                line.role = "float"


def body_family(lines: list[Line]) -> str:
    """The typeface most characters are set in."""
    weights: Counter[str] = Counter()
    for line in lines:
        weights[line.family] += len(line.text)
    weights.pop("", None)
    return weights.most_common(1)[0][0] if weights else ""


def body_size(lines: list[Line]) -> float:
    """The font size most characters are set in."""
    weights: Counter[float] = Counter()
    for line in lines:
        weights[round(line.size * 2) / 2] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 10.0
